"""Readers for each supported data set: they return raw arrays (N×C×H×W in [0, 1], labels).

Fashion-MNIST: IDX files (``.gz`` or raw) read with torchvision's IDX reader. CIFAR-10/100: the
pickled batches of torchvision's on-disk layout, read with a restricted unpickler that only builds
dicts, lists and numpy arrays (a data file never executes code). scikit-learn digits: embedded.
Generic: a ``.npz`` (``images``, ``labels``, optional ``test_images``/``test_labels``) or an
image folder (torchvision ``ImageFolder`` layout, ``train/`` and ``test/``).
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import shutil
import socket
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import optional_import
from .errors import DataError

__all__ = [
    "FASHION_MNIST_SYSTEM_DIR",
    "RawData",
    "fashion_mnist_dirs",
    "find_fashion_mnist",
    "read_cifar",
    "read_digits",
    "read_fashion_mnist",
    "read_image_folder",
    "read_npz",
]

#: Where Debian's ``dataset-fashion-mnist`` package installs the IDX files.
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
_FASHION_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_FASHION_HOST = ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80)


@dataclass(frozen=True)
class RawData:
    """Arrays straight from a reader, before the val split and normalisation."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    num_classes: int | None = None


# --------------------------------------------------------------------------- Fashion-MNIST


def fashion_mnist_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    """The directories searched for Fashion-MNIST: only under data_dir when it is given (an
    explicit path is never silently replaced), else LIT_DATA_DIR, then the system directory."""
    if data_dir is not None:
        root = Path(data_dir)
        return [root, root / "fashion-mnist", root / "FashionMNIST" / "raw"]
    roots = [Path(p) for p in (os.environ.get("LIT_DATA_DIR"),) if p]
    dirs: list[Path] = []
    for root in roots:
        dirs += [root, root / "fashion-mnist", root / "FashionMNIST" / "raw"]
    dirs.append(FASHION_MNIST_SYSTEM_DIR)
    return dirs


def _idx_file(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def find_fashion_mnist(data_dir: str | os.PathLike | None) -> Path | None:
    """The first searched directory holding all four Fashion-MNIST IDX files, else None."""
    for d in fashion_mnist_dirs(data_dir):
        if all(_idx_file(d, stem) for stem in _FASHION_FILES.values()):
            return d
    return None


def _read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (raw or gzipped) with torchvision's reader; DataError if malformed."""
    from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor

    try:
        if path.suffix == ".gz":
            with tempfile.TemporaryDirectory() as tmp:
                raw = Path(tmp) / path.stem
                with gzip.open(path, "rb") as src, open(raw, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                arr = read_sn3_pascalvincent_tensor(str(raw), strict=True)
        else:
            arr = read_sn3_pascalvincent_tensor(str(path), strict=True)
    except (AssertionError, OSError, EOFError, KeyError, RuntimeError, ValueError) as e:
        raise DataError(f"malformed IDX file {path}: {type(e).__name__} {e}".rstrip()) from None
    return arr.numpy()


def read_fashion_mnist(directory: Path) -> RawData:
    """Fashion-MNIST from the four IDX files in ``directory``."""
    arrs = {}
    for key, stem in _FASHION_FILES.items():
        path = _idx_file(directory, stem)
        if path is None:
            raise DataError(f"Fashion-MNIST: {stem}[.gz] missing from {directory}")
        arrs[key] = _read_idx(path)
    for split in ("train", "test"):
        imgs, labs = arrs[f"{split}_images"], arrs[f"{split}_labels"]
        if imgs.ndim != 3 or labs.ndim != 1 or len(imgs) != len(labs):
            raise DataError(
                f"Fashion-MNIST in {directory}: {split} images {imgs.shape} and labels {labs.shape} "
                "do not match (expected N×28×28 and N)"
            )
    return RawData(
        train_images=arrs["train_images"][:, None].astype(np.float32) / 255.0,
        train_labels=arrs["train_labels"].astype(np.int64),
        test_images=arrs["test_images"][:, None].astype(np.float32) / 255.0,
        test_labels=arrs["test_labels"].astype(np.int64),
        source=str(directory),
        num_classes=10,
    )


def download_fashion_mnist(root: Path, timeout: float = 3.0) -> Path:
    """Download Fashion-MNIST with torchvision into ``root``; DataError when offline."""
    try:
        socket.create_connection(_FASHION_HOST, timeout=timeout).close()
    except OSError as e:
        raise DataError(f"Fashion-MNIST download server unreachable ({e})") from None
    from torchvision.datasets import FashionMNIST

    try:
        FashionMNIST(str(root), train=True, download=True)
        FashionMNIST(str(root), train=False, download=True)
    except Exception as e:  # torchvision raises assorted network errors
        raise DataError(f"Fashion-MNIST download into {root} failed: {e}") from None
    return root / "FashionMNIST" / "raw"


# --------------------------------------------------------------------------- CIFAR


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that can only build builtins containers and numpy arrays (no code execution)."""

    _ALLOWED: frozenset[tuple[str, str]] = frozenset({
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    })

    def find_class(self, module: str, name: str):  # type: ignore[override]
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def _load_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            obj = _ArrayUnpickler(io.BufferedReader(f), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError) as e:
        raise DataError(f"malformed CIFAR batch {path}: {e}") from None
    if not isinstance(obj, dict):
        raise DataError(f"malformed CIFAR batch {path}: expected a dict, got {type(obj).__name__}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _cifar_layout(num_classes: int):
    from torchvision.datasets import CIFAR10, CIFAR100

    return CIFAR10 if num_classes == 10 else CIFAR100


def read_cifar(data_dir: str | os.PathLike | None, num_classes: int) -> RawData:
    """CIFAR-10 or -100 from torchvision's on-disk layout under ``data_dir`` (or LIT_DATA_DIR)."""
    layout = _cifar_layout(num_classes)
    name = f"CIFAR-{num_classes}"
    # an explicit data_dir is the only place looked (never silently replaced by LIT_DATA_DIR)
    roots = [Path(data_dir)] if data_dir is not None else [
        Path(p) for p in (os.environ.get("LIT_DATA_DIR"),) if p]
    looked = [r / layout.base_folder for r in roots]
    folder = next((d for d in looked if d.is_dir()), None)
    if folder is None:
        where = ", ".join(map(str, looked)) or "nowhere (no --data-dir and no LIT_DATA_DIR)"
        raise DataError(
            f"{name} not found: looked in {where}. Get it once on a connected machine with "
            f"`python -c \"import torchvision; torchvision.datasets.{layout.__name__}('DIR', "
            f"download=True)\"` and pass --data-dir DIR (or set LIT_DATA_DIR)"
        )
    label_key = "labels" if num_classes == 10 else "fine_labels"

    def read(files: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        imgs, labs = [], []
        for fname, _md5 in files:
            path = folder / fname
            if not path.is_file():
                raise DataError(f"{name}: {fname} missing from {folder}")
            entry = _load_pickle(path)
            if "data" not in entry or label_key not in entry:
                raise DataError(f"malformed {name} batch {path}: needs keys 'data' and {label_key!r}")
            data = np.asarray(entry["data"], dtype=np.uint8)
            if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(entry[label_key]):
                raise DataError(
                    f"malformed {name} batch {path}: data {data.shape}, "
                    f"{len(entry[label_key])} labels (expected N×3072 and N)"
                )
            imgs.append(data.reshape(-1, 3, 32, 32))
            labs.append(np.asarray(entry[label_key], dtype=np.int64))
        return np.concatenate(imgs), np.concatenate(labs)

    tr_x, tr_y = read(layout.train_list)
    te_x, te_y = read(layout.test_list)
    return RawData(
        train_images=tr_x.astype(np.float32) / 255.0,
        train_labels=tr_y,
        test_images=te_x.astype(np.float32) / 255.0,
        test_labels=te_y,
        source=str(folder),
        num_classes=num_classes,
    )


# --------------------------------------------------------------------------- digits


def read_digits(test_fraction: float = 0.2, seed: int = 0) -> RawData:
    """scikit-learn's embedded 8×8 digits (1797 images), a fixed stratified test split."""
    datasets = optional_import("sklearn.datasets", "sklearn", "the digits data set")
    train_test_split = optional_import("sklearn.model_selection", "sklearn",
                                       "the digits data set").train_test_split
    d = datasets.load_digits()
    images = (d.images.astype(np.float32) / 16.0)[:, None]  # N×1×8×8 in [0, 1]
    tr_x, te_x, tr_y, te_y = train_test_split(
        images, d.target.astype(np.int64), test_size=test_fraction, random_state=seed,
        stratify=d.target,
    )
    return RawData(tr_x, tr_y, te_x, te_y, source="scikit-learn digits (embedded)", num_classes=10)


# --------------------------------------------------------------------------- generic


def _as_nchw(images: np.ndarray, path: Path, key: str) -> np.ndarray:
    """N×H×W, N×H×W×C (C ≤ 4) or N×C×H×W to float32 N×C×H×W; uint8 scaled to [0, 1]."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = x.transpose(0, 3, 1, 2)
    elif x.ndim != 4:
        raise DataError(f"{path}: {key!r} has shape {x.shape}; expected N×H×W, N×H×W×C or N×C×H×W")
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{path}: {key!r} is not numeric (dtype {x.dtype})")
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    return x.astype(np.float32) / scale


def read_npz(path: str | os.PathLike, test_fraction: float = 0.2, seed: int = 0) -> RawData:
    """A user's ``.npz``: ``images``/``labels`` (+ optional ``test_images``/``test_labels``)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"npz data file {p} not found (pass its path as --data-dir)")
    with open(p, "rb") as f:
        magic = f.read(4)
    if not magic:
        raise DataError(f"npz data file {p} is empty; write it with numpy.savez(path, images=..., labels=...)")
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise DataError(
            f"{p} is not an .npz archive (a zip of arrays); write it with "
            "numpy.savez(path, images=..., labels=...)"
        )
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"malformed npz file {p}: {e}") from None
    missing = {"images", "labels"} - arrays.keys()
    if missing:
        raise DataError(
            f"npz file {p} lacks {sorted(missing)} (has {sorted(arrays)}); it needs 'images' "
            "and 'labels', optionally 'test_images' and 'test_labels'"
        )
    x = _as_nchw(arrays["images"], p, "images")
    y = np.asarray(arrays["labels"]).reshape(-1)  # checked (never truncated) in finalise_splits
    if len(x) != len(y):
        raise DataError(f"npz file {p}: {len(x)} images but {len(y)} labels")
    if "test_images" in arrays and "test_labels" in arrays:
        te_x = _as_nchw(arrays["test_images"], p, "test_images")
        te_y = np.asarray(arrays["test_labels"]).reshape(-1)
        return RawData(x, y, te_x, te_y, source=str(p))
    train_test_split = optional_import(
        "sklearn.model_selection", "sklearn",
        f"carving a test split out of {p} (it has no test_images/test_labels)").train_test_split
    try:
        tr_x, te_x, tr_y, te_y = train_test_split(
            x, y, test_size=test_fraction, random_state=seed, stratify=y
        )
    except ValueError:  # a class too small to stratify
        tr_x, te_x, tr_y, te_y = train_test_split(x, y, test_size=test_fraction, random_state=seed)
    return RawData(tr_x, tr_y, te_x, te_y, source=f"{p} (test split carved, {test_fraction:.0%})")


def _load_image(folder, path: str) -> np.ndarray:
    """One image of an ImageFolder as C×H×W uint8; a corrupt file is a DataError naming it."""
    from PIL import Image
    from torchvision.transforms.functional import pil_to_tensor

    try:
        with Image.open(path) as img:
            if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grey: scale, not clip
                wide = np.asarray(img).astype(np.uint32)
                grey = ((wide * 255 + 32767) // 65535).astype(np.uint8)
                return np.repeat(grey[None], 3, axis=0)
        return pil_to_tensor(folder.loader(path)).numpy()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"image folder: cannot read {path} ({type(e).__name__}: {e}); remove or replace it") from None


def read_image_folder(root: str | os.PathLike) -> RawData:
    """An image folder in torchvision ``ImageFolder`` layout: ``root/{train,test}/<class>/*``."""
    from torchvision.datasets import ImageFolder

    r = Path(root)
    if not (r / "train").is_dir() or not (r / "test").is_dir():
        raise DataError(
            f"image folder {r} needs train/ and test/ subfolders, each with one folder per class"
        )
    class _Folder(ImageFolder):
        def find_classes(self, directory):  # hidden folders (.ipynb_checkpoints/) are no classes
            names = sorted(e.name for e in os.scandir(directory)
                           if e.is_dir() and not e.name.startswith("."))
            if not names:
                raise FileNotFoundError(f"no class folders found in {directory}")
            return names, {n: i for i, n in enumerate(names)}

    out, classes, files = {}, None, {}
    for split in ("train", "test"):
        try:
            folder = _Folder(str(r / split))
        except (FileNotFoundError, OSError) as e:
            raise DataError(f"image folder {r / split}: {e}") from None
        if classes is not None and folder.classes != classes:
            raise DataError(f"image folder {r}: train classes {classes} ≠ test classes {folder.classes}")
        classes = folder.classes
        files[split] = {os.path.realpath(p): p for p, _ in folder.samples}
        if len(files[split]) < len(folder.samples):  # a symlink loop or links to one file
            raise DataError(
                f"image folder {r / split}: {len(folder.samples)} image paths but only "
                f"{len(files[split])} distinct files (a symlinked folder loop or duplicate links?); "
                "remove the links so each image appears once"
            )
        imgs = [_load_image(folder, p) for p, _ in folder.samples]
        shapes = {im.shape for im in imgs}
        if len(shapes) != 1:
            raise DataError(
                f"image folder {r / split}: images differ in size/channels {sorted(shapes)[:3]}; "
                "resize them to one square size first, or stream the folder "
                "(--set data.loader=stream resizes and crops each image as it is read)"
            )
        out[split] = (np.stack(imgs).astype(np.float32) / 255.0, np.array(folder.targets, dtype=np.int64))
    shared = sorted(files["train"].keys() & files["test"].keys())
    if shared:
        raise DataError(
            f"image folder {r}: {len(shared)} test image(s) are also in train/ (the same file, e.g. "
            f"{files['test'][shared[0]]} and {files['train'][shared[0]]}); a train/test leak: "
            "remove them from one split"
        )
    return RawData(*out["train"], *out["test"], source=str(r), num_classes=len(classes or []))
