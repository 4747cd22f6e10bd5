"""Where and how a run executes: device, precision (autocast), seeds and deterministic mode."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from ..errors import ConfigError
from .distributed import dist_info

__all__ = ["autocast", "check_device_usable", "deterministic_mode", "resolve_device", "seed_everything", "to_device"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA).

    Args:
        seed: the seed (NumPy gets it modulo 2**32).

    Returns:
        None.

    Examples:
        >>> import torch
        >>> seed_everything(0); a = torch.rand(2)
        >>> seed_everything(0); torch.equal(a, torch.rand(2))
        True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def deterministic_mode(enabled: bool = True) -> Iterator[None]:
    """Deterministic algorithms and cuDNN settings inside the block; restored afterwards.

    Not deterministic: cuDNN autotuning (``cudnn.benchmark``) on, since shapes are fixed.

    Args:
        enabled: True for deterministic algorithms; False for autotuned (faster) ones.

    Returns:
        A context manager.

    Examples:
        >>> import torch
        >>> with deterministic_mode():
        ...     torch.are_deterministic_algorithms_enabled()
        True
        >>> torch.are_deterministic_algorithms_enabled()
        False
    """
    if not enabled:
        prev_benchmark = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = True
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = prev_benchmark
        return
    prev = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = prev[1], prev[2]


def resolve_device(name: str = "auto") -> torch.device:
    """The device a name stands for, for this process.

    Args:
        name: ``"auto"`` (this rank's CUDA device if available, else CPU), ``"cuda"`` (this
            rank's GPU) or any ``torch.device`` name (``"cpu"``, ``"cuda:1"``, ``"mps"``).

    Returns:
        The ``torch.device``.

    Raises:
        ConfigError: an unknown device name, or an explicit CUDA index under torchrun (it would
            put every rank on one GPU).

    Examples:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    local_rank = int(os.environ.get("LOCAL_RANK", dist_info().local_rank))
    several = int(os.environ.get("WORLD_SIZE", "1")) > 1 or dist_info().enabled
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda" and several:
        if device.index is not None:
            raise ConfigError(
                f"--device {name} under torchrun would put every process on one GPU; use "
                "--device cuda (or auto): each process takes the GPU of its LOCAL_RANK"
            )
        return torch.device("cuda", local_rank)
    return device


def check_device_usable(device: torch.device) -> None:
    """Refuse a device no model can run on here (meta, a CUDA device without a GPU)."""
    if device.type not in ("cpu", "cuda", "mps", "xpu"):
        raise ConfigError(f"device {str(device)!r} cannot train a model; use cpu, cuda, cuda:N or auto")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA GPU is available here; use --device cpu (or auto)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) visible")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Autocast for ``precision`` ("fp32": none, "bf16", "fp16") on ``device``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def to_device(x: torch.Tensor, y: torch.Tensor, device: torch.device, channels_last: bool):
    """Move a batch to ``device`` (images channels_last when asked)."""
    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y
