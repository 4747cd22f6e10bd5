"""``python -m lit_bench``: does depth compression pay? Latency/throughput of LIT students vs pruned teachers."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import shlex
import sys
from pathlib import Path

import torch

from .backends import list_backends
from .bench import DTYPES, BenchConfig, run_bench
from .catalog import DEFAULT_MODELS, EXTRA_VARIANTS, VARIANTS, build_candidates, read_state_dict
from .report import REPORT_FILES, write_report
from .timing import environment

__all__ = ["build_parser", "main"]

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block): what is wrong and where to look."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _csv(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def _ints(text: str) -> tuple[int, ...]:
    values = tuple(_positive(p) for p in _csv(text))
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values


def _checkpoint(text: str) -> tuple[str, str]:
    key, sep, path = text.partition("=")
    if not sep or not key or not path:
        raise argparse.ArgumentTypeError(f"expected MODEL=PATH or MODEL/VARIANT=PATH, got {text!r}")
    return key.strip(), path.strip()


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (every choice documented in --help)."""
    gpu, full, cpu = (BenchConfig.defaults_for("cuda"), BenchConfig.defaults_for("cuda", full=True),
                      BenchConfig.defaults_for("cpu"))
    p = _Parser(
        prog="python -m lit_bench",
        description=(
            "Time LIT students (resnet20/32/56) against their teachers (resnet56/110) and the "
            "teachers' pruned baselines, in several inference backends. Every backend's output is "
            "checked against eager fp32 before it is timed; failures and skips are reported, "
            "never fatal. Writes results.json, report.md and PNG plots to --out."
        ),
        epilog=(
            f"Defaults with a GPU (the quick plan, <= 10 min on one H100/H200): models "
            f"{','.join(gpu.models)}, variants {','.join(gpu.variants)}; backends {','.join(gpu.backends)} "
            f"(compile in bf16 with mode reduce-overhead, ORT in fp16, the others in fp32,bf16); "
            f"batches {','.join(map(str, gpu.batch_sizes))}; {gpu.runs} batch-1 runs. --full: models "
            f"{','.join(full.models)}, variants {','.join(full.variants)}, dtypes {','.join(full.dtypes)}, "
            f"batches {','.join(map(str, full.batch_sizes))}, compile with max-autotune. Without a GPU "
            f"(small CPU setting): backends {','.join(cpu.backends)}; dtypes fp32; batches "
            f"{','.join(map(str, cpu.batch_sizes))}; {cpu.runs} runs; {cpu.threads} thread. "
            "Exit status 2, with one error line and nothing written, for a bad argument or a "
            "--checkpoint file that is not a checkpoint; exit status 2 with the report written when "
            "a requested model, variant, backend, dtype or checkpoint was unusable. Try a GPU run's "
            "plan first: --dry-run --device cuda (works without a GPU, in seconds; prints the "
            "estimated minutes)."
        ),
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where to run (auto: cuda if available, else cpu)")
    p.add_argument("--run", type=Path, default=None, metavar="DIR",
                   help="a lit run directory (lit run/compare/sweep, with or without --seeds): bench its "
                        "teacher and students with the test accuracies the run measured (a seeds run: mean ± "
                        "std per method), plus the teacher's pruned baselines fine-tuned on the run's data "
                        "(--finetune-epochs); replaces --models and --checkpoint")
    p.add_argument("--finetune-epochs", type=int, default=2, metavar="N",
                   help="with --run: epochs of cross-entropy fine-tuning for each pruned baseline on the run's "
                        "training split (default 2; 0: not fine-tuned)")
    p.add_argument("--finetune-lr", type=float, default=0.01, metavar="LR",
                   help="with --run: the fine-tuning learning rate (SGD, momentum 0.9, batch 64; default 0.01)")
    p.add_argument("--full", action="store_true",
                   help="on a GPU: the whole matrix (every model, variant, backend, dtype; batches "
                        f"{','.join(map(str, full.batch_sizes))}) instead of the quick plan; prints its "
                        "estimate first (hours)")
    p.add_argument("--models", type=_csv, default=None,
                   help=f"comma-separated lit-models names (default {','.join(DEFAULT_MODELS)}; GPU quick plan "
                        f"{','.join(gpu.models)}); resnet110/resnet56 are teachers, the others students")
    p.add_argument("--variants", type=_csv, default=None,
                   help=f"comma-separated, from {','.join(VARIANTS + EXTRA_VARIANTS)} (default: all but "
                        "depgraph-matched; with --run: dense,unstructured,depgraph,depgraph-matched, plus "
                        "l1-A,l1-B for resnet56/110 teachers): dense = as built; "
                        "unstructured = Han et al. magnitude pruning to the --unstructured-target's "
                        "parameter count; l1-A/l1-B = Li et al. 2017 ResNet-56/110-A/B filter pruning; "
                        "depgraph[-r8] = Torch-Pruning DepGraph, ~2x fewer MACs[, channels multiple of 8]; "
                        "depgraph-matched = DepGraph down to the student's MACs. "
                        "Pruned variants apply to the teachers; GPU quick plan: "
                        f"{','.join(gpu.variants)}")
    p.add_argument("--backends", type=_csv, default=None,
                   help=f"comma-separated, from {','.join(list_backends())} (default: all on GPU, "
                        f"{','.join(cpu.backends)} on CPU)")
    p.add_argument("--dtypes", type=_csv, default=None,
                   help=f"comma-separated, from {','.join(DTYPES)} (default fp32,bf16,fp16 on GPU, fp32 on CPU)")
    p.add_argument("--batch-sizes", type=_ints, default=None,
                   help="comma-separated batch sizes; batch 1 gives latency percentiles, all give "
                        "throughput (default 1,64,256,1024,4096 on GPU, 1,16,64 on CPU)")
    p.add_argument("--runs", type=_positive, default=None,
                   help=f"timed batch-1 calls per candidate (default {gpu.runs} GPU, {cpu.runs} CPU); "
                        "p99 is reported from 1000 on")
    p.add_argument("--throughput-runs", type=_positive, default=None,
                   help="timed calls per candidate at larger batches (default 20 GPU, 10 CPU)")
    p.add_argument("--repeats", type=_positive, default=None,
                   help="groups each row's timed calls are split into for spread_pct / noisy (default 5)")
    p.add_argument("--warmup", type=_positive, default=None, help="untimed calls per candidate first (default 20 GPU, 5 CPU)")
    p.add_argument("--threads", type=_positive, default=None,
                   help="CPU threads for PyTorch and ONNX Runtime (default 1 on CPU)")
    p.add_argument("--checkpoint", type=_checkpoint, action="append", default=[], metavar="MODEL[/VARIANT]=PATH",
                   help="lit-core checkpoint (or state dict) for a model, e.g. resnet110=runs/t/best.pt, "
                        "or for a fine-tuned pruned variant, e.g. resnet110/l1-B=runs/ft/best.pt; "
                        "rows with weights get test accuracy (repeatable)")
    p.add_argument("--data", default="auto", help="lit-core data set for accuracy (default auto)")
    p.add_argument("--data-dir", default=None, help="where that data set lives")
    p.add_argument("--seq-len", type=int, default=None, metavar="N",
                   help="characters per sequence for text models (vdcnn9/17/29/49; default 256)")
    p.add_argument("--unstructured-target", default="resnet20",
                   help="student whose parameter count unstructured pruning targets (default resnet20)")
    p.add_argument("--out", type=Path, default=None,
                   help="output directory (default results/bench-<device>-<UTC time>); refuses to "
                        "overwrite an existing report")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report in --out")
    p.add_argument("--list", action="store_true", help="list models, variants, backends and dtypes, then exit")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (rows, compiles, exports, engine builds, calls) and, for --device "
                        "cuda, its estimated minutes on one H100/H200, then exit; builds nothing expensive "
                        "(seconds); works with --device cuda on a machine without a GPU")
    p.add_argument("--check", action="store_true",
                   help="with --dry-run: also build every candidate (pruning included), export to ONNX and "
                        "trace for torch.compile on the CPU (minutes)")
    return p


def _config(args: argparse.Namespace, device: str) -> BenchConfig:
    if args.check and not args.dry_run:
        raise ValueError("--check goes with --dry-run (it checks exports and traces instead of timing)")
    if args.full and device != "cuda":
        raise ValueError("--full is the GPU matrix (--device cuda); on the CPU choose --models, --variants, "
                         "--backends and --batch-sizes instead")
    cfg = BenchConfig.defaults_for(device, full=args.full)
    cfg.models, cfg.variants = args.models or cfg.models, args.variants or cfg.variants
    if args.dtypes is not None:
        cfg.backend_dtypes = {}  # the dtypes asked for, for every backend
    if args.models is not None or args.variants is not None:
        cfg.backend_models = {}  # the models asked for, in every backend
    for name in ("backends", "dtypes", "batch_sizes", "runs", "throughput_runs", "repeats", "warmup", "threads"):
        value = getattr(args, name)
        if value is not None:
            setattr(cfg, name, value)
    cfg.checkpoints = dict(args.checkpoint)
    cfg.unstructured_target = args.unstructured_target
    if args.seq_len is not None:
        if args.seq_len < 64:
            raise ValueError(f"--seq-len must be >= 64 (VDCNN: 8x down-sampling, then k-max k=8); got {args.seq_len}")
        cfg.spec = dataclasses.replace(cfg.spec, seq_len=args.seq_len)
    return cfg


def _list() -> int:
    try:
        from lit_models import list_models

        models = ", ".join(list_models("resnet*"))
    except ImportError:
        models = "(lit-models not installed)"
    print(f"models: {models}\nvariants: {', '.join(VARIANTS)}\nbackends: {', '.join(list_backends())}\n"
          f"dtypes: {', '.join(DTYPES)}")
    return 0


def _bad_input(rows: list[dict]) -> list[dict]:
    """Rows skipped because of something the user asked for (unknown name, unusable checkpoint)."""
    return [r for r in rows if r["status"] == "skipped"
            and (str(r["reason"]).startswith("unknown") or "checkpoint" in str(r["reason"]))]


def _resolve_device(name: str, dry_run: bool) -> str:
    """cpu or cuda, through lit-core's device resolution; raises ValueError for an unusable choice."""
    try:
        from lit_core import resolve_device
    except ImportError as exc:
        raise ValueError("lit-bench needs lit-core: pip install packages/lit-core") from exc
    device = resolve_device(name).type
    if device == "cuda" and not torch.cuda.is_available() and not dry_run:
        raise ValueError("--device cuda but no CUDA GPU is visible; use --device cpu (or --dry-run)")
    return device


def _check_checkpoints(checkpoints: dict[str, str]) -> None:
    """Every --checkpoint file is a readable checkpoint with a state dict (else ValueError, one line)."""
    for key, path in checkpoints.items():
        try:
            read_state_dict(path)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ValueError(f"--checkpoint {key}={path}: {exc}") from None


def _read_run(args: argparse.Namespace):
    """The ``--run`` directory, checked against the flags it replaces (ValueError, one line)."""
    from .litrun import read_run

    if args.models is not None or args.checkpoint:
        raise ValueError("--run takes its models and checkpoints from the run directory; drop --models/--checkpoint")
    if args.finetune_epochs < 0 or not args.finetune_lr > 0:
        raise ValueError(f"--finetune-epochs must be >= 0 and --finetune-lr > 0; got {args.finetune_epochs}, "
                         f"{args.finetune_lr}")
    return read_run(args.run)


def _run_candidates(args: argparse.Namespace, cfg: BenchConfig, run, out: Path, device: str, notes: list[str]):
    """Candidates of a lit run (its models with their accuracies, the teacher's baselines fine-tuned)."""
    from .accuracy import evaluate_candidates, spec_of
    from .litrun import FinetuneBudget, default_variants, load_run_splits, run_candidates

    try:
        splits = load_run_splits(run)
    except Exception as exc:
        raise ValueError(f"--run {run.path}: cannot load the run's data ({str(exc).splitlines()[0]}); "
                         "the bench fine-tunes and tests on it") from None
    seq_len = run.config.get("data", {}).get("seq_len") or cfg.spec.seq_len
    cfg.spec = dataclasses.replace(spec_of(splits), seq_len=int(seq_len))
    cfg.variants = args.variants or default_variants(run)
    budget = FinetuneBudget(epochs=args.finetune_epochs, lr=args.finetune_lr)
    notes.append(f"Models and test accuracies from the lit run {run.path} (teacher {run.teacher.model}; "
                 f"students {', '.join(f'{s.model}/{s.label}' for s in run.students)}); {budget.describe()}; "
                 f"data: {splits.describe()}.")
    print(f"lit-bench: {notes[-1]}")
    candidates, skipped = run_candidates(
        run, tuple(cfg.variants), spec=cfg.spec, splits=None if args.dry_run else splits, budget=budget,
        finetune_dir=out / "finetune", device=device)
    if not args.dry_run:
        evaluate_candidates(candidates, splits)
    return candidates, skipped, splits


def main(argv: list[str] | None = None) -> int:
    """Run the bench from the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.list:
        return _list()
    run = None
    try:
        device = _resolve_device(args.device, args.dry_run)
        cfg = _config(args, device)
        _check_checkpoints(cfg.checkpoints)
        if args.run is not None:
            run = _read_run(args)
    except ValueError as exc:
        print(f"lit-bench: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if cfg.threads:
        torch.set_num_threads(cfg.threads)  # building and pruning the models too, not only timing
    if device == "cuda":
        # fp32 is IEEE fp32 in every library, TensorRT's engine builder included (it has no
        # TF32 switch in ONNX Runtime's options); set before any CUDA library starts.
        os.environ.setdefault("NVIDIA_TF32_OVERRIDE", "0")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("results") / f"bench-{device}-{stamp}"
    existing = [out / f for f in REPORT_FILES if (out / f).exists()]
    if existing and not args.overwrite and not args.dry_run:
        print(f"lit-bench: error: {out} already holds a report; pass --overwrite or another --out", file=sys.stderr)
        return EXIT_BAD_INPUT
    notes = []
    if device == "cpu":
        notes.append(
            f"No GPU used: CPU backends ({', '.join(b for b in cfg.backends if b in list_backends())}) on the small CPU setting "
            f"(batches {','.join(map(str, cfg.batch_sizes))}, {cfg.runs} batch-1 runs, "
            f"{cfg.threads or torch.get_num_threads()} thread(s)). GPU numbers are not in this report."
        )
        print(f"lit-bench: {notes[-1]}")

    splits = None
    if run is not None:
        try:
            candidates, skipped, splits = _run_candidates(args, cfg, run, out, device, notes)
        except ValueError as exc:
            print(f"lit-bench: error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    elif cfg.checkpoints and not args.dry_run:
        from .accuracy import load_test_split, spec_of

        try:
            splits = load_test_split(args.data, args.data_dir)
            cfg.spec = spec_of(splits)
            print(f"lit-bench: accuracy on the test split of {splits.describe()}")
        except Exception as exc:
            print(f"lit-bench: no accuracy: cannot load data set {args.data!r}: {exc}", file=sys.stderr)
            notes.append(f"No accuracy: data set {args.data!r} could not be loaded ({exc}).")
    if args.dry_run and run is None and not args.check:
        from .dryrun import dry_run

        plan = dry_run(cfg)
        return EXIT_BAD_INPUT if plan.problems else 0
    if device == "cuda" and run is None and not args.dry_run:
        from .plan import make_plan, minutes

        estimate = make_plan(cfg).estimate_s()
        print(f"lit-bench: {cfg.plan} plan, estimated {minutes(estimate)} on one H100/H200 "
              "(--dry-run prints its rows)")
    if run is None:
        candidates, skipped = build_candidates(
            cfg.models, cfg.variants, checkpoints=cfg.checkpoints, spec=cfg.spec,
            unstructured_target=cfg.unstructured_target,
        )
    if args.dry_run:
        from .dryrun import dry_run

        plan = dry_run(cfg, candidates, list(skipped))
        return EXIT_BAD_INPUT if plan.problems else 0
    if splits is not None:
        from .accuracy import evaluate_candidates

        evaluate_candidates(candidates, splits)
    if not any(c.trained for c in candidates):
        notes.append("No accuracies: no checkpoint given (random weights, BN statistics calibrated on "
                     "random input); latency does not depend on the weights.")
    rows = run_bench(cfg, candidates=candidates, skipped=skipped)

    env = environment(device)
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m lit_bench " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "device": device,
        "threads": (cfg.threads or torch.get_num_threads()) if device == "cpu" else None,
        **env,
        "notes": notes,
        "config": {k: v for k, v in vars(cfg).items() if k not in ("spec",)} | {"spec": vars(cfg.spec)},
    }
    inputs: dict[str, list[str]] = {}
    for c in candidates:
        shape = f"{tuple(c.input_shape)} {str(c.input_dtype).removeprefix('torch.')}"
        inputs.setdefault(shape, []).append(f"{c.model}/{c.variant}")
    meta["inputs"] = inputs
    if run is not None:
        meta["run"] = str(run.path)
    paths = write_report(out, rows, title="lit-bench report", meta=meta, overwrite=True)
    n_ok = sum(r["status"] == "ok" for r in rows)
    n_bad = len(rows) - n_ok
    print(f"lit-bench: {n_ok} rows timed, {n_bad} failed or skipped; report in {paths['markdown']}")
    bad = _bad_input(rows)
    return EXIT_BAD_INPUT if bad or n_ok == 0 else 0
