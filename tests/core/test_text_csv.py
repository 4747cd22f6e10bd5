"""The Zhang, Zhao & LeCun (2015) CSV reader, its cache, and its errors, on small real files."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lit_core.data import DataError, load_data
from lit_core.data.csv_reader import read_csv_split
from lit_core.data.text import Quantizer

# Written as the archives are: every field quoted, "" for a quote, line breaks as the two
# characters backslash-n, labels 1-based.
TRAIN3 = (
    '"2","Great value","Works as described, would buy ""again"".\\nFive stars."\n'
    '"1","Broke","Stopped after a week"\n'
    '"2","Nice","Good, solid, cheap"\n'
    '"1","Meh","Not worth it; returned"\n'
)
TEST3 = '"1","Bad","Awful"\n"2","Good","Fine, thanks"\n'


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LIT_DATA_DIR", raising=False)


def write(folder, train=TRAIN3, test=TEST3):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.csv").write_bytes(train.encode() if isinstance(train, str) else train)
    (folder / "test.csv").write_bytes(test.encode() if isinstance(test, str) else test)
    return folder


def test_three_column_records_join_title_and_body_unescape_and_shift_labels(tmp_path):
    q = Quantizer(seq_len=80)
    ids, labels, cached = read_csv_split(write(tmp_path / "d") / "train.csv", q, num_classes=2)
    assert not cached and ids.shape == (4, 80) and ids.dtype == np.uint8
    assert labels.tolist() == [1, 0, 1, 0]
    # lower-cased, quotes unescaped, "\n" became a line break (not in the alphabet: unknown)
    assert q.decode(ids[0]) == 'great value works as described, would buy "again".\ufffdfive stars.'
    assert q.decode(ids[2]) == "nice good, solid, cheap"


def test_two_column_layout(tmp_path):
    folder = write(tmp_path / "d", '"3","only text here"\n"1","and here"\n"2","x y"\n',
                   '"1","a"\n"3","b"\n')
    d = load_data("csv", folder, val_fraction=0.0, seq_len=16)
    assert d.num_classes == 3 and d.kind == "text"
    assert sorted(d.train.labels.tolist()) == [0, 1, 2] and d.test.labels.tolist() == [0, 2]
    assert Quantizer(16).decode(d.test.inputs[1].numpy()) == "b"


def test_second_load_maps_the_cache_and_does_not_parse(tmp_path):
    folder = write(tmp_path / "d")
    path, q = folder / "train.csv", Quantizer(seq_len=64)
    first, first_labels, cached = read_csv_split(path, q, 2)
    assert not cached
    os.utime(path, ns=(1, 1))  # a touched file with the same bytes is the same data
    again, again_labels, cached = read_csv_split(path, q, 2)
    assert cached and isinstance(again, np.memmap)
    assert np.array_equal(again, first) and np.array_equal(again_labels, first_labels)


def test_same_size_and_mtime_but_other_content_is_parsed_again(tmp_path):
    """The cache is keyed on the CSV's content: an edit that keeps size and mtime is seen."""
    folder = write(tmp_path / "d")
    path, q = folder / "train.csv", Quantizer(seq_len=64)
    read_csv_split(path, q, 2)
    st = os.stat(path)
    path.write_bytes(b"\xff" * st.st_size)  # same size, garbage: parsing it must fail
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    with pytest.raises(DataError, match="line 1: invalid UTF-8"):
        read_csv_split(path, q, 2)


def test_a_changed_file_is_parsed_again(tmp_path):
    folder = write(tmp_path / "d")
    q = Quantizer(seq_len=64)
    read_csv_split(folder / "train.csv", q, 2)
    (folder / "train.csv").write_text('"1","changed"\n"2","also"\n')
    ids, labels, cached = read_csv_split(folder / "train.csv", q, 2)
    assert not cached and labels.tolist() == [0, 1] and q.decode(ids[0]) == "changed"


def test_amazon_polarity_is_found_in_its_archive_folder_and_limited_lazily(tmp_path):
    rows = "".join(f'"{1 + i % 2}","t{i}","review number {i}"\n' for i in range(40))
    write(tmp_path / "amazon_review_polarity_csv", rows, "".join(rows.splitlines(True)[:10]))
    d = load_data("amazon-polarity", tmp_path, limit=20, seq_len=64)
    assert (d.num_classes, d.seq_len, d.vocab_size) == (2, 64, 69)
    assert len(d.train) + len(d.val) == 20
    assert d.model_kwargs() == {"num_classes": 2, "vocab_size": 69, "seq_len": 64}


def test_missing_amazon_says_how_to_get_it(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "README").write_text("nothing")
    with pytest.raises(DataError, match=r"amazon_review_full_csv.*tar\.gz"):
        load_data("amazon-full", tmp_path / "x")


BAD = [
    pytest.param('"1","a","b"\n"2","c"\n', 2, "line 2: 2 columns where line 1 has 3", id="missing-column"),
    pytest.param('"1","a"\n"3","b"\n', 2, "line 2: label 3 out of range; labels are 1..2", id="label-range"),
    pytest.param('"1","a"\n"0","b"\n', None, "line 2: label 0 out of range", id="label-zero"),
    pytest.param('"1","a"\n"one","b"\n', 2, "line 2: label 'one' is not an integer", id="label-text"),
    pytest.param('"1","a"\n"2.5","b"\n', 2, "line 2: label '2.5' is not an integer", id="label-float"),
    pytest.param('"1","a"\n"2","",""\n', 2, "line 2: 3 columns", id="extra-column"),
    pytest.param('"1","a",""\n"2"," ",""\n', 2, "line 2: empty text", id="empty-text"),
    pytest.param(b'"1","a"\n"2","caf\xe9"\n', 2, "line 2: invalid UTF-8", id="bad-utf8"),
    pytest.param('"1","a"\n"2","un"closed\n', 2, "line 2: unparsable CSV", id="stray-quote"),
    pytest.param('"1"\n', 2, "line 1: 1 column", id="one-column"),
    pytest.param("", 2, "no records", id="empty-file"),
]


@pytest.mark.parametrize(("content", "k", "message"), BAD)
def test_bad_csv_is_one_error_naming_file_and_line(tmp_path, content, k, message):
    folder = write(tmp_path / "d", content)
    with pytest.raises(DataError) as e:
        read_csv_split(folder / "train.csv", Quantizer(seq_len=64), k)
    msg = str(e.value)
    assert "\n" not in msg and str(folder / "train.csv") in msg and message in msg
