"""Bad data is refused when it is loaded, in one line, before anything trains (issue 8)."""

from __future__ import annotations

import numpy as np
import pytest
from test_data_sources import make_fashion, write_cifar10, write_idx

from lit_core.data import DataError, load_data, sources


@pytest.fixture(autouse=True)
def no_system_data(monkeypatch, tmp_path):
    """The machine's own Fashion-MNIST and LIT_DATA_DIR stay out of every test."""
    monkeypatch.setattr(sources, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "no-system-fashion")
    monkeypatch.setattr(sources, "_FASHION_HOST", ("127.0.0.1", 9))
    monkeypatch.delenv("LIT_DATA_DIR", raising=False)


def npz(path, labels, test_labels=None, images=None):
    """An 8×8 grey-image npz with the given labels (and test labels)."""
    labels = np.asarray(labels)
    x = np.random.default_rng(0).random((len(labels), 8, 8)).astype(np.float32) if images is None else images
    arrays = {"images": x, "labels": labels}
    if test_labels is not None:
        test_labels = np.asarray(test_labels)
        arrays |= {"test_images": x[: len(test_labels)], "test_labels": test_labels}
    np.savez(path, **arrays)
    return path


def one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and msg
    return msg


def test_float_labels_are_refused_not_truncated(tmp_path):
    with pytest.raises(DataError) as e:
        load_data("npz", npz(tmp_path / "f.npz", np.arange(40) % 4 + 0.5, [0.5, 1.5]))
    assert "integer class ids" in one_line(e) and "0.5" in str(e.value)


def test_whole_valued_float_labels_are_accepted(tmp_path):
    d = load_data("npz", npz(tmp_path / "f.npz", (np.arange(40) % 4).astype(np.float64), [0.0, 3.0]))
    assert d.num_classes == 4 and d.test.labels.tolist() == [0, 3]


def test_a_stray_large_label_does_not_build_a_bigger_head(tmp_path):
    labels = np.arange(40) % 10
    labels[7] = 1000  # label 1000 used to give a 1001-class head
    with pytest.raises(DataError) as e:
        load_data("npz", npz(tmp_path / "big.npz", labels, [0, 1, 2]))
    assert "no training example" in one_line(e) and "0..1000" in str(e.value)


def test_labels_beyond_the_known_class_count_are_refused(tmp_path):
    make_fashion(tmp_path / "fm")  # labels 0..9; Fashion-MNIST has 10 classes

    write_idx(tmp_path / "fm" / "t10k-labels-idx1-ubyte", np.full(20, 12, np.uint8))
    with pytest.raises(DataError, match=r"class id 12 out of range.*10 classes"):
        load_data("fashion-mnist", tmp_path / "fm")


def test_test_labels_absent_from_training_are_refused(tmp_path):
    with pytest.raises(DataError) as e:
        load_data("npz", npz(tmp_path / "t.npz", np.arange(40) % 4, [0, 1, 4]))
    assert "test labels 4 never occur in the training split" in one_line(e)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_pixels_are_refused_at_load_time(tmp_path, bad):
    x = np.random.default_rng(0).random((40, 8, 8)).astype(np.float32)
    x[13, 2, 2] = bad
    with pytest.raises(DataError) as e:
        load_data("npz", npz(tmp_path / "n.npz", np.arange(40) % 4, images=x))
    assert "train image example" in one_line(e) and "NaN or Inf" in str(e.value)


@pytest.mark.parametrize("limit", [-5, 0, 2.5, True, "10"])
def test_limit_must_be_a_positive_integer(tmp_path, limit):
    path = npz(tmp_path / "d.npz", np.arange(40) % 4)
    with pytest.raises(DataError, match="limit must be a positive integer"):
        load_data("npz", path, limit=limit)
    with pytest.raises(DataError, match="test_limit must be a positive integer"):
        load_data("npz", path, test_limit=limit)


def test_a_limit_that_drops_a_tested_class_says_so(tmp_path):
    with pytest.raises(DataError, match="limit=2 keeps no training example of classes"):
        load_data("npz", npz(tmp_path / "d.npz", np.arange(40) % 4, [0, 1, 2, 3]), limit=2)


def test_missing_data_dir_is_an_error_even_when_the_system_has_fashion_mnist(tmp_path, monkeypatch):
    make_fashion(tmp_path / "system")
    monkeypatch.setattr(sources, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "system")
    assert load_data("fashion-mnist").source == str(tmp_path / "system")  # no --data-dir: found
    with pytest.raises(DataError) as e:
        load_data("fashion-mnist", tmp_path / "typo")
    assert f"no Fashion-MNIST in {tmp_path / 'typo'}," in one_line(e)
    with pytest.raises(DataError) as e:
        load_data("auto", tmp_path / "typo")
    assert f"--data-dir {tmp_path / 'typo'} does not exist" in one_line(e)


def test_empty_data_dir_is_an_error_even_when_the_system_has_fashion_mnist(tmp_path, monkeypatch):
    make_fashion(tmp_path / "system")
    monkeypatch.setattr(sources, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "system")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as e:
        load_data("fashion-mnist", tmp_path / "empty")
    assert f"no Fashion-MNIST in {tmp_path / 'empty'}" in one_line(e)
    with pytest.raises(DataError, match="holds no data set lit recognises"):
        load_data("auto", tmp_path / "empty")


def test_explicit_cifar_dir_is_not_replaced_by_lit_data_dir(tmp_path, monkeypatch):
    write_cifar10(tmp_path / "env")
    monkeypatch.setenv("LIT_DATA_DIR", str(tmp_path / "env"))
    assert load_data("cifar10").num_classes == 10
    (tmp_path / "mine").mkdir()
    with pytest.raises(DataError, match=r"mine/cifar-10-batches-py"):
        load_data("cifar10", tmp_path / "mine")


def test_empty_npz_file_is_a_clear_error(tmp_path):
    (tmp_path / "e.npz").write_bytes(b"")
    with pytest.raises(DataError) as e:
        load_data("npz", tmp_path / "e.npz")
    assert "is empty" in one_line(e) and "numpy.savez" in str(e.value)


def test_text_file_named_npz_is_a_clear_error(tmp_path):
    (tmp_path / "t.npz").write_text("label,image\n1,2\n")
    with pytest.raises(DataError) as e:
        load_data("npz", tmp_path / "t.npz")
    assert "is not an .npz archive" in one_line(e) and "pickle" not in str(e.value)


def test_corrupt_png_in_an_image_folder_names_the_file(tmp_path):
    from PIL import Image

    for split in ("train", "test"):
        for cls in ("a", "b"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(2):
                Image.new("L", (8, 8), i * 50).save(tmp_path / split / cls / f"{i}.png")
    bad = tmp_path / "train" / "b" / "1.png"
    bad.write_bytes(bad.read_bytes()[:20])  # truncated: header only
    with pytest.raises(DataError) as e:
        load_data("folder", tmp_path)
    assert str(bad) in one_line(e)
