import json

from tokenizers import Tokenizer

from training.vocab_trim import is_unigram, trim_base

from .conftest import _texts


def test_trimming_keeps_training_segmentation_and_resegments_unseen_words(tiny_bert, tmp_path):
    texts = _texts(400)
    train = texts[:5]
    assert is_unigram(tiny_bert)
    out = trim_base(tiny_bert, train, tmp_path / "trimmed", target_size=540)
    info = json.loads((out / "trim.json").read_text())
    kept = info["kept_ids"]
    assert info["seen_in_training_text"] < 540 and len(kept) == 540 and kept == sorted(kept) and kept[:4] == [0, 1, 2, 3]
    full = Tokenizer.from_file(str(tiny_bert / "tokenizer.json"))
    small = Tokenizer.from_file(str(out / "tokenizer.json"))
    for a, b in zip(full.encode_batch(train), small.encode_batch(train), strict=True):
        assert [kept[i] for i in b.ids] == a.ids
    unseen = small.encode_batch(texts[5:])
    unk = small.token_to_id("<unk>")
    tokens = [i for e in unseen for i in e.ids]
    assert sum(i == unk for i in tokens) / len(tokens) < 0.05
    config = json.loads((out / "config.json").read_text())
    assert config["vocab_size"] == 540
