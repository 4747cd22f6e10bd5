"""What a run was trained on and with, recorded so that ``--resume`` cannot mix two runs.

``data_fingerprint`` describes the data a run trains on: the data set, its path and size on disk,
a SHA-256 of every split's arrays as training sees them (inputs, labels, shapes and dtypes; for a
streamed image folder, each split's file list: relative path, size and label), and the split settings (seed, validation fraction, limits). It is stored in the run's ``config.json``
(``"data_fingerprint"``) and in every checkpoint's ``meta``; ``fingerprint_diff`` names what
changed (the content or the split settings; a new path or size alone is data that moved).
``check_resume_records`` applies both before ``--resume`` claims a run. ``job_config_diff`` compares a job's stored ``TrainConfig`` (``last.pt`` / ``job.json``)
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
from ..errors import ConfigError
from ..io.checkpoint import load_checkpoint
from ..method.methods import METHODS
from .records import RESULT_FILE, read_job_record
from .runconfig import RunConfig, config_diff

__all__ = ["FINGERPRINT_KEY", "check_resume_records", "data_fingerprint", "fingerprint_diff",
           "job_config_diff"]

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


def _file_list_bytes(h: Any, samples: list[tuple[str, int]], root: Path | None) -> None:
    """A streamed split's files as training reads them: relative path, size and label each (the
    bytes of a folder that may not fit in memory are not read; a file rewritten in place at the
    same size is not seen)."""
    h.update(f"files:{len(samples)};".encode())
    for file, label in samples:
        p = Path(file)
        rel = p.resolve().relative_to(root) if root is not None and p.resolve().is_relative_to(root) else p
        h.update(f"{rel.as_posix()}:{p.stat().st_size}:{label};".encode())


def data_fingerprint(cfg: RunConfig, data: DataSplits) -> dict[str, Any]:
    """The fingerprint of ``data`` loaded with ``cfg.data`` (JSON types only)."""
    d = cfg.data
    path = Path(d.data_dir).resolve() if d.data_dir else None
    h = hashlib.sha256()
    for split in (data.train, data.val, data.test):
        samples = getattr(split, "samples", None)
        if samples is not None:  # a streamed folder: its files (path, size, label), not their bytes
            _file_list_bytes(h, samples, path)
            continue
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


def check_resume_records(cfg: RunConfig, run_dir: Path, fingerprint: Mapping[str, Any],
                         stored: Mapping[str, Any] | None, *, allow: bool = False) -> None:
    """``ConfigError`` unless ``--resume`` continues the run on the run's own data, and each job
    with its own settings, as the run recorded them: ``stored`` (its ``config.json`` record, or
    None) and each top-level job's ``job.json`` / ``last.pt`` (which still hold them when
    ``config.json`` is gone). ``fingerprint``: the data's now. Other data is refused unless a
    ``data.*`` setting was changed on purpose (``allow``: ``--allow-config-change``)."""
    data_changed = stored is not None and any(
        k.startswith("data.") for k in config_diff(stored["config"], cfg.to_dict()))
    fingerprints = [(run_dir / "config.json", (stored or {}).get(FINGERPRINT_KEY))]
    for job_dir, ckpt_path, record, meta in _job_records(run_dir):
        fingerprints.append((ckpt_path, meta.get(FINGERPRINT_KEY)))
        settings = record.get("config")
        if allow or not isinstance(settings, dict):
            continue
        diff = job_config_diff(settings, cfg.job(job_dir.name).to_dict(), job_dir.name)
        if diff:
            raise ConfigError(f"--resume with settings that differ from {job_dir}'s own record: "
                              f"{', '.join(diff)}; pass the run's own settings again, or "
                              "--allow-config-change to change them")
    if allow and data_changed:
        return
    for where, recorded in fingerprints:
        if not isinstance(recorded, dict):
            continue
        diff = fingerprint_diff(recorded, fingerprint)
        if diff:
            raise ConfigError(f"--resume on other data than {where} records: {'; '.join(diff)}; "
                              "pass the run's own data again, or start a new run (another "
                              "--run-name, or --overwrite)")


def _job_records(run_dir: Path) -> list[tuple[Path, Path, dict[str, Any], dict[str, Any]]]:
    """``(job dir, checkpoint, settings record, checkpoint meta)`` of every top-level job of
    ``run_dir`` with a checkpoint (``last.pt``, else ``best.pt``): the record is ``job.json`` (a
    finished job, reused on resume) or else the checkpoint's own; the meta holds the data
    fingerprint the job trained on."""
    out = []
    for job_dir in sorted(p for p in run_dir.iterdir() if p.is_dir()):
        if job_dir.name != "teacher" and job_dir.name not in METHODS:
            continue
        ckpt_path = next((job_dir / n for n in ("last.pt", "best.pt")
                          if (job_dir / n).is_file()), None)
        if ckpt_path is None:
            continue
        ckpt = load_checkpoint(ckpt_path)
        record: dict[str, Any] = ckpt
        if (job_dir / RESULT_FILE).is_file():
            record = read_job_record(job_dir / RESULT_FILE)
        meta = ckpt.get("meta")
        out.append((job_dir, ckpt_path, record if isinstance(record, dict) else {},
                    meta if isinstance(meta, dict) else {}))
    return out
