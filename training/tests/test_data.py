from pathlib import Path

import numpy as np
import pytest

from training.data import DataError, URGENCY_MAPPING, load_csv, stratified_split, ticket_text

from .conftest import DATA, TOPICS


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_missing_column_is_named(tmp_path):
    path = write(tmp_path, "subject,body,queue\nhi,there,Billing\n")
    with pytest.raises(DataError, match="missing column.*priority"):
        load_csv(path)


def test_bad_priority_names_row(tmp_path):
    path = write(tmp_path, "subject,body,queue,priority\na,b,Q,high\nc,d,Q,whenever\n")
    with pytest.raises(DataError, match=r"row 3: unknown priority 'whenever'"):
        load_csv(path)


def test_empty_body_names_row(tmp_path):
    path = write(tmp_path, 'subject,body,queue,priority\na,"",Q,low\n')
    with pytest.raises(DataError, match="row 2: empty body"):
        load_csv(path)


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="no data rows"):
        load_csv(write(tmp_path, "subject,body,queue,priority\n"))


def test_text_join_and_escaped_newlines(tmp_path):
    path = write(tmp_path, 'subject,body,queue,priority\n"",line one\\nline two,Q,low\nSubj ,b,R,high\n')
    ds = load_csv(path)
    assert ds.texts == ["line one\nline two", "Subj\nb"]
    assert ticket_text("  ", "body") == "body"
    assert ds.labels == ["Q", "R"]
    assert ds.urgency.tolist() == pytest.approx([URGENCY_MAPPING["low"], URGENCY_MAPPING["high"]])


def test_labels_come_from_the_data():
    ds = load_csv(TOPICS)
    assert len(ds.labels) == 52
    assert set(ds.priorities) == {"very_low", "low", "medium", "high", "critical"}


def test_split_is_stratified_disjoint_and_seeded():
    ds = load_csv(DATA)
    a, b = stratified_split(ds, seed=13), stratified_split(ds, seed=13)
    assert np.array_equal(a.test, b.test)
    parts = [set(a.train), set(a.val), set(a.test)]
    assert sum(len(p) for p in parts) == len(ds) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    full = np.bincount(ds.queues) / len(ds)
    test = np.bincount(ds.queues[a.test], minlength=len(ds.labels)) / len(a.test)
    assert np.abs(full - test).max() < 0.02
