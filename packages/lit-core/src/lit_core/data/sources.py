"""Readers for each supported data set: they return raw arrays (N×C×H×W images, labels).

Images keep their stored dtype (uint8 for IDX, CIFAR, image folders and uint8 ``.npz`` files):
``finalise_splits`` converts to float32 only the examples ``limit`` and the splits keep. Before a
reader decompresses or allocates anything it checks the sizes the file declares (IDX and ``.npy``
headers, image dimensions) against the memory budget of ``lit_core.data.budget``.

Fashion-MNIST: IDX files (``.gz`` or raw), exactly the bytes their header declares. CIFAR-10/100: the
pickled batches of torchvision's on-disk layout, read with a restricted unpickler that only builds
dicts, lists and numpy arrays (a data file never executes code). scikit-learn digits: embedded.
Generic: a ``.npz`` (``images``, ``labels``, optional ``test_images``/``test_labels``) or an
image folder (torchvision ``ImageFolder`` layout, ``train/`` and ``test/``).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import socket
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import optional_import
from .budget import check_budget, format_bytes
from .errors import DataError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "FASHION_MNIST_SYSTEM_DIR",
    "RawData",
    "fashion_mnist_dirs",
    "find_fashion_mnist",
    "image_dimensions",
    "open_image",
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
    """Arrays straight from a reader, before the val split and normalisation.

    Images are N×C×H×W in their stored dtype: uint8 (0..255, scaled to [0, 1] when converted)
    or any other numeric dtype (taken as it is)."""

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


_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open_idx(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _idx_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length an IDX file declares (from its first bytes only)."""
    try:
        with _open_idx(path) as f:
            head = f.read(4)
            ndim = head[3] if len(head) == 4 else 0
            dims = f.read(4 * ndim)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"malformed IDX file {path}: {type(e).__name__} {e}".rstrip()) from None
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _IDX_DTYPES or len(dims) < 4 * ndim:
        raise DataError(f"malformed IDX file {path}: bad header {(head + dims)[:16].hex()}")
    shape = tuple(int.from_bytes(dims[i:i + 4], "big") for i in range(0, len(dims), 4))
    return shape, np.dtype(_IDX_DTYPES[head[2]]), 4 + 4 * ndim


def _read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (raw or gzipped); its declared size is checked against the memory
    budget first, and exactly that many bytes are read (DataError if the file holds more or less)."""
    shape, dtype, offset = _idx_header(path)
    declared = math.prod(shape) * dtype.itemsize
    check_budget(declared, f"IDX file {path} (declares {' × '.join(map(str, shape))} {dtype.name})")
    try:
        with _open_idx(path) as f:
            data = f.read(offset + declared + 1)  # one byte more: trailing data is an error
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"malformed IDX file {path}: {type(e).__name__} {e}".rstrip()) from None
    if len(data) != offset + declared:
        raise DataError(f"malformed IDX file {path}: the header declares {declared} bytes of data "
                        f"but the file holds {len(data) - offset}{' or more' if len(data) > offset + declared else ''}")
    return np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def read_fashion_mnist(directory: Path) -> RawData:
    """Fashion-MNIST from the four IDX files in ``directory``."""
    paths = {}
    for key, stem in _FASHION_FILES.items():
        path = _idx_file(directory, stem)
        if path is None:
            raise DataError(f"Fashion-MNIST: {stem}[.gz] missing from {directory}")
        paths[key] = path
    arrs = {key: _read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        imgs, labs = arrs[f"{split}_images"], arrs[f"{split}_labels"]
        if imgs.ndim != 3 or labs.ndim != 1 or len(imgs) != len(labs):
            raise DataError(
                f"Fashion-MNIST in {directory}: {split} images {imgs.shape} and labels {labs.shape} "
                "do not match (expected N×28×28 and N)"
            )
    return RawData(
        train_images=arrs["train_images"][:, None],
        train_labels=arrs["train_labels"].astype(np.int64),
        test_images=arrs["test_images"][:, None],
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
        train_images=tr_x,
        train_labels=tr_y,
        test_images=te_x,
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


_NPZ_KEYS = ("images", "labels", "test_images", "test_labels")
_LAYOUTS = ("NCHW", "NHWC")


def _npz_headers(p: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype each ``.npy`` member of ``p`` declares, read from the headers only (no
    member is decompressed); a header that claims more bytes than its member holds is refused."""
    headers = {}
    with zipfile.ZipFile(p) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            key = info.filename[: -len(".npy")]
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f"member {key!r} has .npy format version {version}, "
                                     "which lit does not read (write it with numpy.savez)")
                offset = f.tell()
            declared = math.prod(shape) * dtype.itemsize
            if declared > info.file_size - offset:
                raise DataError(
                    f"npz file {p}: member {key!r} declares {dtype} {shape} "
                    f"({format_bytes(declared)}) but holds only {format_bytes(info.file_size - offset)}; "
                    "the header is damaged or forged: write the file again with numpy.savez"
                )
            headers[key] = (tuple(shape), dtype)
    return headers


def _layout(p: Path, arrays: dict[str, np.ndarray]) -> str | None:
    """The optional ``layout`` member ("NCHW" or "NHWC"), for image cubes N×S×S×S."""
    if "layout" not in arrays:
        return None
    value = arrays["layout"]
    text = str(value.item()) if value.size == 1 and value.dtype.kind in "US" else None
    if isinstance(text, str) and text.upper() in _LAYOUTS:
        return text.upper()
    raise DataError(f"npz file {p}: 'layout' must be the string 'NCHW' or 'NHWC'; got {value!r}")


def _as_nchw(images: np.ndarray, path: Path, key: str, layout: str | None = None) -> np.ndarray:
    """N×H×W, N×H×W×C (C ≤ 4) or N×C×H×W as an N×C×H×W view in the file's own dtype (the
    conversion to float32 comes after ``limit`` and the splits: ``splits.as_float_images``).

    N×S×S×S (C = H = W) is ambiguous: the file must say its ``layout`` ("NCHW" or "NHWC")."""
    x = np.asarray(images)
    if not np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_:
        raise DataError(f"{path}: {key!r} is not numeric (dtype {x.dtype})")
    if x.ndim == 3:
        return x[:, None]
    if x.ndim != 4:
        raise DataError(f"{path}: {key!r} has shape {x.shape}; expected N×H×W, N×H×W×C or N×C×H×W")
    if layout is None and x.shape[1] == x.shape[2] == x.shape[3]:
        raise DataError(
            f"{path}: {key!r} has shape {x.shape}, which reads as N×C×H×W and as N×H×W×C alike; "
            "say which: numpy.savez(path, ..., layout='NCHW') (or 'NHWC' for channels-last)"
        )
    if layout == "NHWC" or (layout is None and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4)):
        x = x.transpose(0, 3, 1, 2)
    return x


def read_npz(path: str | os.PathLike, test_fraction: float = 0.2, seed: int = 0) -> RawData:
    """A user's ``.npz``: ``images``/``labels`` (+ optional ``test_images``/``test_labels`` and a
    ``layout`` string, "NCHW" or "NHWC"). The members' headers are checked against the memory
    budget (``lit_core.data.budget``) before any is decompressed; images keep their dtype."""
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
        headers = _npz_headers(p)
        missing = {"images", "labels"} - headers.keys()
        if missing:
            raise DataError(
                f"npz file {p} lacks {sorted(missing)} (has {sorted(headers)}); it needs 'images' "
                "and 'labels', optionally 'test_images' and 'test_labels'"
            )
        wanted = [k for k in (*_NPZ_KEYS, "layout") if k in headers]
        declared = {k: math.prod(headers[k][0]) * headers[k][1].itemsize for k in wanted}
        shown = ", ".join(f"{k} {headers[k][1]} {headers[k][0]}" for k in wanted if k != "layout")
        check_budget(sum(declared.values()), f"npz file {p} ({shown})",
                     "keep fewer examples in the file")
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in wanted}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"malformed npz file {p}: {e}") from None
    layout = _layout(p, arrays)
    x = _as_nchw(arrays["images"], p, "images", layout)
    y = np.asarray(arrays["labels"]).reshape(-1)  # checked (never truncated) in finalise_splits
    if len(x) != len(y):
        raise DataError(f"npz file {p}: {len(x)} images but {len(y)} labels")
    if "test_images" in arrays and "test_labels" in arrays:
        te_x = _as_nchw(arrays["test_images"], p, "test_images", layout)
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


@contextmanager
def open_image(path: str | os.PathLike) -> Iterator[PILImage]:
    """``PIL.Image.open`` for lit's readers: PIL's ``DecompressionBombWarning`` is silenced (lit's
    own size checks decide, from the header: ``check_budget``), and a file that cannot be opened
    or decoded inside the ``with`` is one DataError line naming it."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                yield img
    except DataError:  # a size check of the caller's: already one line
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"image folder: cannot read {path} ({type(e).__name__}: {e}); remove or replace it") from None


def image_dimensions(path: str | os.PathLike) -> tuple[int, int]:
    """Width and height an image file declares, from its header only (nothing is decoded)."""
    with open_image(path) as img:
        return img.size


def _load_image(path: str) -> np.ndarray:
    """One image of an ImageFolder as 3×H×W uint8; a corrupt file is a DataError naming it."""
    with open_image(path) as img:
        if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grey: scale, not clip
            wide = np.asarray(img).astype(np.uint32)
            grey = ((wide * 255 + 32767) // 65535).astype(np.uint8)
            return np.repeat(grey[None], 3, axis=0)
        return np.asarray(img.convert("RGB")).transpose(2, 0, 1)  # torchvision's pil_loader + pil_to_tensor


def _decoded_bytes(path: str) -> int:
    """Bytes one image takes decoded as 3×H×W uint8, from its header (PIL decodes nothing)."""
    width, height = image_dimensions(path)
    return 3 * width * height


def read_image_folder(root: str | os.PathLike) -> RawData:
    """An image folder in torchvision ``ImageFolder`` layout: ``root/{train,test}/<class>/*``.

    Every image's size is read from its header and the total checked against the memory budget
    before any image is decoded; the arrays are uint8."""
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

    folders, classes, files = {}, None, {}
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
        folders[split] = folder
    shared = sorted(files["train"].keys() & files["test"].keys())
    if shared:
        raise DataError(
            f"image folder {r}: {len(shared)} test image(s) are also in train/ (the same file, e.g. "
            f"{files['test'][shared[0]]} and {files['train'][shared[0]]}); a train/test leak: "
            "remove them from one split"
        )
    samples = [p for folder in folders.values() for p, _ in folder.samples]
    needed = sum(_decoded_bytes(p) for p in samples)
    check_budget(2 * needed, f"image folder {r} ({len(samples)} images, "  # the list, then the stack
                 f"{format_bytes(needed)} of pixels decoded)", "use smaller images")
    out = {}
    for split, folder in folders.items():
        imgs = [_load_image(p) for p, _ in folder.samples]
        shapes = {im.shape for im in imgs}
        if len(shapes) != 1:
            raise DataError(
                f"image folder {r / split}: images differ in size/channels {sorted(shapes)[:3]}; "
                "resize them to one square size first, or stream the folder "
                "(--set data.loader=stream resizes and crops each image as it is read)"
            )
        out[split] = (np.stack(imgs), np.array(folder.targets, dtype=np.int64))
    return RawData(*out["train"], *out["test"], source=str(r), num_classes=len(classes or []))
