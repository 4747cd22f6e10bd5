"""Data readers on small files written in the real on-disk formats (IDX, CIFAR pickles, npz)."""

from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
import torch

from lit_core.data import DataError, load_data, sources


def write_idx(path, array: np.ndarray, gz: bool = True) -> None:
    """Write ``array`` (uint8) as an IDX file: magic 0x0000 08 ndim, big-endian u32 dims, data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(payload)
    else:
        with open(path, "wb") as f:
            f.write(payload)


def make_fashion(directory, n_train=60, n_test=20, gz=True, seed=0):
    """Four Fashion-MNIST IDX files with random 28×28 images and labels 0..9; returns arrays."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(n_test, dtype=np.uint8)[::-1] % 10,
    }
    for name, arr in arrays.items():
        write_idx(directory / name, arr, gz=gz)
    return arrays


@pytest.fixture(autouse=True)
def no_system_data(monkeypatch, tmp_path):
    """Hide the machine's own Fashion-MNIST, LIT_DATA_DIR and the network from every test."""
    monkeypatch.setattr(sources, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "no-system-fashion")
    monkeypatch.setattr(sources, "_FASHION_HOST", ("127.0.0.1", 9))  # closed port: "offline"
    monkeypatch.delenv("LIT_DATA_DIR", raising=False)


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_reads_idx_files_in_the_real_format(tmp_path, gz):
    arrays = make_fashion(tmp_path / "fm", gz=gz)
    d = load_data("fashion-mnist", tmp_path / "fm", val_fraction=0.1, seed=0)
    assert (d.name, d.num_classes, d.in_chans, d.image_size) == ("fashion-mnist", 10, 1, 28)
    assert len(d.train) + len(d.val) == 60 and len(d.test) == 20
    assert d.train.images.dtype == torch.float32 and d.train.labels.dtype == torch.int64
    # test images keep their order: undo the normalisation and compare with the file's pixels
    pixels = d.test.images[:, 0] * d.std[0] + d.mean[0]
    np.testing.assert_allclose(pixels.numpy() * 255, arrays["t10k-images-idx3-ubyte"], atol=1e-3)
    assert d.test.labels.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    # normalised with the training split's statistics
    assert abs(float(d.train.images.mean())) < 1e-4
    assert abs(float(d.train.images.std()) - 1) < 1e-2


def test_fashion_mnist_found_via_env_var_and_torchvision_layout(tmp_path, monkeypatch):
    make_fashion(tmp_path / "root" / "FashionMNIST" / "raw")
    monkeypatch.setenv("LIT_DATA_DIR", str(tmp_path / "root"))
    d = load_data("auto")
    assert d.name == "fashion-mnist"
    assert d.source == str(tmp_path / "root" / "FashionMNIST" / "raw")


def test_malformed_idx_names_the_file(tmp_path):
    make_fashion(tmp_path / "fm")
    bad = tmp_path / "fm" / "train-images-idx3-ubyte.gz"
    with gzip.open(bad, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">3I", 60, 28, 28) + b"\0" * 100)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz"):
        load_data("fashion-mnist", tmp_path / "fm")


def test_idx_label_count_must_match_images(tmp_path):
    make_fashion(tmp_path / "fm")
    write_idx(tmp_path / "fm" / "train-labels-idx1-ubyte", np.zeros(59, np.uint8))
    with pytest.raises(DataError, match="do not match"):
        load_data("fashion-mnist", tmp_path / "fm")


def test_missing_fashion_mnist_offline_says_where_it_looked(tmp_path):
    with pytest.raises(DataError) as e:
        load_data("fashion-mnist", tmp_path / "empty")
    msg = str(e.value)
    assert str(tmp_path / "empty") in msg and "no-system-fashion" in msg
    assert "\n" not in msg


def test_auto_without_fashion_mnist_falls_back_to_digits_in_one_line(tmp_path, capsys):
    d = load_data("auto")  # no --data-dir: an explicit one that is unusable is an error (issue 8)
    assert d.name == "digits" and d.image_size == 8
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scikit-learn digits" in err[0] and "no-system-fashion" in err[0]


def test_digits_are_the_embedded_1797_images_split_deterministically():
    a, b = load_data("digits", seed=0), load_data("digits", seed=0)
    assert len(a.train) + len(a.val) + len(a.test) == 1797
    assert (a.num_classes, a.in_chans) == (10, 1)
    assert torch.equal(a.test.images, b.test.images) and torch.equal(a.val.labels, b.val.labels)
    assert not a.augment.flip  # a mirrored digit is another glyph


# --------------------------------------------------------------------------- CIFAR


def write_cifar10(root, n_per_batch=8, seed=0):
    """cifar-10-batches-py with data_batch_1..5, test_batch, batches.meta (torchvision layout)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    all_data = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        entry = {"batch_label": name, "labels": rng.integers(0, 10, n_per_batch).tolist(),
                 "data": data, "filenames": [f"{i}.png" for i in range(n_per_batch)]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
        all_data.append(data)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)], "num_vis": 3072}, f, protocol=2)
    return all_data


def test_cifar10_reads_the_pickled_batches(tmp_path):
    data = write_cifar10(tmp_path)
    d = load_data("cifar10", tmp_path, val_fraction=0.25)
    assert (d.num_classes, d.in_chans, d.image_size) == (10, 3, 32)
    assert len(d.train) + len(d.val) == 40 and len(d.test) == 8
    assert d.augment.pad == 4 and d.augment.flip
    red = d.test.images[0, 0] * d.std[0] + d.mean[0]  # channel-major rows of 1024 = R plane
    np.testing.assert_allclose(red.numpy().reshape(-1) * 255, data[-1][0, :1024], atol=1e-3)


def test_cifar100_reads_train_test_meta(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    train_labels = rng.integers(0, 100, 30)
    for name, n in (("train", 30), ("test", 10)):
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 # test classes must occur in training (issue 8: else a load error)
                 "fine_labels": train_labels[:n].tolist(), "coarse_labels": [0] * n}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [str(i) for i in range(100)]}, f)
    d = load_data("auto", tmp_path)
    assert d.name == "cifar100" and d.num_classes == 100 and len(d.test) == 10


def test_missing_cifar_says_where_it_looked_and_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match=r"cifar-10-batches-py.*download=True"):
        load_data("cifar10", tmp_path)


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_cifar_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    write_cifar10(tmp_path)
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "wb") as f:
        pickle.dump({"data": _Boom(), "labels": []}, f)
    with pytest.raises(DataError, match="data_batch_3"):
        load_data("cifar10", tmp_path)
    assert not (tmp_path / "pwned").exists()


# --------------------------------------------------------------------------- generic


def test_npz_with_and_without_test_arrays(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50, 12, 12, 3), dtype=np.uint8)  # N×H×W×C is accepted
    y = np.arange(50) % 5
    np.savez(tmp_path / "a.npz", images=x, labels=y)
    d = load_data("auto", tmp_path / "a.npz")
    assert d.name == "npz" and (d.in_chans, d.image_size, d.num_classes) == (3, 12, 5)
    assert len(d.train) + len(d.val) + len(d.test) == 50
    np.savez(tmp_path / "b.npz", images=x[:40], labels=y[:40], test_images=x[40:], test_labels=y[40:])
    assert len(load_data("npz", tmp_path / "b.npz").test) == 10


def test_npz_without_labels_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "bad.npz", pics=np.zeros((4, 8, 8)))
    with pytest.raises(DataError, match=r"lacks \['images', 'labels'\]"):
        load_data("npz", tmp_path / "bad.npz")


def test_image_folder(tmp_path):
    from PIL import Image

    for split, n in (("train", 6), ("test", 2)):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (16, 16), (i * 20, 0, 255 if cls == "dog" else 0)).save(
                    tmp_path / split / cls / f"{i}.png")
    d = load_data("auto", tmp_path, val_fraction=0.2)
    assert d.name == "folder" and (d.num_classes, d.in_chans, d.image_size) == (2, 3, 16)
    assert len(d.test) == 4 and sorted(d.test.labels.tolist()) == [0, 0, 1, 1]


def test_unknown_name_lists_the_choices():
    with pytest.raises(DataError, match="cifar10"):
        load_data("imagenet")
