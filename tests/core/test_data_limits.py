"""Small files that declare huge data, ambiguous arrays, and CSV files and caches that used to
crash or mislead (issue 20, items 6, 7 and 10): each is refused in one line before anything is
allocated, or read correctly. The memory budget is set small (``LIT_DATA_MEMORY_GB``) so each
case is a few megabytes."""

from __future__ import annotations

import gzip
import io
import resource
import zipfile

import numpy as np
import pytest

from lit_core.cli import main
from lit_core.data import DataError, load_data
from lit_core.data.csv_reader import read_csv_split
from lit_core.data.sources import read_fashion_mnist, read_image_folder, read_npz
from lit_core.data.splits import Augment, finalise_splits
from lit_core.data.text import Quantizer


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("lit: error: ")
    return err[0]


def _labels(n, k=2):
    return np.arange(n) % k


# --------------------------------------------------------------------------- npz


def test_a_zip_bomb_npz_is_refused_from_its_headers_before_decompressing(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, images=np.zeros((40, 1, 500, 500), np.uint8), labels=_labels(40))
    assert path.stat().st_size < 100_000  # 10 MB of pixels in a few kilobytes
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.005")
    with pytest.raises(DataError, match=r"bomb\.npz \(images uint8 \(40, 1, 500, 500\).*needs "
                                        r"10 MB of memory, more than the data memory budget of "
                                        r"5 MB.*LIT_DATA_MEMORY_GB"):
        read_npz(path)
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.05")  # raised: the same file loads
    assert read_npz(path).train_images.dtype == np.uint8


def _npz_with_forged_header(path, shape):
    """An npz whose images.npy header declares ``shape`` but holds 16 bytes of data."""
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        member, {"descr": "|u1", "fortran_order": False, "shape": shape})
    member.write(bytes(16))
    labels = io.BytesIO()
    np.save(labels, np.zeros(4, np.int64))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("images.npy", member.getvalue())
        zf.writestr("labels.npy", labels.getvalue())


def test_an_npy_header_declaring_more_than_its_member_holds_is_refused(tmp_path):
    path = tmp_path / "forged.npz"
    _npz_with_forged_header(path, (10**6, 3, 224, 224))  # 150 GB declared, 16 bytes held
    with pytest.raises(DataError, match=r"member 'images' declares uint8 \(1000000, 3, 224, 224\) "
                                        r"\(151 GB\) but holds only 16 bytes"):
        read_npz(path)


def test_the_cli_refuses_a_zip_bomb_in_one_line_and_creates_nothing(tmp_path, capsys, monkeypatch):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, images=np.zeros((40, 1, 500, 500), np.uint8), labels=_labels(40))
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.005")
    assert main(["run", "--data", "npz", "--data-dir", str(path), "--out", str(tmp_path / "o"),
                 "--run-name", "r", "--teacher", "resnet8", "--student", "resnet8"]) == 2
    line = one_line_error(capsys)
    assert str(path) in line and "needs 10 MB of memory" in line and "LIT_DATA_MEMORY_GB" in line
    assert not (tmp_path / "o").exists()


def test_a_bad_budget_setting_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((8, 1, 4, 4), np.uint8), labels=_labels(8))
    for value in ("lots", "0", "-1", "nan"):
        monkeypatch.setenv("LIT_DATA_MEMORY_GB", value)
        with pytest.raises(DataError, match="LIT_DATA_MEMORY_GB must be a positive number"):
            read_npz(path)


def test_limit_is_applied_before_the_conversion_to_float32(monkeypatch):
    """2000 uint8 images of 64×64 are 8 MB; as float32 they would need 33 MB and more."""
    images = np.full((2000, 1, 64, 64), 7, np.uint8)
    labels = _labels(2000)
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.02")

    def splits(limit):
        return finalise_splits(name="t", train_images=images, train_labels=labels,
                               test_images=images[:100], test_labels=labels[:100], source="gen",
                               augment=Augment(), limit=limit, test_limit=limit)

    with pytest.raises(DataError, match=r"t: 2100 images of 1×64×64 as float32 .* lower "
                                        r"data.limit, or raise the budget"):
        splits(None)
    d = splits(200)
    assert len(d.train) + len(d.val) == 200 and d.train.images.dtype.is_floating_point


def test_uint8_images_are_scaled_once_after_the_split():
    images = np.arange(256, dtype=np.uint8).reshape(4, 1, 8, 8)
    d = finalise_splits(name="t", train_images=images, train_labels=np.array([0, 1, 0, 1]),
                        test_images=images, test_labels=np.array([0, 1, 0, 1]), source="gen",
                        augment=Augment(), val_fraction=0.0)
    raw = (d.test.images * d.std[0] + d.mean[0]).numpy()
    np.testing.assert_allclose(raw, images / 255.0, atol=1e-6)


@pytest.mark.parametrize("where", ["npz", "csv"])
def test_one_huge_label_is_counted_not_enumerated(tmp_path, where):
    """A label of 2**40 (npz) or 10**12 (CSV) used to allocate 0..K in checks.py (TiBs)."""
    if where == "npz":
        path = tmp_path / "d.npz"
        labels = np.array([0, 1, 2**40, 0, 1, 0])
        np.savez(path, images=np.zeros((6, 1, 4, 4), np.uint8), labels=labels,
                 test_images=np.zeros((2, 1, 4, 4), np.uint8), test_labels=np.array([0, 1]))
        args, top = ("npz", path), 2**40
    else:
        (tmp_path / "train.csv").write_text('"1","a"\n"2","b"\n"1000000000000","c"\n')
        (tmp_path / "test.csv").write_text('"1","a"\n')
        args, top = ("csv", tmp_path), 10**12 - 1
    old = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:  # what this process already maps (CUDA maps a lot)
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    cap = mapped + 16 * 2**30  # far below the 8 TB a 0..K array would take
    resource.setrlimit(resource.RLIMIT_AS, (cap if old[1] == resource.RLIM_INFINITY else min(cap, old[1]), old[1]))
    try:
        with pytest.raises(DataError, match=rf"{top - 2} of 0..{top} have no training example "
                                            r"\(2, 3, 4, 5, 6 …\)"):
            load_data(*args, val_fraction=0.0, seq_len=8 if where == "csv" else None)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)


# --------------------------------------------------------------------------- IDX, image folders


def _fashion(folder, n_train, *, declared=None):
    """Four IDX .gz files; the train images file declares ``declared`` images if given."""
    folder.mkdir(parents=True, exist_ok=True)

    def idx(name, arr, count=None):
        dims = (count or arr.shape[0], *arr.shape[1:])
        head = bytes([0, 0, 8, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in dims)
        with gzip.open(folder / f"{name}.gz", "wb") as f:
            f.write(head + arr.astype(np.uint8).tobytes())

    idx("train-images-idx3-ubyte", np.zeros((n_train, 28, 28)), declared)
    idx("train-labels-idx1-ubyte", _labels(n_train, 10))
    idx("t10k-images-idx3-ubyte", np.zeros((10, 28, 28)))
    idx("t10k-labels-idx1-ubyte", _labels(10, 10))
    return folder


def test_an_idx_file_declaring_a_million_images_is_refused_before_reading(tmp_path, monkeypatch):
    folder = _fashion(tmp_path / "f", 20, declared=1_500_000)
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.5")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz \(declares 1500000 × 28 × 28 "
                                        r"uint8\) needs 1.18 GB of memory"):
        read_fashion_mnist(folder)


def test_an_idx_file_holding_less_than_it_declares_is_malformed(tmp_path):
    folder = _fashion(tmp_path / "f", 20, declared=1000)
    with pytest.raises(DataError, match=r"declares 784000 bytes of data but the file holds 15680"):
        read_fashion_mnist(folder)
    good = read_fashion_mnist(_fashion(tmp_path / "g", 20))
    assert good.train_images.shape == (20, 1, 28, 28) and good.train_images.dtype == np.uint8


def test_large_pngs_are_refused_from_their_headers_before_decoding(tmp_path, monkeypatch):
    from PIL import Image

    for split in ("train", "test"):
        for cls in ("a", "b"):
            (tmp_path / split / cls).mkdir(parents=True)
            Image.new("L", (2000, 2000)).save(tmp_path / split / cls / "x.png")  # 4 MP, a few kB
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.05")
    with pytest.raises(DataError, match=r"image folder .* \(4 images, 48 MB of pixels decoded\) "
                                        r"needs 96 MB of memory.*use smaller images, or raise"):
        read_image_folder(tmp_path)


def test_a_png_above_pils_warning_threshold_gets_only_our_budget_error(tmp_path, monkeypatch):
    """A 90-megapixel PNG (PIL warns above 89.5 MP, refuses above twice that) printed PIL's
    DecompressionBombWarning before the budget's own line; our check decides, in one line."""
    import warnings

    from PIL import Image

    for split in ("train", "test"):
        for cls in ("a", "b"):
            (tmp_path / split / cls).mkdir(parents=True)
            Image.new("L", (4, 4)).save(tmp_path / split / cls / "x.png")
    assert Image.MAX_IMAGE_PIXELS < 10_000 * 9_000 < 2 * Image.MAX_IMAGE_PIXELS
    Image.new("L", (10_000, 9_000)).save(tmp_path / "train" / "a" / "big.png")  # ~90 kB
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.05")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError, match=r"image folder .* needs .* of memory"):
            read_image_folder(tmp_path)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


# --------------------------------------------------------------------------- channels-last cubes


def test_an_n_s_s_s_npz_must_say_its_layout(tmp_path):
    """N×5×5×5 reads as N×C×H×W and as N×H×W×C; it used to be taken as C×H×W without a word."""
    path = tmp_path / "cube.npz"
    nhwc = np.arange(6 * 125, dtype=np.uint8).reshape(6, 5, 5, 5)
    np.savez(path, images=nhwc, labels=_labels(6))
    with pytest.raises(DataError, match=r"'images' has shape \(6, 5, 5, 5\), which reads as "
                                        r"N×C×H×W and as N×H×W×C alike; say which: .*layout='NCHW'"):
        read_npz(path)
    np.savez(path, images=nhwc, labels=_labels(6), test_images=nhwc, test_labels=_labels(6),
             layout="NHWC")
    assert np.array_equal(read_npz(path).train_images, nhwc.transpose(0, 3, 1, 2))
    np.savez(path, images=nhwc, labels=_labels(6), test_images=nhwc, test_labels=_labels(6),
             layout="NCHW")
    assert np.array_equal(read_npz(path).train_images, nhwc)
    np.savez(path, images=nhwc, labels=_labels(6), layout="HWC")
    with pytest.raises(DataError, match="'layout' must be the string 'NCHW' or 'NHWC'"):
        read_npz(path)


# --------------------------------------------------------------------------- CSV


@pytest.fixture
def csv_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_utf8_bom_and_a_field_over_128_kib_load(tmp_path, csv_cache):
    long_text = "word " * 60_000  # 300 kB, over csv's default field limit of 128 KiB
    path = tmp_path / "train.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f'"2","{long_text}"\n"1","short"\n'.encode())
    q = Quantizer(seq_len=16)
    ids, labels, _ = read_csv_split(path, q, 2)
    assert labels.tolist() == [1, 0]
    assert q.decode(ids[0]) == long_text[:16] and q.decode(ids[1]) == "short"
    import csv

    assert csv.field_size_limit() == 131072  # the process-wide limit is left as it was


@pytest.mark.parametrize("damage", ["truncated-json", "json-not-a-record", "short-u8",
                                    "bad-labels"])
def test_a_damaged_csv_cache_is_rebuilt_not_trusted(tmp_path, csv_cache, capsys, damage):
    path = tmp_path / "train.csv"
    path.write_text('"2","good"\n"1","bad"\n"2","fine"\n')
    q = Quantizer(seq_len=8)
    first, labels, _ = read_csv_split(path, q, 2)
    first = np.array(first)  # a copy: the damage below may write through the mapped file
    [meta] = csv_cache.glob("*.json")
    stem = meta.with_suffix("")
    if damage == "truncated-json":
        meta.write_text(meta.read_text()[:10])
    elif damage == "json-not-a-record":
        meta.write_text("[1, 2]")
    elif damage == "short-u8":
        stem.with_suffix(".u8").write_bytes(bytes(5))
    else:
        stem.with_suffix(".labels.npy").write_bytes(b"\x93NUMPY garbage")
    ids, again, cached = read_csv_split(path, q, 2)
    assert not cached and np.array_equal(ids, first) and np.array_equal(again, labels)
    err = capsys.readouterr().err
    assert f"the text cache {stem}.* of {path} is damaged" in err and "rebuilding it" in err
    assert read_csv_split(path, q, 2)[2]  # rebuilt: the next load maps it
    assert not list(csv_cache.glob(".*.tmp"))


def test_a_torn_csv_cache_is_rebuilt_by_load_data(tmp_path, csv_cache):
    rows = [f'"{1 + i % 2}","{"good" if i % 2 else "bad"} review number {i}"' for i in range(40)]
    for name in ("train.csv", "test.csv"):
        (tmp_path / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    load_data("csv", tmp_path, seq_len=32)
    for meta in csv_cache.glob("*.json"):
        meta.write_text('{"rows": ')  # as a crash mid-write of the old code left it
    d = load_data("csv", tmp_path, seq_len=32)
    assert len(d.train) + len(d.val) == 40 and len(d.test) == 40
