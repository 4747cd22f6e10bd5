"""In-memory data sets and the train/val/test bundle every loader returns.

A ``DataSplits`` knows its modality (``kind``): ``"image"`` (float32 N×C×H×W, normalised) or
``"text"`` (character ids N×L, stored as uint8 and cast to int64 per batch). It tells the caller
what a model for it needs (``model_kwargs()``), the per-example ``input_shape`` and the
``input_dtype`` a model receives, so the CLI and trainer need no branches on the modality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .budget import check_budget
from .checks import check_finite, check_labels, integer_labels
from .errors import DataError

__all__ = ["KINDS", "ArrayDataset", "Augment", "DataError", "DataSplits", "as_float_images",
           "finalise_splits", "finalise_text_splits"]

KINDS = ("image", "text")


@dataclass(frozen=True)
class Augment:
    """On-device training augmentation: random crop after zero-padding by ``pad``, optional flip."""

    pad: int = 0
    flip: bool = False

    @property
    def enabled(self) -> bool:
        return self.pad > 0 or self.flip


@dataclass(frozen=True)
class ArrayDataset:
    """Inputs and integer labels (int64, N) held in memory.

    ``inputs``: float32 images N×C×H×W (normalised), or token ids N×L (uint8 or int64; a model
    gets them as int64, see ``model_input``). ``images`` is an alias kept for image code.
    """

    inputs: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        x = self.inputs
        image = x.ndim == 4 and x.is_floating_point()
        text = x.ndim == 2 and x.dtype in (torch.uint8, torch.int32, torch.int64)
        if not (image or text):
            raise DataError(
                f"inputs must be float N×C×H×W images or integer N×L token ids; got "
                f"{x.dtype} of shape {tuple(x.shape)}"
            )
        if self.labels.ndim != 1 or len(self.labels) != len(x):
            raise DataError(f"{len(x)} inputs but labels of shape {tuple(self.labels.shape)}")

    @property
    def images(self) -> torch.Tensor:
        """The inputs (alias for image code)."""
        return self.inputs

    @property
    def kind(self) -> str:
        return "image" if self.inputs.ndim == 4 else "text"

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return model_input(self.inputs[index]), int(self.labels[index])


def model_input(x: torch.Tensor) -> torch.Tensor:
    """What a model receives: images as they are, token ids as int64 (embeddings need long)."""
    return x if x.is_floating_point() or x.dtype == torch.int64 else x.long()


@dataclass(frozen=True)
class DataSplits:
    """A data set split into train / val (carved from train) / test, ready for training.

    Images set ``in_chans``/``image_size`` (and ``mean``/``std``); text sets ``seq_len`` (the
    quantized length) and ``vocab_size`` (alphabet + padding + unknown ids).
    """

    name: str
    train: ArrayDataset
    val: ArrayDataset
    test: ArrayDataset
    num_classes: int
    in_chans: int
    image_size: int
    source: str
    augment: Augment = field(default_factory=Augment)
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    kind: str = "image"
    seq_len: int = 0
    vocab_size: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"data kind must be one of {', '.join(KINDS)}; got {self.kind!r}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example without the batch: (C, H, W) for images, (L,) for text."""
        if self.kind == "text":
            return (self.seq_len,)
        return (self.in_chans, self.image_size, self.image_size)

    @property
    def input_dtype(self) -> torch.dtype:
        """The dtype a model receives (float32 images, int64 token ids)."""
        return torch.int64 if self.kind == "text" else torch.float32

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments a model builder needs for this data (lit_models' argument names)."""
        if self.kind == "text":
            return {"num_classes": self.num_classes, "vocab_size": self.vocab_size,
                    "seq_len": self.seq_len}
        return {"num_classes": self.num_classes, "in_chans": self.in_chans}

    def describe(self) -> str:
        """One line: what the data is, its split sizes and where it came from."""
        if self.kind == "text":
            shape = f"text, {self.seq_len} characters, {self.vocab_size} token ids"
        else:
            shape = f"{self.in_chans}×{self.image_size}×{self.image_size}"
        return (
            f"{self.name} ({shape}, "
            f"{self.num_classes} classes; train {len(self.train)}, val {len(self.val)}, "
            f"test {len(self.test)}) from {self.source}"
        )


def _stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out), sorted: ``round(N·fraction)`` held out, every class in proportion.

    Each example gets its class-relative position in a seeded permutation (0 … 1); the smallest
    positions are held out, so every class contributes its share and the count is exact.
    """
    n = len(labels)
    n_held = round(n * fraction)
    if fraction > 0 and n > 1:
        n_held = min(max(n_held, 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    quantile = np.empty(n)
    for c in np.unique(labels):
        members = order[labels[order] == c]  # this class, in permuted order
        quantile[members] = (np.arange(len(members)) + 0.5) / len(members)
    ranked = order[np.argsort(quantile[order], kind="stable")]
    return np.sort(ranked[n_held:]), np.sort(ranked[:n_held])


def _subset(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Indices of a seeded, stratified subset of ``limit`` examples."""
    if limit >= len(labels):
        return np.arange(len(labels))
    _, held = _stratified_split(labels, limit / len(labels), seed)
    return held


def _select(
    name: str, source: str, train_labels: np.ndarray, test_labels: np.ndarray,
    limit: int | None, test_limit: int | None, val_fraction: float, seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices (train, val, test) after ``limit``/``test_limit`` subsets and the val split."""
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1); got {val_fraction}")
    train_idx = np.arange(len(train_labels)) if limit is None else _subset(train_labels, limit, seed)
    test_idx = np.arange(len(test_labels)) if test_limit is None else _subset(test_labels, test_limit, seed)
    lost = np.setdiff1d(np.unique(test_labels[test_idx]), np.unique(train_labels[train_idx]))
    if len(lost):
        raise DataError(
            f"{name}: limit={limit} keeps no training example of classes "
            f"{', '.join(map(str, lost[:5]))} that the test split holds (from {source}); raise limit"
        )
    keep, held = _stratified_split(train_labels[train_idx], val_fraction, seed)
    if val_fraction > 0 and len(held) == 0:
        raise DataError(
            f"{name}: the validation split (val_fraction={val_fraction}) of {len(train_idx)} "
            f"training example(s) is empty (from {source}); give at least 2 training examples "
            "(one is held out for validation)"
        )
    carved = np.setdiff1d(np.unique(test_labels[test_idx]), np.unique(train_labels[train_idx[keep]]))
    if len(carved):
        raise DataError(
            f"{name}: the validation split (val_fraction={val_fraction}) takes every training "
            f"example of classes {', '.join(map(str, carved[:5]))} that the test split holds "
            f"(from {source}); add training examples of them or lower data.val_fraction"
        )
    return train_idx[keep], train_idx[held], test_idx


def as_float_images(images: np.ndarray) -> torch.Tensor:
    """Images as a float32 tensor: uint8 scaled to [0, 1], any other dtype taken as it is."""
    x = torch.as_tensor(np.ascontiguousarray(images), dtype=torch.float32)
    return x / 255.0 if images.dtype == np.uint8 else x


def finalise_splits(
    *,
    name: str,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    source: str,
    augment: Augment,
    num_classes: int | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    limit: int | None = None,
    test_limit: int | None = None,
) -> DataSplits:
    """Validate, carve val from train, subsample, normalise with train statistics.

    Images come in as N×C×H×W arrays: uint8 (scaled to [0, 1]) or any other numeric dtype (taken
    as it is, e.g. floats in [0, 1]); labels as integer class ids (whole-valued floats accepted,
    never truncated). Only the examples ``limit``/``test_limit`` and the splits keep are converted
    to float32, after their size is checked against the memory budget (``lit_core.data.budget``).
    """
    for what, imgs, labs in (("train", train_images, train_labels), ("test", test_images, test_labels)):
        if imgs.ndim != 4 or np.ndim(labs) != 1 or len(imgs) != len(labs) or len(imgs) == 0:
            raise DataError(
                f"{name}: malformed {what} arrays (images {imgs.shape}, labels {np.shape(labs)}) "
                f"in {source}; expected N×C×H×W images and N labels, N > 0"
            )
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(
            f"{name}: train images are {train_images.shape[1:]} but test images are "
            f"{test_images.shape[1:]} in {source}"
        )
    _, c, h, w = train_images.shape
    if c == h and w < h:
        raise DataError(
            f"{name}: images look channels-last (N×H×W×C = {train_images.shape}) in {source}; "
            "store them as N×C×H×W (numpy: arr.transpose(0, 3, 1, 2))"
        )
    if h != w:
        hint = "; an image folder can be streamed instead (--set data.loader=stream)" if name == "folder" else ""
        raise DataError(f"{name}: images must be square; got {h}×{w} in {source}{hint}")
    train_labels = integer_labels(train_labels, f"{name}: train", source)
    test_labels = integer_labels(test_labels, f"{name}: test", source)
    n_cls = check_labels(name, source, train_labels, test_labels, num_classes)
    check_finite(name, "train image", train_images, source)
    check_finite(name, "test image", test_images, source)
    train_idx, val_idx, test_idx = _select(
        name, source, train_labels, test_labels, limit, test_limit, val_fraction, seed)

    kept = len(train_idx) + len(val_idx) + len(test_idx)
    check_budget(  # the float32 splits, the one being normalised, and the arrays already held
        4 * (kept + max(len(train_idx), len(test_idx))) * c * h * w
        + train_images.nbytes + test_images.nbytes,
        f"{name}: {kept} images of {c}×{h}×{w} as float32 (from {source})", "lower data.limit")

    fit = as_float_images(train_images[train_idx])
    mean = fit.mean(dim=(0, 2, 3))
    std = fit.std(dim=(0, 2, 3)).clamp_min(1e-6)
    del fit

    def to_ds(imgs: np.ndarray, labs: np.ndarray) -> ArrayDataset:
        x = as_float_images(imgs)
        x = ((x - mean[:, None, None]) / std[:, None, None]).contiguous()
        return ArrayDataset(x, torch.as_tensor(labs, dtype=torch.int64))

    return DataSplits(
        name=name,
        train=to_ds(train_images[train_idx], train_labels[train_idx]),
        val=to_ds(train_images[val_idx], train_labels[val_idx]),
        test=to_ds(test_images[test_idx], test_labels[test_idx]),
        num_classes=n_cls,
        in_chans=int(c),
        image_size=int(h),
        source=source,
        augment=augment,
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
    )


def finalise_text_splits(
    *,
    name: str,
    train_ids: np.ndarray,
    train_labels: np.ndarray,
    test_ids: np.ndarray,
    test_labels: np.ndarray,
    source: str,
    vocab_size: int,
    num_classes: int | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    limit: int | None = None,
    test_limit: int | None = None,
) -> DataSplits:
    """Validate token-id arrays (N×L, uint8, possibly memory-mapped), subsample, carve val.

    Only the selected rows of a memory-mapped array are read (into memory, as uint8).
    """
    for what, ids, labs in (("train", train_ids, train_labels), ("test", test_ids, test_labels)):
        if ids.ndim != 2 or np.ndim(labs) != 1 or len(ids) != len(labs) or len(ids) == 0:
            raise DataError(
                f"{name}: malformed {what} arrays (ids {ids.shape}, labels {np.shape(labs)}) in "
                f"{source}; expected N×L token ids and N labels, N > 0"
            )
    if train_ids.shape[1] != test_ids.shape[1]:
        raise DataError(f"{name}: train and test sequences differ in length in {source}")
    train_labels = integer_labels(train_labels, f"{name}: train", source)
    test_labels = integer_labels(test_labels, f"{name}: test", source)
    n_cls = check_labels(name, source, train_labels, test_labels, num_classes)
    train_idx, val_idx, test_idx = _select(
        name, source, train_labels, test_labels, limit, test_limit, val_fraction, seed)

    def to_ds(ids: np.ndarray, labs: np.ndarray, idx: np.ndarray) -> ArrayDataset:
        rows = np.ascontiguousarray(ids[idx], dtype=np.uint8)  # reads only these rows of a memmap
        return ArrayDataset(torch.from_numpy(rows), torch.as_tensor(labs[idx], dtype=torch.int64))

    return DataSplits(
        name=name,
        train=to_ds(train_ids, train_labels, train_idx),
        val=to_ds(train_ids, train_labels, val_idx),
        test=to_ds(test_ids, test_labels, test_idx),
        num_classes=n_cls,
        in_chans=0,
        image_size=0,
        source=source,
        kind="text",
        seq_len=int(train_ids.shape[1]),
        vocab_size=int(vocab_size),
    )
