"""Timing helpers and the bench runner: interleaving, percentiles, failed backends not timed."""

from __future__ import annotations

import pytest
import torch

from lit_bench.backends import Backend, register_backend, unregister_backend
from lit_bench.bench import BenchConfig, relative_error, run_bench
from lit_bench.catalog import build_candidates
from lit_bench.timing import MemoryProbe, summarise, time_interleaved

pytest.importorskip("lit_models")


def test_candidates_are_interleaved_round_robin():
    calls: list[str] = []
    runs = [lambda n=n: calls.append(n) for n in "abc"]
    samples = time_interleaved(runs, repetitions=3, warmup=2, device=torch.device("cpu"))
    assert calls[:6] == list("aabbcc")  # warm-up, one candidate after another
    assert calls[6:] == list("abcabcabc")  # timed: round-robin
    assert [len(s) for s in samples] == [3, 3, 3]


def test_summarise_gives_percentiles_and_throughput():
    st = summarise([i / 1000 for i in range(1, 101)], batch_size=4)  # 1 … 100 ms
    assert st.p50_ms == pytest.approx(50.5)
    assert st.p90_ms == pytest.approx(90.1)
    assert st.p99_ms == pytest.approx(99.01)
    assert st.throughput == pytest.approx(4 / 0.0505)
    assert st.runs == 100


def test_relative_error_is_scaled_by_the_reference():
    ref = torch.tensor([[10.0, -20.0]])
    assert relative_error(ref + 0.02, ref) == pytest.approx(1e-3, rel=1e-3)
    assert relative_error(torch.full((1, 2), float("nan")), ref) == float("inf")
    assert relative_error(torch.zeros(2, 2), ref) == float("inf")  # wrong shape


def test_cpu_memory_probe_sees_a_large_allocation():
    with MemoryProbe(torch.device("cpu")) as probe:
        x = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
        del x
    if probe.peak_bytes is None:
        pytest.skip("no /proc/self/status here")
    assert probe.peak_bytes >= 48 * 2**20


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
