"""``BatchLoader``: batches from an in-memory data set kept on the device, augmented there.

Small data sets (CIFAR, Fashion-MNIST) fit on a GPU; keeping them there and cropping/flipping
with tensor ops means training never waits on a DataLoader. Text (character ids, stored as
uint8) is kept the same way and cast to int64 per batch; it is never augmented.

Reproducibility: the order of epoch ``e`` is a permutation drawn from a generator seeded with
``(seed, e)`` (the same on every rank), and the augmentation of batch ``k`` from one seeded with
``(seed, e, rank, k)``, both on the CPU so the numbers do not depend on the device. Iterating an
epoch twice, or resuming at any epoch, gives the same batches.

Sharding (DDP): rank ``r`` of ``W`` takes ``perm[r::W]``, padded by wrapping (as
``DistributedSampler`` does) so every rank has the same length; with ``drop_last`` the tail is
dropped instead; with ``pad_shards=False`` (evaluation) every example appears exactly once. Batch ``k`` of all ranks together is then exactly batch ``k`` of a single
process with batch size ``W × batch_size``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from .splits import ArrayDataset, Augment, model_input

__all__ = ["BatchLoader", "random_crop_flip"]


def _generator(*key: int) -> torch.Generator:
    seed = int(np.random.SeedSequence([int(k) for k in key]).generate_state(1, np.uint64)[0])
    return torch.Generator().manual_seed(seed & 0x7FFF_FFFF_FFFF_FFFF)


def draw_crop_flip(aug: Augment, n: int, gen: torch.Generator) -> torch.Tensor:
    """The random draws of one batch of ``n``: a 3×n int64 tensor (row offset, column offset,
    flip) — the same numbers ``random_crop_flip`` uses with ``gen``."""
    out = torch.zeros(3, n, dtype=torch.int64)
    if aug.pad > 0:
        out[:2] = torch.randint(0, 2 * aug.pad + 1, (2, n), generator=gen)
    if aug.flip:
        out[2] = (torch.rand(n, generator=gen) < 0.5).long()
    return out


def apply_crop_flip(x: torch.Tensor, aug: Augment, draws: torch.Tensor,
                    channels_last: bool = False) -> torch.Tensor:
    """Crop (after zero-padding by ``aug.pad``) and flip N×C×H×W by ``draws`` (on x's device);
    ``channels_last``: return it in that memory format (the crop gathers NHWC anyway, so a
    channels_last model gets its batch without an NHWC→NCHW→NHWC round trip)."""
    n, _, h, w = x.shape
    if aug.pad > 0:
        p = aug.pad
        padded = torch.nn.functional.pad(x, (p, p, p, p))
        rows = draws[0][:, None] + torch.arange(h, device=x.device)  # n×h
        cols = draws[1][:, None] + torch.arange(w, device=x.device)  # n×w
        batch = torch.arange(n, device=x.device)[:, None, None]
        # advanced indexing on dims 0, 2, 3 puts C last: n×h×w×C
        x = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        x = x.permute(0, 3, 1, 2).contiguous(memory_format=fmt)
    if aug.flip:
        x = torch.where(draws[2].bool()[:, None, None, None], x.flip(3), x)
    return x


def random_crop_flip(x: torch.Tensor, aug: Augment, gen: torch.Generator) -> torch.Tensor:
    """Per-sample random crop (after zero-padding by ``aug.pad``) and horizontal flip of N×C×H×W."""
    return apply_crop_flip(x, aug, draw_crop_flip(aug, x.shape[0], gen).to(x.device))


class BatchLoader:
    """Iterable of ``(inputs, labels)`` batches over an ``ArrayDataset`` held on ``device``."""

    def __init__(
        self,
        ds: ArrayDataset,
        batch_size: int,
        *,
        shuffle: bool,
        augment: Augment | None = None,
        seed: int = 0,
        device: torch.device | str = "cpu",
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
        pad_shards: bool = True,
        with_indices: bool = False,
        channels_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1; got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} out of range for world_size {world_size}")
        self.augment = augment or Augment()
        if self.augment.enabled and ds.kind != "image":
            raise ValueError(f"augmentation {self.augment} only applies to images, not {ds.kind}")
        self.device = torch.device(device)
        self.inputs = ds.inputs.to(self.device)
        self.labels = ds.labels.to(self.device)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        self.pad_shards = pad_shards
        self.channels_last = channels_last  # augmented batches come out channels_last
        self.with_indices = with_indices  # yield (x, y, example indices): the teacher cache's key
        self.epoch = 0

    @property
    def images(self) -> torch.Tensor:
        """The inputs (alias for image code)."""
        return self.inputs

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and augmentation the next iteration yields."""
        self.epoch = int(epoch)

    def _per_rank(self) -> int:
        n, w = len(self.labels), self.world_size
        return n // w if self.drop_last else -(-n // w)

    def indices(self) -> torch.Tensor:
        """This rank's example indices for the current epoch, in order."""
        n = len(self.labels)
        if self.shuffle:
            perm = torch.randperm(n, generator=_generator(self.seed, self.epoch))
        else:
            perm = torch.arange(n)
        if not self.pad_shards:  # evaluation: every example exactly once over all ranks
            return perm[self.rank :: self.world_size]
        total = self._per_rank() * self.world_size
        if total > n:  # pad by wrapping so every rank has the same length
            perm = torch.cat([perm, perm[: total - n]])
        return perm[:total][self.rank :: self.world_size]

    def __len__(self) -> int:
        per_rank = len(self.indices()) if not self.pad_shards else self._per_rank()
        return per_rank // self.batch_size if self.drop_last else -(-per_rank // self.batch_size)

    def epoch_draws(self) -> torch.Tensor | None:
        """Every batch's augmentation draws of this epoch (3×N, batch k in columns k·B…), drawn
        at once on the CPU from the per-batch generators ``(seed, epoch, rank, k)`` and copied to
        the device in one pinned, non-blocking transfer; None without augmentation."""
        if not self.augment.enabled:
            return None
        total = len(self.indices())
        sizes = [min(self.batch_size, total - k * self.batch_size) for k in range(len(self))]
        draws = torch.cat([draw_crop_flip(self.augment, n, _generator(self.seed, self.epoch, self.rank, k))
                           for k, n in enumerate(sizes)], dim=1)
        if self.device.type == "cuda":
            return draws.pin_memory().to(self.device, non_blocking=True)
        return draws.to(self.device)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        idx = self.indices().to(self.device)
        draws = self.epoch_draws()
        for k in range(len(self)):
            b = idx[k * self.batch_size : (k + 1) * self.batch_size]
            x, y = model_input(self.inputs[b]), self.labels[b]
            if draws is not None:
                x = apply_crop_flip(x, self.augment,
                                    draws[:, k * self.batch_size : k * self.batch_size + len(b)],
                                    self.channels_last)
            yield (x, y, b) if self.with_indices else (x, y)
