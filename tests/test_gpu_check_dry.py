"""tools/gpu_check.sh in its CPU dry mode (so the prepared GPU check cannot rot), the training-step
timing it runs, and tools/fill_wheels.sh's wheel list against the described GPU machine."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["env", "install", "build-op", "pytest-cuda", "sanitizers", "bench", "bench-compile", "train-steps"]


def test_gpu_check_dry_mode_plans_every_step_within_the_budget_and_leaves_at_most_8_files(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(ROOT / "tools" / "gpu_check.sh"), "--dry", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) <= 8 and sorted(p.name for p in files) == ["gpu_check.tar.gz", "summary.md"]
    summary = (tmp_path / "summary.md").read_text()
    steps = [line.split("|")[1].strip() for line in summary.splitlines() if "| planned |" in line]
    assert steps == STEPS
    limits = [int(line.split("|")[4]) for line in summary.splitlines() if "| planned |" in line]
    assert sum(limits) <= 480
    with tarfile.open(tmp_path / "gpu_check.tar.gz") as tar:
        logs = {Path(n).name: n for n in tar.getnames() if n.endswith(".log")}
        assert set(logs) == {f"{s}.log" for s in steps}
        bench_log = tar.extractfile(logs["bench.log"]).read().decode()
        train_log = tar.extractfile(logs["train-steps.log"]).read().decode()
    # the bench steps were planned by lit-bench itself, for a GPU: a broken flag would fail here
    assert "lit-bench dry run for --device cuda" in bench_log and "dry run: no problems found" in bench_log
    assert "--batch 128 --precision bf16 --methods lit,kd --compile off,teacher,step" in train_log


def test_the_training_step_timing_runs_on_cpu_and_appends_one_json_line_per_setting(tmp_path):
    import json

    out = tmp_path / "steps.jsonl"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "step_timing.py"), "--device", "cpu", "--batch", "2", "--steps", "1",
         "--warmup", "1", "--precision", "bf16", "--methods", "lit,kd", "--compile", "off", "--out", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["method"], r["compile"]) for r in rows] == [("lit", "off"), ("kd", "off")]
    assert all(r["step_ms"] > 0 and r["loss_finite"] and r["batch_size"] == 2 for r in rows)
    assert "| lit | off |" in proc.stdout and "| kd | off |" in proc.stdout


# timm is not installed here; what it brings (its own and huggingface_hub's requirements)
TIMM_BRINGS = {"torch", "torchvision", "pyyaml", "huggingface-hub", "safetensors", "filelock", "fsspec",
               "packaging", "requests", "tqdm", "typing-extensions", "pillow", "numpy"}


def _norm(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _requires(name: str) -> list[str]:
    """Requirements of the installed distribution ``name`` on CPython 3.12 (no extras)."""
    import importlib.metadata as md

    from packaging.requirements import Requirement

    try:
        reqs = [Requirement(r) for r in md.distribution(name).requires or []]
    except md.PackageNotFoundError:
        return []
    env = {"python_version": "3.12", "python_full_version": "3.12.0", "extra": ""}
    return [_norm(r.name) for r in reqs if r.marker is None or r.marker.evaluate(env)]


def _closure(names) -> set[str]:
    seen: set[str] = set()
    todo = [_norm(n) for n in names]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo += _requires(n)
    return seen


def _wheel_tag(name: str) -> str:
    import importlib.metadata as md

    text = md.distribution(name).read_text("WHEEL") or ""
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")), "")


def _bash_list(text: str, var: str) -> list[str]:
    import re

    match = re.search(rf"^{var}=\(([^)]*)\)", text, flags=re.M)
    assert match, f"{var}=(...) not found in tools/fill_wheels.sh"
    return match.group(1).split()


def test_fill_wheels_carries_exactly_the_pure_python_packages_the_gpu_machine_lacks():
    import tomllib
    from packaging.requirements import Requirement

    text = (ROOT / "tools" / "fill_wheels.sh").read_text()
    assert _bash_list(text, "MACHINE") == ["torch", "onnxruntime", "timm", "pytest"]
    machine = _closure(["torch", "onnxruntime", "pytest"]) | _closure(TIMM_BRINGS) | {"timm"}
    assert "torch-pruning" not in machine and "nox" not in machine
    env = {"python_version": "3.12", "python_full_version": "3.12.0", "extra": ""}
    ours = {"lit-models", "lit-core", "lit-bench"}
    needed = set()
    for pkg in ours:
        deps = tomllib.loads((ROOT / "packages" / pkg / "pyproject.toml").read_text())["project"]["dependencies"]
        needed |= {_norm(r.name) for r in map(Requirement, deps) if r.marker is None or r.marker.evaluate(env)}
    missing = needed - machine - ours

    def pure(n: str) -> bool:
        return _wheel_tag(n) == "py3-none-any"

    def installable(n: str) -> bool:  # on the machine, or a pure wheel whose needs are installable
        return n in machine or (pure(n) and all(installable(r) for r in _requires(n)))

    carried = {n for n in _closure(m for m in missing if installable(m)) if n not in machine}
    portable = {n for n in missing if n not in carried and _wheel_tag(n).startswith("py3-none-manylinux")}
    assert set(_bash_list(text, "WHEELS")) == carried == {"torch-pruning"}
    assert set(_bash_list(text, "PORTABLE")) == portable
    assert set(_bash_list(text, "LEFT_OUT")) == missing - carried - portable
