"""The paper's Fig. 6 study: students pruned along the same sparsities with the same retraining.

The mechanism (masks, ``iterative_prune``) is ``lit_core.models.pruning``; this module runs it for
several students (a LIT student and a scratch student in the paper) and gives the table and the
accuracy-vs-nonzero-parameters plot. ``fit_retrain`` is the retraining budget: one ``fit`` per
sparsity step.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch.nn as nn

from ..io.atomic import save_figure
from ..models.pruning import RetrainFn, count_nonzero, iterative_prune, sparsity_of

__all__ = ["fit_retrain", "format_prune_table", "plot_prune_curve", "prune_study"]


def prune_study(
    students: Mapping[str, nn.Module],
    sparsities: Sequence[float],
    retrain: RetrainFn,
    *,
    scope: str = "global",
    evaluate: Callable[[nn.Module, str], Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Fig. 6: every student pruned along the same sparsities with the same ``retrain`` budget.

    ``evaluate(model, name)`` (optional) gives each student's unpruned accuracies as the first
    row (sparsity 0). Students are deep-copied; the caller's models are left untouched.
    """
    rows = []
    for name, student in students.items():
        model = copy.deepcopy(student)
        if evaluate is not None:
            acc = evaluate(model, f"{name}-s00")
            rows.append({"model": name, "target_sparsity": 0.0, "sparsity": sparsity_of(model),
                         "nonzero_params": count_nonzero(model),
                         "params": sum(p.numel() for p in model.parameters()),
                         **{k: acc.get(k) for k in ("val_acc", "test_acc")}})
        rows += iterative_prune(model, [s for s in sparsities if s > 0], retrain, scope=scope, name=name)
    return rows


def format_prune_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The Fig. 6 numbers as a Markdown table (one row per student and sparsity)."""
    cols = [c for c in ("val_acc", "test_acc") if any(r.get(c) is not None for r in rows)]
    lines = ["| student | sparsity % | nonzero params | " + " | ".join(f"{c} %" for c in cols) + " |",
             "|---|---:|---:|" + "---:|" * len(cols)]
    for r in rows:
        accs = " | ".join("—" if r.get(c) is None else f"{100 * r[c]:.2f}" for c in cols)
        lines.append(f"| {r['model']} | {100 * r['sparsity']:.1f} | {r['nonzero_params']:,} | {accs} |")
    return "\n".join(lines) + "\n"


def plot_prune_curve(
    rows: Sequence[Mapping[str, Any]], path: str | os.PathLike, metric: str = "test_acc"
) -> Path:
    """Accuracy against nonzero parameters, one line per student (log x axis); a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name in dict.fromkeys(r["model"] for r in rows):
        pts = sorted((r["nonzero_params"], 100 * r[metric]) for r in rows
                     if r["model"] == name and r.get(metric) is not None)
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("nonzero parameters")
    ax.set_ylabel(f"{metric} (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return save_figure(fig, path)


def fit_retrain(
    train_loader: Any, val_loader: Any, run_dir: str | os.PathLike, *, config: Any = None,
    method: str = "scratch", teacher: nn.Module | None = None, test_loader: Any = None,
    loggers: Sequence[str] = (),
) -> RetrainFn:
    """A ``retrain`` for ``iterative_prune`` that runs ``lit_core.training.trainer.fit`` (same budget each).
    ``loggers``: tracker names (``lit_core.training.loggers.LOGGERS``) each retraining logs to,
    in its own ``run_dir/<job>/``."""
    from ..training.loggers import make_loggers
    from ..training.trainer import fit

    def retrain(model: nn.Module, job: str) -> dict[str, Any]:
        job_dir = Path(run_dir) / job
        result = fit(model, teacher, train_loader, val_loader, method=method, config=config,
                     run_dir=job_dir, test_loader=test_loader, overwrite=True,
                     callbacks=make_loggers(list(loggers), job_dir))
        return {"val_acc": result.best_val_acc, "test_acc": result.test_acc}

    return retrain
