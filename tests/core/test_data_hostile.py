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
