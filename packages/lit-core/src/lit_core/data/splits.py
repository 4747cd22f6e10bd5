"""In-memory data sets and the train/val/test bundle every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["ArrayDataset", "Augment", "DataError", "DataSplits", "finalise_splits"]


class DataError(ValueError):
    """Missing or malformed data; the message says what was wrong and where it looked."""


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
    """Images (float32, N×C×H×W, normalised) and integer labels (int64, N), held in memory."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise DataError(f"images must be N×C×H×W; got shape {tuple(self.images.shape)}")
        if self.labels.ndim != 1 or len(self.labels) != len(self.images):
            raise DataError(
                f"{len(self.images)} images but labels of shape {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


@dataclass(frozen=True)
class DataSplits:
    """A data set split into train / val (carved from train) / test, ready for training."""

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

    def describe(self) -> str:
        """One line: what the data is, its split sizes and where it came from."""
        return (
            f"{self.name} ({self.in_chans}×{self.image_size}×{self.image_size}, "
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
    """Carve val from train, subsample, normalise with train statistics, return ``DataSplits``.

    Images come in as N×C×H×W arrays in [0, 1] (or any float range); labels as integers.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1); got {val_fraction}")
    for what, imgs, labs in (("train", train_images, train_labels), ("test", test_images, test_labels)):
        if imgs.ndim != 4 or labs.ndim != 1 or len(imgs) != len(labs) or len(imgs) == 0:
            raise DataError(
                f"{name}: malformed {what} arrays (images {imgs.shape}, labels {labs.shape}) "
                f"in {source}; expected N×C×H×W images and N labels, N > 0"
            )
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(
            f"{name}: train images are {train_images.shape[1:]} but test images are "
            f"{test_images.shape[1:]} in {source}"
        )
    train_labels = train_labels.astype(np.int64)
    test_labels = test_labels.astype(np.int64)
    if min(train_labels.min(), test_labels.min()) < 0:
        raise DataError(f"{name}: negative labels in {source}")
    if limit is not None:
        idx = _subset(train_labels, int(limit), seed)
        train_images, train_labels = train_images[idx], train_labels[idx]
    if test_limit is not None:
        idx = _subset(test_labels, int(test_limit), seed)
        test_images, test_labels = test_images[idx], test_labels[idx]
    keep, held = _stratified_split(train_labels, val_fraction, seed)
    n_cls = int(num_classes or max(train_labels.max(), test_labels.max()) + 1)

    fit = torch.as_tensor(train_images[keep], dtype=torch.float32)
    mean = fit.mean(dim=(0, 2, 3))
    std = fit.std(dim=(0, 2, 3)).clamp_min(1e-6)

    def to_ds(imgs: np.ndarray, labs: np.ndarray) -> ArrayDataset:
        x = torch.as_tensor(imgs, dtype=torch.float32)
        x = ((x - mean[:, None, None]) / std[:, None, None]).contiguous()
        return ArrayDataset(x, torch.as_tensor(labs, dtype=torch.int64))

    _, c, h, w = train_images.shape
    if h != w:
        raise DataError(f"{name}: images must be square; got {h}×{w} in {source}")
    return DataSplits(
        name=name,
        train=to_ds(train_images[keep], train_labels[keep]),
        val=to_ds(train_images[held], train_labels[held]),
        test=to_ds(test_images, test_labels),
        num_classes=n_cls,
        in_chans=int(c),
        image_size=int(h),
        source=source,
        augment=augment,
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
    )
