"""Methods × seeds on one shared teacher, resumable, summarised with the pre-registered test.

``run_seeds(train_fn, methods, seeds, run_dir)`` calls, for every method and seed,
``train_fn({"method": m, "train.seed": s}, f"{m}-seed{s}", test=True)`` (see
``lit_core.studies`` for the contract: the caller shares one frozen teacher across all jobs, and
``train.seed`` seeds the student job), records each finished job in ``run_dir/state.json``
(a rerun skips finished jobs), then writes ``seeds.md``, ``seeds.json`` and ``seeds.png`` with
mean ± std per method, every seed's row, the paired LIT-vs-KD test, exploratory comparisons and
each method's training budget per phase (epochs, steps, learning rates, summed lr; the first
seed's job, which every seed shares unless the schedule depends on the seed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..io.atomic import write_json_atomic, write_text_atomic
from . import TrainFn
from .ledger import Ledger
from .stats import exploratory_tests, format_markdown, plot_spread, primary_test, summarize

__all__ = ["run_seeds", "seeds_ledger", "write_seed_report"]


def seeds_ledger(run_dir: str | os.PathLike, overrides: Mapping[str, Any] | None = None) -> Ledger:
    """The study's record of finished jobs (``run_dir/state.json``; read, never written here):
    ``StateFileError`` if it is unreadable or another study's. Its identity is the shared
    overrides; methods and seeds may grow between runs (jobs go by name)."""
    return Ledger(Path(run_dir) / "state.json", {"kind": "seeds", "base": dict(overrides or {})})


def run_seeds(
    train_fn: TrainFn,
    methods: Sequence[str],
    seeds: Sequence[int],
    run_dir: str | os.PathLike,
    *,
    overrides: Mapping[str, Any] | None = None,
    metric: str = "test_acc",
) -> list[dict[str, Any]]:
    """Train every (method, seed) once (resumable); write the seed report; return the rows."""
    if not methods or not seeds:
        raise ValueError("run_seeds needs at least one method and one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct; got {list(seeds)}")
    run_dir = Path(run_dir)
    base = dict(overrides or {})
    ledger = seeds_ledger(run_dir, base)
    rows = []
    for seed in seeds:  # seed-major: an interrupted study has complete pairs first
        for m in methods:
            name = f"{m}-seed{seed}"
            job = {**base, "method": m, "train.seed": int(seed)}
            result = ledger.run(name, lambda job=job, name=name: train_fn(job, name, test=True))
            rows.append({"method": m, "seed": int(seed), "job": name,
                         **{k: result.get(k) for k in ("val_acc", "test_acc")},
                         "budget": result.get("budget") or []})
    write_seed_report(rows, run_dir, metric)
    return rows


def write_seed_report(
    rows: Sequence[Mapping[str, Any]], run_dir: str | os.PathLike, metric: str = "test_acc"
) -> dict[str, Path]:
    """``seeds.md`` (tables), ``seeds.json`` (numbers) and ``seeds.png`` (spread) in ``run_dir``."""
    run_dir = Path(run_dir)
    primary = primary_test(rows, metric)
    payload: dict[str, Any] = {
        "metric": metric,
        "rows": [dict(r) for r in rows],
        "summary": [s.__dict__ for s in summarize(rows, metric)],
        "primary": None if primary is None else primary.to_dict(),
        "exploratory": [t.to_dict() for t in exploratory_tests(rows, metric)],
    }
    paths = {"md": run_dir / "seeds.md", "json": run_dir / "seeds.json", "png": run_dir / "seeds.png"}
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(paths["md"], format_markdown(rows, metric) + _budget_markdown(rows))
    write_json_atomic(paths["json"], payload)
    plot_spread(rows, paths["png"], metric)
    return paths


def _budget_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """Each method's per-phase budget (its first seed's job), as a Markdown section ('' if none)."""
    first: dict[str, Mapping[str, Any]] = {}
    for r in sorted(rows, key=lambda r: int(r["seed"])):
        if r.get("budget") and r["method"] not in first:
            first[r["method"]] = r
    if not first:
        return ""
    lines = ["", "", "### Training budget per method and phase (seed "
             f"{', '.join(sorted({str(r['seed']) for r in first.values()}))})", "",
             "| method | phase | epochs | steps | lr first → last | summed lr |",
             "|---|---|---:|---:|---|---:|"]
    for method, r in first.items():
        for b in r["budget"]:
            lines.append(f"| {method} | {b['phase']} | {b['epochs']} | {b['steps']} | "
                         f"{b['lr_first']:.3g} → {b['lr_last']:.3g} | {b['lr_sum']:.4g} |")
        if len(r["budget"]) > 1:
            lines.append(f"| {method} | all | {sum(b['epochs'] for b in r['budget'])} | "
                         f"{sum(b['steps'] for b in r['budget'])} | | "
                         f"{sum(b['lr_sum'] for b in r['budget']):.4g} |")
    return "\n".join(lines) + "\n"
