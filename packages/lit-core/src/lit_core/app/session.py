"""A session: what every job of one command shares — the resolved configuration, the data,
the device and the run directory (claimed only after every check passed), and its loaders.

``--resume`` continues a run with the run's own stored configuration (``config.json``); a changed
setting is refused, naming the keys, unless the user asks for it (``--allow-config-change``), and
so is other data (the run's data fingerprint, ``lit_core.app.fingerprint``). ``--overwrite``
replaces the whole old run once its lock is held.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..data import BatchLoader, DataSplits, load_data, model_input
from ..data.stream import StreamConfig, StreamLoader, StreamSplits, open_stream_folder
from ..errors import ConfigError
from ..io.atomic import write_json_atomic
from ..io.runlock import hold_run_lock
from ..training.distributed import barrier, dist_info, init_distributed
from ..training.rundir import check_run_dir, clear_run_dir, make_run_dir, run_dir_path
from ..training.runtime import check_device_usable, resolve_device
from .fingerprint import FINGERPRINT_KEY, check_resume_records, data_fingerprint
from .records import check_job_records, job_record_paths
from .runconfig import RunConfig, config_diff

__all__ = [
    "CONFIG_FILE",
    "SMALL_PER_RANK_BATCH",
    "Session",
    "eval_loaders",
    "load_run_data",
    "loaders",
    "open_session",
    "read_stored_config",
    "sample_inputs",
    "stream_config",
]

CONFIG_FILE = "config.json"  # the run's resolved configuration


@dataclass
class Session:
    """What every job of one command shares."""

    cfg: RunConfig
    data: DataSplits | StreamSplits  # in memory, or an image folder streamed (data.loader)
    device: torch.device
    run_dir: Path
    resume: bool = False
    overwrite: bool = False
    command: str = ""
    log: Callable[[str], None] = field(default=print)
    caches: dict[str, Any] = field(default_factory=dict)  # teacher-output caches by dtype
    loggers: list[str] = field(default_factory=list)  # ``--logger`` names, one set per job dir
    fingerprint: dict[str, Any] = field(default_factory=dict)  # the data's (``app.fingerprint``)
    run_id: str | None = None  # config.json's id of this run; every job.json it writes carries it

    @property
    def is_main(self) -> bool:
        return dist_info().is_main

    def say(self, message: str) -> None:
        """A progress line (main process only)."""
        if self.is_main:
            self.log(f"lit: {message}")


# --------------------------------------------------------------------------- set-up


def stream_config(cfg: RunConfig) -> StreamConfig:
    """The ``StreamConfig`` of ``data.loader = "stream"``: the ``[data]`` settings that were given
    (``StreamConfig``'s own defaults for the rest)."""
    d = cfg.data
    given = {k: getattr(d, k) for k in ("image_size", "resize", "channels", "limit", "test_limit")
             if getattr(d, k) is not None}
    return StreamConfig(augment=d.augment, workers=d.workers, val_fraction=d.val_fraction,
                        seed=d.seed, **given)


def load_run_data(cfg: RunConfig, *, quiet: bool = False) -> DataSplits | StreamSplits:
    """The data set the configuration names, split and validated (``data.loader = "stream"``: an
    image folder's file lists, read per batch by ``loaders``)."""
    d = cfg.data
    if d.loader == "stream":
        if d.data_dir is None:
            raise ConfigError('data.loader = "stream" needs the image folder: pass --data-dir DIR '
                              "(DIR/train/<class>/* and DIR/test/<class>/*)")
        return open_stream_folder(d.data_dir, stream_config(cfg))
    return load_data(d.name, d.data_dir, val_fraction=d.val_fraction, seed=d.seed, limit=d.limit,
                     test_limit=d.test_limit, quiet=quiet, seq_len=d.seq_len)


def open_session(
    cfg: RunConfig,
    *,
    out: Path,
    run_name: str | None,
    label: str,
    resume: bool = False,
    overwrite: bool = False,
    allow_config_change: bool = False,
    check: Callable[[Session], Any] | None = None,
    command: str = "",
    loggers: Sequence[str] = (),
    keep: Sequence[Path] = (),
) -> tuple[Session, Any]:
    """Load the data, run ``check`` (everything that can fail before training), then claim the
    run directory and record the configuration. Returns the session and ``check``'s result.
    ``loggers``: tracker names (``lit_core.training.loggers.LOGGERS``) every job logs to.
    ``keep``: input files the command reads (a teacher checkpoint), which ``--overwrite`` of the
    run directory must not remove."""
    if run_name is not None:
        run_dir = run_dir_path(out, run_name)
        check_run_dir(run_dir, overwrite=overwrite, resume=resume)
        _check_resume_config(cfg, run_dir, resume, allow_config_change)
        _check_kept_inputs(cfg, run_dir, overwrite and not resume, keep)
    if any(job.deterministic for job in cfg.jobs.values()):  # before any CUDA work (cuBLAS reads it once)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    info = init_distributed()
    if info.enabled and run_name is None:
        raise ConfigError("under torchrun pass --run-name, so every process writes the same run")
    barrier()  # every rank has checked the run directory before rank 0 creates it
    device = resolve_device(cfg.job("teacher").device)
    if device.type != "cuda" and any(job.sync_bn for job in cfg.jobs.values()):
        raise ConfigError(f"train.sync_bn needs CUDA devices (SyncBatchNorm runs over NCCL); "
                          f"the device is {device}")
    _check_jobs_on_device(cfg, device)
    data = load_run_data(cfg, quiet=not info.is_main)
    cached = any(job.teacher_cache != "off" for job in cfg.jobs.values())
    if cached and cfg.data.augment and data.augment.enabled:
        raise ConfigError("train.teacher_cache needs a deterministic pipeline: set data.augment = "
                          "false (the teacher would see other crops/flips every epoch)")
    name = run_name or f"{cfg.preset}-{data.name}-{label}-{time.strftime('%Y%m%d-%H%M%S')}"
    session = Session(cfg, data, device, run_dir_path(out, name), resume, overwrite, command,
                      loggers=list(loggers), fingerprint=data_fingerprint(cfg, data))
    if run_name is None:
        check_run_dir(session.run_dir, overwrite=overwrite, resume=resume)
        _check_kept_inputs(cfg, session.run_dir, overwrite and not resume, keep)
    if resume:  # every finished job's record readable, before anything trains
        check_job_records(session.run_dir)
        check_resume_records(cfg, session.run_dir, session.fingerprint,
                             read_stored_config(session.run_dir), allow=allow_config_change)
    checked = check(session) if check is not None else None
    if session.is_main:
        _claim(session)
    session.say(f"preset {cfg.preset} ({cfg.description})")
    session.say(f"data: {data.describe()}")
    world = f", {info.world_size} processes" if info.enabled else ""
    session.say(f"device: {device}{world}; run directory: {session.run_dir}")
    return session, checked


def _claim(session: Session) -> None:
    """Take the run directory (main process): its lock, then a second look now that no other
    command can write it (a run another process finished meanwhile is not replaced), then, on
    ``--overwrite``, the old run removed; the configuration recorded with the run's id."""
    cfg, run_dir = session.cfg, session.run_dir
    make_run_dir(run_dir)
    hold_run_lock(run_dir)  # one writer: a second command stops here, writing nothing
    check_run_dir(run_dir, overwrite=session.overwrite, resume=session.resume)
    if session.overwrite and not session.resume:
        clear_run_dir(run_dir)
    config_path = run_dir / CONFIG_FILE
    stored = read_stored_config(run_dir) if session.resume else None
    changed = stored is None or config_diff(stored["config"], cfg.to_dict())
    if stored is not None:
        session.run_id = stored.get("run_id")  # None: a run from before run ids
    else:  # a new run, or a resumed one whose config.json is gone: its jobs name the run
        session.run_id = _recorded_run_id(run_dir) if session.resume else None
        session.run_id = session.run_id or uuid.uuid4().hex
    if stored is not None and changed:  # --allow-config-change: keep the old record beside
        config_path.rename(config_path.with_name(f"config.{time.strftime('%Y%m%d-%H%M%S')}.json"))
    if changed or stored.get(FINGERPRINT_KEY) is None:  # (a record from before fingerprints)
        write_json_atomic(config_path, {"preset": cfg.preset, "source": cfg.source,
                                        "config": cfg.to_dict(), "argv": sys.argv[1:],
                                        "run_id": session.run_id,
                                        FINGERPRINT_KEY: session.fingerprint})


def _recorded_run_id(run_dir: Path) -> str | None:
    """The run id the run's finished jobs recorded (``job.json``), if any."""
    for path in job_record_paths(run_dir):
        try:
            run_id = json.loads(path.read_text(encoding="utf-8")).get("run_id")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            continue
        if isinstance(run_id, str) and run_id:
            return run_id
    return None


def _check_kept_inputs(cfg: RunConfig, run_dir: Path, replacing: bool, keep: Sequence[Path]) -> None:
    """``--overwrite`` removes the old run: refuse it when the command reads an input there."""
    if not replacing or not run_dir.is_dir():
        return
    inputs = [("--data-dir", cfg.data.data_dir), *(("--teacher-ckpt", p) for p in keep)]
    for flag, path in inputs:
        if path is None:
            continue
        where = Path(path).resolve()
        if where == run_dir or run_dir in where.parents:
            raise ConfigError(f"{flag} {path} lies inside run directory {run_dir}, which "
                              "--overwrite replaces; copy it elsewhere first, or choose another "
                              "--run-name")


def _check_jobs_on_device(cfg: RunConfig, device: torch.device) -> None:
    """Settings that cannot run here, found before the run directory is claimed."""
    check_device_usable(device)
    for name, job in cfg.jobs.items():
        where = "train" if name == "__shared__" else f"train.{name}"
        if job.precision == "fp16" and device.type != "cuda":
            raise ConfigError(f"{where}.precision fp16 needs a CUDA device (the device is "
                              f"{device}); use bf16 on CPU")
        if job.tensorboard and importlib.util.find_spec("tensorboard") is None:
            raise ConfigError(f"{where}.tensorboard = true needs the tensorboard package: pip "
                              "install 'lit-core[tensorboard]' (or set it to false)")


def read_stored_config(run_dir: Path) -> dict[str, Any] | None:
    """The record ``config.json`` of a run directory (``preset``, ``config``, ...), or None."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(stored, dict) and isinstance(stored.get("config"), dict):
            return stored
    except (ValueError, OSError):
        pass
    raise ConfigError(f"{path} is not a lit run configuration; cannot check what --resume would "
                      "change (pass --allow-config-change to resume anyway)")


def _check_resume_config(cfg: RunConfig, run_dir: Path, resume: bool, allow: bool) -> None:
    """``--resume`` continues a run with its own settings; a change must be asked for."""
    if not resume or allow:
        return
    stored = read_stored_config(run_dir)
    if stored is None:
        return
    path = run_dir / CONFIG_FILE
    diff = config_diff(stored["config"], cfg.to_dict())
    if diff:
        raise ConfigError(
            f"--resume with settings that differ from {path}: {', '.join(diff)}; pass the run's "
            "own settings again, or --allow-config-change to change them"
        )


#: Below this many images per process, BatchNorm statistics get noisy: say so under DDP.
SMALL_PER_RANK_BATCH = 16


def sample_inputs(data: DataSplits | StreamSplits, n: int = 2) -> torch.Tensor:
    """``n`` training inputs as a model receives them (the alignment checks run on them)."""
    if isinstance(data, StreamSplits):
        return data.sample_inputs(n)
    return model_input(data.train.inputs[:n])


def loaders(session: Session, batch_size: int, seed: int, *,
            with_indices: bool = False) -> tuple[BatchLoader | StreamLoader, ...]:
    """Train/val/test loaders; ``batch_size`` is the global batch, split over the processes.
    ``with_indices``: training batches carry their example indices (for a teacher cache).
    Streamed data: ``data.workers`` DataLoader workers per loader, batches on the CPU."""
    info = dist_info()
    if batch_size % info.world_size:
        raise ConfigError(f"batch_size {batch_size} is not divisible by the {info.world_size} processes")
    per_rank = batch_size // info.world_size
    if info.enabled and per_rank < SMALL_PER_RANK_BATCH:
        session.say(
            f"warning: {per_rank} images per process (train.batch_size {batch_size} over "
            f"{info.world_size} processes): BatchNorm sees tiny batches and steps stay launch-bound; "
            "scale train.batch_size with the processes (and the lr linearly), set "
            "train.sync_bn = true, or run independent jobs one per GPU (lit compare --parallel N)"
        )
    eval_bs = session.cfg.data.eval_batch_size
    kw = {"device": session.device, "rank": info.rank, "world_size": info.world_size}
    data = session.data
    if isinstance(data, StreamSplits):  # (a teacher cache is refused for it in RunConfig)
        kw = {"workers": session.cfg.data.workers, "rank": info.rank, "world_size": info.world_size,
              "pin_memory": session.device.type == "cuda"}
        return (data.loader("train", per_rank, seed=seed, **kw), data.loader("val", eval_bs, **kw),
                data.loader("test", eval_bs, **kw))
    augment = data.augment if session.cfg.data.augment else None
    channels_last = session.device.type == "cuda" and any(
        job.channels_last for job in session.cfg.jobs.values())
    train = BatchLoader(data.train, batch_size // info.world_size, shuffle=True,
                        augment=augment, seed=seed, with_indices=with_indices,
                        channels_last=channels_last, **kw)
    val = BatchLoader(data.val, eval_bs, shuffle=False, pad_shards=False, **kw)
    test = BatchLoader(data.test, eval_bs, shuffle=False, pad_shards=False, **kw)
    return train, val, test


def eval_loaders(session: Session, batch_size: int) -> tuple[BatchLoader | StreamLoader, ...]:
    """Validation and test loaders only (one process: ``lit evaluate``)."""
    data, device = session.data, session.device
    if isinstance(data, StreamSplits):
        kw = {"workers": session.cfg.data.workers, "pin_memory": device.type == "cuda"}
        return data.loader("val", batch_size, **kw), data.loader("test", batch_size, **kw)
    return tuple(BatchLoader(ds, batch_size, shuffle=False, device=device) for ds in (data.val, data.test))
