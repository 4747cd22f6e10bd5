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
    lit sweep           a grid over config keys (--grid train.beta=0.25,0.75), one shared teacher
    lit search          the paper's tau -> alpha -> beta search on the validation split (Optuna)
    lit prune           students under iterative magnitude pruning with retraining (Fig. 6)

run/compare also take --seeds S1,S2,... (mean ± std, paired LIT-vs-KD test) and --parallel N
(students as N processes, one per GPU). A preset with task = "gan" (gan-cpu) runs StarGAN
generator compression through run / train-teacher.

Configuration: a preset (``--preset``, default ``cpu``), then ``--config FILE.toml``, then
``--set KEY=VALUE`` overrides (dotted keys into the TOML tables, e.g. ``--set train.lit.epochs=3
--set models.student=resnet14 --set data.limit=2000``; the tables: ``lit_core.app.runconfig``). Results go to
``<out>/<run-name>/`` (default ``results/<preset>-<data>-<command>-<time>``), one sub-directory per trained
model plus the summaries; an existing run directory is never replaced without ``--overwrite``
(``--resume`` continues it instead). Errors print one line on stderr and exit with status 2
(``LIT_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from .. import __version__
from ..app.export import EXPORT_FORMATS, export_checkpoint
from ..app.jobs import compare, evaluate_checkpoint, train_student_alone
from ..app.parallel import compare_parallel
from ..app.presets import DEFAULT_PRESET, load_toml, preset_descriptions
from ..app.runconfig import RunConfig, build_run_config, merged_config
from ..app.session import read_stored_config
from ..data import DataError
from ..errors import ConfigError, LitError, RunDirError
from ..io.runlock import check_runs_intact, held_runs, release_run_locks
from ..method.methods import METHODS, get_method
from ..studies import commands as studies
from ..training.distributed import shutdown_distributed
from ..training.loggers import LOGGERS, make_loggers, parse_loggers
from ..training.rundir import check_run_dir, run_dir_path

__all__ = ["build_parser", "main"]

_USER_ERRORS = (LitError, DataError)


class CLIError(LitError):
    """A usage error reported as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise CLIError(f"{message} (see `{self.prog} --help`)")


# --------------------------------------------------------------------------- arguments


def _common(p: argparse.ArgumentParser, output: bool = True) -> None:
    g = p.add_argument_group("configuration")
    g.add_argument("--preset", help=f"preset name (default {DEFAULT_PRESET}; with --resume: the "
                                    "run's stored configuration; see --list-presets)")
    g.add_argument("--config", type=Path, help="TOML file merged over the preset")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. train.lit.epochs=3 (repeatable)")
    g.add_argument("--data", help="data set: auto, fashion-mnist, cifar10, cifar100, digits, npz, "
                                  "folder, fortunes (text), amazon-polarity, amazon-full, csv "
                                  "(= --set data.name=...)")
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
    o.add_argument("--allow-config-change", action="store_true",
                   help="with --resume: accept settings that differ from the run's config.json")
    o.add_argument("--logger", dest="loggers", action="append", default=[], metavar="NAME",
                   help=f"also log every job's epochs to {', '.join(LOGGERS)} (repeatable or a "
                        "comma list; csv writes <job>/metrics.csv, tensorboard <job>/tb/)")


def _parallel(p: argparse.ArgumentParser) -> None:
    p.add_argument("--parallel", type=int, metavar="N",
                   help="train the students as N concurrent processes after the teacher, one per "
                        "visible GPU (round robin); the table as usual")
    p.add_argument("--seeds", metavar="S1,S2,...",
                   help="every method once per seed (one shared teacher): mean ± std and the "
                        "pre-registered paired LIT-vs-KD test (seeds.md/json/png)")


def _study(p: argparse.ArgumentParser, method: bool = True) -> None:
    p.add_argument("--teacher-ckpt", type=Path, help="teacher checkpoint (else a teacher is trained)")
    if method:
        p.add_argument("--method", default="lit", choices=sorted(METHODS), metavar="METHOD",
                       help="the students' method (default lit)")


def build_parser() -> argparse.ArgumentParser:
    """The ``lit`` argument parser."""
    doc = (__doc__ or "").replace("``", "").replace("::", ":")
    parser = _Parser(prog="lit", description=doc.split("\n\n", 1)[0], epilog=doc.split("\n\n", 1)[1],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lit {__version__} (lit-core)")
    parser.add_argument("--list-presets", action="store_true",
                        help="print each preset's name and description, and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    p = sub.add_parser("run", help="teacher, then LIT, KD and scratch students; summary and plot")
    _common(p)
    _parallel(p)
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
    _parallel(p)
    p.add_argument("--teacher-ckpt", type=Path, help="teacher checkpoint (else a teacher is trained)")
    p = sub.add_parser("sweep", help="a grid over config keys, one shared teacher")
    _common(p)
    _study(p)
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...", required=True,
                   help="a swept key and its values, e.g. train.beta=0.25,0.5,0.75 (repeatable)")
    p.add_argument("--test", action="store_true", help="also measure each job on the test split")
    p = sub.add_parser("search", help="the paper's tau -> alpha -> beta search (validation split)")
    _common(p)
    _study(p)
    p.add_argument("--study-name", help="Optuna study name (default: the run name)")
    p.add_argument("--storage", help="Optuna storage: a journal file (default <run>/search.journal) "
                                     "or an RDB URL (postgresql://...) shared by workers")
    p.add_argument("--trials", type=int, help="trials per stage (default 12)")
    p.add_argument("--seed", type=int,
                   help="sampler seed (each trial derives its own from it: workers sharing a "
                        "study with the same --seed draw different trials)")
    p.add_argument("--final-test", action="store_true",
                   help="train the best setting once more and read the test split, once")
    p = sub.add_parser("prune", help="students under iterative magnitude pruning (Fig. 6)")
    _common(p)
    _study(p, method=False)
    p.add_argument("--methods", default="lit,scratch", help="students to prune (default lit,scratch)")
    p.add_argument("--sparsities", default="0.5,0.75,0.9", help="increasing sparsities in (0, 1)")
    p.add_argument("--retrain-epochs", type=int, default=2,
                   help="cross-entropy epochs after each pruning step (same for every student)")
    p = sub.add_parser("evaluate", help="validation and test accuracy of a checkpoint")
    _common(p, output=False)
    p.add_argument("checkpoint", type=Path, help="a checkpoint written by lit (best.pt / last.pt)")
    p.add_argument("--model", help="model name (default: the one stored in the checkpoint)")
    p = sub.add_parser("export", help="a checkpoint as ONNX, torch.export or safetensors, checked "
                                      "against eager before it is written")
    p.add_argument("checkpoint", type=Path, help="a checkpoint written by lit (best.pt / last.pt)")
    p.add_argument("--format", required=True, choices=sorted(EXPORT_FORMATS), metavar="FORMAT",
                   help=f"one of {', '.join(EXPORT_FORMATS)}")
    p.add_argument("--out", type=Path, help="output file (default: the checkpoint with the format's suffix)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    return parser


def _merge(args: argparse.Namespace) -> tuple[dict, str, str]:
    """Preset < --config < explicit flags < --set, merged once: (config dict, preset, source).
    ``--resume`` without ``--preset`` starts from the run's stored configuration; a ``--config``
    file declaring ``task = "gan"`` (and no ``--preset``) stands alone, with no preset under it."""
    flags = {"data.name": args.data, "data.data_dir": args.data_dir, "models.teacher": args.teacher,
             "models.student": args.student, "train.device": args.device}
    preset, base = args.preset or DEFAULT_PRESET, None
    if getattr(args, "resume", False) and args.preset is None and args.run_name:
        stored = read_stored_config(run_dir_path(args.out, args.run_name))
        if stored is not None:
            preset, base = stored.get("preset", preset), stored["config"]
    if args.preset is None and base is None and args.config is not None \
            and load_toml(args.config).get("task") == "gan":
        preset, base = Path(args.config).stem, {}
    merged, source = merged_config(preset, args.config, flags, args.overrides, base=base)
    if merged.get("task") == "gan":
        given = [f"--{k.split('.')[-1]}" for k, v in flags.items() if v is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} do not apply to a GAN task; use --set on its "
                              "tables (data.*, models.*, train.*, eval.*)")
    return merged, preset, source


def resolve_config(args: argparse.Namespace) -> RunConfig:
    """The validated ``RunConfig`` of a classifier command (a GAN task is an error here)."""
    merged, preset, source = _merge(args)
    if merged.get("task") == "gan":
        raise ConfigError(f"preset {preset!r} is a GAN task: use `lit run` or `lit train-teacher` "
                          "with it")
    return build_run_config(merged, preset, source)


def _gan_task(args: argparse.Namespace, command: str) -> RunConfig | int:
    """The run's ``RunConfig``, or, for a ``task = "gan"`` configuration (StarGAN compression),
    the exit status of running it through ``lit_core.gan``."""
    merged, preset, source = _merge(args)
    if merged.get("task") != "gan":
        return build_run_config(merged, preset, source)
    if args.loggers:
        raise ConfigError("--logger applies to classifier runs; a GAN task writes its own "
                          "metrics (drop --logger)")
    from .. import gan

    run_dir = run_dir_path(args.out, args.run_name or preset)
    check_run_dir(run_dir, overwrite=args.overwrite, resume=args.resume)
    if command == "train-teacher":
        path = gan.train_teacher(merged, run_dir, resume=args.resume, overwrite=args.overwrite)
        print(f"lit: teacher written to {path}")
    else:
        gan.run(merged, run_dir, resume=args.resume, overwrite=args.overwrite)
    return 0


def _session_kw(args: argparse.Namespace, label: str) -> dict:
    """The ``open_session`` keywords of a command, checked before anything is created."""
    loggers = parse_loggers(args.loggers)
    make_loggers(loggers, args.out)  # imports each tracker's package now (writes nothing)
    if args.run_name is not None and len(os.fsencode(args.run_name)) > 255:
        raise ConfigError(f"--run-name is {len(os.fsencode(args.run_name))} bytes long; a file "
                          "name may have at most 255")
    return {"out": args.out, "run_name": args.run_name, "label": label, "resume": args.resume,
            "overwrite": args.overwrite, "allow_config_change": args.allow_config_change,
            "command": "lit " + " ".join(sys.argv[1:]), "loggers": loggers}


def _methods(cfg: RunConfig, text: str | None) -> list[str]:
    methods = [m.strip() for m in text.split(",") if m.strip()] if text else list(cfg.methods)
    if not methods:
        raise ConfigError("--methods needs at least one method, e.g. --methods lit,kd")
    for m in methods:
        get_method(m)
    return methods


def _compare(args: argparse.Namespace, cfg: RunConfig, methods: list[str], label: str) -> int:
    ckpt = getattr(args, "teacher_ckpt", None)
    teacher_given = args.teacher is not None
    kw = _session_kw(args, label)
    if args.seeds is not None:
        if args.parallel is not None:
            raise ConfigError("--seeds runs its jobs one after another; drop --parallel")
        seeds = studies.parse_seeds(args.seeds)
        return studies.run_seeds_cmd(cfg, methods, seeds, ckpt=ckpt, teacher_given=teacher_given,
                                     **kw)
    if args.parallel is not None:
        kw.pop("label")
        return compare_parallel(cfg, methods, parallel=args.parallel, ckpt=ckpt,
                                teacher_given=teacher_given, **kw)
    return compare(cfg, methods, ckpt=ckpt, teacher_given=teacher_given, **kw)


def cmd_run(args: argparse.Namespace) -> int:
    """The whole story: teacher, then the config's methods (LIT, KD, scratch); for a GAN task,
    the StarGAN compression run (Table 3, Fig. 5)."""
    cfg = _gan_task(args, "run")
    if not isinstance(cfg, RunConfig):
        return cfg
    return _compare(args, cfg, list(cfg.methods), "run")


def cmd_compare(args: argparse.Namespace) -> int:
    """Several methods on one teacher (trained, or --teacher-ckpt)."""
    cfg = resolve_config(args)
    return _compare(args, cfg, _methods(cfg, args.methods), "compare")


def cmd_compress(args: argparse.Namespace) -> int:
    """One student with one method; a teacher checkpoint when the method needs a teacher."""
    cfg = resolve_config(args)
    if not get_method(args.method).needs_teacher:
        return train_student_alone(cfg, args.method, **_session_kw(args, args.method))
    if args.teacher_ckpt is None:
        raise ConfigError(f"method {args.method!r} needs --teacher-ckpt PATH "
                          "(e.g. results/<run>/teacher/best.pt from `lit train-teacher`)")
    return compare(cfg, [args.method], ckpt=args.teacher_ckpt,
                   teacher_given=args.teacher is not None, **_session_kw(args, args.method))


def _study_kw(args: argparse.Namespace, label: str) -> dict:
    return {**_session_kw(args, label), "ckpt": args.teacher_ckpt,
            "teacher_given": args.teacher is not None}


def cmd_sweep(args: argparse.Namespace) -> int:
    """A grid over config keys with one shared teacher (Figs. 2, 7, 8 analogues)."""
    cfg = resolve_config(args)
    return studies.run_sweep_cmd(cfg, args.method, studies.parse_grid(args.grid), test=args.test,
                                 **_study_kw(args, "sweep"))


def cmd_search(args: argparse.Namespace) -> int:
    """The paper's τ → α → β search on the validation split (Optuna)."""
    cfg = resolve_config(args)
    return studies.run_search_cmd(cfg, args.method, study_name=args.study_name,
                                  storage=args.storage, trials=args.trials, seed=args.seed,
                                  final_test=args.final_test, **_study_kw(args, "search"))


def cmd_prune(args: argparse.Namespace) -> int:
    """Students of several methods under iterative magnitude pruning (Fig. 6)."""
    cfg = resolve_config(args)
    return studies.run_prune(cfg, _methods(cfg, args.methods),
                             studies.parse_list(args.sparsities, float, "--sparsities"),
                             retrain_epochs=args.retrain_epochs, **_study_kw(args, "prune"))


def cmd_train_teacher(args: argparse.Namespace) -> int:
    """Train the teacher only."""
    cfg = _gan_task(args, "train-teacher")
    if not isinstance(cfg, RunConfig):
        return cfg
    return compare(cfg, [], **_session_kw(args, "teacher"))


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print validation and test accuracy of a checkpoint on the configured data."""
    evaluate_checkpoint(resolve_config(args), args.checkpoint, args.model)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a checkpoint (checked against eager, written atomically)."""
    path = export_checkpoint(args.checkpoint, args.format, args.out, overwrite=args.overwrite)
    print(f"lit: wrote {path} ({args.format}, checked against eager on two batches)")
    return 0


_COMMANDS = {"export": cmd_export, "run": cmd_run, "train-teacher": cmd_train_teacher, "compress": cmd_compress,
             "compare": cmd_compare, "evaluate": cmd_evaluate, "sweep": cmd_sweep,
             "search": cmd_search, "prune": cmd_prune}


class _StdoutHandler(logging.Handler):
    """Progress lines (the trainer's per-epoch log) to whatever ``sys.stdout`` is now."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), flush=True)


def _setup_logging() -> Callable[[], None]:
    """Print lit_core's log lines on stdout for this command; returns the undo, so a library
    caller's later ``fit(quiet=True)`` in the same process prints nothing."""
    logger = logging.getLogger("lit_core")
    level, added = logger.level, None
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        added = _StdoutHandler()
        added.setFormatter(logging.Formatter("lit:   %(message)s"))
        logger.addHandler(added)
    logger.setLevel(logging.INFO)

    def undo() -> None:
        if added is not None:
            logger.removeHandler(added)
        logger.setLevel(level)

    return undo


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that runs stop the same way (and say how to resume)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _catch_sigterm():
    """Turn SIGTERM into ``_Terminated`` (main thread only); return the handler it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def _resume_hint(args: argparse.Namespace | None, before: frozenset[Path]) -> str:
    """How to continue an interrupted command: its run's own ``--out`` and ``--run-name`` (a
    generated name read from the run it holds), or that it stopped before claiming one."""
    runs = sorted(held_runs() - before)
    if args is None or not runs:
        return "stopped before the run directory was claimed (nothing written): run the command again"
    name = getattr(args, "run_name", None) or runs[0].name
    return (f"continue with the same command and --resume --out {shlex.quote(str(args.out))} "
            f"--run-name {shlex.quote(name)}")


def _error(e: Exception) -> int:
    """Report a user error as one line on stderr; the exit status 2."""
    message = " ".join(str(e).split()) or type(e).__name__
    print(f"lit: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lit`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    undo_logging = _setup_logging()
    previous = _catch_sigterm()
    before = held_runs()  # runs a library caller of this process holds are not this command's
    args = None
    try:
        args = build_parser().parse_args(argv)
        if args.list_presets:
            presets = preset_descriptions()
            width = max(map(len, presets), default=0)
            print("\n".join(f"{n.ljust(width)}  {d}" for n, d in presets.items()))
            return 0
        if args.command is None:
            raise CLIError("a command is required: run, train-teacher, compress, compare or "
                           "evaluate (see `lit --help`)")
        if getattr(args, "run_name", None) is not None:  # before anything reads or writes there
            run_dir_path(args.out, args.run_name)
        status = _COMMANDS[args.command](args)
        check_runs_intact(skip=before)  # a run directory deleted mid-run is a failure, not exit 0
        return status
    except (CLIError, *_USER_ERRORS) as e:
        if os.environ.get("LIT_DEBUG"):
            raise
        return _error(e)
    except OSError:  # a write into a run directory deleted under it: say that, not a traceback
        try:
            check_runs_intact(skip=before)
        except RunDirError as gone:
            return _error(gone)
        raise
    except _Terminated:
        print(f"lit: terminated (SIGTERM); {_resume_hint(args, before)}", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"lit: interrupted; {_resume_hint(args, before)}", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        release_run_locks()
        shutdown_distributed()
        undo_logging()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
