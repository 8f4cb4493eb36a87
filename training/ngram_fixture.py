"""Writes the TypeScript parity fixture for the n-gram model.

    python -m training.ngram_fixture [--data ../shared/data/tickets.csv] [--out shared/src/model/__fixtures__]
    python -m training.ngram_fixture --check-unicode   # isalnum vs /[\\p{L}\\p{N}]/u over all code points

Trains a small model (≈300 stratified rows, 4096 buckets) and writes ``ngram-small.json`` plus
``ngram-small.expected.json`` (Python's probabilities, urgency and keyword groups for varied texts);
``shared/src/model/ngram-model.test.ts`` asserts the TypeScript inference matches to 1e-5.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from .ngram import train_ngram

REPO = Path(__file__).resolve().parent.parent
URGENCY = {"very_low": 0.0, "low": 0.15, "medium": 0.5, "high": 0.9, "critical": 1.0}

PARITY_TEXTS: list[str] = [
    "Refund request\nI returned the blender two weeks ago and still have not received my refund of 89.99 EUR.",
    "Server ausgefallen, dringend!",
    "Sehr geehrtes Support-Team,\n\nunser Server ist seit heute Morgen ausgefallen. Bitte helfen Sie sofort.",
    "Hola, el sistema está caído desde ayer y no funciona nada. ¡Es urgente!",
    "Bonjour, panne totale du service de facturation, merci d'intervenir au plus vite.",
    "Olá, a plataforma está fora do ar e precisamos de ajuda com urgência.",
    "INVOICE WRONG!!! WE WERE CHARGED TWICE FOR ORDER #12345",
    "Security breach: unauthorized access to our customer database, possible data loss.",
    "Can you send me the product brochure when you have time? No rush.",
    "🔥🔥 everything is down 🚨 please help 😭",
    "مرحبا، الخادم لا يعمل منذ الصباح ١٢٣",
    "שלום, השרת נפל והאתר לא זמין",
    "Café, naïve, résumé, Ångström, Straße, STRASSE, ΟΔΟΣ ΟΔΟΣ, İstanbul",
    "Cafe\u0301 decomposed e\u0301 accents and ﬁ ligature and ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ",
    "Version 2.3.1 of the app crashes on iOS 17 with error 0x80070005 at 12:45",
    "x² + y³ = ½ — Ⅻ chapter, ① item, ٣ digits",
    "snake_case_identifier and kebab-case-word and e-mail support@example.com https://example.com/a?b=c",
    "",
    "   \n\t  ",
    "a",
    "Tab\tseparated\r\nwindows\r\nlines and\u00a0non-breaking\u2003spaces",
    "中文客户服务请求：我的订单没有到达。日本語のテキストも。한국어 텍스트",
    "Lone surrogate \ud800 in the middle and \udfff at the end",
    "Zero\u200bwidth\u200cjoiners\u200dand\ufeffBOM",
    "Rückerstattung für die Rücksendung bitte auf mein Konto überweisen.",
    "Necesito un reembolso por la devolución del producto defectuoso.",
    "Je souhaite un remboursement pour ma commande retournée.",
    "Gostaria de solicitar o reembolso da minha devolução.",
    "Datenverlust nach dem Update, alle Benutzer betroffen, Produktion steht still!",
    "ab " * 9000,
    "a" * 25000,
    "A" * 19999 + "Zürich ausgefallen",
    # more distinct n-grams than the TypeScript featurizer's tables first hold (they grow mid-text)
    " ".join(f"token{(i * 7919) % 10007}" for i in range(3000)) + " server down",
    # a multi-word term whose first word occurs earlier without the rest
    "As well as that, please call as soon as possible: the server is down",
]


def load_rows(path: Path) -> tuple[list[str], list[str], list[float]]:
    csv.field_size_limit(sys.maxsize)
    texts: list[str] = []
    queues: list[str] = []
    urg: list[float] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            unesc = lambda v: (v or "").replace("\\r\\n", "\n").replace("\\n", "\n")  # noqa: E731
            subject, body = unesc(row["subject"]).strip(), unesc(row["body"])
            texts.append(f"{subject}\n{body}" if subject else body)
            queues.append(row["queue"])
            urg.append(URGENCY[row["priority"].strip().lower()])
    return texts, queues, urg


def write_fixture(data: Path, out: Path, n_rows: int = 300, seed: int = 0) -> None:
    texts, queues, urg = load_rows(data)
    labels = sorted(set(queues))
    y = np.array([labels.index(q) for q in queues])
    idx, _ = train_test_split(np.arange(len(texts)), train_size=n_rows, stratify=y, random_state=seed)
    model = train_ngram([texts[i] for i in idx], y[idx], labels, np.array(urg)[idx], seed=seed, n_buckets=4096)
    doc = model.to_json()
    doc["info"]["fixture"] = f"{n_rows} stratified rows of {data.name}, seed {seed}; regenerate with python -m training.ngram_fixture"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ngram-small.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    expected = {
        "texts": PARITY_TEXTS,
        "proba": model.predict_proba(PARITY_TEXTS).tolist(),
        "urgency": model.predict_urgency(PARITY_TEXTS).tolist(),
        "keyword_groups": [model.keyword_groups(t) for t in PARITY_TEXTS],
    }
    # ensure_ascii keeps lone surrogates representable ("\\ud800"); JSON.parse restores them in JS
    (out / "ngram-small.expected.json").write_text(json.dumps(expected, ensure_ascii=True, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out / 'ngram-small.json'} ({(out / 'ngram-small.json').stat().st_size} bytes) and ngram-small.expected.json")


def check_unicode() -> int:
    """Compares Python's str.isalnum with JS /[\\p{L}\\p{N}]/u over every code point (needs node)."""
    py = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and chr(cp).isalnum()]
    js_src = ("const re=/[\\p{L}\\p{N}]/u;const out=[];for(let c=0;c<0x110000;c++){if(c>=0xd800&&c<=0xdfff)continue;"
              "if(re.test(String.fromCodePoint(c)))out.push(c);}process.stdout.write(JSON.stringify(out));")
    js = json.loads(subprocess.run(["node", "-e", js_src], check=True, capture_output=True, text=True).stdout)
    only_py, only_js = sorted(set(py) - set(js)), sorted(set(js) - set(py))
    import unicodedata
    print(f"python isalnum: {len(py)} code points; JS \\p{{L}}\\p{{N}}: {len(js)}; Python unicodedata {unicodedata.unidata_version}")
    print(f"only Python: {len(only_py)} {[hex(c) for c in only_py[:20]]}")
    print(f"only JS: {len(only_js)} {[hex(c) for c in only_js[:20]]} (unassigned in Python's database: "
          f"{sum(unicodedata.category(chr(c)) == 'Cn' for c in only_js)})")
    return 0 if not only_py else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/data/tickets.csv")
    ap.add_argument("--out", type=Path, default=REPO / "shared/src/model/__fixtures__")
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--check-unicode", action="store_true")
    args = ap.parse_args(argv)
    if args.check_unicode:
        return check_unicode()
    write_fixture(args.data, args.out, args.rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
