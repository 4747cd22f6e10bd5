"""The bench's plan: the quick GPU default within 10 minutes by its cost model, --full, a dry run
that builds nothing expensive, runs reused across batch sizes, input steps timed apart."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from lit_bench.backends import (
    Backend,
    get_backend,
    list_backends,
    register_backend,
    unregister_backend,
)
from lit_bench.bench import BenchConfig, run_bench
from lit_bench.catalog import Candidate
from lit_bench.plan import QUICK_BUDGET_S, make_plan, row_cost_s

pytest.importorskip("lit_models")


@pytest.fixture(scope="module")
def quick():
    cfg = BenchConfig.defaults_for("cuda")
    return cfg, make_plan(cfg)


def test_the_quick_gpu_plan_is_estimated_within_ten_minutes_as_the_sum_of_its_rows(quick):
    cfg, plan = quick
    assert cfg.plan == "quick" and not plan.problems
    assert plan.estimate_s() == pytest.approx(plan.one_time_s() + sum(row_cost_s(r) for r in plan.rows))
    assert plan.estimate_s() <= QUICK_BUDGET_S
    # its size: models × the pairs each backend runs × 2 batch sizes, minus the heavy backends'
    # rows of the models they skip
    pairs = [(b, d) for b in cfg.backends for d in cfg.dtypes_of(b) if not get_backend(b).fits("cuda", _dt(d))]
    expected = sum(cfg.runs_model(b, f"{m.model}/{m.variant}") for m in plan.models for b, _ in pairs) * 2
    assert len(plan.rows) == expected
    assert plan.compiles == 4 and plan.trt_builds == 4  # teacher and student, batch 1 and 1024
    assert plan.calls == sum(r.calls for r in plan.rows)


def _dt(name: str) -> torch.dtype:
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def test_the_quick_plan_answers_the_question_teacher_student_pruned_every_backend_two_batches(quick):
    _, plan = quick
    keys = {f"{m.model}/{m.variant}" for m in plan.models}
    assert {"resnet110/dense", "resnet20/dense"} <= keys  # teacher, LIT student
    assert len({k for k in keys if k.startswith("resnet110/") and not k.endswith("dense")}) >= 2  # pruned teachers
    cuda_backends = {b for b in list_backends() if "cuda" in get_backend(b).devices}
    assert {r.backend for r in plan.rows} == cuda_backends  # every backend at least once
    assert {r.batch_size for r in plan.rows} == {1, 1024}
    for key in ("resnet110/dense", "resnet20/dense"):  # teacher and student meet in every backend
        assert {r.backend for r in plan.rows if f"{r.model.model}/{r.model.variant}" == key} == cuda_backends


def test_the_full_matrix_is_the_whole_product_and_costs_hours(quick):
    full = BenchConfig.defaults_for("cuda", full=True)
    plan = make_plan(full)
    assert full.plan == "full" and len(plan.rows) == 1540  # 14 models × 22 pairs × 5 batches
    assert plan.compiles == 210 and plan.trt_builds == 140
    assert plan.estimate_s() > 10 * quick[1].estimate_s()


def test_shape_agnostic_rows_are_prepared_once_and_compiled_ones_per_batch(quick):
    _, plan = quick
    for r in plan.rows:
        if r.batch_size == 1024:
            assert r.prepare == ("reuse" if get_backend(r.backend).shape_agnostic else "prepare")
    assert {b for b in list_backends() if get_backend(b).shape_agnostic} == {"eager", "eager_folded", "fused"}


def test_the_dry_run_plans_without_depgraph_pruning_exporting_or_compiling():
    code = (
        "import sys\n"
        "from lit_bench.cli import main\n"
        "status = main(['--dry-run', '--device', 'cuda'])\n"
        "import torch._dynamo.utils as u\n"
        "assert status == 0\n"
        "assert 'onnx' not in sys.modules, 'the dry run exported to ONNX'\n"
        "assert not u.counters['stats']['calls_captured'], 'the dry run traced with Dynamo'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "(quick plan)" in out.stdout and "estimate: " in out.stdout and "on one H100/H200" in out.stdout
    assert "plan: 96 rows; 4 torch.compile compiles; 12 ONNX exports; 4 TensorRT engine builds" in out.stdout
    assert "sizes not counted but taken from: DepGraph's target, half the MACs" in out.stdout  # not pruned


def test_full_dry_run_prints_the_whole_matrix_and_its_estimate(capsys):
    from lit_bench.cli import main

    assert main(["--dry-run", "--device", "cuda", "--full"]) == 0
    out = capsys.readouterr().out
    assert "(full plan)" in out and "plan: 1540 rows; 210 torch.compile compiles" in out and "estimate: " in out


@pytest.mark.parametrize(("args", "message"), [
    (["--check"], "--check goes with --dry-run (it checks exports and traces instead of timing)"),
    (["--full"], "--full is the GPU matrix (--device cuda); on the CPU choose --models, --variants, --backends "
                 "and --batch-sizes instead"),
])
def test_plan_flags_out_of_place_are_one_error_line(capsys, tmp_path, args, message):
    from lit_bench.cli import main

    assert main(["--device", "cpu", *args, "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"lit-bench: error: {message}"]
    assert not (tmp_path / "o").exists()


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


def _cand() -> Candidate:
    return Candidate(model="net", variant="dense", role="student", module=_Net().eval(), params=0, macs=0,
                     conv_layers=1, input_shape=(3, 8, 8))


@pytest.mark.parametrize("agnostic", [True, False])
def test_a_shape_agnostic_backend_is_prepared_once_for_every_batch_size(agnostic):
    prepared: list[int] = []

    def prepare(model, x):
        prepared.append(x.shape[0])
        return model

    name = "test_prepare_count"
    register_backend(Backend(name, ("cpu",), (torch.float32,), False, prepare, shape_agnostic=agnostic))
    try:
        cfg = BenchConfig(backends=(name,), batch_sizes=(1, 2, 4), runs=2, throughput_runs=2, warmup=1)
        rows = run_bench(cfg, candidates=[_cand()], log=lambda _: None)
    finally:
        unregister_backend(name)
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert prepared == ([1] if agnostic else [1, 2, 4])
    assert all(r["prepare_s"] is not None and r["prepare_s"] >= 0 for r in rows)


def test_a_per_call_input_step_is_timed_apart_and_named_in_the_note():
    seen: list[str] = []

    def prepare(model, x):
        def stage(inp):
            seen.append("stage")
            return inp.clone()

        def core(staged):
            seen.append("core")
            return model(staged)

        def run(inp):
            return core(stage(inp))

        run.staged = (stage, core, "test input step")
        return run

    name = "test_staged"
    register_backend(Backend(name, ("cpu",), (torch.float32,), False, prepare))
    try:
        cfg = BenchConfig(backends=(name,), batch_sizes=(1,), runs=7, warmup=2)
        (row,) = run_bench(cfg, candidates=[_cand()], log=lambda _: None)
    finally:
        unregister_backend(name)
    assert row["status"] == "ok" and row["runs"] == 7
    assert "test input step: " in row["note"] and "timed apart (not in the latency)" in row["note"]
    assert seen[-9:] == ["core"] * 9  # warm-up and timed calls run the core only, on the staged input


def test_the_eager_half_precision_rows_stage_their_nhwc_conversion():
    from lit_bench.backends.eager import prepare_eager

    model = _Net().eval()
    assert getattr(prepare_eager(model, torch.randn(1, 3, 8, 8)), "staged", None) is None  # CPU fp32: none
    if torch.cuda.is_available():
        run = prepare_eager(model.cuda().half(), torch.randn(1, 3, 8, 8, device="cuda").half())
        assert run.staged[2] == "NCHW → NHWC input conversion"
