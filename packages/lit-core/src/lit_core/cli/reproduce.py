"""The stale-result check: rerun a short reference run and compare it with the stored numbers.

``results/reference/reference.json`` holds a ``lit`` command (a short, seeded CPU run on
scikit-learn digits), the numbers it produced and where (commit, date, torch, CPU, threads).
``python -m lit_core.cli.reproduce`` (``nox -s reproduce``) reruns the command at HEAD with
one thread and fails, naming every number that moved, when they differ by more than the
stored tolerance (0: runs are bit-deterministic on one machine, see tests/core/test_determinism.py).
A change that alters training behaviour regenerates the reference in the same commit
(``--update``), together with any committed results it makes stale.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from ..io.atomic import write_json_atomic

__all__ = ["compare_numbers", "main", "reference_problems", "run_reference"]

_NUMBERS = ("val_acc", "test_acc")  # what the reference stores per model

DEFAULT_REFERENCE = Path("results/reference/reference.json")
COMMAND = [
    "run", "--preset", "cpu", "--data", "digits",
    "--set", "models.teacher=resnet14", "--set", "models.student=resnet8",
    "--set", "train.teacher.epochs=3", "--set", "train.lit.ir_epochs=2",
    "--set", "train.lit.epochs=1", "--set", "train.kd.epochs=3", "--set", "train.scratch.epochs=3",
    "--device", "cpu",
]


def _environment() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return {"commit": commit + ("+dirty" if dirty else ""), "torch": torch.__version__,
            "python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def run_reference(command: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Run ``lit <command>`` in this process with one thread; accuracies by method."""
    from lit_core.cli.main import main as lit_main

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="lit-reference-") as tmp:
        status = lit_main([*command, "--out", tmp, "--run-name", "reference"])
        if status != 0:
            raise RuntimeError(f"the reference command failed (exit {status}): lit {' '.join(command)}")
        summary = json.loads((Path(tmp) / "reference" / "summary.json").read_text(encoding="utf-8"))
    return {r["method"]: {"val_acc": r["val_acc"], "test_acc": r["test_acc"]} for r in summary["rows"]}


def reference_problems(ref: Any) -> list[str]:
    """What makes a stored reference unable to fail (or to run): a tolerance that is not a finite
    number >= 0 (NaN passes every comparison), no models, or a model without both accuracies."""
    if not isinstance(ref, dict):
        return ["the reference is not a JSON object"]
    problems = []
    tol = ref.get("tolerance", 0.0)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol) or tol < 0:
        problems.append(f"tolerance {tol!r} is not a finite number >= 0")
    command = ref.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        problems.append("command is not a non-empty list of arguments")
    numbers = ref.get("numbers")
    if not isinstance(numbers, dict) or not numbers:
        problems.append("numbers holds no model")
        return problems
    for method, entry in numbers.items():
        missing = [k for k in _NUMBERS if not isinstance(entry, dict) or k not in entry]
        if missing:
            problems.append(f"{method} lacks {', '.join(missing)}")
            continue
        bad = [k for k in _NUMBERS if entry[k] is not None and (
            isinstance(entry[k], bool) or not isinstance(entry[k], (int, float))
            or not math.isfinite(entry[k]))]
        if bad:
            problems.append(f"{method} {', '.join(bad)} not a finite number")
    return problems


def compare_numbers(
    stored: dict[str, dict[str, float | None]], fresh: dict[str, dict[str, float | None]],
    tolerance: float = 0.0,
) -> list[str]:
    """One line per number that differs by more than ``tolerance`` (or is missing)."""
    problems = []
    for method in sorted(set(stored) | set(fresh)):
        if method not in fresh or method not in stored:
            where = "the fresh run" if method not in fresh else "the reference"
            problems.append(f"{method}: missing from {where}")
            continue
        for key, want in stored[method].items():
            got = fresh[method].get(key)
            if (want is None) != (got is None) or (  # "not <=": a NaN is a difference
                want is not None and not abs(float(got) - float(want)) <= tolerance
            ):
                problems.append(f"{method} {key}: reference {want}, now {got}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Compare (default) or ``--update`` the stored reference; exit status 1 when stale."""
    ap = argparse.ArgumentParser(prog="python -m lit_core.cli.reproduce", description=__doc__)
    ap.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    ap.add_argument("--update", action="store_true", help="rerun and store the new numbers")
    args = ap.parse_args(argv)
    if args.update:
        command = COMMAND
        if args.reference.is_file():
            command = json.loads(args.reference.read_text(encoding="utf-8"))["command"]
        numbers = run_reference(command)
        write_json_atomic(args.reference, {"command": list(command), "tolerance": 0.0,
                                           "numbers": numbers, "made_with": _environment()})
        print(f"reproduce: stored {args.reference} ({len(numbers)} models)")
        return 0
    if not args.reference.is_file():
        print(f"reproduce: no reference at {args.reference}; create one with --update",
              file=sys.stderr)
        return 2
    try:
        ref = json.loads(args.reference.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        ref = f"not JSON ({e})"
    problems = [ref] if isinstance(ref, str) else reference_problems(ref)
    if problems:  # found before the (long) reference run
        print(f"reproduce: error: {args.reference}: {'; '.join(problems)}; fix it or regenerate it "
              "with --update", file=sys.stderr)
        return 2
    fresh = run_reference(ref["command"])
    problems = compare_numbers(ref["numbers"], fresh, float(ref.get("tolerance", 0.0)))
    here = _environment()
    if problems:
        made = ref.get("made_with", {})
        print(f"reproduce: the reference run no longer reproduces at {here['commit']}:",
              file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        print(f"  reference made at {made.get('commit')} on {made.get('date')} (torch "
              f"{made.get('torch')}, {made.get('cpu')}); here torch {here['torch']}, {here['cpu']}.\n"
              "  If this change meant to alter training, regenerate the reference and every "
              "results folder it makes stale in the same commit: python -m "
              "lit_core.cli.reproduce --update", file=sys.stderr)
        return 1
    print(f"reproduce: the reference run reproduces at {here['commit']} "
          f"({sum(len(v) for v in fresh.values())} numbers identical within {ref.get('tolerance', 0.0)})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
