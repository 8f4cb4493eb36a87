"""Hashed word/char n-gram model: the baseline, blend component and fallback of the triage model.

A multinomial logistic regression (queues) and an urgency model over hashed n-gram features,
exported as ``ngram.json`` and served by pure TypeScript (``shared/src/model/ngram-model.ts``), which
reproduces :meth:`NgramModel.predict_proba` / :meth:`NgramModel.predict_urgency` to 1e-5 (parity
fixture: ``python -m training.ngram_fixture``).

Features (both languages implement exactly this)
-----------------------------------------------
1. Text: lone surrogates -> U+FFFD; the first ``max_chars`` code points; NFKC; ``str.lower()``
   (JS ``toLowerCase``: same Unicode full lowercase mapping incl. final sigma).
2. Tokens: maximal runs of ``str.isalnum()`` characters, i.e. ``re.findall(r"[^\\W_]+")`` — Python's
   ``\\w`` is ``isalnum() or "_"`` — which equals JS ``/[\\p{L}\\p{N}]+/gu`` (letters and numbers).
   Checked code point by code point over U+0000..U+10FFFF (``ngram_fixture --check-unicode``): the
   two only differ on characters added to Unicode after Python 3.11's database (Unicode 14).
   Combining marks (Mn/Mc) are not alphanumeric in either, so NFKC first recomposes accents.
3. Word block: ``w:<tok>`` (unigrams) and ``b:<tok1> <tok2>`` (bigrams); char block: ``c:<gram>`` for
   each code-point n-gram, n in 3..5, of ``" " + tok + " "`` (char n-grams within word boundaries,
   padded), counted per token occurrence. Each feature string s is hashed, h = FNV-1a 32-bit of its
   UTF-8 bytes; tf = occurrences of h in the text; the feature goes to bucket ``h & (n_buckets - 1)``
   with sign ``-1 if h >> 31 else +1`` and value ``sign * (1 + ln tf)`` (sublinear tf; times
   ``idf[bucket]`` when the model has an idf vector). Each block is L2-normalised on its own; both are summed into one bucket space.
4. Keyword features: ``n_buckets + g`` = ``keyword_weight`` when any term of keyword group g occurs as a
   contiguous token run (a term written with a trailing ``*`` prefix-matches its last token). Groups
   are concepts (urgent, outage, security, data loss, business impact, calm) with terms in
   en/de/es/fr/pt, so a signal learnt from English tickets carries to the rarer languages.

ngram.json (format "triage-ngram", version 1)
---------------------------------------------
``{"format": "triage-ngram", "version": 1, "labels": [...], "hash": "fnv1a32-utf8", "n_buckets": N,
"max_chars": 20000, "word_ngrams": [1, 2], "char_ngrams": [3, 5], "keyword_weight": k,
"keywords": [{"name": "urgent", "terms": [{"tokens": ["as", "soon"], "prefix": false}, ...]}, ...],
"idf": M | null, "queue": {"coef": M, "intercept": [L floats]},
"urgency": {"kind": "expected", "values": [u_1..u_K], "coef": M, "intercept": [K floats]}
          | {"kind": "linear", "coef": M, "intercept": [b]},
"info": {...}}`` where a matrix M is ``{"dtype": "float16"|"float32", "shape": [rows, cols], "data":
base64 of the little-endian row-major values}``. Coefficient matrices are feature-major: shape
``[N + groups, outputs]``; idf is ``[N, 1]``. Queue: ``softmax(intercept + x @ coef)``. Urgency
"expected": ``sum_k softmax(intercept + x @ coef)_k * values_k`` (logistic regression over the
priority levels, scored as the expected urgency); "linear": ``clip(intercept + x @ coef, 0, 1)``.
Weights are rounded to float16 at training time, so the Python model predicts with exactly the
numbers the JSON holds.
"""
from __future__ import annotations

import base64
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, Ridge
from threadpoolctl import threadpool_limits

FORMAT = "triage-ngram"
VERSION = 1
MAX_CHARS = 20_000
DEFAULT_MAX_BUCKETS = 1 << 17
MAX_JSON_BYTES = 5_500_000  # auto bucket count keeps the weights below this (base64 included)

_TOKEN_RE = re.compile(r"[^\W_]+")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")

# Urgency keyword groups. Terms are written naturally (normalised + tokenised like ticket text);
# a trailing "*" makes the last token a prefix match. Concept groups, not language groups, so the
# few Spanish/French/Portuguese tickets profit from the English and German signal.
KEYWORD_GROUPS: dict[str, list[str]] = {
    "urgent": [
        # en
        "asap", "urgent*", "urgency", "immediately", "immediate", "emergency", "critical*", "right away",
        "as soon as possible", "top priority", "high priority", "highest priority", "escalat*", "time-sensitive",
        # de
        "dringend*", "dringlich*", "sofort*", "umgehend*", "unverzüglich*", "notfall*", "kritisch*", "eilig*",
        "so schnell wie möglich", "höchste priorität", "hohe priorität", "schnellstmöglich*",
        # es
        "urgencia", "inmediat*", "emergencia*", "crític*", "lo antes posible", "cuanto antes",
        "lo más pronto posible", "alta prioridad", "máxima prioridad",
        # fr
        "urgence*", "immédiat*", "dès que possible", "au plus vite", "au plus tôt", "critique*",
        "haute priorité", "priorité élevée",
        # pt
        "urgência", "imediat*", "emergência*", "o mais rápido possível", "o quanto antes", "com urgência",
    ],
    "outage": [
        # en
        "down", "outage*", "offline", "unavailable", "unreachable", "not working", "stopped working",
        "crash*", "service disruption", "disrupt*", "inaccessible", "cannot access", "can't access",
        "not responding", "unresponsive", "not loading", "went down", "is down",
        # de
        "ausgefallen", "ausfall*", "funktioniert nicht", "funktioniert nicht mehr", "nicht erreichbar",
        "nicht verfügbar", "störung*", "abgestürzt", "absturz*", "unterbrechung*", "geht nicht",
        "lahmgelegt", "stillstand", "steht still", "nicht mehr erreichbar",
        # es
        "caído", "caída", "caido", "caida", "no funciona", "fuera de servicio", "sin servicio",
        "interrupción*", "inaccesible", "no disponible", "no responde", "se cayó", "colaps*",
        # fr
        "panne*", "hors service", "ne fonctionne pas", "ne fonctionne plus", "interruption*",
        "indisponible*", "hors ligne", "ne répond pas", "plantage", "planté",
        # pt
        "fora do ar", "não funciona", "não está funcionando", "interrupção*", "indisponível*",
        "inacessível", "fora de serviço", "queda", "caiu", "travou", "parou de funcionar",
    ],
    "security": [
        # en
        "breach*", "hack*", "compromised", "ransomware", "malware", "phishing", "unauthorized access",
        "unauthorised access", "security incident", "cyberattack*", "cyber attack*", "intrusion*",
        "virus", "exploit*", "vulnerabilit*", "leak*", "stolen",
        # de
        "sicherheitsvorfall*", "sicherheitslücke*", "datenleck*", "angriff*", "cyberangriff*",
        "hackerangriff*", "unbefugte*", "unbefugter zugriff", "kompromittiert*", "schadsoftware",
        "datenschutzverletzung*", "sicherheitsverletzung*", "datenverletzung*",
        # es
        "brecha*", "violación de datos", "violación de seguridad", "ataque*", "acceso no autorizado",
        "hackeo", "vulnerabilidad*", "incidente de seguridad", "filtración*", "comprometid*",
        # fr
        "violation de données", "faille*", "piratage", "piraté*", "attaque*", "accès non autorisé",
        "incident de sécurité", "fuite de données", "compromis",
        # pt
        "violação*", "vazamento*", "invasão", "invadid*", "acesso não autorizado",
        "incidente de segurança", "vulnerabilidade*",
    ],
    "data_loss": [
        # en
        "data loss", "lost data", "lost all", "data corruption", "corrupt*", "missing data", "wiped",
        "deleted all", "data was deleted", "unrecoverable",
        # de
        "datenverlust*", "daten verloren", "daten gelöscht", "beschädigt*", "korrupt*", "daten sind weg",
        # es
        "pérdida de datos", "datos perdidos", "perdimos", "datos borrados", "corrupto*", "dañad*",
        # fr
        "perte de données", "données perdues", "corrompu*", "données supprimées",
        # pt
        "perda de dados", "dados perdidos", "corrompid*", "dados apagados",
    ],
    "impact": [
        # en
        "all users", "all our", "entire", "whole company", "production", "revenue", "deadline*",
        "business critical", "mission critical", "cannot work", "blocking", "blocked", "sla",
        "financial loss", "losing money",
        # de
        "produktion*", "alle benutzer", "alle mitarbeiter", "alle nutzer", "umsatz*", "frist*",
        "geschäftskritisch*", "betriebsunterbrechung*", "blockiert*", "geschäftsbetrieb*",
        # es
        "producción", "todos los usuarios", "ingresos", "plazo*", "bloquead*", "pérdidas",
        # fr
        "tous les utilisateurs", "chiffre d'affaires", "délai*", "bloqué*", "pertes",
        # pt
        "produção", "todos os usuários", "receita", "prazo*", "perdas",
    ],
    "calm": [
        # en
        "no rush", "when you have time", "when convenient", "not urgent", "at your convenience",
        "whenever", "just wondering", "curious", "inquiry", "inquire", "feedback", "suggestion*",
        "brochure", "information about", "would like to know", "interested in",
        # de
        "keine eile", "nicht dringend", "wenn sie zeit haben", "bei gelegenheit", "vorschlag*",
        "informationen über", "interesse an", "möchte wissen", "anregung*",
        # es
        "sin prisa", "no es urgente", "cuando pueda", "cuando tenga tiempo", "sugerencia*",
        "información sobre", "interesad*", "me gustaría saber",
        # fr
        "pas urgent", "pas pressé", "quand vous aurez le temps", "à votre convenance", "suggestion*",
        "informations sur", "intéressé*", "j'aimerais savoir",
        # pt
        "sem pressa", "não é urgente", "quando puder", "sugest*", "informações sobre", "interessad*",
        "gostaria de saber",
    ],
}


# --------------------------------------------------------------------------------------- text

def normalize_text(text: Any, max_chars: int = MAX_CHARS) -> str:
    """Surrogates -> U+FFFD, first ``max_chars`` code points, NFKC, lowercase (as the TS side)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if _SURROGATE_RE.search(text):
        text = _SURROGATE_RE.sub("\ufffd", text)
    return unicodedata.normalize("NFKC", text[:max_chars]).lower()


def tokenize(normalized: str) -> list[str]:
    """Maximal runs of alphanumeric characters (``str.isalnum``)."""
    return _TOKEN_RE.findall(normalized)


def fnv1a32(s: str) -> int:
    """FNV-1a 32-bit over the UTF-8 bytes of ``s``."""
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def compile_terms(terms: Iterable[str]) -> list[dict[str, Any]]:
    """Keyword terms -> ``{"tokens": [...], "prefix": bool}`` in the normalised token space."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[tuple[str, ...], bool]] = set()
    for term in terms:
        prefix = term.endswith("*")
        toks = tokenize(normalize_text(term.rstrip("*")))
        key = (tuple(toks), prefix)
        if toks and key not in seen:
            seen.add(key)
            out.append({"tokens": toks, "prefix": prefix})
    return out


def _term_matches(term: dict[str, Any], tokens: list[str], positions: dict[str, list[int]]) -> bool:
    toks: list[str] = term["tokens"]
    prefix: bool = term["prefix"]
    first, rest = toks[0], toks[1:]
    if not rest:
        if not prefix:
            return first in positions
        return any(t.startswith(first) for t in positions)
    last = len(rest) - 1
    for s in positions.get(first, ()):
        if s + len(rest) >= len(tokens):
            continue
        ok = True
        for j, want in enumerate(rest):
            tok = tokens[s + 1 + j]
            ok = tok.startswith(want) if (j == last and prefix) else tok == want
            if not ok:
                break
        if ok:
            return True
    return False


# -------------------------------------------------------------------------------- featurizer

@dataclass
class Featurizer:
    n_buckets: int
    keywords: list[dict[str, Any]]  # [{"name", "terms": [{"tokens", "prefix"}]}]
    keyword_weight: float = 1.0
    max_chars: int = MAX_CHARS
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    idf: np.ndarray | None = None  # [n_buckets] float64 (already float16-rounded when exported)
    _cache: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.n_buckets <= 0 or self.n_buckets & (self.n_buckets - 1):
            raise ValueError(f"n_buckets must be a power of two, got {self.n_buckets}")

    @property
    def n_features(self) -> int:
        return self.n_buckets + len(self.keywords)

    def _hash(self, s: str) -> int:
        h = self._cache.get(s)
        if h is None:
            h = fnv1a32(s)
            if len(self._cache) < 2_000_000:
                self._cache[s] = h
        return h

    def raw_blocks(self, text: Any) -> tuple[list[dict[int, float]], list[int]]:
        """Signed sublinear-tf bucket values per block (before idf and normalisation) + keyword groups.

        tf is counted per 32-bit feature hash (distinct strings with equal FNV hashes count as one
        feature), which lets the TypeScript side hash n-grams without building strings.
        """
        tokens = tokenize(normalize_text(text, self.max_chars))
        w_min, w_max = self.word_ngrams
        c_min, c_max = self.char_ngrams
        words: dict[int, int] = {}
        tok_counts: dict[str, int] = {}
        n_tok = len(tokens)
        for i, tok in enumerate(tokens):
            tok_counts[tok] = tok_counts.get(tok, 0) + 1
            for n in range(w_min, w_max + 1):
                if i + n > n_tok:
                    break
                if n == 1:
                    key = "w:" + tok
                else:
                    key = ("b" if n == 2 else f"n{n}") + ":" + " ".join(tokens[i:i + n])
                h = self._hash(key)
                words[h] = words.get(h, 0) + 1
        chars: dict[int, int] = {}
        for tok, count in tok_counts.items():
            padded = " " + tok + " "
            for i in range(len(padded)):
                for n in range(c_min, c_max + 1):
                    if i + n > len(padded):
                        break
                    h = self._hash("c:" + padded[i:i + n])
                    chars[h] = chars.get(h, 0) + count
        mask = self.n_buckets - 1
        blocks: list[dict[int, float]] = []
        for counts in (words, chars):
            block: dict[int, float] = {}
            for h, tf in counts.items():
                b = h & mask
                v = 1.0 + math.log(tf)
                block[b] = block.get(b, 0.0) + (-v if h >> 31 else v)
            blocks.append(block)
        groups: list[int] = []
        if self.keywords and tokens:
            positions: dict[str, list[int]] = {}
            for i, t in enumerate(tokens):
                positions.setdefault(t, []).append(i)
            for g, group in enumerate(self.keywords):
                if any(_term_matches(term, tokens, positions) for term in group["terms"]):
                    groups.append(g)
        return blocks, groups

    def finalize(self, blocks: list[dict[int, float]], groups: list[int]) -> dict[int, float]:
        """idf, per-block L2 normalisation, sum into one bucket space, keyword dimensions."""
        acc: dict[int, float] = {}
        idf = self.idf
        for raw in blocks:
            block: dict[int, float] = {}
            if idf is None:
                block = raw
            else:
                # mirrors TS: the idf factor multiplies each feature's value before the bucket sum
                block = {b: v * float(idf[b]) for b, v in raw.items()}
            sq = 0.0
            for v in block.values():
                sq += v * v
            if sq <= 0.0:
                continue
            norm = math.sqrt(sq)
            for b, v in block.items():
                acc[b] = acc.get(b, 0.0) + v / norm
        out = {b: v for b, v in acc.items() if v != 0.0}
        for g in groups:
            out[self.n_buckets + g] = self.keyword_weight
        return out

    def transform(self, texts: Sequence[Any]) -> sp.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        for text in texts:
            feats = self.finalize(*self.raw_blocks(text))
            indices.extend(feats.keys())
            data.extend(feats.values())
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
            shape=(len(texts), self.n_features),
        )


# ------------------------------------------------------------------------------------- model

def _round16(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float16).astype(np.float64)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _encode_matrix(a: np.ndarray, dtype: str = "float16") -> dict[str, Any]:
    a = np.atleast_2d(np.asarray(a))
    arr = np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": [int(arr.shape[0]), int(arr.shape[1])], "data": base64.b64encode(arr.tobytes()).decode("ascii")}


def _decode_matrix(m: dict[str, Any]) -> np.ndarray:
    dt = np.dtype(m["dtype"]).newbyteorder("<")
    rows, cols = m["shape"]
    return np.frombuffer(base64.b64decode(m["data"]), dtype=dt).reshape(rows, cols).astype(np.float64)


@dataclass
class NgramModel:
    """Hashed n-gram queue classifier + urgency model. Weights are float16-exact (see module doc)."""

    labels: list[str]
    featurizer: Featurizer
    queue_coef: np.ndarray  # [n_features, n_labels]
    queue_intercept: np.ndarray  # [n_labels]
    urgency_kind: str  # "expected" | "linear"
    urgency_coef: np.ndarray  # [n_features, K] or [n_features, 1]
    urgency_intercept: np.ndarray  # [K] or [1]
    urgency_values: np.ndarray | None = None  # [K] for "expected"
    info: dict[str, Any] = field(default_factory=dict)
    _last: tuple[tuple[Any, ...], sp.csr_matrix] | None = field(default=None, repr=False, compare=False)

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Feature matrix; the last one is kept, as callers ask for probabilities and urgency in turn."""
        key = tuple(texts)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        X = self.featurizer.transform(list(key))
        self._last = (key, X)
        return X

    def predict_proba(self, texts: Sequence[str], X: sp.csr_matrix | None = None) -> np.ndarray:
        X = self.features(texts) if X is None else X
        return _softmax(np.asarray(X @ self.queue_coef) + self.queue_intercept)

    def predict_urgency(self, texts: Sequence[str], X: sp.csr_matrix | None = None) -> np.ndarray:
        X = self.features(texts) if X is None else X
        z = np.asarray(X @ self.urgency_coef) + self.urgency_intercept
        if self.urgency_kind == "expected":
            assert self.urgency_values is not None
            u = _softmax(z) @ self.urgency_values
        else:
            u = z[:, 0]
        return np.clip(np.nan_to_num(u, nan=0.5), 0.0, 1.0)

    def keyword_groups(self, text: str) -> list[str]:
        """Names of the keyword groups that fire for ``text`` (diagnostics and tests)."""
        _, groups = self.featurizer.raw_blocks(text)
        return [self.featurizer.keywords[g]["name"] for g in groups]

    def to_json(self) -> dict[str, Any]:
        f = self.featurizer
        urgency: dict[str, Any] = {"kind": self.urgency_kind, "coef": _encode_matrix(self.urgency_coef),
                                   "intercept": [float(x) for x in self.urgency_intercept]}
        if self.urgency_kind == "expected":
            assert self.urgency_values is not None
            urgency["values"] = [float(x) for x in self.urgency_values]
        return {
            "format": FORMAT,
            "version": VERSION,
            "labels": list(self.labels),
            "hash": "fnv1a32-utf8",
            "n_buckets": f.n_buckets,
            "max_chars": f.max_chars,
            "word_ngrams": list(f.word_ngrams),
            "char_ngrams": list(f.char_ngrams),
            "keyword_weight": f.keyword_weight,
            "keywords": f.keywords,
            "idf": None if f.idf is None else _encode_matrix(f.idf.reshape(-1, 1)),
            "queue": {"coef": _encode_matrix(self.queue_coef), "intercept": [float(x) for x in self.queue_intercept]},
            "urgency": urgency,
            "info": self.info,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> NgramModel:
        if doc.get("format") != FORMAT or doc.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} v{VERSION} document")
        idf = None if doc.get("idf") is None else _decode_matrix(doc["idf"])[:, 0]
        f = Featurizer(n_buckets=int(doc["n_buckets"]), keywords=doc["keywords"], keyword_weight=float(doc["keyword_weight"]),
                       max_chars=int(doc["max_chars"]), word_ngrams=tuple(doc["word_ngrams"]),
                       char_ngrams=tuple(doc["char_ngrams"]), idf=idf)
        u = doc["urgency"]
        return cls(
            labels=list(doc["labels"]), featurizer=f,
            queue_coef=_decode_matrix(doc["queue"]["coef"]), queue_intercept=np.asarray(doc["queue"]["intercept"], dtype=np.float64),
            urgency_kind=u["kind"], urgency_coef=_decode_matrix(u["coef"]),
            urgency_intercept=np.asarray(u["intercept"], dtype=np.float64),
            urgency_values=None if u["kind"] != "expected" else np.asarray(u["values"], dtype=np.float64),
            info=dict(doc.get("info") or {}),
        )


def default_keywords() -> list[dict[str, Any]]:
    return [{"name": name, "terms": compile_terms(terms)} for name, terms in KEYWORD_GROUPS.items()]


def auto_buckets(n_outputs: int, use_idf: bool, max_buckets: int = DEFAULT_MAX_BUCKETS) -> int:
    """Largest power of two ≤ max_buckets whose float16 weights (base64) fit MAX_JSON_BYTES."""
    n = max_buckets
    while n > 1 << 12:
        size = (n * (n_outputs + (1 if use_idf else 0)) * 2) * 4 / 3
        if size <= MAX_JSON_BYTES:
            break
        n //= 2
    return n


def _full_coef(clf: LogisticRegression, n_classes: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """sklearn coef -> [n_features, n_classes] + intercept over *all* classes (absent ones get -50)."""
    coef = np.zeros((n_classes, n_features))
    icpt = np.full(n_classes, -50.0)
    classes = list(clf.classes_)
    if len(classes) == 1:
        icpt[:] = -50.0
        icpt[int(classes[0])] = 0.0
    elif clf.coef_.shape[0] == 1:  # binary: softmax over [0, z] == sigmoid(z)
        coef[int(classes[1])] = clf.coef_[0]
        icpt[int(classes[0])] = 0.0
        icpt[int(classes[1])] = clf.intercept_[0]
    else:
        for row, c in enumerate(classes):
            coef[int(c)] = clf.coef_[row]
            icpt[int(c)] = clf.intercept_[row]
    return coef.T.copy(), icpt


def train_ngram(
    texts: Sequence[str],
    queue_ids: np.ndarray,
    labels: list[str],
    urgency: np.ndarray,
    *,
    seed: int = 0,
    class_weight: str | None = "balanced",
    C: float = 10.0,
    n_buckets: int | None = None,
    use_idf: bool = True,
    keyword_weight: float = 1.0,
    urgency_kind: str = "auto",
    urgency_C: float = 2.0,
    max_iter: int = 2000,
) -> NgramModel:
    """Fits the queue classifier and the urgency model on ``texts``.

    ``queue_ids`` index ``labels``; ``urgency`` holds targets in [0, 1]. ``urgency_kind`` "expected"
    (logistic regression over the distinct target values, scored as the expected value; chosen by
    "auto" when there are ≤ 10 distinct values) or "linear" (ridge, clipped to [0, 1]).
    """
    texts = list(texts)
    queue_ids = np.asarray(queue_ids, dtype=np.int64)
    urgency = np.asarray(urgency, dtype=np.float64)
    if len(texts) != len(queue_ids) or len(texts) != len(urgency):
        raise ValueError("texts, queue_ids and urgency must have the same length")
    if len(texts) == 0:
        raise ValueError("no training texts")
    if queue_ids.min() < 0 or queue_ids.max() >= len(labels):
        raise ValueError("queue_ids out of range of labels")
    # NaN = a row without a priority: it trains the queue classifier only.
    values = np.unique(urgency[np.isfinite(urgency)])
    if len(values) == 0:
        raise ValueError("no row has an urgency target")
    kind = urgency_kind
    if kind == "auto":
        kind = "expected" if 1 < len(values) <= 10 else "linear"
    n_urg = len(values) if kind == "expected" else 1
    if n_buckets is None:
        n_buckets = auto_buckets(len(labels) + n_urg, use_idf)
    feat = Featurizer(n_buckets=n_buckets, keywords=default_keywords(), keyword_weight=keyword_weight)
    raw = [feat.raw_blocks(t) for t in texts]
    if use_idf:
        df = np.zeros(n_buckets)
        for blocks, _ in raw:
            seen: set[int] = set()
            for block in blocks:
                seen.update(b for b, v in block.items() if v != 0.0)
            df[list(seen)] += 1
        feat.idf = _round16(np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0)
    X = _rows_to_csr([feat.finalize(*r) for r in raw], feat.n_features)
    # L-BFGS on a few thousand parameters per class: multi-threaded BLAS only spins (30x slower on a busy box)
    with threadpool_limits(limits=1):
        return _fit(X, feat, texts, queue_ids, labels, urgency, kind, values, seed=seed, class_weight=class_weight, C=C,
                    urgency_C=urgency_C, max_iter=max_iter, use_idf=use_idf)


def _fit(X: sp.csr_matrix, feat: Featurizer, texts: list[str], queue_ids: np.ndarray, labels: list[str], urgency: np.ndarray,
         kind: str, values: np.ndarray, *, seed: int, class_weight: str | None, C: float, urgency_C: float, max_iter: int,
         use_idf: bool) -> NgramModel:
    clf = LogisticRegression(C=C, class_weight=class_weight, max_iter=max_iter, random_state=seed)
    clf.fit(X, queue_ids)
    q_coef, q_icpt = _full_coef(clf, len(labels), feat.n_features)

    has = np.isfinite(urgency)
    X_u, urgency = X[np.flatnonzero(has)], urgency[has]
    if kind == "expected":
        y = np.searchsorted(values, urgency)
        uclf = LogisticRegression(C=urgency_C, max_iter=max_iter, random_state=seed)
        uclf.fit(X_u, y)
        u_coef, u_icpt = _full_coef(uclf, len(values), feat.n_features)
        u_values: np.ndarray | None = values
    else:
        reg = Ridge(alpha=1.0 / urgency_C, random_state=seed)
        reg.fit(X_u, urgency)
        u_coef, u_icpt = np.asarray(reg.coef_, dtype=np.float64).reshape(-1, 1), np.asarray([float(reg.intercept_)])
        u_values = None

    return NgramModel(
        labels=list(labels), featurizer=feat,
        queue_coef=_round16(q_coef), queue_intercept=q_icpt,
        urgency_kind=kind, urgency_coef=_round16(u_coef), urgency_intercept=u_icpt, urgency_values=u_values,
        info={"n_train": len(texts), "C": C, "class_weight": class_weight, "urgency_C": urgency_C,
              "use_idf": use_idf, "seed": seed},
    )


def _rows_to_csr(rows: list[dict[int, float]], n_features: int) -> sp.csr_matrix:
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for feats in rows:
        indices.extend(feats.keys())
        data.extend(feats.values())
        indptr.append(len(indices))
    return sp.csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64),
                          np.asarray(indptr, dtype=np.int64)), shape=(len(rows), n_features))
