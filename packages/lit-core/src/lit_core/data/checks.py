"""Checks every data set passes when it is loaded, before anything is trained or written.

Class ids must be integers in ``0..K-1`` (``K`` given by the reader, or ``max + 1`` with every
class present in the training split), every test class must occur in training, inputs must be
finite, and ``limit``/``test_limit`` must be positive integers. Each failure is one
``DataError`` line naming the data set, where it came from and what to do.
"""

from __future__ import annotations

import numpy as np

from .errors import DataError

__all__ = ["check_finite", "check_labels", "check_limit", "integer_labels"]


def check_limit(name: str, value: object) -> int | None:
    """``None`` or a positive integer (``limit``, ``test_limit``); anything else is a DataError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DataError(f"{name} must be a positive integer (number of examples to keep); got {value!r}")
    return int(value)


def integer_labels(labels: np.ndarray, what: str, source: str) -> np.ndarray:
    """Labels as int64; float labels must be whole numbers (never truncated), others refused."""
    y = np.asarray(labels).reshape(-1)
    if y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.number):
        raise DataError(f"{what} labels in {source} must be integer class ids; got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating):
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{what} labels in {source} must be integer class ids; label {i} is {y[i]!r} "
                "(not truncated: fix the labels)"
            )
    if y.size and (np.issubdtype(y.dtype, np.unsignedinteger) or np.issubdtype(y.dtype, np.floating)):
        big = y > np.iinfo(np.int64).max  # would wrap to a negative id in int64
        if big.any():
            i = int(np.flatnonzero(big)[0])
            value = int(y[i]) if np.issubdtype(y.dtype, np.unsignedinteger) else y[i].item()
            raise DataError(
                f"{what} labels in {source} must be class ids 0..K-1; label {i} is {value} "
                "(too large for a class id: fix the labels)"
            )
    return y.astype(np.int64)


def check_labels(
    data: str, source: str, train: np.ndarray, test: np.ndarray, num_classes: int | None
) -> int:
    """Validate int64 train/test labels and return the number of classes ``K``."""
    lo = min(int(train.min()), int(test.min()))
    if lo < 0:
        raise DataError(f"{data}: negative class id {lo} in {source}; class ids must be 0..K-1")
    train_classes = np.unique(train)
    if num_classes is not None:
        hi = max(int(train.max()), int(test.max()))
        if hi >= num_classes:
            raise DataError(
                f"{data}: class id {hi} out of range in {source}; this data set has "
                f"{num_classes} classes (ids 0..{num_classes - 1})"
            )
        k = int(num_classes)
    else:
        k = int(train.max()) + 1
        if k > len(train_classes):  # counted, never enumerated: one label of 2**40 is cheap
            missing = _first_missing(train_classes, 5)
            shown = ", ".join(map(str, missing)) + (" …" if k - len(train_classes) > 5 else "")
            raise DataError(
                f"{data}: class ids must be 0..K-1 with every class in the training split, but "
                f"{k - len(train_classes)} of 0..{k - 1} have no training example ({shown}) in "
                f"{source}; renumber the labels"
            )
    unseen = np.setdiff1d(np.unique(test), train_classes)
    if len(unseen):
        shown = ", ".join(map(str, unseen[:5])) + (" …" if len(unseen) > 5 else "")
        raise DataError(
            f"{data}: test labels {shown} never occur in the training split of {source}; "
            "the model could never predict them"
        )
    return k


def _first_missing(present: np.ndarray, n: int) -> list[int]:
    """The first ``n`` integers >= 0 absent from the sorted unique ``present`` (no 0..K array)."""
    out: list[int] = []
    expected = 0
    for value in present.tolist():
        while expected < value and len(out) < n:
            out.append(expected)
            expected += 1
        if len(out) == n:
            break
        expected = value + 1
    return out


def check_finite(data: str, what: str, values: np.ndarray, source: str) -> None:
    """Refuse NaN/Inf inputs, naming the first bad example."""
    if np.issubdtype(values.dtype, np.floating):
        finite = np.isfinite(values.reshape(len(values), -1)).all(axis=1)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            raise DataError(
                f"{data}: {what} example {i} (and {int((~finite).sum()) - 1} more) holds NaN or "
                f"Inf values in {source}; clean the data first"
            )
