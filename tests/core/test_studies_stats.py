"""Seeds and significance: numbers checked against scipy and by hand on known inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from lit_core.studies.seeds import run_seeds
from lit_core.studies.stats import (
    exploratory_tests,
    format_markdown,
    paired_test,
    primary_test,
    summarize,
)

# LIT − KD differences by seed: 0.01, 0.02, 0.00, 0.03, 0.01 (mean 0.014, sd 0.011402)
LIT = [0.81, 0.83, 0.80, 0.84, 0.82]
KD = [0.80, 0.81, 0.80, 0.81, 0.81]
SCRATCH = [0.78, 0.79, 0.77, 0.80, 0.78]


def _rows():
    rows = []
    for m, vals in (("lit", LIT), ("kd", KD), ("scratch", SCRATCH)):
        rows += [{"method": m, "seed": s, "test_acc": v, "val_acc": v + 0.01} for s, v in enumerate(vals)]
    return rows


def test_summary_is_mean_and_sample_std_per_method():
    by = {s.method: s for s in summarize(_rows())}
    assert by["lit"].n == 5
    assert by["lit"].mean == pytest.approx(0.82)
    assert by["lit"].std == pytest.approx(math.sqrt(0.001 / 4))  # Σ(x−x̄)² = 0.001
    assert (by["kd"].min, by["kd"].max) == (0.80, 0.81)


def test_paired_test_matches_scipy_and_hand_computed_values():
    t = paired_test(_rows(), "lit", "kd")
    d = np.array(LIT) - np.array(KD)
    assert t.n == 5 and t.seeds == [0, 1, 2, 3, 4] and t.primary
    assert t.mean_diff == pytest.approx(0.014)
    assert t.std_diff == pytest.approx(math.sqrt(0.00052 / 4))
    ref = sps.ttest_rel(LIT, KD)
    assert (t.t, t.p_t) == pytest.approx((ref.statistic, ref.pvalue))
    assert t.t == pytest.approx(0.014 / (t.std_diff / math.sqrt(5)))  # t = d̄ / (s_d / √n)
    w = sps.wilcoxon(d)
    assert (t.wilcoxon, t.p_wilcoxon) == pytest.approx((w.statistic, w.pvalue))
    assert t.d_z == pytest.approx(0.014 / t.std_diff)
    half = sps.t.ppf(0.975, 4) * t.std_diff / math.sqrt(5)  # t_{0.975,4} = 2.776
    assert (t.ci_low, t.ci_high) == pytest.approx((0.014 - half, 0.014 + half))
    assert sps.t.ppf(0.975, 4) == pytest.approx(2.7764, abs=1e-4)


def test_pairs_by_seed_not_by_position():
    rows = _rows()
    shuffled = rows[5:10][::-1] + rows[:5] + rows[10:]  # KD rows in reverse order
    assert paired_test(shuffled).t == pytest.approx(paired_test(rows).t)
    missing = [r for r in rows if not (r["method"] == "kd" and r["seed"] == 4)]
    assert paired_test(missing).seeds == [0, 1, 2, 3]


def test_identical_methods_give_no_difference_and_p_one():
    rows = [{"method": m, "seed": s, "test_acc": 0.5 + s / 100} for m in ("lit", "kd") for s in range(3)]
    t = paired_test(rows)
    assert t.mean_diff == 0 and t.p_wilcoxon == 1.0 and t.d_z == 0.0


def test_other_comparisons_are_exploratory_and_the_primary_is_not_among_them():
    explo = exploratory_tests(_rows())
    assert {(t.a, t.b) for t in explo} == {("lit", "scratch"), ("kd", "scratch")}
    assert not any(t.primary for t in explo)
    md = format_markdown(_rows())
    assert "Primary comparison" in md and "lit − kd" in md
    assert md.index("Exploratory") > md.index("Primary")
    assert "| scratch | 4 | 79.00 | 78.00 |" in md  # val, test


def test_one_seed_has_no_test_and_a_clear_error():
    rows = [r for r in _rows() if r["seed"] == 0]
    assert primary_test(rows) is None
    with pytest.raises(ValueError, match="needs ≥ 2 common seeds"):
        paired_test(rows)
    with pytest.raises(ValueError, match="two rows for method 'lit' seed 0"):
        summarize([*rows, rows[0]])


def test_run_seeds_trains_every_pair_once_and_resumes(tmp_path):
    calls = []

    def train_fn(overrides, name, *, test=False):
        calls.append(name)
        seed, m = overrides["train.seed"], overrides["method"]
        return {"val_acc": 0.5, "test_acc": {"lit": LIT, "kd": KD}[m][seed]}

    rows = run_seeds(train_fn, ["lit", "kd"], [0, 1, 2], tmp_path)
    assert calls == ["lit-seed0", "kd-seed0", "lit-seed1", "kd-seed1", "lit-seed2", "kd-seed2"]
    assert len(rows) == 6
    report = json.loads((tmp_path / "seeds.json").read_text())
    assert report["primary"]["seeds"] == [0, 1, 2]
    assert (tmp_path / "seeds.png").stat().st_size > 0
    run_seeds(train_fn, ["lit", "kd"], [0, 1, 2], tmp_path)  # finished: nothing is rerun
    assert len(calls) == 6
    rows = run_seeds(train_fn, ["lit", "kd"], [0, 1, 2, 3, 4], tmp_path)  # more seeds: only new jobs
    assert calls[6:] == ["lit-seed3", "kd-seed3", "lit-seed4", "kd-seed4"] and len(rows) == 10
    with pytest.raises(ValueError, match="belongs to another study"):
        run_seeds(train_fn, ["lit", "kd"], [0], tmp_path, overrides={"train.alpha": 0.5})
