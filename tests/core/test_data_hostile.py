"""Data that would be silently wrong: refused with one DataError naming the cause (issue 20)."""

from __future__ import annotations

import numpy as np
import pytest

from lit_core.data import DataError
from lit_core.data.splits import Augment, finalise_splits


def test_the_validation_carve_may_not_take_a_test_class_only_training_example():
    train_labels = np.array([0] * 10 + [1] * 10 + [2])  # class 2: one training example
    test_labels = np.array([0, 1, 2])
    with pytest.raises(DataError, match=r"validation split .* takes every training example of "
                                        r"classes 2"):
        finalise_splits(name="t", train_images=np.zeros((21, 1, 4, 4), np.float32),
                        train_labels=train_labels,
                        test_images=np.zeros((3, 1, 4, 4), np.float32), test_labels=test_labels,
                        source="generated", augment=Augment(), val_fraction=0.9)


def _png(path, value):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4), value, np.uint8)).save(path)


def _folder(root):
    for split in ("train", "test"):
        for c in ("a", "b"):
            for i in range(2):
                _png(root / split / c / f"{i}.png", 40 * i + (100 if c == "b" else 0))


def test_hidden_folders_in_an_image_folder_are_never_classes(tmp_path):
    from lit_core.data.sources import read_image_folder

    _folder(tmp_path)
    for split in ("train", "test"):
        _png(tmp_path / split / ".ipynb_checkpoints" / "0-checkpoint.png", 7)
    raw = read_image_folder(tmp_path)
    assert raw.num_classes == 2
    assert len(raw.train_labels) == 4 and len(raw.test_labels) == 4


def test_test_images_symlinked_into_train_are_a_leak_and_refused(tmp_path):
    from lit_core.data.sources import read_image_folder

    _folder(tmp_path)
    (tmp_path / "train" / "a" / "leak.png").symlink_to(tmp_path / "test" / "a" / "0.png")
    with pytest.raises(DataError, match=r"1 test image\(s\) are also in train/.*leak"):
        read_image_folder(tmp_path)
