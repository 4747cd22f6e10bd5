"""Timing helpers and the bench runner: interleaving, percentiles, failed backends not timed."""

from __future__ import annotations

import gc

import pytest
import torch
import torch.nn as nn

from lit_bench.backends import Backend, register_backend, unregister_backend
from lit_bench.bench import BenchConfig, relative_error, run_bench
from lit_bench.catalog import Candidate, build_candidates
from lit_bench.timing import parse_smi_state, summarise, time_interleaved

pytest.importorskip("lit_models")


def test_candidates_are_interleaved_block_by_block():
    calls: list[str] = []
    runs = [lambda n=n: calls.append(n) for n in "abc"]
    samples = time_interleaved(runs, repetitions=6, warmup=2, device=torch.device("cpu"), blocks=3)
    assert calls[:6] == list("aabbcc")  # warm-up, one candidate after another
    assert calls[6:] == list("aabbcc") * 3  # timed: blocks of 2 back-to-back calls, round-robin
    assert [len(s.seconds) for s in samples] == [6, 6, 6] and samples[0].calls_per_sample == 1


def test_block_means_are_one_sample_per_block_and_count_every_call():
    calls: list[int] = []
    samples = time_interleaved([lambda: calls.append(1)], repetitions=23, warmup=1, device=torch.device("cpu"),
                               per_call=False, blocks=5)
    (s,) = samples
    assert len(s.seconds) == 5 and s.calls_per_sample == 4  # equal blocks: 3 leftover calls dropped
    assert len(calls) == 1 + 20
    st = summarise(s.seconds, 8, s.calls_per_sample)
    assert st.runs == 20 and st.p99_ms is None  # p99 only from per-call samples


def test_time_block_marks_every_call_or_only_the_ends():
    from lit_bench.timing import HostClock, time_block

    class Counting(HostClock):
        marks = 0

        def mark(self):
            Counting.marks += 1
            return super().mark()

    clock = Counting()
    per_call = time_block(lambda: sum(range(2000)), 10, clock, per_call=True)
    assert len(per_call) == 10 and all(t > 0 for t in per_call) and Counting.marks == 11
    Counting.marks = 0
    (mean,) = time_block(lambda: sum(range(2000)), 10, clock, per_call=False)
    assert mean > 0 and Counting.marks == 2
    with pytest.raises(ValueError):
        time_block(lambda: None, 0, clock, per_call=True)


def test_per_call_samples_where_p99_needs_them_or_on_the_host():
    from lit_bench.timing import wants_per_call

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert wants_per_call(cuda, 1, 1000) and not wants_per_call(cuda, 1, 999)
    assert not wants_per_call(cuda, 1024, 5000)
    assert wants_per_call(cpu, 1024, 10)


def test_summarise_gives_percentiles_and_throughput():
    st = summarise([i / 1000 for i in range(1, 101)], batch_size=4)  # 1 … 100 ms
    assert st.p50_ms == pytest.approx(50.5)
    assert st.p90_ms == pytest.approx(90.1)
    assert st.p99_ms is None  # 100 samples: p99 would be the 2nd-largest sample
    assert st.throughput == pytest.approx(4 / 0.0505)
    assert st.runs == 100
    st = summarise([i / 10000 for i in range(1, 1001)], batch_size=1)  # 0.1 … 100 ms
    assert st.p99_ms == pytest.approx(99.001)  # position 0.99 × 999 = 989.01


def test_the_garbage_collector_is_off_while_timing_only():
    seen: list[bool] = []
    time_interleaved([lambda: seen.append(gc.isenabled())], repetitions=3, warmup=2, device=torch.device("cpu"))
    assert seen == [True, True, False, False, False]
    assert gc.isenabled()


def test_gpu_state_line_from_nvidia_smi():
    line = parse_smi_state("1980, 2619, 45, 312.50, 0x0000000000000004\n")
    assert line == "SM 1980 MHz, mem 2619 MHz, 45 C, 312.50 W, throttle 0x0000000000000004"
    assert parse_smi_state("") is None and parse_smi_state("N/A") is None


def test_relative_error_is_scaled_by_the_reference():
    ref = torch.tensor([[10.0, -20.0]])
    assert relative_error(ref + 0.02, ref) == pytest.approx(1e-3, rel=1e-3)
    assert relative_error(torch.full((1, 2), float("nan")), ref) == float("inf")
    assert relative_error(torch.zeros(2, 2), ref) == float("inf")  # wrong shape


_PROBE = """
import torch
from lit_bench.timing import MemoryProbe
with MemoryProbe(torch.device("cpu")) as probe:
    x = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
    del x
print(probe.peak_bytes)
"""


def test_cpu_memory_probe_sees_a_large_allocation():
    # a fresh process: in this one, earlier tests leave freed-but-resident heap pages that an
    # allocation may reuse without growing the resident set (the probe is RSS-based, see timing)
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    peak = out.stdout.strip().splitlines()[-1]
    if peak == "None":
        pytest.skip("no /proc/self/status here")
    assert int(peak) >= 48 * 2**20


def _raising_prepare(model, x):
    raise RuntimeError("export exploded\nsecond line")


def _off_by_one_percent(model, x):
    return lambda inp: model(inp) * 1.01


@pytest.fixture
def broken_backends():
    names = ("test_raises", "test_wrong_output")
    register_backend(Backend(names[0], ("cpu",), (torch.float32,), True, _raising_prepare))
    register_backend(Backend(names[1], ("cpu",), (torch.float32,), False, _off_by_one_percent))
    yield names
    for n in names:
        unregister_backend(n)


def test_failed_backends_are_reported_with_their_reason_and_not_timed(broken_backends):
    cands, skipped = build_candidates(["resnet20"], ["dense"], log=lambda _: None)
    cfg = BenchConfig(backends=("eager", *broken_backends), batch_sizes=(1, 2), runs=3, throughput_runs=2, warmup=1)
    rows = run_bench(cfg, candidates=cands, skipped=skipped, log=lambda _: None)
    by = {(r["backend"], r["batch_size"]): r for r in rows}
    for b in (1, 2):
        ok = by[("eager", b)]
        assert ok["status"] == "ok" and ok["runs"] == (3 if b == 1 else 2) and ok["latency_ms_p50"] > 0
        raised = by[("test_raises", b)]
        assert raised["status"] == "failed"
        assert raised["reason"] == "RuntimeError: export exploded"
        wrong = by[("test_wrong_output", b)]
        assert wrong["status"] == "failed" and "relative error 1.00e-02 > bound 1e-04" in wrong["reason"]
        for r in (raised, wrong):
            assert r["latency_ms_p50"] is None and r["throughput_items_s"] is None and r["runs"] is None
    assert all(r["torch"] == torch.__version__ and r["device"] == "cpu" for r in rows)


class _Tiny(nn.Module):
    """Every instance shares one ``forward`` code object, as every zoo model shares StagedNet's."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(self.conv(x)).relu().mean((2, 3)))


def _tiny_candidate(width: int) -> Candidate:
    return Candidate(model=f"tiny{width}", variant="dense", role="student", module=_Tiny(width).eval(),
                     params=0, macs=0, conv_layers=1, input_shape=(3, 8, 8))


@pytest.mark.slow
def test_ten_models_compile_in_one_run_without_hitting_dynamos_recompile_limit():
    # 10 models × 2 batch sizes = 20 compiled versions of one forward (the limit is 8 per code object)
    cands = [_tiny_candidate(4 + i) for i in range(10)]
    cfg = BenchConfig(backends=("compile",), batch_sizes=(1, 2), runs=2, throughput_runs=2, warmup=1)
    rows = run_bench(cfg, candidates=cands, log=lambda _: None)
    assert [(r["model"], r["batch_size"], r["status"], r["reason"]) for r in rows] == [
        (c.model, b, "ok", "") for b in (1, 2) for c in cands]  # one group of all 10 models per batch
    assert all(r["max_rel_error"] <= 1e-4 and r["note"] == "torch.compile default mode" for r in rows)


def test_models_and_backends_are_timed_interleaved_in_one_group_per_batch():
    calls: list[tuple[str, str]] = []

    def recording(tag: str):
        def prepare(model, x):
            def run(inp):
                calls.append((model.fc.in_features, tag))
                return model(inp)
            return run
        return prepare

    names = ("test_rec_a", "test_rec_b")
    for n in names:
        register_backend(Backend(n, ("cpu",), (torch.float32,), False, recording(n)))
    try:
        cfg = BenchConfig(backends=names, batch_sizes=(1,), runs=3, warmup=1)
        run_bench(cfg, candidates=[_tiny_candidate(4), _tiny_candidate(5)], log=lambda _: None)
    finally:
        for n in names:
            unregister_backend(n)
    timed = calls[-12:]  # 3 timed blocks (1 call each) of 2 models × 2 backends
    assert timed[-4:] == [(4, "test_rec_a"), (4, "test_rec_b"), (5, "test_rec_a"), (5, "test_rec_b")]
    assert timed[:4] == timed[4:8] == timed[8:]  # round-robin across models and backends, every block


def _workspace_prepare(model, x):
    workspace = torch.ones(96 * 2**20 // 4)  # a one-time 96 MiB autotuning/workspace buffer, touched
    del workspace
    return model


def test_peak_memory_is_the_steady_state_not_the_one_time_workspace():
    name = "test_workspace"
    register_backend(Backend(name, ("cpu",), (torch.float32,), False, _workspace_prepare))
    try:
        cfg = BenchConfig(backends=(name,), batch_sizes=(1,), runs=2, warmup=1)
        (row,) = run_bench(cfg, candidates=[_tiny_candidate(4)], log=lambda _: None)
    finally:
        unregister_backend(name)
    if row["peak_mem_bytes"] is None:
        pytest.skip("no /proc/self/status here")
    assert row["status"] == "ok" and row["peak_mem_bytes"] < 32 * 2**20


def test_cpu_defaults_time_eager_with_and_without_bn_and_torch_compile():
    assert BenchConfig.defaults_for("cpu").backends == ("eager", "eager_folded", "compile", "onnxrt")
    gpu = BenchConfig.defaults_for("cuda")
    assert {"eager_folded", "ort_cuda", "ort_trt", "compile"} <= set(gpu.backends) and "onnxrt" not in gpu.backends
    assert gpu.runs >= 1000  # p99 needs them


def test_noise_spread_of_per_repeat_medians():
    from lit_bench.timing import noise

    steady = noise([1.0, 1.0, 1.02, 1.02, 1.0, 1.0], repeats=3)
    assert steady.repeats == 3 and abs(steady.spread_pct - 2.0) < 1e-9 and not steady.noisy
    # the second repeat is 1.5x slower: (1.5 - 1.0) / median(1.0, 1.5) = 40 %
    drift = noise([1.0, 1.0, 1.5, 1.5], repeats=2)
    assert abs(drift.spread_pct - 40.0) < 1e-9 and drift.noisy
    assert noise([2.0], repeats=5).repeats == 1  # capped at the number of samples
    with pytest.raises(ValueError, match="repeats"):
        noise([1.0], repeats=0)


def test_timed_rows_carry_repeats_spread_and_noisy():
    cfg = BenchConfig(backends=("eager",), batch_sizes=(1,), runs=6, warmup=1, repeats=3)
    (row,) = run_bench(cfg, candidates=[_tiny_candidate(4)], log=lambda _: None)
    assert row["status"] == "ok" and row["repeats"] == 3
    assert isinstance(row["spread_pct"], float) and row["spread_pct"] >= 0
    assert row["noisy"] == (row["spread_pct"] > 10)
