"""Every method in ``METHODS`` is usable from every entry point the issue names: ``lit compress``,
``lit compare``, ``lit compare --seeds``, ``lit sweep``, the Python API (``lit_core.fit``) and
``python -m lit_bench --run`` on a run directory that holds it.

Tiny real runs: scikit-learn digits (300 images), an untrained-then-1-epoch resnet14 teacher,
resnet8 students, one epoch per phase. The matrix is parametrized over ``METHODS`` itself, and the
methods the issue requires are listed here too, so a method that is dropped, or one an entry point
cannot run, fails a named case.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from lit_bench.cli import main as bench
from lit_core import METHODS, TrainConfig, fit, get_method
from lit_core.cli import main as lit
from lit_core.data import BatchLoader, load_data
from lit_models import create_model

#: what issue 22 (and the methods before it) require in the method table
REQUIRED = ("lit", "kd", "scratch", "fitnets", "born_again", "lit_single_ir", "lit_block_ir",
            "ir_no_teacher_input", "depth_prune", "kd_copied", "dkd", "dist")
ENTRY_POINTS = ("compress", "compare", "seeds", "sweep", "api", "bench")
ALL = sorted(METHODS)
TIMING = ["--device", "cpu", "--backends", "eager", "--batch-sizes", "1", "--runs", "2",
          "--throughput-runs", "1", "--warmup", "1", "--finetune-epochs", "0", "--variants", "dense"]


def _tiny_toml(path: Path) -> Path:
    """A config where every job (teacher and each method) trains one epoch per phase on digits."""
    lines = ['[data]', 'name = "digits"', 'limit = 300', 'eval_batch_size = 400', '',
             '[models]', 'teacher = "resnet14"', 'student = "resnet8"', '',
             '[train]', 'batch_size = 64', 'device = "cpu"', 'epochs = 1', 'ir_epochs = 1', '']
    for job in ("teacher", *METHODS):
        lines += [f'[train.{job}]', 'epochs = 1', 'ir_epochs = 1', '']
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("entry")


@pytest.fixture(scope="module")
def config(root) -> list[str]:
    return ["--config", str(_tiny_toml(root / "tiny.toml"))]


@pytest.fixture(scope="module")
def compared(root, config) -> Path:
    """``lit compare`` of every method on one teacher it trains (the teacher the others reuse)."""
    assert lit(["compare", "--methods", ",".join(ALL), *config, "--out", str(root),
                "--run-name", "compare"]) == 0
    return root / "compare"


@pytest.fixture(scope="module")
def teacher_ckpt(compared) -> str:
    return str(compared / "teacher" / "best.pt")


@pytest.fixture(scope="module")
def seeded(root, config, teacher_ckpt) -> list[dict]:
    """``lit compare --seeds 0,1`` of every method (rows of seeds.json)."""
    assert lit(["compare", "--methods", ",".join(ALL), "--seeds", "0,1", "--teacher-ckpt",
                teacher_ckpt, *config, "--out", str(root), "--run-name", "seeds"]) == 0
    return json.loads((root / "seeds" / "seeds.json").read_text())["rows"]


@pytest.fixture(scope="module")
def benched(root, compared) -> dict[str, dict]:
    """``python -m lit_bench --run`` on the compare run: its rows by variant (= method)."""
    out = root / "bench"
    assert bench(["--run", str(compared), *TIMING, "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    return {r["variant"]: r for r in rows if r["status"] == "ok"}


@pytest.fixture(scope="module")
def digits():
    return load_data("digits", seed=0, limit=300, quiet=True)


def _summary_row(run: Path, method: str) -> dict:
    rows = {r["method"]: r for r in json.loads((run / "summary.json").read_text())["rows"]}
    assert method in rows, f"{method} missing from {run / 'summary.json'}: {sorted(rows)}"
    return rows[method]


def _is_accuracy(value) -> bool:
    return isinstance(value, float) and math.isfinite(value) and 0.0 <= value <= 1.0


def test_the_method_table_holds_every_required_method():
    assert set(REQUIRED) <= set(METHODS), sorted(set(REQUIRED) - set(METHODS))


def test_every_entry_point_has_a_case_here():
    names = {n.removeprefix("test_").split("_runs_", 1)[0]
             for n in globals() if n.startswith("test_") and "_runs_" in n}
    assert names == set(ENTRY_POINTS)


@pytest.mark.parametrize("method", ALL)
def test_compare_runs_every_method(compared, method):
    row = _summary_row(compared, method)
    assert _is_accuracy(row["val_acc"]) and _is_accuracy(row["test_acc"])
    assert (compared / method / "best.pt").is_file()


@pytest.mark.parametrize("method", ALL)
def test_compress_runs_every_method(root, config, teacher_ckpt, method):
    name = f"compress-{method}"
    args = ["compress", "--method", method, *config, "--out", str(root), "--run-name", name]
    if get_method(method).needs_teacher:
        args += ["--teacher-ckpt", teacher_ckpt]
    assert lit(args) == 0
    row = _summary_row(root / name, method)
    assert _is_accuracy(row["test_acc"])
    state = torch.load(root / name / method / "best.pt", weights_only=True)["model"]
    assert state and all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


@pytest.mark.parametrize("method", ALL)
def test_seeds_runs_every_method(seeded, method):
    mine = [r for r in seeded if r["method"] == method]
    assert sorted(r["seed"] for r in mine) == [0, 1], mine
    assert all(_is_accuracy(r["test_acc"]) for r in mine)


@pytest.mark.parametrize("method", ALL)
def test_sweep_runs_every_method(root, config, teacher_ckpt, method):
    name = f"sweep-{method}"
    assert lit(["sweep", "--method", method, "--grid", "train.weight_decay=0.0,0.0001",
                "--teacher-ckpt", teacher_ckpt, *config, "--out", str(root),
                "--run-name", name]) == 0
    rows = json.loads((root / name / "sweep.json").read_text())["rows"]
    assert sorted(r["train.weight_decay"] for r in rows) == [0.0, 0.0001]
    assert all(_is_accuracy(r["val_acc"]) for r in rows)


@pytest.mark.parametrize("method", ALL)
def test_api_runs_every_method(tmp_path, digits, method):
    torch.manual_seed(0)
    teacher = create_model("resnet14", num_classes=10, in_chans=1, img_size=8)
    arch = "resnet14" if get_method(method).same_architecture else "resnet8"
    student = create_model(arch, num_classes=10, in_chans=1, img_size=8)
    cfg = TrainConfig(device="cpu", epochs=1, ir_epochs=1, batch_size=64, progress=False)
    train = BatchLoader(digits.train, 64, shuffle=True, seed=0)
    val = BatchLoader(digits.val, 400, shuffle=False)
    result = fit(student, teacher if get_method(method).needs_teacher else None, train, val,
                 method=method, config=cfg, run_dir=tmp_path / method)
    assert result.completed and _is_accuracy(result.best_val_acc)
    assert len(result.history) == (2 if get_method(method).two_phase else 1)


@pytest.mark.parametrize("method", ALL)
def test_bench_runs_every_method(compared, benched, method):
    assert method in benched, f"lit_bench --run gave no row for {method}: {sorted(benched)}"
    row = benched[method]
    assert row["role"] == "student"
    assert row["accuracy"] == _summary_row(compared, method)["test_acc"]
