"""Jobs: what ``lit run / compare / compress / train-teacher / evaluate`` do, given a ``RunConfig``.

A *session* holds what every job of one command shares: the resolved configuration, the data,
the device and the run directory (claimed only after everything was checked). A *job* trains one
model in ``<run_dir>/<job>/`` (or, on ``--resume``, reuses it when it finished earlier) and
returns its summary row. ``compare`` is the whole story: teacher (trained, or loaded), then one
student per method, then the summary.

Model names read from a checkpoint are built with ``allow_import=False``: only registered names,
so a checkpoint can never choose which code runs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .atomic import write_json_atomic
from .checkpoint import load_checkpoint, load_model_weights
from .config import TrainConfig
from .data import BatchLoader, DataSplits, load_data, model_input
from .distributed import barrier, dist_info, init_distributed
from .errors import CheckpointError, ConfigError
from .methods import get_method
from .models import build_model, is_import_path
from .profile import profile_model
from .report import SummaryRow, format_table, write_report
from .runconfig import RunConfig, config_diff
from .rundir import check_run_dir
from .runtime import resolve_device, seed_everything
from .step import check_pair
from .trainer import BEST_CHECKPOINT, evaluate, fit

__all__ = [
    "CONFIG_FILE",
    "RESULT_FILE",
    "ModelSpec",
    "Session",
    "compare",
    "evaluate_checkpoint",
    "load_run_data",
    "load_teacher",
    "loaders",
    "model_spec",
    "open_session",
    "preflight",
    "read_stored_config",
    "teacher_spec",
    "train_one",
]

RESULT_FILE = "job.json"  # the record of a finished job (summary row + result)
CONFIG_FILE = "config.json"  # the run's resolved configuration


@dataclass(frozen=True)
class ModelSpec:
    """A model to build: name, keyword arguments, and whether the name may be an import path."""

    name: str
    kwargs: dict[str, Any]
    allow_import: bool = True
    data: str = ""  # what the model is built for, named in errors ("text data (fortunes)")

    def build(self, seed: int) -> nn.Module:
        """A freshly initialised model (seeded)."""
        seed_everything(seed)
        try:
            return build_model(self.name, allow_import=self.allow_import, **self.kwargs)
        except ConfigError as e:
            if self.data and "does not accept" in str(e):
                raise ConfigError(f"model {self.name!r} cannot be built for {self.data}: {e}") from None
            raise


@dataclass
class Session:
    """What every job of one command shares."""

    cfg: RunConfig
    data: DataSplits
    device: torch.device
    run_dir: Path
    resume: bool = False
    overwrite: bool = False
    command: str = ""
    log: Callable[[str], None] = field(default=print)
    caches: dict[str, Any] = field(default_factory=dict)  # teacher-output caches by dtype

    @property
    def is_main(self) -> bool:
        return dist_info().is_main

    def say(self, message: str) -> None:
        """A progress line (main process only)."""
        if self.is_main:
            self.log(f"lit: {message}")


# --------------------------------------------------------------------------- set-up


def load_run_data(cfg: RunConfig, *, quiet: bool = False) -> DataSplits:
    """The data set the configuration names, split and validated."""
    d = cfg.data
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
) -> tuple[Session, Any]:
    """Load the data, run ``check`` (everything that can fail before training), then claim the
    run directory and record the configuration. Returns the session and ``check``'s result."""
    if run_name is not None:
        check_run_dir(out / run_name, overwrite=overwrite, resume=resume)
        _check_resume_config(cfg, out / run_name, resume, allow_config_change)
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
    data = load_run_data(cfg, quiet=not info.is_main)
    cached = any(job.teacher_cache != "off" for job in cfg.jobs.values())
    if cached and cfg.data.augment and data.augment.enabled:
        raise ConfigError("train.teacher_cache needs a deterministic pipeline: set data.augment = "
                          "false (the teacher would see other crops/flips every epoch)")
    name = run_name or f"{cfg.preset}-{data.name}-{label}-{time.strftime('%Y%m%d-%H%M%S')}"
    session = Session(cfg, data, device, out / name, resume, overwrite, command)
    if run_name is None:
        check_run_dir(session.run_dir, overwrite=overwrite, resume=resume)
    checked = check(session) if check is not None else None
    if session.is_main:
        session.run_dir.mkdir(parents=True, exist_ok=True)
        config_path = session.run_dir / CONFIG_FILE
        stored = read_stored_config(session.run_dir) if resume else None
        changed = stored is None or config_diff(stored["config"], cfg.to_dict())
        if stored is not None and changed:  # --allow-config-change: keep the old record beside
            config_path.rename(config_path.with_name(f"config.{time.strftime('%Y%m%d-%H%M%S')}.json"))
        if changed:
            write_json_atomic(config_path, {"preset": cfg.preset, "source": cfg.source,
                                            "config": cfg.to_dict(), "argv": sys.argv[1:]})
    session.say(f"preset {cfg.preset} ({cfg.description})")
    session.say(f"data: {data.describe()}")
    world = f", {info.world_size} processes" if info.enabled else ""
    session.say(f"device: {device}{world}; run directory: {session.run_dir}")
    return session, checked


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


def _model_kwargs(session: Session) -> dict[str, Any]:
    """What a model builder needs for this data (images: classes, channels; text: classes,
    vocabulary, sequence length): the task interface of ``DataSplits``."""
    return dict(session.data.model_kwargs())


def model_spec(session: Session, role: str) -> ModelSpec:
    models = session.cfg.models
    name = getattr(models, role)
    if not name:
        raise ConfigError(f"no {role} model configured; pass --{role} NAME or --set models.{role}=NAME")
    return ModelSpec(name, {**_model_kwargs(session), **getattr(models, f"{role}_kwargs")},
                     data=f"{session.data.kind} data ({session.data.name})")


def teacher_spec(session: Session, ckpt: Path | None, teacher_given: bool) -> ModelSpec:
    """The configured teacher, or the registered model a checkpoint records (unless --teacher
    names one). A checkpoint may only name registered models, never an import path."""
    spec = model_spec(session, "teacher") if (teacher_given or ckpt is None) else None
    if spec is not None:
        return spec
    meta = load_checkpoint(ckpt).get("meta", {})
    name = meta.get("model") if isinstance(meta, dict) else None
    if not name:
        return model_spec(session, "teacher")
    return _recorded_spec(session, ckpt, name, meta.get("model_kwargs"))


def _recorded_spec(session: Session, ckpt: Path, name: Any, kwargs: Any) -> ModelSpec:
    if not isinstance(name, str) or is_import_path(name):
        raise CheckpointError(
            f"{ckpt} names the model builder {name!r}; a checkpoint may only name registered "
            "models (a file must never choose which code runs): pass --teacher/--model yourself"
        )
    if kwargs is not None and not isinstance(kwargs, dict):
        raise CheckpointError(f"{ckpt}: meta.model_kwargs is not a table of builder arguments")
    return ModelSpec(name, {**_model_kwargs(session), **(kwargs or {})}, allow_import=False,
                     data=f"{session.data.kind} data ({session.data.name})")


def _student_spec(session: Session, method: str, teacher: ModelSpec) -> ModelSpec:
    """The student for ``method``: the configured one, or the teacher's architecture (born-again)."""
    return teacher if get_method(method).same_architecture else model_spec(session, "student")


#: Below this many images per process, BatchNorm statistics get noisy: say so under DDP.
SMALL_PER_RANK_BATCH = 16


def loaders(session: Session, batch_size: int, seed: int, *,
            with_indices: bool = False) -> tuple[BatchLoader, ...]:
    """Train/val/test loaders; ``batch_size`` is the global batch, split over the processes.
    ``with_indices``: training batches carry their example indices (for a teacher cache)."""
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
    augment = data.augment if session.cfg.data.augment else None
    train = BatchLoader(data.train, batch_size // info.world_size, shuffle=True,
                        augment=augment, seed=seed, with_indices=with_indices, **kw)
    val = BatchLoader(data.val, eval_bs, shuffle=False, pad_shards=False, **kw)
    test = BatchLoader(data.test, eval_bs, shuffle=False, pad_shards=False, **kw)
    return train, val, test


def _load_weights(spec: ModelSpec, path: Path) -> nn.Module:
    model = spec.build(0)
    try:
        load_model_weights(model, path)
    except CheckpointError as e:
        raise CheckpointError(f"checkpoint {path} does not fit {spec.name}: {e}") from None
    return model


def _row(session: Session, job: str, spec: ModelSpec, model: nn.Module, val_acc: float,
         test_acc: float | None, wall_time_s: float, history: list | None = None) -> SummaryRow:
    prof = profile_model(model, session.data.input_shape, session.data.input_dtype)
    return SummaryRow(job, spec.name, prof.depth, prof.params, prof.macs, val_acc, test_acc,
                      wall_time_s, history or [])


# --------------------------------------------------------------------------- jobs


def train_one(
    session: Session, job: str, method: str, spec: ModelSpec, teacher: nn.Module | None,
    cfg: TrainConfig, index: str, *, test: bool = True,
) -> tuple[nn.Module, SummaryRow]:
    """Train (or, on --resume, reuse) one model in ``run_dir/job``; its summary row.
    ``test=False``: the test split is not read (``test_acc`` is None)."""
    job_dir = session.run_dir / job
    model = spec.build(cfg.seed)
    result_path = job_dir / RESULT_FILE
    if session.resume and result_path.is_file():
        session.say(f"{index} {job} ({spec.name}): finished earlier, reusing {job_dir / BEST_CHECKPOINT}")
        load_model_weights(model, job_dir / BEST_CHECKPOINT)
        row = json.loads(result_path.read_text(encoding="utf-8"))["row"]
        return model.to(session.device), SummaryRow(**row)
    if session.is_main:
        result_path.unlink(missing_ok=True)  # a stale record must never mark this job finished
    resume = session.resume and (job_dir / "last.pt").is_file()
    session.say(f"{index} {job}: {spec.name}, method {method}"
                + (", resuming" if resume else "") + f" -> {job_dir}")
    cache = _teacher_cache(session, teacher, cfg, method)
    train, val, test_split = loaders(session, cfg.batch_size, cfg.seed, with_indices=cache is not None)
    if cfg.compile != "off":  # a fresh compile cache per job: Dynamo keeps 8 versions per function
        torch._dynamo.reset()
    if cfg.sync_bn and dist_info().enabled:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    meta = {"model": spec.name, "model_kwargs": spec.kwargs, "data": session.data.name, "job": job}
    result = fit(model, teacher, train, val, method=method, config=cfg, run_dir=job_dir,
                 test_loader=test_split if test else None, resume=resume,
                 overwrite=session.overwrite or session.resume,
                 meta=meta, teacher_cache=cache)
    row = _row(session, job, spec, model, result.best_val_acc, result.test_acc,
               result.wall_time_s, result.history)
    if session.is_main:
        write_json_atomic(result_path, {"row": {**row.to_dict(), "history": result.history},
                                        "result": result.to_dict(), "config": cfg.to_dict()})
    test_txt = f", test {100 * result.test_acc:.2f}%" if result.test_acc is not None else ""
    session.say(f"{index} {job}: val {100 * result.best_val_acc:.2f}%{test_txt} "
                f"in {result.wall_time_s:.0f} s")
    return model, row


def _teacher_cache(session: Session, teacher: nn.Module | None, cfg: TrainConfig,
                   method: str) -> Any:
    """The session's teacher-output cache (built once per dtype, shared by every student), or
    None when ``train.teacher_cache`` is off or the job runs no teacher."""
    if cfg.teacher_cache == "off" or teacher is None or not get_method(method).needs_teacher:
        return None
    if session.cfg.data.augment and session.data.augment.enabled:
        raise ConfigError("train.teacher_cache needs a deterministic pipeline: set data.augment = "
                          "false (the teacher would see other crops/flips every epoch)")
    if get_method(method).ir_at == "blocks":
        raise ConfigError(f"train.teacher_cache caches stage outputs; method {method!r} compares "
                          "blocks: turn the cache off for it")
    if cfg.teacher_cache not in session.caches:
        from .lit import make_plan
        from .teacher_cache import TeacherCache

        plan = make_plan(teacher, teacher, "all", True)  # every stage boundary T̃_0 … T̃_k
        session.caches[cfg.teacher_cache] = TeacherCache.build(
            teacher, session.data.train, plan=plan, augment=None, dtype=cfg.teacher_cache,
            device=session.device)
        session.say(f"teacher outputs cached ({cfg.teacher_cache}, "
                    f"{session.caches[cfg.teacher_cache].nbytes / 2**20:.0f} MiB)")
    return session.caches[cfg.teacher_cache]


def load_teacher(session: Session, spec: ModelSpec, path: Path) -> tuple[nn.Module, SummaryRow]:
    """A trained teacher from a lit checkpoint; its summary row (accuracies re-measured)."""
    teacher = _load_weights(spec, path).to(session.device)
    _, val, test = loaders(session, session.cfg.job("teacher").batch_size, 0)
    v, t = evaluate(teacher, val, session.device), evaluate(teacher, test, session.device)
    row = _row(session, "teacher", spec, teacher, v.accuracy, t.accuracy, 0.0)
    session.say(f"teacher {spec.name} from {path}: val {100 * v.accuracy:.2f}%, "
                f"test {100 * t.accuracy:.2f}%")
    return teacher, row


def preflight(session: Session, t_spec: ModelSpec, methods: Sequence[str],
              ckpt: Path | None) -> None:
    """The teacher checkpoint and every method's teacher/student alignment, before training."""
    teacher = _load_weights(t_spec, ckpt) if ckpt else t_spec.build(0)
    teacher = teacher.to(session.device)
    x = model_input(session.data.train.inputs[:2]).to(session.device)
    for m in methods:
        if get_method(m).needs_teacher:
            student = _student_spec(session, m, t_spec).build(0).to(session.device)
            check_pair(teacher, student, get_method(m), x)


def _finish(session: Session, rows: list[SummaryRow], title: str) -> int:
    if not session.is_main:
        return 0
    meta = {"preset": session.cfg.preset, "data": session.data.describe(),
            "device": str(session.device), "torch": torch.__version__, "command": session.command}
    paths = write_report(session.run_dir, rows, title=title, meta=meta, overwrite=True)
    session.log("")
    session.log(format_table(rows))
    session.log("")
    session.say(f"wrote {paths['md']}, {paths['json'].name}, {paths['png'].name}")
    return 0


def compare(cfg: RunConfig, methods: Sequence[str], *, ckpt: Path | None = None,
            teacher_given: bool = False, **session_kw: Any) -> int:
    """A teacher (trained, or loaded from ``ckpt``), then one student per method; the table.
    ``methods`` empty: the teacher only (``train-teacher``)."""
    for m in methods:
        get_method(m)

    def check(session: Session) -> ModelSpec:
        spec = teacher_spec(session, ckpt, teacher_given)
        preflight(session, spec, methods, ckpt)
        return spec

    session, t_spec = open_session(cfg, check=check, **session_kw)
    total = len(methods) + (ckpt is None)
    if ckpt is None:
        teacher, t_row = train_one(session, "teacher", "scratch", t_spec, None, cfg.job("teacher"),
                                   f"[1/{total}]")
    else:
        teacher, t_row = load_teacher(session, t_spec, ckpt)
    rows = [t_row]
    for i, m in enumerate(methods, start=total - len(methods) + 1):
        uses_teacher = get_method(m).needs_teacher
        _, row = train_one(session, m, m, _student_spec(session, m, t_spec),
                           teacher if uses_teacher else None, cfg.job(m), f"[{i}/{total}]")
        rows.append(row)
    if not methods:
        session.say(f"teacher checkpoint: {session.run_dir / 'teacher' / BEST_CHECKPOINT}")
        return _finish(session, rows, f"teacher {t_row.model} on {session.data.name}")
    students = sorted({r.model for r in rows[1:]})
    return _finish(session, rows, f"{t_spec.name} -> {', '.join(students)} on {session.data.name}")


def train_student_alone(cfg: RunConfig, method: str, **session_kw: Any) -> int:
    """A student with a method that needs no teacher (``compress --method scratch``)."""
    session, _ = open_session(cfg, **session_kw)
    _, row = train_one(session, method, method, model_spec(session, "student"), None, cfg.job(method),
                       "[1/1]")
    return _finish(session, [row], f"{method}: {row.model} on {session.data.name}")


def evaluate_checkpoint(cfg: RunConfig, path: Path, model_name: str | None,
                        log: Callable[[str], None] = print) -> None:
    """Print validation and test accuracy of a checkpoint on the configured data."""
    data = load_run_data(cfg)
    device = resolve_device(cfg.job("teacher").device)
    session = Session(cfg, data, device, Path("."), log=log)
    meta = load_checkpoint(path).get("meta", {})
    meta = meta if isinstance(meta, dict) else {}
    if model_name:  # the user's own choice: registered name or import path
        spec = ModelSpec(model_name, {**_model_kwargs(session), **(meta.get("model_kwargs") or {})})
    elif meta.get("model"):
        spec = _recorded_spec(session, path, meta["model"], meta.get("model_kwargs"))
    else:
        raise ConfigError(f"{path} does not record its model; pass --model NAME")
    model = _load_weights(spec, path).to(device)
    val, test = (BatchLoader(ds, cfg.data.eval_batch_size, shuffle=False, device=device)
                 for ds in (data.val, data.test))
    v, t = evaluate(model, val, device), evaluate(model, test, device)
    prof = profile_model(model, session.data.input_shape, session.data.input_dtype)
    log(f"lit: {spec.name} from {path} on {data.describe()}")
    log(f"lit: val {100 * v.accuracy:.2f}% ({v.count}), test {100 * t.accuracy:.2f}% ({t.count}); "
        f"{prof.params / 1e6:.3f} M params, {prof.macs / 1e6:.2f} M MACs, depth {prof.depth}")
