"""Checkpoints: atomic writes, code-free loading (``weights_only=True``), RNG state capture.

A training checkpoint is a plain dict: ``model``, ``optimizer``, ``scheduler``, ``scaler``
state dicts, ``rng`` (python/numpy/torch/CUDA states as tensors and plain types), ``position``
(phase index, epochs done in that phase, global step), ``config``, ``method``, ``meta``, ``best``
and ``history``. Everything is a tensor or a plain type, so ``torch.load(weights_only=True)``
reads it without executing code.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

__all__ = [
    "capture_rng_state",
    "load_checkpoint",
    "load_model_weights",
    "load_state_into",
    "restore_rng_state",
    "save_atomic",
]


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temp file in the same directory, then ``os.replace`` it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint without executing code (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location=map_location, weights_only=True)


def load_state_into(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a state dict, raising ``ValueError`` naming the first tensor that does not fit."""
    expected = model.state_dict()
    for name, tensor in expected.items():
        if name not in state:
            raise ValueError(
                f"checkpoint does not match the model: tensor {name!r} (shape "
                f"{tuple(tensor.shape)}) is missing from the checkpoint; was it saved from "
                "another architecture?"
            )
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise ValueError(
                f"checkpoint does not match the model: tensor {name!r} has shape "
                f"{tuple(state[name].shape)} in the checkpoint but {tuple(tensor.shape)} in the "
                "model; was it saved from another architecture?"
            )
    for name in state:
        if name not in expected:
            raise ValueError(
                f"checkpoint does not match the model: unexpected tensor {name!r} (shape "
                f"{tuple(state[name].shape)}); was it saved from another architecture?"
            )
    model.load_state_dict(state)


def load_model_weights(model: nn.Module, path: str | os.PathLike) -> dict:
    """Load a checkpoint's model weights into ``model``; returns the whole checkpoint dict."""
    ckpt = load_checkpoint(path)
    if "model" not in ckpt:
        raise ValueError(f"{path} is not a lit checkpoint (no 'model' entry)")
    load_state_into(model, ckpt["model"])
    return ckpt


def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy, torch CPU and CUDA RNG states as tensors and plain types."""
    py_version, py_state, py_gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": [py_version, list(py_state), py_gauss],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of ``capture_rng_state``."""
    py_version, py_state, py_gauss = state["python"]
    random.setstate((py_version, tuple(py_state), py_gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
