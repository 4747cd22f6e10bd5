"""Seeds and significance: mean ± std per method and one paired test fixed in advance.

Input rows are one dict per (method, seed) with an accuracy column (``test_acc`` by default).
The *primary* comparison is fixed before the results are seen (LIT vs KD, ``PRIMARY``): it is
tested by seed — a paired t-test and a Wilcoxon signed-rank test on the per-seed differences
(scipy), with Cohen's d_z (mean difference / std of the differences) and a t confidence interval
of the mean difference. Every other pair is reported with the same numbers but labelled
*exploratory*: no correction is applied and none of them should be read as a finding.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io.atomic import save_figure
from . import require

__all__ = [
    "PRIMARY",
    "MethodSummary",
    "PairedTest",
    "exploratory_tests",
    "format_markdown",
    "paired_test",
    "plot_spread",
    "primary_test",
    "summarize",
]

PRIMARY = ("lit", "kd")  # the pre-registered comparison: LIT vs KD, paired by seed


@dataclass(frozen=True)
class MethodSummary:
    """One method over its seeds: count, mean, sample std (ddof=1), min and max."""

    method: str
    n: int
    mean: float
    std: float
    min: float
    max: float


@dataclass(frozen=True)
class PairedTest:
    """``a`` − ``b`` paired by seed: t-test, Wilcoxon, d_z and a CI of the mean difference."""

    a: str
    b: str
    metric: str
    seeds: list[int]
    n: int
    mean_diff: float
    std_diff: float
    t: float
    p_t: float
    wilcoxon: float
    p_wilcoxon: float
    d_z: float
    ci_low: float
    ci_high: float
    confidence: float
    primary: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _values(rows: Iterable[Mapping[str, Any]], metric: str) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    for r in rows:
        if r.get(metric) is None:
            raise ValueError(f"row {dict(r)} has no {metric!r}; run the jobs with that metric")
        by_seed = out.setdefault(str(r["method"]), {})
        if int(r["seed"]) in by_seed:
            raise ValueError(f"two rows for method {r['method']!r} seed {r['seed']}; one per seed")
        by_seed[int(r["seed"])] = float(r[metric])
    return out


def summarize(rows: Iterable[Mapping[str, Any]], metric: str = "test_acc") -> list[MethodSummary]:
    """Mean ± sample std (ddof=1; 0 for a single seed) of ``metric`` per method, in row order."""
    out = []
    for method, by_seed in _values(rows, metric).items():
        v = np.array(list(by_seed.values()), dtype=np.float64)
        std = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        out.append(MethodSummary(method, len(v), float(v.mean()), std, float(v.min()), float(v.max())))
    return out


def paired_test(
    rows: Iterable[Mapping[str, Any]],
    a: str = PRIMARY[0],
    b: str = PRIMARY[1],
    metric: str = "test_acc",
    confidence: float = 0.95,
) -> PairedTest:
    """Compare methods ``a`` and ``b`` on the seeds both have (two-sided tests; needs ≥ 2 pairs)."""
    stats = require("scipy.stats")
    values = _values(rows, metric)
    for m in (a, b):
        if m not in values:
            raise ValueError(f"no rows for method {m!r}; have {', '.join(values)}")
    seeds = sorted(set(values[a]) & set(values[b]))
    if len(seeds) < 2:
        raise ValueError(f"a paired test of {a} vs {b} needs ≥ 2 common seeds; have {seeds}")
    d = np.array([values[a][s] - values[b][s] for s in seeds], dtype=np.float64)
    n, mean, sd = len(d), float(d.mean()), float(d.std(ddof=1))
    t = stats.ttest_rel([values[a][s] for s in seeds], [values[b][s] for s in seeds])
    if np.all(d == 0):  # Wilcoxon is undefined when every difference is zero
        w, p_w = 0.0, 1.0
    else:
        res = stats.wilcoxon(d)
        w, p_w = float(res.statistic), float(res.pvalue)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    d_z = mean / sd if sd > 0 else (0.0 if mean == 0 else math.copysign(math.inf, mean))
    return PairedTest(
        a=a, b=b, metric=metric, seeds=seeds, n=n, mean_diff=mean, std_diff=sd,
        t=float(t.statistic), p_t=float(t.pvalue), wilcoxon=w, p_wilcoxon=p_w, d_z=d_z,
        ci_low=mean - half, ci_high=mean + half, confidence=confidence,
        primary=(a, b) == PRIMARY or (b, a) == PRIMARY,
    )


def primary_test(
    rows: Sequence[Mapping[str, Any]], metric: str = "test_acc", primary: tuple[str, str] = PRIMARY
) -> PairedTest | None:
    """The pre-registered test, or ``None`` while fewer than 2 seeds have both methods."""
    values = _values(rows, metric)
    a, b = primary
    if a not in values or b not in values or len(set(values[a]) & set(values[b])) < 2:
        return None
    return paired_test(rows, a, b, metric)


def exploratory_tests(
    rows: Sequence[Mapping[str, Any]], metric: str = "test_acc", primary: tuple[str, str] = PRIMARY
) -> list[PairedTest]:
    """Every other pair of methods with ≥ 2 common seeds, labelled exploratory (``primary=False``)."""
    values = _values(rows, metric)
    out = []
    for a, b in itertools.combinations(values, 2):
        if {a, b} == set(primary) or len(set(values[a]) & set(values[b])) < 2:
            continue
        t = paired_test(rows, a, b, metric)
        out.append(PairedTest(**{**t.to_dict(), "primary": False}))
    return out


def _pp(x: float) -> str:
    return f"{100 * x:+.2f}"


def format_markdown(
    rows: Sequence[Mapping[str, Any]], metric: str = "test_acc", primary: tuple[str, str] = PRIMARY
) -> str:
    """Summary table, the primary test, exploratory tests and every seed's row, as Markdown."""
    lines = [f"### {metric} by method (mean ± std over seeds, %)", "",
             "| method | seeds | mean ± std | min | max |", "|---|---:|---:|---:|---:|"]
    for s in summarize(rows, metric):
        lines.append(f"| {s.method} | {s.n} | {100 * s.mean:.2f} ± {100 * s.std:.2f} | "
                     f"{100 * s.min:.2f} | {100 * s.max:.2f} |")
    header = ["| comparison | pairs | mean diff (pp) | CI (pp) | t | p (t) | p (Wilcoxon) | d_z |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def row(t: PairedTest) -> str:
        ci = f"[{_pp(t.ci_low)}, {_pp(t.ci_high)}]"
        return (f"| {t.a} − {t.b} | {t.n} | {_pp(t.mean_diff)} | {ci} | {t.t:.3f} | {t.p_t:.4f} | "
                f"{t.p_wilcoxon:.4f} | {t.d_z:.2f} |")

    p = primary_test(rows, metric, primary)
    if p is not None:
        lines += ["", f"### Primary comparison (fixed in advance), paired by seed, "
                      f"{100 * p.confidence:.0f}% CI", "", *header, row(p)]
    explo = exploratory_tests(rows, metric, primary)
    if explo:
        lines += ["", "### Exploratory comparisons (not corrected for multiple testing; "
                      "hypotheses, not findings)", "", *header, *(row(t) for t in explo)]
    cols = [c for c in ("val_acc", "test_acc") if any(c in r for r in rows)]
    lines += ["", "### Every seed", "", "| method | seed | " + " | ".join(cols) + " |",
              "|---|---:|" + "---:|" * len(cols)]
    for r in sorted(rows, key=lambda r: (str(r["method"]), int(r["seed"]))):
        vals = " | ".join("—" if r.get(c) is None else f"{100 * r[c]:.2f}" for c in cols)
        lines.append(f"| {r['method']} | {r['seed']} | {vals} |")
    return "\n".join(lines) + "\n"


def plot_spread(
    rows: Sequence[Mapping[str, Any]], path: str | os.PathLike, metric: str = "test_acc",
    title: str = "",
) -> Path:
    """Every seed as a dot per method, seeds joined across methods, mean ± std bars; a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = _values(rows, metric)
    methods = list(values)
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(methods), 4))
    seeds = sorted({s for v in values.values() for s in v})
    for s in seeds:  # one grey line per seed: the pairing the test uses
        xs = [i for i, m in enumerate(methods) if s in values[m]]
        ax.plot(xs, [100 * values[methods[i]][s] for i in xs], color="0.8", lw=0.8, zorder=1)
    for i, m in enumerate(methods):
        v = 100 * np.array(list(values[m].values()))
        ax.scatter(np.full(len(v), i), v, s=18, zorder=2)
        sd = v.std(ddof=1) if len(v) > 1 else 0.0
        ax.errorbar(i + 0.15, v.mean(), yerr=sd, fmt="o", color="k", capsize=4, zorder=3)
    ax.set_xticks(range(len(methods)), methods)
    ax.set_ylabel(f"{metric} (%)")
    ax.set_title(title or f"{metric} per seed (dots), mean ± std (black)")
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)
