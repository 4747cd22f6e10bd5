"""Jobs: what ``lit run / compare / compress / train-teacher / evaluate`` do, given a ``RunConfig``.

A *session* (``lit_core.app.session``) holds what every job of one command shares; the models come
from ``lit_core.app.specs``. A *job* trains one
model in ``<run_dir>/<job>/`` (or, on ``--resume``, reuses it when it finished earlier) and
returns its summary row. ``compare`` is the whole story: teacher (trained, or loaded), then one
student per method, then the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..data.preprocessing import preprocessing_record
from ..errors import ConfigError
from ..io.atomic import write_json_atomic
from ..io.checkpoint import load_checkpoint, load_model_weights
from ..io.runlock import check_run_intact
from ..method.methods import get_method
from ..models.profile import profile_model
from ..training.config import TrainConfig
from ..training.distributed import dist_info
from ..training.loggers import make_loggers
from ..training.runtime import check_device_usable, resolve_device
from ..training.step import check_pair, check_sections
from ..training.trainer import BEST_CHECKPOINT, evaluate, fit
from .fingerprint import FINGERPRINT_KEY
from .records import RESULT_FILE, read_job_record
from .report import SummaryRow, format_budgets, format_table, write_report
from .runconfig import RunConfig
from .session import Session, eval_loaders, load_run_data, loaders, open_session, sample_inputs
from .specs import (
    ModelSpec,
    load_weights,
    model_kwargs,
    model_spec,
    recorded_spec,
    student_spec,
    teacher_spec,
)

__all__ = [
    "RESULT_FILE",
    "TEACHER_RECORD",
    "compare",
    "evaluate_checkpoint",
    "job_loggers",
    "load_teacher",
    "open_with_teacher",
    "preflight",
    "train_one",
    "train_student_alone",
]

TEACHER_RECORD = "teacher.json"  # a run's loaded teacher: its checkpoint path and summary row


def _row(session: Session, job: str, spec: ModelSpec, model: nn.Module, val_acc: float,
         test_acc: float | None, wall_time_s: float, history: list | None = None) -> SummaryRow:
    prof = profile_model(model, session.data.input_shape, session.data.input_dtype)
    return SummaryRow(job, spec.name, prof.depth, prof.params, prof.macs, val_acc, test_acc,
                      wall_time_s, history or [])


# --------------------------------------------------------------------------- jobs


def _finished_row(path: Path) -> SummaryRow:
    """The summary row recorded in a finished job's ``job.json``; one clear error if unreadable."""
    return SummaryRow(**read_job_record(path)["row"])


def job_loggers(loggers: Sequence[str], cfg: TrainConfig) -> list[str]:
    """The logger names of one job: ``train.tensorboard = true`` is ``--logger tensorboard`` for
    it (one writer of ``<job>/tb/``, however many of the two ask for it)."""
    return list(dict.fromkeys([*loggers, *(["tensorboard"] if cfg.tensorboard else [])]))


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
        row = _finished_row(result_path)
        load_model_weights(model, job_dir / BEST_CHECKPOINT)
        return model.to(session.device), row
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
    meta = {"model": spec.name, "model_kwargs": spec.kwargs, "data": session.data.name, "job": job,
            "preprocessing": preprocessing_record(session.data, session.cfg.data.data_dir),
            FINGERPRINT_KEY: session.fingerprint}
    result = fit(model, teacher, train, val, quiet=True, method=method,
                 config=cfg.replace(tensorboard=False), run_dir=job_dir,
                 test_loader=test_split if test else None, resume=resume,
                 overwrite=session.overwrite or session.resume,
                 meta=meta, teacher_cache=cache,
                 callbacks=make_loggers(job_loggers(session.loggers, cfg), job_dir, resume=resume))
    row = _row(session, job, spec, model, result.best_val_acc, result.test_acc,
               result.wall_time_s, result.history)
    if session.is_main:
        check_run_intact(session.run_dir)  # deleted mid-job: fail, never record a success
        write_json_atomic(result_path, {"row": {**row.to_dict(), "history": result.history},
                                        "result": result.to_dict(), "config": cfg.to_dict(),
                                        "run_id": session.run_id})
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
    # (augmentation is refused for a cached run in ``open_session``, before anything is created)
    if get_method(method).ir_at == "blocks":
        raise ConfigError(f"train.teacher_cache caches stage outputs; method {method!r} compares "
                          "blocks: turn the cache off for it")
    if cfg.teacher_cache not in session.caches:
        from ..method.lit import make_plan
        from ..training.teacher_cache import TeacherCache

        plan = make_plan(teacher, teacher, "all", True)  # every stage boundary T̃_0 … T̃_k
        session.caches[cfg.teacher_cache] = TeacherCache.build(
            teacher, session.data.train, plan=plan, augment=None, dtype=cfg.teacher_cache,
            device=session.device)
        session.say(f"teacher outputs cached ({cfg.teacher_cache}, "
                    f"{session.caches[cfg.teacher_cache].nbytes / 2**20:.0f} MiB)")
    return session.caches[cfg.teacher_cache]


def load_teacher(session: Session, spec: ModelSpec, path: Path) -> tuple[nn.Module, SummaryRow]:
    """A trained teacher from a lit checkpoint; its summary row (accuracies re-measured)."""
    teacher = load_weights(spec, path).to(session.device)
    _, val, test = loaders(session, session.cfg.job("teacher").batch_size, 0)
    v, t = evaluate(teacher, val, session.device), evaluate(teacher, test, session.device)
    row = _row(session, "teacher", spec, teacher, v.accuracy, t.accuracy, 0.0)
    session.say(f"teacher {spec.name} from {path}: val {100 * v.accuracy:.2f}%, "
                f"test {100 * t.accuracy:.2f}%")
    return teacher, row


def preflight(session: Session, t_spec: ModelSpec, methods: Sequence[str],
              ckpt: Path | None) -> None:
    """The teacher checkpoint and every method's teacher/student alignment, before training."""
    teacher = load_weights(t_spec, ckpt) if ckpt else t_spec.build(0)
    teacher = teacher.to(session.device)
    x = sample_inputs(session.data).to(session.device)
    for m in methods:
        method, sections = get_method(m), session.cfg.job(m).sections
        if method.needs_teacher or (sections and method.ir_phase):
            student = student_spec(session, m, t_spec).build(0).to(session.device)
        if method.needs_teacher:
            check_pair(teacher, student, method, x)
        if sections and method.ir_phase:  # as training would find them, but before the run exists
            check_sections(method, student, sections)


def _finish(session: Session, rows: list[SummaryRow], title: str) -> int:
    if not session.is_main:
        return 0
    meta = {"preset": session.cfg.preset, "data": session.data.describe(),
            "device": str(session.device), "torch": torch.__version__, "command": session.command}
    check_run_intact(session.run_dir)
    paths = write_report(session.run_dir, rows, title=title, meta=meta, overwrite=True)
    session.log("")
    session.log(format_table(rows))
    budgets = format_budgets(rows)
    if budgets:
        session.log("")
        session.log(budgets)
    session.log("")
    session.say(f"wrote {paths['md']}, {paths['json'].name}, {paths['png'].name}")
    return 0


def open_with_teacher(cfg: RunConfig, methods: Sequence[str], *, ckpt: Path | None = None,
                      teacher_given: bool = False, index: str = "[teacher]", **session_kw: Any,
                      ) -> tuple[Session, nn.Module, ModelSpec, SummaryRow]:
    """A session checked for ``methods`` (the teacher checkpoint, every pair's alignment), then
    its teacher: trained in ``<run>/teacher`` (reused on ``--resume``) or loaded from ``ckpt``."""
    for m in methods:
        if get_method(m).ir_at == "blocks" and cfg.job(m).teacher_cache != "off":
            raise ConfigError(f"train.teacher_cache caches stage outputs; method {m!r} compares "
                              "blocks: turn the cache off for it")

    def check(session: Session) -> ModelSpec:
        spec = teacher_spec(session, ckpt, teacher_given)
        preflight(session, spec, methods, ckpt)
        return spec

    session, t_spec = open_session(cfg, check=check, keep=() if ckpt is None else (Path(ckpt),),
                                   **session_kw)
    if ckpt is None:
        teacher, t_row = train_one(session, "teacher", "scratch", t_spec, None, cfg.job("teacher"),
                                   index)
    else:
        teacher, t_row = load_teacher(session, t_spec, ckpt)
        if session.is_main:  # a run names its teacher (``python -m lit_bench --run`` reads it)
            write_json_atomic(session.run_dir / TEACHER_RECORD,
                              {"checkpoint": str(Path(ckpt).resolve()), "row": t_row.to_dict(),
                               "run_id": session.run_id})
    return session, teacher, t_spec, t_row


def compare(cfg: RunConfig, methods: Sequence[str], *, ckpt: Path | None = None,
            teacher_given: bool = False, **session_kw: Any) -> int:
    """A teacher (trained, or loaded from ``ckpt``), then one student per method; the table.
    ``methods`` empty: the teacher only (``train-teacher``)."""
    total = len(methods) + (ckpt is None)
    session, teacher, t_spec, t_row = open_with_teacher(
        cfg, methods, ckpt=ckpt, teacher_given=teacher_given, index=f"[1/{total}]", **session_kw)
    rows = [t_row]
    for i, m in enumerate(methods, start=total - len(methods) + 1):
        uses_teacher = get_method(m).needs_teacher
        _, row = train_one(session, m, m, student_spec(session, m, t_spec),
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
    check_device_usable(device)
    session = Session(cfg, data, device, Path("."), log=log)
    loaded = load_checkpoint(path)
    meta = loaded.get("meta", {})
    meta = meta if isinstance(meta, dict) else {}
    if model_name:  # the user's own choice (registered name or import path) wins over the file's
        spec = ModelSpec(model_name, model_kwargs(session))
    elif meta.get("model"):
        spec = recorded_spec(session, path, loaded)
    else:
        raise ConfigError(f"{path} does not record its model; pass --model NAME")
    model = load_weights(spec, path, loaded).to(device)
    val, test = eval_loaders(session, cfg.data.eval_batch_size)
    v, t = evaluate(model, val, device), evaluate(model, test, device)
    prof = profile_model(model, session.data.input_shape, session.data.input_dtype)
    log(f"lit: {spec.name} from {path} on {data.describe()}")
    log(f"lit: val {100 * v.accuracy:.2f}% ({v.count}), test {100 * t.accuracy:.2f}% ({t.count}); "
        f"{prof.params / 1e6:.3f} M params, {prof.macs / 1e6:.2f} M MACs, depth {prof.depth}")
