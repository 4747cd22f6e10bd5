"""Exactly one working ONNX Runtime in an environment: ``python -m lit_bench.ort_install --want PKG``.

``onnxruntime`` and ``onnxruntime-gpu`` install the same ``onnxruntime/`` files. With both
installed, uninstalling one deletes files the other still lists, which leaves a package that
imports but is empty (``AttributeError`` on first use) while pip counts it as installed. The
bench session (``nox -s bench``) installs the right one through ``lit-bench[ort]`` or
``lit-bench[gpu]`` and then runs this module, which removes the other and force-reinstalls the
wanted one if both are present, then checks the result. Running it again changes nothing.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import subprocess
import sys
from collections.abc import Iterable

__all__ = ["ORT_PACKAGES", "installed_ort", "main", "repair_steps"]

ORT_PACKAGES = ("onnxruntime", "onnxruntime-gpu")


def installed_ort(path: Iterable[str] | None = None) -> set[str]:
    """Which ONNX Runtime distributions are installed (on ``path``, default ``sys.path``)."""
    found = set()
    for dist in md.distributions(path=list(path) if path is not None else sys.path):
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name in ORT_PACKAGES:
            found.add(name)
    return found


def repair_steps(want: str, installed: set[str]) -> list[list[str]]:
    """pip argument lists that leave only ``want`` installed, with all its files."""
    if want not in ORT_PACKAGES:
        raise ValueError(f"unknown ONNX Runtime package {want!r}; valid: {', '.join(ORT_PACKAGES)}")
    others = sorted(installed - {want})
    steps = []
    if others:
        steps.append(["uninstall", "-y", *others])
    if others or want not in installed:
        # the uninstall deleted shared files of `want`: put them back
        steps.append(["install", "--force-reinstall", "--no-deps", want])
    return steps


def _check(want: str) -> str | None:
    code = ("from lit_bench.backends.onnxrt import onnxruntime_problem as p; import sys; "
            "m = p(); print(m or ''); sys.exit(1 if m else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return None if out.returncode == 0 else (out.stdout.strip() or out.stderr.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Repair and check the environment's ONNX Runtime; exit status 1 if it stays broken."""
    parser = argparse.ArgumentParser(prog="python -m lit_bench.ort_install", description=__doc__.splitlines()[0])
    parser.add_argument("--want", choices=ORT_PACKAGES, required=True)
    parser.add_argument("--print-only", action="store_true", help="print the pip steps, run nothing")
    args = parser.parse_args(argv)
    steps = repair_steps(args.want, installed_ort())
    for step in steps:
        print("lit-bench: pip " + " ".join(step))
        if not args.print_only:
            subprocess.run([sys.executable, "-m", "pip", *step], check=True)
    if args.print_only:
        return 0
    problem = _check(args.want)
    if problem:
        print(f"lit-bench: error: ONNX Runtime still broken after repair: {problem}", file=sys.stderr)
        return 1
    print(f"lit-bench: {args.want} is the only ONNX Runtime installed and imports cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
