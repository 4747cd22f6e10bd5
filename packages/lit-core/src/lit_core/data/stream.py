"""A streaming image-folder path: files read per batch by DataLoader workers, any image size.

For folders that do not fit in memory. Same layout, hidden-folder and train/test-leak rules as
``sources.read_image_folder``; the validation carve is ``splits._stratified_split`` on the train
labels, as on the in-memory path. Images are resized (shorter side to ``resize``) and center-
cropped to ``image_size``; with ``augment`` the train split uses a random-resized crop and a flip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from .errors import DataError
from .splits import _stratified_split

__all__ = ["StreamConfig", "StreamData", "stream_image_folder"]


@dataclass(frozen=True)
class StreamConfig:
    """How a streamed folder becomes tensors: output size, resize, augmentation, workers."""

    image_size: int = 224
    resize: int | None = None  # shorter side before the center crop; default image_size·8/7
    augment: bool = False
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)
    std: tuple[float, ...] = (0.5, 0.5, 0.5)
    batch_size: int = 64
    workers: int = 2
    val_fraction: float = 0.1
    seed: int = 0


@dataclass
class StreamData:
    """Loaders for train/val/test plus the preprocessing a checkpoint records."""

    train: DataLoader
    val: DataLoader
    test: DataLoader
    classes: list[str]
    num_classes: int
    in_chans: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


def _transforms(cfg: StreamConfig, train: bool):
    from torchvision.transforms import v2

    resize = cfg.resize or round(cfg.image_size * 8 / 7)
    if train and cfg.augment:
        geo = [v2.RandomResizedCrop(cfg.image_size, antialias=True), v2.RandomHorizontalFlip()]
    else:
        geo = [v2.Resize(resize, antialias=True), v2.CenterCrop(cfg.image_size)]
    return v2.Compose([v2.ToImage(), *geo, v2.ToDtype(torch.float32, scale=True),
                       v2.Normalize(list(cfg.mean), list(cfg.std))])


def _loader(path: str):
    """PIL RGB image; an unreadable file is one DataError line naming it."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"image folder: cannot read {path} ({type(e).__name__}: {e}); remove or replace it") from None


def _folder(directory: Path, cfg: StreamConfig, train: bool):
    from torchvision.datasets import ImageFolder

    class _Folder(ImageFolder):
        def find_classes(self, d):  # hidden folders (.ipynb_checkpoints/) are no classes
            names = sorted(e.name for e in os.scandir(d) if e.is_dir() and not e.name.startswith("."))
            if not names:
                raise FileNotFoundError(f"no class folders found in {d}")
            return names, {n: i for i, n in enumerate(names)}

    try:
        return _Folder(str(directory), transform=_transforms(cfg, train), loader=_loader)
    except (FileNotFoundError, OSError) as e:
        raise DataError(f"image folder {directory}: {e}; every class folder needs at least one image") from None


def stream_image_folder(root: str | os.PathLike, cfg: StreamConfig | None = None) -> StreamData:
    """Streaming loaders over ``root/{train,test}/<class>/*``; checks layout, classes and leaks first."""
    cfg = cfg or StreamConfig()
    r = Path(root)
    if not (r / "train").is_dir() or not (r / "test").is_dir():
        raise DataError(f"image folder {r} needs train/ and test/ subfolders, each with one folder per class")
    train_aug, train_eval, test = _folder(r / "train", cfg, True), _folder(r / "train", cfg, False), _folder(r / "test", cfg, False)
    if train_aug.classes != test.classes:
        raise DataError(f"image folder {r}: train classes {train_aug.classes} ≠ test classes {test.classes}")
    shared = {os.path.realpath(p) for p, _ in train_aug.samples} & {os.path.realpath(p) for p, _ in test.samples}
    if shared:
        raise DataError(f"image folder {r}: {len(shared)} test image(s) are also in train/ (e.g. "
                        f"{sorted(shared)[0]}); a train/test leak: remove them from one split")
    keep, held = _stratified_split(np.array(train_aug.targets), cfg.val_fraction, cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)

    def dl(ds, shuffle: bool) -> DataLoader:
        return DataLoader(ds, batch_size=cfg.batch_size, shuffle=shuffle, num_workers=cfg.workers,
                          generator=g if shuffle else None, persistent_workers=False)

    return StreamData(
        train=dl(Subset(train_aug, keep.tolist()), True), val=dl(Subset(train_eval, held.tolist()), False),
        test=dl(test, False), classes=list(test.classes), num_classes=len(test.classes), in_chans=3,
        image_size=cfg.image_size, mean=tuple(cfg.mean), std=tuple(cfg.std),
    )
