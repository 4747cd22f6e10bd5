"""Sweeps: a grid over config keys → named jobs, resumable job by job; a table and line plots.

``grid({"train.alpha": [0.5, 0.9], "train.ir_loss": ["l2", "l1"]})`` gives one ``SweepJob`` per
combination, named from the short keys (``alpha=0.5,ir_loss=l2``). ``run_sweep`` trains them with
``train_fn(overrides, name, test=...)`` (contract in ``lit_core.studies``: one shared teacher,
dotted ``--set`` keys, ``"method"`` reserved), recording finished jobs in ``run_dir/state.json``
so that a rerun skips them, and writes ``sweep.md``, ``sweep.json`` and ``sweep-<key>.png`` (one
line plot per swept key: the paper's Figs. 7/8 for α/β, Fig. 2 for the student model).
Typical keys: ``train.alpha``, ``train.beta``, ``train.ir_loss``, ``train.precision``,
``models.student``.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..io.atomic import save_figure, write_json_atomic, write_text_atomic
from . import TrainFn
from .ledger import Ledger

__all__ = ["SweepJob", "format_sweep", "grid", "plot_sweep", "run_sweep", "sweep_ledger"]


@dataclass(frozen=True)
class SweepJob:
    """One grid point: its job name and the overrides that define it."""

    name: str
    overrides: dict[str, Any] = field(hash=False)


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _fmt(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def grid(axes: Mapping[str, Sequence[Any]], base: Mapping[str, Any] | None = None) -> list[SweepJob]:
    """Every combination of ``axes`` (key → values) as named jobs, over ``base`` overrides."""
    if not axes:
        raise ValueError("a sweep needs at least one key, e.g. {'train.alpha': [0.5, 0.9]}")
    for key, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"sweep key {key!r} needs a non-empty list of values; got {values!r}")
        if len({_fmt(v) for v in values}) != len(values):
            raise ValueError(f"sweep key {key!r} repeats a value: {list(values)}")
    shorts = [_short(k) for k in axes]
    if len(set(shorts)) != len(shorts):  # fall back to full keys when short names collide
        shorts = list(axes)
    jobs = []
    for combo in itertools.product(*axes.values()):
        name = ",".join(f"{s}={_fmt(v)}" for s, v in zip(shorts, combo, strict=True))
        jobs.append(SweepJob(name, {**dict(base or {}), **dict(zip(axes, combo, strict=True))}))
    return jobs


def sweep_ledger(run_dir: str | os.PathLike, base: Mapping[str, Any] | None = None) -> Ledger:
    """The sweep's record of finished grid points (``run_dir/state.json``; read, never written
    here): ``StateFileError`` if it is unreadable or another study's."""
    return Ledger(Path(run_dir) / "state.json", {"kind": "sweep", "base": dict(base or {})})


def run_sweep(
    train_fn: TrainFn,
    axes: Mapping[str, Sequence[Any]],
    run_dir: str | os.PathLike,
    *,
    base: Mapping[str, Any] | None = None,
    test: bool = False,
) -> list[dict[str, Any]]:
    """Train every grid point once (resumable); write the table and plots; return the rows."""
    run_dir = Path(run_dir)
    jobs = grid(axes, base)
    ledger = sweep_ledger(run_dir, base)
    rows = []
    for i, job in enumerate(jobs, 1):
        print(f"lit: sweep [{i}/{len(jobs)}] {job.name}"
              + (" (finished earlier)" if ledger.done(job.name) else ""), flush=True)
        result = ledger.run(job.name, lambda job=job: train_fn(job.overrides, job.name, test=test))
        rows.append({"job": job.name, **{k: job.overrides[k] for k in axes},
                     **{k: result.get(k) for k in ("val_acc", "test_acc")}})
    write_text_atomic(run_dir / "sweep.md", format_sweep(rows, list(axes)))
    write_json_atomic(run_dir / "sweep.json", {"axes": {k: list(v) for k, v in axes.items()}, "rows": rows})
    plot_sweep(rows, list(axes), run_dir)
    return rows


def format_sweep(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> str:
    """The sweep as a Markdown table (accuracies in %)."""
    cols = [c for c in ("val_acc", "test_acc") if any(r.get(c) is not None for r in rows)]
    lines = ["| " + " | ".join([*keys, *(f"{c} %" for c in cols)]) + " |",
             "|" + "---|" * len(keys) + "---:|" * len(cols)]
    for r in rows:
        cells = [str(r[k]) for k in keys]
        cells += ["—" if r.get(c) is None else f"{100 * r[c]:.2f}" for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_sweep(
    rows: Sequence[Mapping[str, Any]], keys: Sequence[str], out_dir: str | os.PathLike,
    metric: str = "val_acc",
) -> list[Path]:
    """One PNG per swept key: ``metric`` against the key's values, a line per setting of the rest."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    paths = []
    for key in keys:
        values = list(dict.fromkeys(r[key] for r in rows))
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        xs = sorted(values) if numeric else values
        others = [k for k in keys if k != key]
        fig, ax = plt.subplots(figsize=(5, 3.6))
        groups: dict[tuple, dict[Any, float]] = {}
        for r in rows:
            if r.get(metric) is not None:
                groups.setdefault(tuple(r[k] for k in others), {})[r[key]] = 100 * r[metric]
        for label, pts in groups.items():
            x = [v for v in xs if v in pts]
            pos = x if numeric else [xs.index(v) for v in x]
            name = ", ".join(f"{_short(k)}={v}" for k, v in zip(others, label, strict=True))
            ax.plot(pos, [pts[v] for v in x], marker="o", label=name or None)
        if not numeric:
            ax.set_xticks(range(len(xs)), [str(v) for v in xs])
        ax.set_xlabel(key)
        ax.set_ylabel(f"{metric} (%)")
        if others and len(groups) <= 8:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        paths.append(save_figure(fig, out_dir / f"sweep-{_short(key)}.png"))
    return paths
