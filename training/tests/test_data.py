from pathlib import Path

import numpy as np
import pytest

from training.data import (
    URGENCY_MAPPING,
    DataError,
    load_csv,
    load_files,
    split_per_file,
    stratified_split,
    ticket_text,
)

from .conftest import DATA, TOPICS


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_missing_column_is_named(tmp_path):
    path = write(tmp_path, "subject,body,priority\nhi,there,low\n")
    with pytest.raises(DataError, match=r"missing column.*queue"):
        load_csv(path)


def test_a_row_without_priority_keeps_its_queue_and_gets_no_invented_priority(tmp_path):
    ds = load_csv(write(tmp_path, "subject,body,queue,priority\na,b,Q,high\n,c,R,\n"))
    assert ds.queues.tolist() == [0, 1] and ds.priorities == ["high", ""]
    assert ds.has_priority.tolist() == [True, False] and np.isnan(ds.urgency[1])
    only_body = load_csv(write(tmp_path, "body,queue\nhello,Q\n"))  # a file may have no priority column at all
    assert only_body.texts == ["hello"] and not only_body.has_priority.any()


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


def test_several_files_share_one_label_set_and_remember_their_rows(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("subject,body,queue,priority,type\ns,one,B,low,Incident\ns,two,A,high,\n")
    b = tmp_path / "b.csv"
    b.write_text("body,queue\nthree,C\nfour,A\nfive,B\n")
    ds, files = load_files([a, b])
    assert ds.labels == ["A", "B", "C"] and [ds.labels[q] for q in ds.queues] == ["B", "A", "C", "A", "B"]
    assert ds.source.tolist() == [0, 0, 1, 1, 1] and ds.source_row.tolist() == [0, 1, 0, 1, 2]
    assert ds.has_priority.tolist() == [True, True, False, False, False]
    assert ds.types.tolist() == [0, -1, -1, -1, -1]
    assert [(f.path, f.rows) for f in files] == [(str(a), 2), (str(b), 3)]


def test_each_file_is_split_on_its_own_and_unaffected_by_the_others():
    more = DATA.parent / "tickets-more.csv"
    alone, _ = load_files([DATA])
    both, _ = load_files([DATA, more])
    s_alone, s_both = split_per_file(alone, seed=13), split_per_file(both, seed=13)
    for part in ("train", "val", "test"):
        rows_both = getattr(s_both, part)
        first = both.source_row[rows_both[both.source[rows_both] == 0]]
        assert np.array_equal(first, getattr(s_alone, part))  # adding a file moves no row of the first
    assert np.array_equal(s_alone.test, stratified_split(load_csv(DATA), seed=13).test)  # the v1 card's test rows
    second = both.source[s_both.test] == 1
    share = second.sum() / (both.source == 1).sum()
    assert 0.13 < share < 0.17  # the second file holds back its own 15 %
    no_prio = ~both.has_priority[s_both.test]
    assert no_prio.any() and (no_prio <= second).all()  # its priority-less rows are tested on the queue too
