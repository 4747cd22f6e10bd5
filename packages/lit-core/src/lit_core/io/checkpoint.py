"""Checkpoints: atomic writes, code-free loading (``weights_only=True``), RNG state capture.

A training checkpoint is a plain dict: ``model``, ``optimizer``, ``scheduler``, ``scaler``
state dicts, ``rng`` (python/numpy/torch/CUDA states as tensors and plain types), ``position``
(phase index, epochs done in that phase, global step), ``config``, ``method``, ``meta``, ``best``
and ``history``. Everything is a tensor or a plain type, so ``torch.load(weights_only=True)``
reads it without executing code.
"""

from __future__ import annotations

import os
import pickle
import random
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..errors import CheckpointError
from .atomic import atomic_write

__all__ = [
    "capture_rng_state",
    "check_counts_fit_state",
    "check_state_fits",
    "cuda_rng_for_this_device",
    "load_checkpoint",
    "load_model_weights",
    "load_state_into",
    "restore_rng_state",
    "save_atomic",
]


class _KeepWriteError:
    """A file wrapper that remembers the ``OSError`` a write raised: ``torch.save`` turns it into
    a ``RuntimeError`` ("unexpected pos ..."), which would hide a full disk."""

    def __init__(self, f: Any) -> None:
        self.f, self.error = f, None

    def write(self, data: Any) -> int:
        try:
            return self.f.write(data)
        except OSError as e:
            self.error = e
            raise

    def flush(self) -> None:
        self.f.flush()


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temp file in the same directory, then ``os.replace`` it into place.

    A reader never sees a half-written file, and a crash or a full disk (a ``WriteError``)
    leaves the old file intact.

    Args:
        obj: what to save (tensors and plain types, so it loads with ``weights_only=True``).
        path: the destination file.

    Returns:
        The path written.

    Examples:
        >>> import torch
        >>> save_atomic({"model": {"w": torch.zeros(2)}}, "ckpt.pt").name
        'ckpt.pt'
    """
    def write(f: Any) -> None:
        out = _KeepWriteError(f)
        try:
            torch.save(obj, out)
        except RuntimeError:
            if out.error is not None:
                raise out.error from None
            raise

    return atomic_write(path, write)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint without executing code (``weights_only=True``).

    Args:
        path: the checkpoint file (``best.pt``, ``last.pt``).
        map_location: where to put its tensors.

    Returns:
        The checkpoint dict (a lit checkpoint has ``model``, ``method``, ``config``, ``meta``).

    Raises:
        CheckpointError: one line naming the file when it is missing, not a file, empty,
            truncated, not a torch checkpoint, holds anything but tensors and plain types, or is
            not a dict.

    Examples:
        >>> import torch
        >>> torch.save({"model": {"w": torch.ones(2)}}, "ckpt.pt")
        >>> load_checkpoint("ckpt.pt")["model"]["w"]
        tensor([1., 1.])
    """
    path = Path(path)
    if not path.is_file():
        what = "a directory" if path.is_dir() else "missing"
        raise CheckpointError(f"checkpoint {path} is {what}; give the path of a .pt file lit wrote")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes); was it written completely?")
    try:
        with warnings.catch_warnings():  # a sparse tensor is refused later, in one line
            warnings.filterwarnings("ignore", message="Validating sparse tensor invariants")
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; this is some other file
            raise CheckpointError(f"checkpoint {path} is not a torch checkpoint (not a torch.save file); "
                                  "give the path of a .pt file lit wrote") from None
        # torch's own text advises the unsafe load; name only the object it refused
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        named = f" (it holds {found.group(1)})" if found else ""
        raise CheckpointError(
            f"checkpoint {path} holds something other than tensors and plain types{named} and was "
            "not loaded (loading never runs code); save a state dict, not a module or object"
        ) from None
    except Exception as e:
        raise CheckpointError(
            f"checkpoint {path} is not a readable torch checkpoint (corrupt or truncated?): "
            f"{type(e).__name__}"
        ) from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(
            f"checkpoint {path} holds a {type(ckpt).__name__}, not a lit checkpoint (a dict with "
            "a 'model' state dict)"
        )
    return ckpt


def load_state_into(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a state dict into ``model``, naming the first tensor that does not fit.

    Args:
        model: the model to load into (changed in place).
        state: a state dict (e.g. a checkpoint's ``"model"``).

    Returns:
        None.

    Raises:
        CheckpointError: a missing, unexpected or differently shaped tensor, named.

    Examples:
        >>> import torch.nn as nn
        >>> load_state_into(nn.Linear(2, 3), nn.Linear(2, 3).state_dict())
        >>> load_state_into(nn.Linear(2, 3), nn.Linear(2, 4).state_dict())
        Traceback (most recent call last):
        ...
        lit_core.errors.CheckpointError: checkpoint does not match the model: tensor 'weight' has shape (4, 2) ...
    """
    check_state_fits(model, state)
    model.load_state_dict(state)


def check_state_fits(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Raise ``CheckpointError`` naming the first tensor of ``state`` that does not fit ``model``
    (which may live on the ``meta`` device: only names and shapes are compared)."""
    expected = model.state_dict()
    for name, tensor in expected.items():
        if name not in state:
            raise CheckpointError(
                f"checkpoint does not match the model: tensor {name!r} (shape "
                f"{tuple(tensor.shape)}) is missing from the checkpoint; was it saved from "
                "another architecture?"
            )
        if not isinstance(state[name], torch.Tensor):
            raise CheckpointError(
                f"checkpoint does not match the model: entry {name!r} is a "
                f"{type(state[name]).__name__}, not a tensor"
            )
        if state[name].layout != torch.strided or state[name].is_meta:
            kind = "a meta tensor (no data)" if state[name].is_meta else f"{state[name].layout}"
            raise CheckpointError(
                f"checkpoint tensor {name!r} is {kind}, not a dense tensor with values; a lit "
                "checkpoint holds dense tensors (save it from a real model, or .to_dense() it)"
            )
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"checkpoint does not match the model: tensor {name!r} has shape "
                f"{tuple(state[name].shape)} in the checkpoint but {tuple(tensor.shape)} in the "
                "model; was it saved from another architecture?"
            )
    for name in state:
        if name not in expected:
            raise CheckpointError(
                f"checkpoint does not match the model: unexpected tensor {name!r} (shape "
                f"{tuple(state[name].shape)}); was it saved from another architecture?"
            )


#: builder arguments that count layers or blocks: a model with N of them holds >= N tensors
_COUNT_KWARGS = ("depth", "blocks", "layers", "stage_blocks", "num_blocks")


def _as_count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None  # not a count: the builder itself refuses it


def check_counts_fit_state(kwargs: dict[str, Any], state: dict[str, Any], source: Any) -> None:
    """Raise ``CheckpointError`` (naming the checkpoint ``source``) when its recorded builder
    arguments (``depth``, ``blocks``, ...) ask for more layers or blocks than its state dict
    holds tensors (each holds at least one), before a model that large is built, even on the
    ``meta`` device."""
    held = sum(isinstance(t, torch.Tensor) for t in state.values())
    for key in _COUNT_KWARGS:
        value = kwargs.get(key)
        if value is None:
            continue
        counts = [_as_count(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
        asked = sum(c for c in counts if c is not None)
        if asked > held:
            raise CheckpointError(
                f"checkpoint {source}: meta.model_kwargs {key}={value!r} asks for {asked} layers or blocks, but the "
                f"checkpoint holds only {held} tensors (each needs at least one): its metadata "
                "does not describe its weights; pass --model NAME (--teacher NAME) yourself"
            )


def load_model_weights(model: nn.Module, path: str | os.PathLike) -> dict:
    """Load a checkpoint's model weights (its ``"model"`` entry) into ``model``.

    Args:
        model: the model to load into (changed in place).
        path: a checkpoint file written by lit (or any dict with a ``"model"`` state dict).

    Returns:
        The whole checkpoint dict (``meta`` holds the model name and preprocessing).

    Raises:
        CheckpointError: an unreadable file, no ``"model"`` entry, or tensors that do not fit.

    Examples:
        >>> import torch, torch.nn as nn
        >>> torch.save({"model": nn.Linear(2, 3).state_dict(), "meta": {}}, "best.pt")
        >>> sorted(load_model_weights(nn.Linear(2, 3), "best.pt"))
        ['meta', 'model']
    """
    ckpt = load_checkpoint(path)
    if not isinstance(ckpt.get("model"), dict):
        raise CheckpointError(f"{path} is not a lit checkpoint (no 'model' state dict)")
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
        # only this process's device: a rank uses one GPU, and a resume may see fewer GPUs
        state["cuda_device"] = torch.cuda.get_rng_state()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of ``capture_rng_state``."""
    py_version, py_state, py_gauss = state["python"]
    random.setstate((py_version, tuple(py_state), py_gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if torch.cuda.is_available():
        cuda_state = cuda_rng_for_this_device(state, torch.cuda.current_device())
        if cuda_state is not None:
            torch.cuda.set_rng_state(cuda_state)


def cuda_rng_for_this_device(state: dict[str, Any], device_index: int) -> torch.Tensor | None:
    """The CUDA RNG state this process restores: its own device's (``cuda_device``), or, from
    checkpoints that stored every device's (``cuda``, a list), the entry of ``device_index`` if
    the list has one. Never more than one device's state, so fewer GPUs on resume is fine."""
    if "cuda_device" in state:
        return state["cuda_device"]
    states = state.get("cuda") or []
    return states[device_index] if device_index < len(states) else None
