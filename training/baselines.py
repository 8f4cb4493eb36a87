"""Comparison models trained in the same run on the same split."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC
from transformers import AutoTokenizer

from .finetune import by_length, collate
from .model import load_encoder, mean_pool


def tfidf_svm(train_texts: Sequence[str], y: np.ndarray, test_texts: Sequence[str], seed: int) -> np.ndarray:
    """The data README's reference: word 1-2 + char 3-5 TF-IDF, linear SVM, balanced classes."""
    features = FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True)),
    ])
    x_train = features.fit_transform(train_texts)
    clf = LinearSVC(C=0.5, class_weight="balanced", random_state=seed).fit(x_train, y)
    return clf.predict(features.transform(test_texts))


@torch.no_grad()
def frozen_embeddings(base: Path, texts: Sequence[str], max_length: int, batch_size: int = 32) -> np.ndarray:
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    encoder = load_encoder(base).eval()
    ids_list = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    pad = tokenizer.pad_token_id or 0
    out = np.zeros((len(ids_list), encoder.config.hidden_size), dtype=np.float32)
    for idx in by_length(ids_list, batch_size):
        ids, mask = collate([ids_list[i] for i in idx], pad)
        pooled = mean_pool(encoder(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
        out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out


def embedding_probe(base: Path, train_texts: Sequence[str], y: np.ndarray, test_texts: Sequence[str],
                    max_length: int, seed: int) -> np.ndarray:
    """A frozen encoder + balanced logistic regression (fine-tuning a second encoder would double the run)."""
    x_train = frozen_embeddings(base, train_texts, max_length)
    x_test = frozen_embeddings(base, test_texts, max_length)
    clf = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced", random_state=seed).fit(x_train, y)
    return clf.predict(x_test)
