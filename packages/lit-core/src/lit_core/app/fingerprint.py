"""What a run was trained on and with, recorded so that ``--resume`` cannot mix two runs.

``data_fingerprint`` describes the data a run trains on: the data set, its path and size on disk,
a SHA-256 of every split's arrays as training sees them (inputs, labels, shapes and dtypes), and
the split settings (seed, validation fraction, limits). It is stored in the run's ``config.json``
(``"data_fingerprint"``) and in every checkpoint's ``meta``; ``fingerprint_diff`` names what
changed (the content or the split settings; a new path or size alone is data that moved). ``job_config_diff`` compares a job's stored ``TrainConfig`` (``last.pt`` / ``job.json``)
with the one a resume would use, so a run whose ``config.json`` is gone is still checked.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..data import DataSplits
from .runconfig import RunConfig

__all__ = ["FINGERPRINT_KEY", "data_fingerprint", "fingerprint_diff", "job_config_diff"]

FINGERPRINT_KEY = "data_fingerprint"  # its key in config.json and in a checkpoint's meta
_SPLIT_SETTINGS = ("seed", "val_fraction", "limit", "test_limit")


def _size_on_disk(path: Path) -> int | None:
    """Bytes of a data file, or of every file under a data folder (None: nothing there)."""
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return None
    total = 0
    for root, _, files in os.walk(path):  # followlinks=False: a symlink loop cannot spin here
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                continue
    return total


def _tensor_bytes(h: Any, t: torch.Tensor) -> None:
    h.update(f"{t.dtype}:{tuple(t.shape)};".encode())
    h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().data)


def data_fingerprint(cfg: RunConfig, data: DataSplits) -> dict[str, Any]:
    """The fingerprint of ``data`` loaded with ``cfg.data`` (JSON types only)."""
    d = cfg.data
    path = Path(d.data_dir).resolve() if d.data_dir else None
    h = hashlib.sha256()
    for split in (data.train, data.val, data.test):
        _tensor_bytes(h, split.inputs)
        _tensor_bytes(h, split.labels)
    return {"dataset": data.name, "path": str(path) if path else None,
            "size": _size_on_disk(path) if path else None, "sha256": h.hexdigest(),
            **{key: getattr(d, key) for key in _SPLIT_SETTINGS}}


def fingerprint_diff(stored: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
    """``key: stored -> fresh`` for every recorded field that differs (keys both record), or
    nothing when the content and the split settings are the same: data that moved (another
    path) is the same data."""
    same = [stored.get(k) == fresh.get(k) for k in ("sha256", *_SPLIT_SETTINGS)]
    if "sha256" in stored and all(same):
        return []
    out = []
    for key in ("dataset", "path", "size", *_SPLIT_SETTINGS, "sha256"):
        if key in stored and key in fresh and stored[key] != fresh[key]:
            if key == "sha256":
                out.append(f"content sha256 {str(stored[key])[:12]}… -> {str(fresh[key])[:12]}…")
            else:
                out.append(f"{key} {stored[key]!r} -> {fresh[key]!r}")
    return out


def job_config_diff(stored: Mapping[str, Any], fresh: Mapping[str, Any], job: str) -> list[str]:
    """Dotted ``train.<job>.<key>`` names of the settings a job's record and ``fresh`` (a
    ``TrainConfig.to_dict()``) both hold with different values."""
    return [f"train.{job}.{k}" for k in sorted(set(stored) & set(fresh)) if stored[k] != fresh[k]]
