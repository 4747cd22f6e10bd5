"""The ``lit`` command line (also ``python -m lit_core``).

Subcommands::

    lit run             the whole story: train a teacher, compress it with LIT, train KD and
                        scratch students of the same depth, write summary.{md,json,png}
    lit train-teacher   train the teacher only
    lit compress        train one student with --method (lit, kd, fitnets, scratch, born_again,
                        lit_single_ir, lit_block_ir, ir_no_teacher_input) from --teacher-ckpt
    lit compare         several methods (--methods a,b,c) on one teacher (trained, or
                        --teacher-ckpt) -> one table
    lit evaluate        validation and test accuracy of a checkpoint

Configuration: a preset (``--preset``, default ``cpu``), then ``--config FILE.toml``, then
``--set KEY=VALUE`` overrides (dotted keys into the TOML tables, e.g. ``--set train.lit.epochs=3
--set models.student=resnet14 --set data.limit=2000``; see ``lit_core.presets``). Results go to
``<out>/<run-name>/`` (default ``results/<preset>-<data>-<command>-<time>``), one sub-directory per trained
model plus the summaries; an existing run directory is never replaced without ``--overwrite``
(``--resume`` continues it instead). Errors print one line on stderr and exit with status 2
(``LIT_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .checkpoint import load_checkpoint, load_model_weights
from .config import TrainConfig
from .data import BatchLoader, DataError, DataSplits, load_data
from .distributed import barrier, dist_info, init_distributed
from .lit import check_plan_alignment, make_plan
from .methods import METHODS, get_method
from .models import build_model
from .presets import (
    DEFAULT_PRESET,
    apply_override,
    job_config,
    list_presets,
    load_preset,
    load_toml,
    merge,
    validate_config,
)
from .profile import profile_model
from .report import SummaryRow, format_table, write_report
from .runtime import resolve_device, seed_everything
from .step import NonFiniteLossError
from .trainer import BEST_CHECKPOINT, evaluate, fit

__all__ = ["main"]

RESULT_FILE = "job.json"  # the CLI's record of a finished model (summary row + result)
_USER_ERRORS = (DataError, ValueError, FileExistsError, FileNotFoundError, NonFiniteLossError,
                ModuleNotFoundError, TypeError)


class CLIError(Exception):
    """A usage error reported as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise CLIError(f"{message} (see `{self.prog} --help`)")


@dataclass
class Context:
    """What every subcommand works with: resolved config, data, device and the run directory."""

    cfg: dict[str, Any]
    preset: str
    data: DataSplits
    device: torch.device
    run_dir: Path
    args: argparse.Namespace
    checked: Any = None

    @property
    def is_main(self) -> bool:
        return dist_info().is_main

    def say(self, message: str) -> None:
        if self.is_main:
            print(f"lit: {message}", flush=True)


# --------------------------------------------------------------------------- arguments


def _common(p: argparse.ArgumentParser, output: bool = True) -> None:
    g = p.add_argument_group("configuration")
    g.add_argument("--preset", default=DEFAULT_PRESET,
                   help=f"preset name (default {DEFAULT_PRESET}; see --list-presets)")
    g.add_argument("--config", type=Path, help="TOML file merged over the preset")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. train.lit.epochs=3 (repeatable)")
    g.add_argument("--data", help="data set: auto, fashion-mnist, cifar10, cifar100, digits, npz, "
                                  "folder (= --set data.name=...)")
    g.add_argument("--data-dir", help="where the data is (= --set data.data_dir=...)")
    g.add_argument("--teacher", help="teacher model name (= --set models.teacher=...)")
    g.add_argument("--student", help="student model name (= --set models.student=...)")
    g.add_argument("--device", help="cpu, cuda, cuda:1 or auto (= --set train.device=...)")
    if not output:
        return
    o = p.add_argument_group("output")
    o.add_argument("--out", type=Path, default=Path("results"), help="results root (default results)")
    o.add_argument("--run-name", help="run directory name (default <preset>-<data>-<command>-<time>)")
    o.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    o.add_argument("--resume", action="store_true",
                   help="continue an existing run directory (finished models are kept)")


def build_parser() -> argparse.ArgumentParser:
    """The ``lit`` argument parser."""
    doc = (__doc__ or "").replace("``", "").replace("::", ":")
    parser = _Parser(prog="lit", description=doc.split("\n\n", 1)[0], epilog=doc.split("\n\n", 1)[1],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list-presets", action="store_true", help="print the preset names and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    p = sub.add_parser("run", help="teacher, then LIT, KD and scratch students; summary and plot")
    _common(p)
    p = sub.add_parser("train-teacher", help="train the teacher from scratch")
    _common(p)
    p = sub.add_parser("compress", help="train one student with a method from a teacher checkpoint")
    _common(p)
    p.add_argument("--method", required=True, choices=sorted(METHODS), metavar="METHOD",
                   help=f"one of {', '.join(METHODS)}")
    p.add_argument("--teacher-ckpt", type=Path, help="teacher checkpoint (best.pt of train-teacher)")
    p = sub.add_parser("compare", help="several methods on one teacher, one table")
    _common(p)
    p.add_argument("--methods", help="comma-separated methods (default: the config's run.methods)")
    p.add_argument("--teacher-ckpt", type=Path, help="teacher checkpoint (else a teacher is trained)")
    p = sub.add_parser("evaluate", help="validation and test accuracy of a checkpoint")
    _common(p, output=False)
    p.add_argument("checkpoint", type=Path, help="a checkpoint written by lit (best.pt / last.pt)")
    p.add_argument("--model", help="model name (default: the one stored in the checkpoint)")
    return parser


def resolve_config(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Preset < --config < explicit flags < --set; validated."""
    cfg, source = load_preset(args.preset)
    if args.config is not None:
        cfg, source = merge(cfg, load_toml(args.config)), f"{source} + {args.config}"
    flags = {"data.name": args.data, "data.data_dir": args.data_dir, "models.teacher": args.teacher,
             "models.student": args.student, "train.device": args.device}
    for key, value in flags.items():
        if value is not None:
            cfg = merge(cfg, _nested(key, value))
    for assignment in args.overrides:
        cfg = apply_override(cfg, assignment)
    return validate_config(cfg), source


def _nested(dotted: str, value: Any) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    return {head: _nested(rest, value) if rest else value}


# --------------------------------------------------------------------------- set-up


def _prepare(
    args: argparse.Namespace, label: str, check: Callable[[Context], Any] | None = None
) -> Context:
    """Resolve and validate the config, load the data, ``check``, then claim the run directory."""
    cfg, source = resolve_config(args)
    jobs = ["teacher", *(k for k, v in cfg.get("train", {}).items() if isinstance(v, dict))]
    for job in jobs:  # every job's settings are checked before anything is written
        job_config(cfg, job)
    d = cfg.get("data", {})
    name_given = args.run_name is not None
    if name_given:
        _check_run_dir(args, args.out / args.run_name)
    info = init_distributed()
    if info.enabled and not name_given:
        raise ValueError("under torchrun pass --run-name, so every process writes the same run")
    barrier()  # every rank has checked the run directory before rank 0 creates it
    device = resolve_device(job_config(cfg, "teacher").device)
    data = load_data(d.get("name", "auto"), d.get("data_dir") or None,
                     val_fraction=d.get("val_fraction", 0.1), seed=d.get("seed", 0),
                     limit=d.get("limit"), test_limit=d.get("test_limit"), quiet=not info.is_main)
    name = args.run_name or f"{args.preset}-{data.name}-{label}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = args.out / name
    if not name_given:
        _check_run_dir(args, run_dir)
    ctx = Context(cfg, args.preset, data, device, run_dir, args)
    if check is not None:
        ctx.checked = check(ctx)
    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_atomic_json(run_dir / "config.json", {"preset": args.preset, "source": source,
                                                   "config": cfg, "argv": sys.argv[1:]})
    ctx.say(f"preset {args.preset} ({cfg.get('description', source)})")
    ctx.say(f"data: {data.describe()}")
    world = f", {info.world_size} processes" if info.enabled else ""
    ctx.say(f"device: {device}{world}; run directory: {run_dir}")
    return ctx


def _check_run_dir(args: argparse.Namespace, run_dir: Path) -> None:
    if run_dir.exists() and any(run_dir.iterdir()) and not (args.overwrite or args.resume):
        raise FileExistsError(
            f"run directory {run_dir} already exists; pass --overwrite to replace it or --resume "
            "to continue it (or choose another --run-name)"
        )
    if args.resume and not run_dir.is_dir():
        raise FileNotFoundError(f"cannot resume: no run directory {run_dir}")


def save_atomic_json(path: Path, obj: Any) -> None:
    """Write JSON via a temp file and rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _loaders(ctx: Context, batch_size: int, seed: int) -> tuple[BatchLoader, BatchLoader, BatchLoader]:
    info = dist_info()
    if batch_size % info.world_size:
        raise ValueError(f"batch_size {batch_size} is not divisible by the {info.world_size} processes")
    eval_bs = int(ctx.cfg.get("data", {}).get("eval_batch_size", 500))
    kw = {"device": ctx.device, "rank": info.rank, "world_size": info.world_size}
    train = BatchLoader(ctx.data.train, batch_size // info.world_size, shuffle=True,
                        augment=ctx.data.augment, seed=seed, **kw)
    val = BatchLoader(ctx.data.val, eval_bs, shuffle=False, pad_shards=False, **kw)
    test = BatchLoader(ctx.data.test, eval_bs, shuffle=False, pad_shards=False, **kw)
    return train, val, test


@dataclass(frozen=True)
class ModelSpec:
    """A model to build: registered name and keyword arguments."""

    name: str
    kwargs: dict[str, Any]

    def build(self, seed: int) -> nn.Module:
        """A freshly initialised model (seeded)."""
        seed_everything(seed)
        return build_model(self.name, **self.kwargs)


def _spec(ctx: Context, role: str) -> ModelSpec:
    models = ctx.cfg.get("models", {})
    name = models.get(role)
    if not name:
        raise ValueError(f"no {role} model configured; pass --{role} NAME or --set models.{role}=NAME")
    kwargs = {"num_classes": ctx.data.num_classes, "in_chans": ctx.data.in_chans,
              **models.get(f"{role}_kwargs", {})}
    return ModelSpec(name, kwargs)


def _teacher_spec(ctx: Context, ckpt: Path | None) -> ModelSpec:
    """The configured teacher, or the one a checkpoint records (unless --teacher names another)."""
    spec = _spec(ctx, "teacher")
    if ckpt is None:
        return spec
    meta = load_checkpoint(ckpt).get("meta", {})
    if ctx.args.teacher or not meta.get("model"):
        return spec
    return ModelSpec(meta["model"], dict(meta.get("model_kwargs", spec.kwargs)))


def _student_spec(ctx: Context, method: str, teacher: ModelSpec) -> ModelSpec:
    """The student for ``method``: the configured one, or the teacher's architecture (born-again)."""
    return teacher if get_method(method).same_architecture else _spec(ctx, "student")


def _input_shape(ctx: Context) -> tuple[int, int, int]:
    return (ctx.data.in_chans, ctx.data.image_size, ctx.data.image_size)


def _load_teacher_weights(spec: ModelSpec, path: Path) -> nn.Module:
    teacher = spec.build(0)
    try:
        load_model_weights(teacher, path)
    except ValueError as e:
        raise ValueError(f"teacher checkpoint {path} does not fit {spec.name}: {e}") from None
    return teacher


# --------------------------------------------------------------------------- jobs


def _train_job(
    ctx: Context, job: str, method: str, spec: ModelSpec, teacher: nn.Module | None,
    cfg: TrainConfig, index: str,
) -> tuple[nn.Module, SummaryRow]:
    """Train (or, on --resume, reuse) one model in ``run_dir/job``; its summary row."""
    job_dir = ctx.run_dir / job
    model = spec.build(cfg.seed)
    result_path = job_dir / RESULT_FILE
    if ctx.args.resume and result_path.is_file():
        ctx.say(f"{index} {job} ({spec.name}): finished earlier, reusing {job_dir / BEST_CHECKPOINT}")
        load_model_weights(model, job_dir / BEST_CHECKPOINT)
        row = json.loads(result_path.read_text(encoding="utf-8"))["row"]
        return model.to(ctx.device), SummaryRow(**row)
    if ctx.is_main:
        result_path.unlink(missing_ok=True)  # a stale record must never mark this job finished
    resume = ctx.args.resume and (job_dir / "last.pt").is_file()
    ctx.say(f"{index} {job}: {spec.name}, method {method}"
            + (", resuming" if resume else "") + f" -> {job_dir}")
    train, val, test = _loaders(ctx, cfg.batch_size, cfg.seed)
    meta = {"model": spec.name, "model_kwargs": spec.kwargs, "data": ctx.data.name, "job": job}
    result = fit(model, teacher, train, val, method=method, config=cfg, run_dir=job_dir,
                 test_loader=test, resume=resume, overwrite=ctx.args.overwrite or ctx.args.resume,
                 meta=meta)
    prof = profile_model(model, _input_shape(ctx))
    row = SummaryRow(method=job, model=spec.name, depth=prof.depth, params=prof.params,
                     macs=prof.macs, val_acc=result.best_val_acc, test_acc=result.test_acc,
                     wall_time_s=result.wall_time_s, history=result.history)
    if ctx.is_main:
        save_atomic_json(result_path, {"row": {**row.to_dict(), "history": result.history},
                                       "result": result.to_dict(), "config": cfg.to_dict()})
    test_txt = f", test {100 * result.test_acc:.2f}%" if result.test_acc is not None else ""
    ctx.say(f"{index} {job}: val {100 * result.best_val_acc:.2f}%{test_txt} "
            f"in {result.wall_time_s:.0f} s")
    return model, row


def _load_teacher(ctx: Context, spec: ModelSpec, path: Path) -> tuple[nn.Module, SummaryRow]:
    """A trained teacher from a lit checkpoint; its summary row (accuracies re-measured)."""
    teacher = _load_teacher_weights(spec, path).to(ctx.device)
    _, val, test = _loaders(ctx, job_config(ctx.cfg, "teacher").batch_size, 0)
    prof = profile_model(teacher, _input_shape(ctx))
    row = SummaryRow("teacher", spec.name, prof.depth, prof.params, prof.macs,
                     evaluate(teacher, val, ctx.device).accuracy,
                     evaluate(teacher, test, ctx.device).accuracy, 0.0)
    ctx.say(f"teacher {spec.name} from {path}: val {100 * row.val_acc:.2f}%, "
            f"test {100 * row.test_acc:.2f}%")
    return teacher, row


def _preflight(
    ctx: Context, teacher_spec: ModelSpec, methods: Sequence[str], ckpt: Path | None
) -> dict[str, TrainConfig]:
    """Check every job's settings, the teacher checkpoint and the stage alignment, before training."""
    configs = {"teacher": job_config(ctx.cfg, "teacher")}
    for m in methods:
        configs[m] = job_config(ctx.cfg, m)
    teacher = _load_teacher_weights(teacher_spec, ckpt) if ckpt else teacher_spec.build(0)
    teacher = teacher.to(ctx.device)
    x = ctx.data.train.images[:2].to(ctx.device)
    for m in methods:
        method = get_method(m)
        if method.ir_phase:
            student = _student_spec(ctx, m, teacher_spec).build(0).to(ctx.device)
            plan = make_plan(teacher, student, method.ir_at, method.teacher_input)
            check_plan_alignment(teacher, student, plan, x)
    return configs


def _finish(ctx: Context, rows: list[SummaryRow], title: str) -> int:
    if not ctx.is_main:
        return 0
    meta = {"preset": ctx.preset, "data": ctx.data.describe(), "device": str(ctx.device),
            "torch": torch.__version__, "command": "lit " + " ".join(sys.argv[1:])}
    paths = write_report(ctx.run_dir, rows, title=title, meta=meta, overwrite=True)
    print()
    print(format_table(rows))
    print()
    ctx.say(f"wrote {paths['md']}, {paths['json'].name}, {paths['png'].name}")
    return 0


def _methods_arg(ctx: Context, text: str | None) -> list[str]:
    methods = [m.strip() for m in text.split(",")] if text else list(
        ctx.cfg.get("run", {}).get("methods", ["lit", "kd", "scratch"]))
    for m in methods:
        get_method(m)
    return methods


def _compare(args: argparse.Namespace, label: str, methods_text: str | None,
             ckpt: Path | None) -> int:
    """A teacher (trained, or loaded from ``ckpt``), then one student per method; the table."""

    def check(ctx: Context) -> tuple[list[str], ModelSpec, dict[str, TrainConfig]]:
        methods = _methods_arg(ctx, methods_text)
        spec = _teacher_spec(ctx, ckpt)
        return methods, spec, _preflight(ctx, spec, methods, ckpt)

    ctx = _prepare(args, label, check)
    methods, t_spec, configs = ctx.checked
    total = len(methods) + (ckpt is None)
    if ckpt is None:
        teacher, t_row = _train_job(ctx, "teacher", "scratch", t_spec, None, configs["teacher"],
                                    f"[1/{total}]")
    else:
        teacher, t_row = _load_teacher(ctx, t_spec, ckpt)
    rows = [t_row]
    for i, m in enumerate(methods, start=total - len(methods) + 1):
        uses_teacher = get_method(m).needs_teacher
        _, row = _train_job(ctx, m, m, _student_spec(ctx, m, t_spec),
                            teacher if uses_teacher else None, configs[m], f"[{i}/{total}]")
        rows.append(row)
    students = sorted({r.model for r in rows[1:]})
    return _finish(ctx, rows, f"{t_spec.name} -> {', '.join(students)} on {ctx.data.name}")


def cmd_run(args: argparse.Namespace) -> int:
    """The whole story: teacher, then the config's methods (LIT, KD, scratch)."""
    return _compare(args, "run", None, None)


def cmd_compare(args: argparse.Namespace) -> int:
    """Several methods on one teacher (trained, or --teacher-ckpt)."""
    return _compare(args, "compare", args.methods, args.teacher_ckpt)


def cmd_compress(args: argparse.Namespace) -> int:
    """One student with one method; a teacher checkpoint when the method needs a teacher."""
    if not get_method(args.method).needs_teacher:
        return _student_only(args)
    if args.teacher_ckpt is None:
        raise ValueError(f"method {args.method!r} needs --teacher-ckpt PATH "
                         "(e.g. results/<run>/teacher/best.pt from `lit train-teacher`)")
    return _compare(args, args.method, args.method, args.teacher_ckpt)


def _student_only(args: argparse.Namespace) -> int:
    """``compress --method scratch``: no teacher involved."""
    ctx = _prepare(args, args.method)
    cfg = job_config(ctx.cfg, args.method)
    _, row = _train_job(ctx, args.method, args.method, _spec(ctx, "student"), None, cfg, "[1/1]")
    return _finish(ctx, [row], f"{args.method}: {row.model} on {ctx.data.name}")


def cmd_train_teacher(args: argparse.Namespace) -> int:
    """Train the teacher only."""
    ctx = _prepare(args, "teacher")
    cfg = job_config(ctx.cfg, "teacher")
    _, row = _train_job(ctx, "teacher", "scratch", _spec(ctx, "teacher"), None, cfg, "[1/1]")
    ctx.say(f"teacher checkpoint: {ctx.run_dir / 'teacher' / BEST_CHECKPOINT}")
    return _finish(ctx, [row], f"teacher {row.model} on {ctx.data.name}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print validation and test accuracy of a checkpoint on the configured data."""
    cfg, _ = resolve_config(args)
    d = cfg.get("data", {})
    data = load_data(d.get("name", "auto"), d.get("data_dir") or None,
                     val_fraction=d.get("val_fraction", 0.1), seed=d.get("seed", 0),
                     limit=d.get("limit"), test_limit=d.get("test_limit"))
    ckpt = load_checkpoint(args.checkpoint)
    meta = ckpt.get("meta", {})
    name = args.model or meta.get("model")
    if not name:
        raise ValueError(f"{args.checkpoint} does not record its model; pass --model NAME")
    kwargs = {"num_classes": data.num_classes, "in_chans": data.in_chans,
              **meta.get("model_kwargs", {})}
    model = build_model(name, **kwargs)
    load_model_weights(model, args.checkpoint)
    device = resolve_device(job_config(cfg, "teacher").device)
    model = model.to(device)
    val, test = (BatchLoader(ds, int(d.get("eval_batch_size", 500)), shuffle=False, device=device)
                 for ds in (data.val, data.test))
    v, t = evaluate(model, val, device), evaluate(model, test, device)
    prof = profile_model(model, (data.in_chans, data.image_size, data.image_size))
    print(f"lit: {name} from {args.checkpoint} on {data.describe()}")
    print(f"lit: val {100 * v.accuracy:.2f}% ({v.count}), test {100 * t.accuracy:.2f}% ({t.count}); "
          f"{prof.params / 1e6:.3f} M params, {prof.macs / 1e6:.2f} M MACs, depth {prof.depth}")
    return 0


_COMMANDS = {"run": cmd_run, "train-teacher": cmd_train_teacher, "compress": cmd_compress,
             "compare": cmd_compare, "evaluate": cmd_evaluate}


class _StdoutHandler(logging.Handler):
    """Progress lines (the trainer's per-epoch log) to whatever ``sys.stdout`` is now."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), flush=True)


def _setup_logging() -> None:
    logger = logging.getLogger("lit_core")
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("lit:   %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lit`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _setup_logging()
    try:
        args = build_parser().parse_args(argv)
        if args.list_presets:
            print("\n".join(list_presets()))
            return 0
        if args.command is None:
            raise CLIError("a command is required: run, train-teacher, compress, compare or "
                           "evaluate (see `lit --help`)")
        return _COMMANDS[args.command](args)
    except (CLIError, *_USER_ERRORS) as e:
        if os.environ.get("LIT_DEBUG"):
            raise
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"lit: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lit: interrupted; continue with --resume --run-name <the run>", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
