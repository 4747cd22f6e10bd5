"""Data parallel training with ``torch.distributed`` (DDP), launched by ``torchrun``.

``init_distributed()`` joins the process group from torchrun's environment (``env://``; NCCL on
CUDA, gloo on CPU). The trainer then wraps the student's step module (``lit.StudentForward``,
which computes the LIT IRs *and* the end-to-end logits in one ``forward``) in
``DistributedDataParallel``, so one backward all-reduces every gradient of the phase, even though
LIT calls the student's stages separately. Only rank 0 logs and writes checkpoints.

Each rank's train loader must yield that rank's part of the global batch: wrap a loader of global
batches in ``RankSlice`` (contiguous equal slices), or use a ``DistributedSampler``. With equal
slices, DDP's gradient average equals one process's gradient on the global batch (for models
without batch-statistics layers; use SyncBatchNorm on CUDA for BN models).

DDP may warn "grad strides do not match bucket view strides" (seen with ``torchrun
--nproc-per-node 2`` on CPU, in every phase, teacher training included): the CPU convolution
backward returns the 1-input-channel stem conv's gradient with strides that differ only in a
size-1 dimension (``[9, 1, 3, 1]`` vs ``[9, 9, 3, 1]``: the same memory layout). PyTorch's layout
rule ignores size-1 dimensions, DDP compares strides exactly. It is harmless here: with the default
``gradient_as_bucket_view=False`` DDP copies every gradient into its bucket anyway, at the same
cost either way. It is not silenced, so that a real mismatch (parameters converted to
channels_last after DDP wraps them) would still show. fp16's ``GradScaler`` keeps one host sync
per step (it reads ``found_inf`` before stepping); bf16 and fp32 steps have none.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "DistInfo",
    "RankSlice",
    "all_reduce_sum",
    "barrier",
    "dist_info",
    "init_distributed",
    "shutdown_distributed",
]


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job (``world_size == 1`` when not distributed).

    Attributes:
        rank: the global rank (0 on the main process).
        world_size: the number of processes.
        local_rank: the rank on this machine (its GPU index under torchrun).

    Examples:
        >>> DistInfo(rank=1, world_size=4).is_main
        False
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Whether this process logs and writes files (rank 0)."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1


def dist_info() -> DistInfo:
    """The current process group's rank and size (single process if none is initialised).

    Returns:
        A ``DistInfo`` (``rank``, ``world_size``, ``local_rank``, ``is_main``, ``enabled``).

    Examples:
        >>> info = dist_info()
        >>> info.rank, info.world_size, info.is_main
        (0, 1, True)
    """
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo()
    return DistInfo(
        dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    )


def init_distributed(backend: str | None = None) -> DistInfo:
    """Join the process group torchrun describes (no-op without ``WORLD_SIZE`` > 1).

    Args:
        backend: ``"nccl"`` or ``"gloo"``; None picks NCCL when CUDA is available, else Gloo.

    Returns:
        This process's ``DistInfo`` after joining.

    Examples:
        >>> init_distributed().world_size  # outside torchrun: a single process
        1
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist_info()
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    kw: dict[str, Any] = {}
    if backend == "nccl":
        local = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(local)
        kw["device_id"] = local  # binds the communicator to this GPU up front
    dist.init_process_group(backend=backend, init_method="env://", **kw)
    return dist_info()


def shutdown_distributed() -> None:
    """Leave the process group (no-op when none); the CLI calls it on every exit, so a rank
    that fails ends cleanly and torchrun stops the others instead of leaving them waiting."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over all processes in place (identity when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def barrier() -> None:
    """Wait for every process (no-op when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


class RankSlice:
    """Yield this rank's contiguous slice of each global ``(x, y)`` batch from ``loader``.

    Every rank iterates the same global batches (same seed) and keeps its own part, so the
    ranks together see each batch once.

    Args:
        loader: a re-iterable of global ``(x, y)`` batches.
        info: the rank and world size; None: ``dist_info()``.

    Examples:
        >>> import torch
        >>> batches = [(torch.arange(8), torch.arange(8))]
        >>> [x.tolist() for x, _ in RankSlice(batches, DistInfo(rank=1, world_size=2))]
        [[4, 5, 6, 7]]
    """

    def __init__(self, loader: Iterable, info: DistInfo | None = None) -> None:
        self.loader = loader
        self.info = info or dist_info()

    def set_epoch(self, epoch: int) -> None:
        """Forward ``set_epoch`` to the wrapped loader when it has one."""
        if hasattr(self.loader, "set_epoch"):
            self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        n, r = self.info.world_size, self.info.rank
        for x, y in self.loader:
            if len(x) % n:
                raise ValueError(
                    f"global batch of {len(x)} does not split evenly over {n} processes; "
                    "use a batch size divisible by the world size and drop the last partial batch"
                )
            yield x.tensor_split(n)[r], y.tensor_split(n)[r]
