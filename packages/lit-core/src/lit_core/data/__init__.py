"""Data for lit: real data sets held in memory, a validation split, on-device batches.

``load_data(name)`` returns a ``DataSplits`` (train / val / test ``ArrayDataset`` s). Images are
normalised with the training split's per-channel mean and std; text is quantized into character
ids (``lit_core.data.text``). ``DataSplits.kind``, ``model_kwargs()``, ``input_shape`` and
``input_dtype`` tell the caller how to build a model for it. Names:

===================  ========================================================  ===============
name                 where it comes from                                       train augment
===================  ========================================================  ===============
``fashion-mnist``    IDX files in data_dir (only there, when given), else      crop (pad 2), flip
                     ``$LIT_DATA_DIR``, /usr/share/datasets/fashion-mnist,
                     else a torchvision download
``cifar10/100``      torchvision's on-disk layout under data_dir / LIT_DATA_DIR  crop (pad 4), flip
``digits``           scikit-learn's embedded 8×8 digits (always offline)       crop (pad 1)
``npz``              a user's .npz (data_dir is the file)                      crop (pad H/8)
``folder``           ImageFolder layout, data_dir/{train,test}/<class>/        crop (pad H/8)
``fortunes``         text: language of 32–64 char snippets of Debian's          none
                     fortune packages (``lit_core.data.fortunes``)
``amazon-polarity``  text: Zhang et al.'s amazon_review_polarity_csv (2 cl.)   none
``amazon-full``      text: amazon_review_full_csv (5 classes)                  none
``csv``              text: train.csv/test.csv in Zhang et al.'s format         none
``auto``             data_dir's own kind, else Fashion-MNIST, else digits
===================  ========================================================  ===============

An explicit data_dir must exist and hold the data set: it is never silently replaced by another
location. Digits have no flip (a mirrored digit is another glyph); generic data sets get no flip
either, since we cannot know whether it preserves the label. The validation split is carved from
the training set (seeded, stratified), so model selection never sees the test set. Every data set
is checked when loaded (``lit_core.data.checks``): integer class ids 0..K-1, every test class
seen in training, finite inputs. What a file declares (``.npz``/IDX headers, image sizes) and the
float32 copy of the kept examples are checked against a memory budget before they are allocated
(``lit_core.data.budget``, ``$LIT_DATA_MEMORY_GB``); ``limit`` is applied before that conversion.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import sources
from .checks import check_limit
from .loader import BatchLoader, random_crop_flip
from .splits import ArrayDataset, Augment, DataError, DataSplits, finalise_splits, model_input
from .text_sets import TEXT_DATASETS, is_text_dir, load_text

__all__ = [
    "DATASETS",
    "ArrayDataset",
    "Augment",
    "BatchLoader",
    "DataError",
    "DataSplits",
    "load_data",
    "model_input",
    "random_crop_flip",
    "resolve_name",
]

#: Accepted ``name`` values of ``load_data`` (aliases map onto these).
DATASETS = ("auto", "fashion-mnist", "cifar10", "cifar100", "digits", "npz", "folder", *TEXT_DATASETS)
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist", "fmnist": "fashion-mnist",
            "cifar-10": "cifar10", "cifar-100": "cifar100", "imagefolder": "folder",
            "amazon_review_polarity": "amazon-polarity", "amazon_review_full": "amazon-full"}
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
    if is_text_dir(data_dir):
        return "csv"
    if sources.find_fashion_mnist(data_dir) is not None:
        return "fashion-mnist"
    return None


def _check_data_dir(data_dir: str | os.PathLike | None) -> None:
    """For ``auto``: an explicit data_dir must exist (it is never silently replaced)."""
    if data_dir is None:
        return
    p = Path(data_dir)
    if not p.exists():
        env = os.environ.get("LIT_DATA_DIR")
        default = f"$LIT_DATA_DIR ({env}) and " if env else ""
        raise DataError(
            f"--data-dir {p} does not exist; pass an existing file or directory, or omit "
            f"--data-dir to search {default}{sources.FASHION_MNIST_SYSTEM_DIR}"
        )


def _fashion_mnist(data_dir: str | os.PathLike | None) -> sources.RawData:
    found = sources.find_fashion_mnist(data_dir)
    if found is not None:
        return sources.read_fashion_mnist(found)
    looked = ", ".join(str(d) for d in sources.fashion_mnist_dirs(data_dir))
    if data_dir is not None:  # an explicit directory: no download, no other location
        raise DataError(
            f"no Fashion-MNIST in {looked} (the four IDX files, raw or .gz); put them in "
            f"--data-dir, or omit it to use {sources.FASHION_MNIST_SYSTEM_DIR} (Debian's "
            "dataset-fashion-mnist)"
        )
    root = Path(os.environ.get("LIT_DATA_DIR") or Path.home() / ".cache" / "lit" / "data")
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
    if name != "auto":  # a named data set's reader looks only in data_dir and says so
        return name
    if data_dir is not None:
        _check_data_dir(data_dir)
        kind = _kind_of_dir(Path(data_dir))
        if kind is None:
            raise DataError(
                f"--data-dir {data_dir} holds no data set lit recognises (Fashion-MNIST IDX files, "
                "cifar-10-batches-py/, cifar-100-python/, train/ and test/ image folders, train.csv "
                "and test.csv, or an .npz file); pass --data NAME to say which it is"
            )
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
    seq_len: int | None = None,
) -> DataSplits:
    """Load a data set by name into memory as train / val / test; ``DataError`` if missing or bad.

    ``limit`` keeps a seeded, stratified subset of about that many training examples (before the
    validation split); ``test_limit`` does the same for the test set. ``seq_len`` sets the
    quantized length of text (default: the data set's own, 1024 for CSVs, 64 for fortunes);
    it is an error for image data.
    """
    limit, test_limit = check_limit("limit", limit), check_limit("test_limit", test_limit)
    name = resolve_name(name, data_dir, quiet=quiet)
    if name in TEXT_DATASETS:
        return load_text(name, data_dir, val_fraction=val_fraction, seed=seed, limit=limit,
                         test_limit=test_limit, seq_len=seq_len)
    if seq_len is not None:
        raise DataError(f"seq_len applies to text data sets, not to {name!r} (images)")
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
