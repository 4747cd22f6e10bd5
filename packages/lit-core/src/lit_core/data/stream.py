"""A streaming image-folder path: files read per batch by DataLoader workers, images of any shape (each within a per-image pixel cap, below).

For folders that do not fit in memory. Same layout, hidden-folder and train/test-leak rules as
``sources.read_image_folder``; ``limit``/``test_limit`` and the validation carve are
``splits._select`` on the labels (seeded, stratified), as on the in-memory path. Every image is
converted to RGB (``channels=3``, grey images replicated) or to greyscale (``channels=1``),
resized (shorter side to ``resize``, aspect kept) and center-cropped to ``image_size`` square;
with ``augment`` the train split uses a random-resized crop and a flip instead. ``mean``/``std``
default to the per-channel statistics of a seeded sample of training images (after the crop), as
the in-memory path normalises with its training split's. An image whose header declares more
pixels than the data memory budget allows one read (``_check_pixels``) is one error naming it,
before it is decoded.

``open_stream_folder`` gives the splits (file lists, no pixels); ``StreamSplits.loader`` the
batches of one split (sharded under DDP, ordered per epoch); ``stream_image_folder`` the three
loaders at once, for the Python API.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from .budget import check_budget, memory_budget
from .errors import DataError
from .loader import _generator
from .sources import open_image
from .splits import _select

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "StreamConfig",
    "StreamData",
    "StreamLoader",
    "StreamSplits",
    "open_stream_folder",
    "stream_image_folder",
]

#: Side of the square crop a streamed image becomes unless the configuration says otherwise.
DEFAULT_IMAGE_SIZE = 224
_MODES = {3: "RGB", 1: "L"}  # channels -> the PIL mode every image is converted to
#: Bytes a pixel takes at most at once while one image is read: PIL's decode (≤ 4; a 16-bit grey
#: image widened to uint32 and scaled: ≤ 14), the converted copy (≤ 3) and its tensor (≤ 3).
_READ_BYTES_PER_PIXEL = 16


@dataclass(frozen=True)
class StreamConfig:
    """How a streamed folder becomes tensors: size, resize, channels, statistics, splits, workers.

    Attributes:
        image_size: side of the square crop the model sees.
        resize: shorter side before the center crop (aspect kept); default ``image_size·8/7``.
        augment: the train split gets a random-resized crop and a horizontal flip.
        channels: 3 (RGB; grey images replicated) or 1 (greyscale; colour images converted).
        mean: per-channel normalisation mean; None (with ``std``) measures both on
            ``stats_images`` training images (a seeded sample, after resize and crop).
        std: per-channel normalisation std (see ``mean``).
        stats_images: how many training images the statistics are measured on.
        batch_size: batch size of ``stream_image_folder``'s loaders.
        workers: DataLoader worker processes (0: read in the calling process).
        val_fraction: share of train/ carved off as the validation split (stratified).
        seed: seed of the validation carve, the subsets and the statistics sample.
        limit: a seeded, stratified subset of about that many train/ images (None: all).
        test_limit: the same for test/.
    """

    image_size: int = DEFAULT_IMAGE_SIZE
    resize: int | None = None
    augment: bool = False
    channels: int = 3
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    stats_images: int = 1000
    batch_size: int = 64
    workers: int = 2
    val_fraction: float = 0.1
    seed: int = 0
    limit: int | None = None
    test_limit: int | None = None

    def __post_init__(self) -> None:
        if self.channels not in _MODES:
            raise DataError(f"channels must be 3 (RGB) or 1 (greyscale); got {self.channels!r}")
        if self.resize is not None and self.resize < self.image_size:
            raise DataError(f"resize ({self.resize}) must be at least image_size ({self.image_size}): "
                            "the center crop is taken from the resized image")
        for what, v in (("mean", self.mean), ("std", self.std)):
            if v is not None and len(v) != self.channels:
                raise DataError(f"{what} has {len(v)} values for {self.channels} channel(s)")

    @property
    def resize_to(self) -> int:
        """The shorter side an image is resized to before the center crop."""
        return self.resize or round(self.image_size * 8 / 7)


def _readers() -> int:
    """How many processes of this machine read streamed images at once: this DataLoader's
    workers (else this process), times the ranks torchrun started here (``LOCAL_WORLD_SIZE``)."""
    info = get_worker_info()
    return max(1, info.num_workers if info else 1) * max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def _check_pixels(path: str, width: int, height: int) -> None:
    """Refuse an image whose header declares more pixels than the per-image cap, before decoding.

    The cap is the data memory budget (``LIT_DATA_MEMORY_GB``) shared by the processes that read
    at once (``_readers``), at ``_READ_BYTES_PER_PIXEL`` bytes a pixel. Each process decodes one
    image at a time and keeps only its crop, so neither the batch size nor the prefetched batches
    multiply it (budget / (workers × batch) would refuse ordinary 12-megapixel photos). PIL's
    ``MAX_IMAGE_PIXELS`` is not the cap: it follows neither the machine nor the budget (PIL still
    refuses images over twice it itself, 179 MP, as a ``DecompressionBombError``)."""
    readers = _readers()
    at_once = f", read in {readers} processes at once" if readers > 1 else ""
    check_budget(_READ_BYTES_PER_PIXEL * width * height * readers,
                 f"streamed image {path} ({width}×{height} pixels{at_once})",
                 "use smaller images" + (" or fewer data.workers" if readers > 1 else ""))


def _read(path: str, mode: str):
    """One image as a PIL image of ``mode``, its size checked first (``_check_pixels``); an
    unreadable file is one DataError line naming it."""
    from PIL import Image

    with open_image(path) as im:
        _check_pixels(path, *im.size)
        if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grey: scale, not clip
            wide = np.asarray(im).astype(np.uint32)
            return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8)).convert(mode)
        return im.convert(mode)


class _Images(Dataset):
    """``(tensor, label)`` per file: read, converted to ``mode``, transformed."""

    def __init__(self, samples: list[tuple[str, int]], mode: str, transform: Any) -> None:
        self.samples, self.mode, self.transform = samples, mode, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[i]
        return self.transform(_read(path, self.mode)), label


def _transform(cfg: StreamConfig, train: bool, mean: tuple[float, ...] | None,
               std: tuple[float, ...] | None):
    from torchvision.transforms import v2

    if train and cfg.augment:
        geo = [v2.RandomResizedCrop(cfg.image_size, antialias=True), v2.RandomHorizontalFlip()]
    else:
        geo = [v2.Resize(cfg.resize_to, antialias=True), v2.CenterCrop(cfg.image_size)]
    norm = [] if mean is None else [v2.Normalize(list(mean), list(std or ()))]
    return v2.Compose([v2.ToImage(), *geo, v2.ToDtype(torch.float32, scale=True), *norm])


def _scan(directory: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """Class names (sorted, hidden folders skipped) and ``(path, label)`` of every image file."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

    try:
        names = sorted(e.name for e in os.scandir(directory) if e.is_dir() and not e.name.startswith("."))
        if not names:
            raise FileNotFoundError(f"no class folders found in {directory}")
        samples = make_dataset(str(directory), {n: i for i, n in enumerate(names)}, IMG_EXTENSIONS)
    except (FileNotFoundError, OSError) as e:
        raise DataError(f"image folder {directory}: {e}; every class folder needs at least one "
                        "image") from None
    return names, samples


def _worker_message(e: DataError) -> str:
    """The original one-line message of a DataError re-raised from a DataLoader worker."""
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    last = lines[-1] if lines else str(e)
    _, sep, rest = last.partition("DataError: ")
    return rest if sep else last


class _ShardSampler(Sampler[int]):
    """This rank's example indices of one epoch, as ``BatchLoader.indices`` draws them.

    Shuffled: a permutation seeded by ``(seed, epoch)`` (the same on every rank). Training
    (``pad``): padded by wrapping so every rank has the same length, then ``perm[rank::world]``;
    evaluation: every example exactly once over all ranks.
    """

    def __init__(self, n: int, *, shuffle: bool, seed: int, rank: int, world_size: int,
                 pad: bool) -> None:
        self.n, self.shuffle, self.seed, self.pad = n, shuffle, seed, pad
        self.rank, self.world_size, self.epoch = rank, world_size, 0

    def indices(self) -> list[int]:
        perm = torch.randperm(self.n, generator=_generator(self.seed, self.epoch)) if self.shuffle \
            else torch.arange(self.n)
        if self.pad:
            total = -(-self.n // self.world_size) * self.world_size
            if total > self.n:
                perm = torch.cat([perm, perm[: total - self.n]])
        return perm[self.rank :: self.world_size].tolist()

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices())

    def __len__(self) -> int:
        return -(-self.n // self.world_size) if self.pad else len(range(self.rank, self.n, self.world_size))


class StreamLoader:
    """Re-iterable ``(x, y)`` batches of one streamed split (CPU tensors; the trainer moves them).

    ``set_epoch(e)`` selects the epoch's order and the workers' random seed (augmentation), so an
    epoch's batches do not depend on how many epochs ran before (``--resume``). A file that
    cannot be read is one ``DataError`` line naming it, from the main process or a worker.
    """

    def __init__(self, dataset: Dataset, batch_size: int, *, shuffle: bool, seed: int = 0,
                 workers: int = 0, rank: int = 0, world_size: int = 1, pad_shards: bool = True,
                 pin_memory: bool = False) -> None:
        self.sampler = _ShardSampler(len(dataset), shuffle=shuffle, seed=seed, rank=rank,
                                     world_size=world_size, pad=pad_shards and shuffle)
        self.seed, self.rank = seed, rank
        self._gen = torch.Generator()
        self.loader = DataLoader(dataset, batch_size=batch_size, sampler=self.sampler,
                                 num_workers=workers, generator=self._gen, pin_memory=pin_memory)

    @property
    def dataset(self) -> Dataset:
        return self.loader.dataset

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and augmentation the next iteration yields."""
        self.sampler.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # the DataLoader draws its workers' base seed from this generator
        self._gen.manual_seed(_generator(self.seed, self.sampler.epoch, self.rank).initial_seed())
        try:
            yield from self.loader
        except DataError as e:  # from a worker: the traceback text around the one line
            raise DataError(_worker_message(e)) from None


@dataclass(frozen=True)
class StreamSplits:
    """A streamed image folder split into train / val (carved from train) / test: file lists and
    the transforms that make tensors of them, nothing read yet. Duck-types what the application
    reads of ``DataSplits`` (``name``, ``kind``, ``input_shape``, ``model_kwargs()``, ...)."""

    name: str
    source: str
    classes: list[str]
    train: Dataset
    val: Dataset
    test: Dataset
    in_chans: int
    image_size: int
    resize: int
    augment: bool
    mean: tuple[float, ...]
    std: tuple[float, ...]
    kind: str = field(default="image", init=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example without the batch: (C, H, W)."""
        return (self.in_chans, self.image_size, self.image_size)

    @property
    def input_dtype(self) -> torch.dtype:
        return torch.float32

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments a model builder needs for this data (lit_models' argument names)."""
        return {"num_classes": self.num_classes, "in_chans": self.in_chans}

    def describe(self) -> str:
        """One line: what the data is, its split sizes and where it came from."""
        how = "random-resized crop + flip for train, " if self.augment else ""
        return (f"{self.name} ({self.in_chans}×{self.image_size}×{self.image_size} streamed: "
                f"{how}shorter side {self.resize} + center crop, {self.num_classes} classes; train "
                f"{len(self.train)}, val {len(self.val)}, test {len(self.test)}) from {self.source}")

    def pipeline(self) -> dict[str, Any]:
        """What the preprocessing record adds for streamed data (see ``preprocessing_record``)."""
        return {"loader": "stream", "resize": self.resize, "crop": self.image_size,
                "color_mode": _MODES[self.in_chans], "class_names": list(self.classes)}

    def sample_inputs(self, n: int = 2) -> torch.Tensor:
        """The first ``n`` training images, transformed as for evaluation, as one N×C×H×W batch."""
        return torch.stack([self.test.transform(_read(p, self.test.mode))
                            for p, _ in self.train.samples[:n]])

    def loader(self, split: str, batch_size: int, *, seed: int = 0, workers: int = 0,
               rank: int = 0, world_size: int = 1, pin_memory: bool = False) -> StreamLoader:
        """The batches of ``split`` (``"train"`` shuffled and padded per rank; ``"val"``/``"test"``
        in order, every example once over all ranks)."""
        return StreamLoader(getattr(self, split), batch_size, shuffle=split == "train", seed=seed,
                            workers=workers, rank=rank, world_size=world_size,
                            pin_memory=pin_memory)


def _measure(samples: list[tuple[str, int]], cfg: StreamConfig) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of a seeded sample of ``cfg.stats_images`` images (after the crop)."""
    pick = np.random.default_rng(cfg.seed).permutation(len(samples))[: cfg.stats_images]
    ds = _Images([samples[i] for i in sorted(pick)], _MODES[cfg.channels], _transform(cfg, False, None, None))
    total = torch.zeros(3, cfg.channels, dtype=torch.float64)  # count, sum, sum of squares
    for x, _ in StreamLoader(ds, 64, shuffle=False, workers=cfg.workers):
        x = x.double().transpose(0, 1).reshape(cfg.channels, -1)
        total += torch.stack([torch.full((cfg.channels,), x.shape[1], dtype=torch.float64),
                              x.sum(1), (x * x).sum(1)])
    n, s, ss = total
    mean = s / n
    std = ((ss / n - mean**2).clamp_min(0) * n / (n - 1).clamp_min(1)).sqrt().clamp_min(1e-6)
    return tuple(float(m) for m in mean), tuple(float(v) for v in std)


def open_stream_folder(root: str | os.PathLike, cfg: StreamConfig | None = None) -> StreamSplits:
    """The splits of ``root/{train,test}/<class>/*`` for streaming; checks layout, classes, leaks
    and the split first (``DataError``, one line), then measures mean/std unless given."""
    cfg = cfg or StreamConfig()
    memory_budget()  # a bad LIT_DATA_MEMORY_GB is refused here, not at the first batch
    r = Path(root)
    if not (r / "train").is_dir() or not (r / "test").is_dir():
        raise DataError(f"image folder {r} needs train/ and test/ subfolders, each with one folder per class")
    train_classes, train = _scan(r / "train")
    test_classes, test = _scan(r / "test")
    if train_classes != test_classes:
        raise DataError(f"image folder {r}: train classes {train_classes} ≠ test classes {test_classes}")
    real = {}
    for split, samples in (("train", train), ("test", test)):
        real[split] = {os.path.realpath(p) for p, _ in samples}
        if len(real[split]) < len(samples):  # a symlink loop or links to one file
            raise DataError(f"image folder {r / split}: {len(samples)} image paths but only "
                            f"{len(real[split])} distinct files (a symlinked folder loop or duplicate "
                            "links?); remove the links so each image appears once")
    shared = real["train"] & real["test"]
    if shared:
        raise DataError(f"image folder {r}: {len(shared)} test image(s) are also in train/ (e.g. "
                        f"{sorted(shared)[0]}); a train/test leak: remove them from one split")
    train_idx, val_idx, test_idx = _select(
        "folder", str(r), np.array([y for _, y in train]), np.array([y for _, y in test]),
        cfg.limit, cfg.test_limit, cfg.val_fraction, cfg.seed)
    fit = [train[i] for i in train_idx]
    if cfg.mean is not None and cfg.std is not None:
        mean, std = tuple(cfg.mean), tuple(cfg.std)
    else:
        mean, std = _measure(fit, cfg)
    mode = _MODES[cfg.channels]
    evaluate = _transform(cfg, False, mean, std)
    return StreamSplits(
        name="folder", source=str(r), classes=list(train_classes),
        train=_Images(fit, mode, _transform(cfg, True, mean, std)),
        val=_Images([train[i] for i in val_idx], mode, evaluate),
        test=_Images([test[i] for i in test_idx], mode, evaluate),
        in_chans=cfg.channels, image_size=cfg.image_size, resize=cfg.resize_to, augment=cfg.augment,
        mean=mean, std=std,
    )


@dataclass
class StreamData:
    """Loaders for train/val/test plus the preprocessing a checkpoint records (``preprocessing()``)."""

    train: StreamLoader
    val: StreamLoader
    test: StreamLoader
    splits: StreamSplits

    @property
    def classes(self) -> list[str]:
        return self.splits.classes

    @property
    def num_classes(self) -> int:
        return self.splits.num_classes

    @property
    def in_chans(self) -> int:
        return self.splits.in_chans

    @property
    def image_size(self) -> int:
        return self.splits.image_size

    @property
    def mean(self) -> tuple[float, ...]:
        return self.splits.mean

    @property
    def std(self) -> tuple[float, ...]:
        return self.splits.std

    def preprocessing(self) -> dict[str, Any]:
        """The record to store as ``meta["preprocessing"]`` of a checkpoint trained on this data
        (``fit(..., meta={"preprocessing": data.preprocessing()})``)."""
        from .preprocessing import preprocessing_record

        return preprocessing_record(self.splits)


def stream_image_folder(root: str | os.PathLike, cfg: StreamConfig | None = None) -> StreamData:
    """Streaming loaders over ``root/{train,test}/<class>/*``; checks layout, classes and leaks first.

    Args:
        root: the folder, with ``train/<class>/*`` and ``test/<class>/*`` image files.
        cfg: size, channels, statistics, split and loader settings (``StreamConfig``).

    Returns:
        ``StreamData``: ``train`` / ``val`` / ``test`` loaders of ``(x, y)`` batches, which
        ``lit_core.fit`` takes as they are, and ``preprocessing()`` for the checkpoint.

    Example:
        >>> data = stream_image_folder("photos", StreamConfig(image_size=128, workers=4))  # doctest: +SKIP
        >>> fit(student, teacher, data.train, data.val, run_dir="run",
        ...     meta={"preprocessing": data.preprocessing()})  # doctest: +SKIP
    """
    cfg = cfg or StreamConfig()
    splits = open_stream_folder(root, cfg)

    def dl(split: str) -> StreamLoader:
        return splits.loader(split, cfg.batch_size, seed=cfg.seed, workers=cfg.workers)

    return StreamData(train=dl("train"), val=dl("val"), test=dl("test"), splits=splits)
