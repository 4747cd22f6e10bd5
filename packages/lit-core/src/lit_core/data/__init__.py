"""Data for lit: real data sets held in memory, a validation split, on-device batches.

``load_data(name)`` returns a ``DataSplits`` (train / val / test ``ArrayDataset`` s, normalised
with the training split's per-channel mean and std). Names:

=================  ==========================================================  ================
name               where it comes from                                         train augment
=================  ==========================================================  ================
``fashion-mnist``  IDX files in data_dir, ``$LIT_DATA_DIR``,                   crop (pad 2), flip
                   /usr/share/datasets/fashion-mnist, else torchvision download
``cifar10/100``    torchvision's on-disk layout under data_dir / LIT_DATA_DIR  crop (pad 4), flip
``digits``         scikit-learn's embedded 8×8 digits (always offline)         crop (pad 1)
``npz``            a user's .npz (data_dir is the file)                        crop (pad H/8)
``folder``         ImageFolder layout, data_dir/{train,test}/<class>/          crop (pad H/8)
``auto``           the first that is found: data_dir's own kind, then Fashion-MNIST, else digits
=================  ==========================================================  ================

Digits have no flip (a mirrored digit is another glyph); generic data sets get no flip either,
since we cannot know whether it preserves the label. The validation split is carved from the
training set (seeded, stratified), so model selection never sees the test set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import sources
from .loader import BatchLoader, random_crop_flip
from .splits import ArrayDataset, Augment, DataError, DataSplits, finalise_splits

__all__ = [
    "DATASETS",
    "ArrayDataset",
    "Augment",
    "BatchLoader",
    "DataError",
    "DataSplits",
    "load_data",
    "random_crop_flip",
    "resolve_name",
]

#: Accepted ``name`` values of ``load_data`` (aliases map onto these).
DATASETS = ("auto", "fashion-mnist", "cifar10", "cifar100", "digits", "npz", "folder")
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist", "fmnist": "fashion-mnist",
            "cifar-10": "cifar10", "cifar-100": "cifar100", "imagefolder": "folder"}
_AUGMENT = {
    "fashion-mnist": Augment(pad=2, flip=True),
    "cifar10": Augment(pad=4, flip=True),
    "cifar100": Augment(pad=4, flip=True),
    "digits": Augment(pad=1, flip=False),
}


def _kind_of_dir(data_dir: Path) -> str | None:
    """Guess which data set a user's --data-dir holds (None when nothing recognisable)."""
    if data_dir.is_file() and data_dir.suffix == ".npz":
        return "npz"
    if (data_dir / "cifar-10-batches-py").is_dir():
        return "cifar10"
    if (data_dir / "cifar-100-python").is_dir():
        return "cifar100"
    if (data_dir / "train").is_dir() and (data_dir / "test").is_dir():
        return "folder"
    return None


def _fashion_mnist(data_dir: str | os.PathLike | None) -> sources.RawData:
    found = sources.find_fashion_mnist(data_dir)
    if found is not None:
        return sources.read_fashion_mnist(found)
    looked = ", ".join(str(d) for d in sources.fashion_mnist_dirs(data_dir))
    root = Path(data_dir or os.environ.get("LIT_DATA_DIR") or Path.home() / ".cache" / "lit" / "data")
    try:
        return sources.read_fashion_mnist(sources.download_fashion_mnist(root))
    except DataError as e:
        raise DataError(
            f"no Fashion-MNIST found in {looked}, and {e}; install Debian's "
            "dataset-fashion-mnist or put the four IDX .gz files in --data-dir"
        ) from None


def _raw(name: str, data_dir: str | os.PathLike | None, seed: int) -> sources.RawData:
    if name == "fashion-mnist":
        return _fashion_mnist(data_dir)
    if name in ("cifar10", "cifar100"):
        return sources.read_cifar(data_dir, 10 if name == "cifar10" else 100)
    if name == "digits":
        return sources.read_digits(seed=seed)
    if name in ("npz", "folder"):
        if data_dir is None:
            raise DataError(f"data set {name!r} needs --data-dir (the .npz file or the folder root)")
        return sources.read_npz(data_dir, seed=seed) if name == "npz" else sources.read_image_folder(data_dir)
    raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")


def resolve_name(name: str, data_dir: str | os.PathLike | None, *, quiet: bool = False) -> str:
    """The concrete data set ``auto`` (or an alias) stands for, announcing a fallback in one line."""
    name = _ALIASES.get(name.lower(), name.lower())
    if name != "auto":
        return name
    if data_dir is not None:
        kind = _kind_of_dir(Path(data_dir))
        if kind is not None:
            return kind
    if sources.find_fashion_mnist(data_dir) is not None:
        return "fashion-mnist"
    if not quiet:
        looked = ", ".join(str(d) for d in sources.fashion_mnist_dirs(data_dir))
        print(f"lit: no Fashion-MNIST found in {looked}; using scikit-learn digits (embedded)",
              file=sys.stderr)
    return "digits"


def load_data(
    name: str = "auto",
    data_dir: str | os.PathLike | None = None,
    *,
    val_fraction: float = 0.1,
    seed: int = 0,
    limit: int | None = None,
    test_limit: int | None = None,
    quiet: bool = False,
) -> DataSplits:
    """Load a data set by name into memory as train / val / test; ``DataError`` if missing or bad.

    ``limit`` keeps a seeded, stratified subset of about that many training examples (before the
    validation split); ``test_limit`` does the same for the test set.
    """
    name = resolve_name(name, data_dir, quiet=quiet)
    raw = _raw(name, data_dir, seed)
    h = raw.train_images.shape[-1]
    augment = _AUGMENT.get(name, Augment(pad=max(1, h // 8), flip=False))
    return finalise_splits(
        name=name,
        train_images=raw.train_images,
        train_labels=raw.train_labels,
        test_images=raw.test_images,
        test_labels=raw.test_labels,
        source=raw.source,
        augment=augment,
        num_classes=raw.num_classes,
        val_fraction=val_fraction,
        seed=seed,
        limit=limit,
        test_limit=test_limit,
    )
