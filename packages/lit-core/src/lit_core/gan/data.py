"""Multi-domain image data for StarGAN: images in [-1, 1] with one domain vector per image.

Two kinds of domain labels, as in StarGAN's two data sets:

* ``single`` — one domain per image (the classes of a classification set, like RaFD's
  expressions): labels are one-hot, the domain loss is softmax cross-entropy, a target domain is
  any of the ``c_dim`` classes. The offline default is Fashion-MNIST with its ten classes as
  domains (28×28, zero-padded to ``image_size``), read through ``lit_core.data``; any other set
  ``lit_core.data.load_data`` reads works too (``folder`` = ``data_dir/{train,test}/<domain>/``).
* ``multi`` — binary attributes (CelebA): labels are 0/1 vectors, the domain loss is binary
  cross-entropy. ``load_celeba`` reads the official layout: ``data_dir/images/*.jpg`` (or
  ``img_align_celeba/``) and ``list_attr_celeba.txt`` (line 1: the image count, line 2: the 40
  attribute names, then ``filename v_1 … v_40`` with values 1/-1); the paper's five attributes
  by default.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data import DataError, load_data
from ..data.budget import check_budget
from ..data.sources import image_dimensions, open_image

__all__ = [
    "CELEBA_ATTRS",
    "DomainData",
    "DomainSplit",
    "domain_targets",
    "load_celeba",
    "load_class_domains",
    "load_domain_data",
    "target_labels",
]

#: The five CelebA attributes of the StarGAN paper (and of the LIT paper's experiment).
CELEBA_ATTRS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
_HAIR = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")


@dataclass(frozen=True)
class DomainSplit:
    """Images (N×C×H×W float32 in [-1, 1]) and domain labels (N×c_dim float32, 0/1)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.images)

    def batches(self, batch_size: int, generator: torch.Generator):
        """Endless shuffled batches ``(images, labels)`` (the paper's loader, re-shuffled per pass)."""
        while True:
            order = torch.randperm(len(self), generator=generator)
            for i in range(0, len(order) - batch_size + 1, batch_size):
                idx = order[i : i + batch_size]
                yield self.images[idx], self.labels[idx]


@dataclass(frozen=True)
class DomainData:
    """A multi-domain data set: train / test splits, domain names and the label kind."""

    name: str
    train: DomainSplit
    test: DomainSplit
    domains: tuple[str, ...]
    kind: str  # "single" (one-hot, softmax CE) or "multi" (attributes, BCE)
    source: str

    @property
    def c_dim(self) -> int:
        return len(self.domains)

    @property
    def in_chans(self) -> int:
        return int(self.train.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train.images.shape[-1])

    def describe(self) -> str:
        """One line: what the data is, its split sizes and where it came from."""
        return (f"{self.name} ({self.in_chans}×{self.image_size}×{self.image_size}, {self.c_dim} "
                f"{self.kind}-label domains; train {len(self.train)}, test {len(self.test)}) from {self.source}")


def target_labels(labels: torch.Tensor, kind: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random target domains as in the paper's code: the batch's own labels, permuted."""
    return labels[torch.randperm(len(labels), generator=generator)]


def domain_targets(labels: torch.Tensor, kind: str, domains: tuple[str, ...]) -> list[torch.Tensor]:
    """One target label batch per domain (the paper's test targets): ``single`` — every image to
    domain j; ``multi`` — attribute j flipped (hair colours set exclusively, as in StarGAN)."""
    out = []
    for j, name in enumerate(domains):
        if kind == "single":
            c = torch.zeros_like(labels)
            c[:, j] = 1
        else:
            c = labels.clone()
            if name in _HAIR:
                for k, other in enumerate(domains):
                    if other in _HAIR:
                        c[:, k] = float(k == j)
            else:
                c[:, j] = 1 - c[:, j]
        out.append(c)
    return out


def _to_unit_range(split, mean: tuple[float, ...], std: tuple[float, ...], size: int) -> torch.Tensor:
    """Undo lit_core.data's normalisation, map to [-1, 1], zero-pad (value -1) to ``size``."""
    m = torch.tensor(mean, dtype=torch.float32)[None, :, None, None]
    s = torch.tensor(std, dtype=torch.float32)[None, :, None, None]
    x = (split.images * s + m).clamp(0, 1) * 2 - 1
    h = x.shape[-1]
    if h > size:
        raise DataError(f"images are {h}×{h}, larger than image_size={size}; raise data.image_size")
    pad = size - h
    return F.pad(x, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2), value=-1.0)


def load_class_domains(
    name: str = "fashion-mnist",
    data_dir: str | os.PathLike | None = None,
    *,
    image_size: int = 32,
    limit: int | None = None,
    test_limit: int | None = None,
    seed: int = 0,
) -> DomainData:
    """A classification set from ``lit_core.data`` with its classes as (single-label) domains."""
    splits = load_data(name, data_dir, val_fraction=0.0, seed=seed,
                       limit=limit, test_limit=test_limit, quiet=True)
    if splits.num_classes < 2:
        raise DataError(f"{splits.source} has {splits.num_classes} class(es); StarGAN needs at least "
                        "two domains (one subfolder or label per domain)")
    out = []
    for split in (splits.train, splits.test):
        present = torch.bincount(split.labels, minlength=splits.num_classes)
        if (present == 0).any():
            missing = [int(i) for i in torch.nonzero(present == 0).flatten()]
            raise DataError(f"{splits.source}: domain(s) {missing} have no images; every domain needs examples")
        images = _to_unit_range(split, splits.mean, splits.std, image_size)
        out.append(DomainSplit(images, F.one_hot(split.labels, splits.num_classes).float()))
    names = _class_names(splits.name, splits.num_classes)
    return DomainData(splits.name, out[0], out[1], names, "single", splits.source)


def _class_names(name: str, n: int) -> tuple[str, ...]:
    if name == "fashion-mnist":
        return ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                "Bag", "Boot")
    return tuple(str(i) for i in range(n))


def _read_attr_file(path: Path, selected: tuple[str, ...]) -> list[tuple[str, list[float]]]:
    lines = [ln.rstrip() for ln in path.read_text().splitlines()]
    if len(lines) < 3:
        raise DataError(f"{path}: expected a count line, an attribute-name line and one line per image")
    names = lines[1].split()
    unknown = [a for a in selected if a not in names]
    if unknown:
        raise DataError(f"{path}: attribute(s) {', '.join(unknown)} not in the file's header "
                        f"({len(names)} names, e.g. {', '.join(names[:5])})")
    cols = [names.index(a) for a in selected]
    rows = []
    for n, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1 or any(v not in ("1", "-1") for v in parts[1:]):
            raise DataError(f"{path}, line {n}: expected a file name and {len(names)} values of 1/-1")
        rows.append((parts[0], [float(parts[1 + c] == "1") for c in cols]))
    return rows


def _check_image_sizes(paths: list[Path]) -> None:
    """Every image's decoded size (RGB uint8, from its header) against the data memory budget,
    before any image is decoded: a one-colour 10000×10000 PNG is 100 kB on disk, 300 MB decoded."""
    for path in paths:
        w, h = image_dimensions(path)
        check_budget(3 * w * h, f"CelebA image {path} ({w}×{h} pixels)", "use smaller images")


def _read_image(path: Path, crop: int, size: int) -> torch.Tensor:
    from PIL import Image  # torchvision's dependency

    with open_image(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        c = min(crop, w, h)
        left, top = (w - c) // 2, (h - c) // 2
        im = im.crop((left, top, left + c, top + c)).resize((size, size), Image.BICUBIC)
        x = torch.from_numpy(np.asarray(im, dtype=np.float32).copy()).permute(2, 0, 1)
    return x / 127.5 - 1.0


def load_celeba(
    data_dir: str | os.PathLike,
    *,
    selected_attrs: tuple[str, ...] | list[str] = CELEBA_ATTRS,
    image_size: int = 128,
    crop_size: int = 178,
    test_count: int = 2000,
    limit: int | None = None,
) -> DomainData:
    """CelebA in its official layout; the split follows StarGAN (shuffle with seed 1234, the first
    ``test_count`` images are the test set); ``limit`` caps the training images read. The tensors
    and every image's decoded size (from its header) are checked against the data memory budget
    (``lit_core.data.budget``) before any image is decoded."""
    root = Path(data_dir)
    attr = root / "list_attr_celeba.txt"
    if not attr.is_file():
        raise DataError(f"data folder {root} has no domains: expected list_attr_celeba.txt (CelebA "
                        "layout) there; for class folders use data.name = 'folder'")
    img_dir = next((root / d for d in ("images", "img_align_celeba") if (root / d).is_dir()), None)
    if img_dir is None:
        raise DataError(f"{root}: no images/ or img_align_celeba/ folder next to list_attr_celeba.txt")
    rows = _read_attr_file(attr, tuple(selected_attrs))
    random.Random(1234).shuffle(rows)
    test_rows, train_rows = rows[:test_count], rows[test_count:]
    if limit is not None:
        train_rows = train_rows[:limit]
    if not train_rows or not test_rows:
        raise DataError(f"{attr}: {len(rows)} images is too few for a test split of {test_count}")
    for part in (train_rows, test_rows):
        missing = [f for f, _ in part if not (img_dir / f).is_file()]
        if missing:
            raise DataError(f"{img_dir}: {len(missing)} image(s) listed in {attr.name} are missing, "
                            f"e.g. {missing[0]}")
    n = len(train_rows) + len(test_rows)
    check_budget(2 * n * 3 * image_size**2 * 4,  # the list of tensors, then their stack
                 f"CelebA in {root} ({n} images of 3×{image_size}×{image_size} float32)",
                 "lower data.limit or data.image_size")
    _check_image_sizes([img_dir / f for part in (train_rows, test_rows) for f, _ in part])
    splits = []
    for part in (train_rows, test_rows):
        images = torch.stack([_read_image(img_dir / f, crop_size, image_size) for f, _ in part])
        splits.append(DomainSplit(images, torch.tensor([lab for _, lab in part])))
    return DomainData("celeba", splits[0], splits[1], tuple(selected_attrs), "multi", str(root))


def load_domain_data(cfg: dict) -> DomainData:
    """The ``[data]`` table → ``DomainData`` (``name`` = ``celeba`` or any ``lit_core.data`` name)."""
    name = str(cfg.get("name", "fashion-mnist")).lower()
    data_dir = cfg.get("data_dir") or None
    if name == "celeba":
        if data_dir is None:
            raise DataError("data.name = 'celeba' needs data.data_dir (the folder holding "
                            "list_attr_celeba.txt and images/)")
        return load_celeba(data_dir, selected_attrs=tuple(cfg.get("selected_attrs", CELEBA_ATTRS)),
                           image_size=int(cfg.get("image_size", 128)),
                           crop_size=int(cfg.get("crop_size", 178)),
                           test_count=int(cfg.get("test_count", 2000)), limit=cfg.get("limit"))
    return load_class_domains(name, data_dir, image_size=int(cfg.get("image_size", 32)),
                              limit=cfg.get("limit"), test_limit=cfg.get("test_limit"),
                              seed=int(cfg.get("seed", 0)))
