"""Run summaries: one table row per trained model, written as Markdown, JSON and a PNG plot.

``write_report(run_dir, rows)`` writes ``summary.md``, ``summary.json`` and ``summary.png``
atomically (temp file + rename) and refuses to replace existing summaries unless
``overwrite=True``. The plot draws test accuracy per model (annotated with parameters and MACs)
and, when per-epoch histories are given, validation-accuracy curves. Every trained row carries its
training budget (``phase_budget``): epochs, optimiser steps and the learning-rate schedule of
each phase, with the summed learning rate (Σ over epochs of the epoch's rate), because methods
with the same epochs can get very different amounts of optimisation (a fine-tune restarting at a
low rate gets a fraction of a single-phase method's summed rate).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..io.atomic import atomic_write, write_text_atomic

__all__ = ["SUMMARY_FILES", "SummaryRow", "format_budgets", "format_table", "phase_budget",
           "rerender_report",
           "write_report"]

SUMMARY_FILES = ("summary.md", "summary.json", "summary.png")


@dataclass(frozen=True)
class SummaryRow:
    """One trained model: which method made it, its size, accuracies (0-1) and wall time."""

    method: str
    model: str
    depth: int
    params: int
    macs: int
    val_acc: float
    test_acc: float | None
    wall_time_s: float
    history: list[dict[str, Any]] = field(default_factory=list, compare=False, repr=False)
    budget: list[dict[str, Any]] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        if not self.budget and self.history:
            object.__setattr__(self, "budget", phase_budget(self.history))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (without the per-epoch history; with the per-phase budget)."""
        d = asdict(self)
        d.pop("history")
        return d


def phase_budget(history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per phase of a training history (``metrics.jsonl`` records, in order): its epochs, steps,
    learning rate of its first and last epoch, and the summed rate Σ_epochs lr. A history whose
    records lack ``phase``/``lr``/``step`` (not lit's trainer's) has no budget: ``[]``."""
    if not all(isinstance(r, dict) and {"phase", "lr", "step"} <= r.keys() for r in history):
        return []
    phases: list[dict[str, Any]] = []
    prev_step = 0
    for rec in history:
        if not phases or phases[-1]["phase"] != rec["phase"]:
            phases.append({"phase": rec["phase"], "epochs": 0, "steps": 0, "lr_first": rec["lr"],
                           "lr_last": rec["lr"], "lr_sum": 0.0})
        cur = phases[-1]
        cur["epochs"] += 1
        cur["steps"] += int(rec["step"]) - prev_step
        cur["lr_last"] = rec["lr"]
        cur["lr_sum"] += float(rec["lr"])
        prev_step = int(rec["step"])
    for cur in phases:
        cur["lr_sum"] = round(cur["lr_sum"], 10)
    return phases


def _lr(x: float) -> str:
    return f"{x:.3g}"


def format_budgets(rows: Sequence[SummaryRow]) -> str:
    """Each trained row's budget, one line per phase, as a Markdown table ('' if none)."""
    lines = ["| method | phase | epochs | steps | lr first → last | summed lr |",
             "|---|---|---:|---:|---|---:|"]
    n = 0
    for r in rows:
        budget = r.budget or phase_budget(r.history)
        for b in budget:
            lines.append(f"| {r.method} | {b['phase']} | {b['epochs']} | {b['steps']} | "
                         f"{_lr(b['lr_first'])} → {_lr(b['lr_last'])} | {b['lr_sum']:.4g} |")
            n += 1
        if len(budget) > 1:
            lines.append(f"| {r.method} | all | {sum(b['epochs'] for b in budget)} | "
                         f"{sum(b['steps'] for b in budget)} | | "
                         f"{sum(b['lr_sum'] for b in budget):.4g} |")
    return "\n".join(lines) if n else ""


def _millions(n: int) -> str:
    return f"{n / 1e6:.3f} M" if n < 1e8 else f"{n / 1e9:.2f} G"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}"


def format_table(rows: Sequence[SummaryRow]) -> str:
    """The rows as a Markdown table (also readable as plain text on a console)."""
    header = ["method", "model", "depth", "params", "MACs", "val acc %", "test acc %", "wall time"]
    body = [
        [r.method, r.model, str(r.depth), _millions(r.params), _millions(r.macs), _pct(r.val_acc),
         _pct(r.test_acc), f"{r.wall_time_s:.1f} s"]
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(b) for b in body)])


def _plot(rows: Sequence[SummaryRow], title: str, path: Any) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    curves = [r for r in rows if r.history]
    fig = Figure(figsize=(11 if curves else 6, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2 if curves else 1, 1)
    accs = [100 * (r.test_acc if r.test_acc is not None else r.val_acc) for r in rows]
    bars = ax.bar(range(len(rows)), accs, color=[f"C{i}" for i in range(len(rows))])
    ax.set_xticks(range(len(rows)), [f"{r.method}\n{r.model}" for r in rows], fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    low = min(accs)
    ax.set_ylim(max(0.0, low - 10), min(100.0, max(accs) + 5))
    for bar, r in zip(bars, rows, strict=True):
        ax.annotate(f"{bar.get_height():.1f}%\n{_millions(r.params)} params\n{_millions(r.macs)} MACs",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                    va="bottom", fontsize=7)
    ax.set_title("test accuracy (params, MACs)")
    if curves:
        ax2 = fig.add_subplot(1, 2, 2)
        for i, r in enumerate(rows):
            if r.history:
                xs = [h.get("global_epoch", k + 1) for k, h in enumerate(r.history)]
                ax2.plot(xs, [100 * h["val_acc"] for h in r.history], marker="o", ms=3,
                         color=f"C{i}", label=f"{r.method} ({r.model})")
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("validation accuracy (%)")
        ax2.set_title("validation accuracy per epoch")
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, format="png", dpi=110)


def write_report(
    run_dir: str | os.PathLike,
    rows: Sequence[SummaryRow],
    *,
    title: str = "lit run",
    meta: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write summary.md / summary.json / summary.png into ``run_dir``; returns their paths.

    Raises ``FileExistsError`` (naming the file) if a summary is already there and not
    ``overwrite``; nothing is written in that case.
    """
    if not rows:
        raise ValueError("write_report needs at least one row")
    run = Path(run_dir)
    paths = {name.split(".")[1]: run / name for name in SUMMARY_FILES}
    if not overwrite:
        for p in paths.values():
            if p.exists():
                raise FileExistsError(f"{p} already exists; pass --overwrite to replace it")
    run.mkdir(parents=True, exist_ok=True)
    meta = dict(meta or {})
    table = format_table(rows)
    lines = [f"# {title}", ""]
    lines += [f"- **{k}**: {v}" for k, v in meta.items()]
    lines += ["", table, "",
              "Accuracies are top-1 on the validation split (carved from the training set, used "
              "for model selection) and on the held-out test split. MACs are per image "
              "(conv + linear multiply-accumulates); depth counts conv + linear layers.", ""]
    budgets = format_budgets(rows)
    if budgets:
        lines += ["## Training budget per phase", "", budgets, "",
                  "Steps are optimiser steps; the summed lr is Σ over the phase's epochs of that "
                  "epoch's learning rate (SGD, multi-step decays).", ""]
    payload = {"title": title, "meta": meta, "rows": [r.to_dict() for r in rows]}
    write_text_atomic(paths["md"], "\n".join(lines))
    write_text_atomic(paths["json"], json.dumps(payload, indent=2) + "\n")
    atomic_write(paths["png"], lambda f: _plot(rows, title, f))
    return paths


def rerender_report(run_dir: str | os.PathLike) -> dict[str, Path]:
    """Re-render a run's summary from its committed record, without retraining.

    Reads ``summary.json`` (rows, title, meta) and each row's ``metrics-<method>.jsonl``
    (the per-epoch history that the per-phase budget is computed from), then rewrites
    summary.md / .json / .png. A missing history file leaves that row without a budget.
    """
    run = Path(run_dir)
    payload = json.loads((run / "summary.json").read_text())
    rows = []
    for r in payload["rows"]:
        r = {k: v for k, v in r.items() if k != "budget"}
        hist_path = run / f"metrics-{r['method']}.jsonl"
        history = ([json.loads(line) for line in hist_path.read_text().splitlines() if line.strip()]
                   if hist_path.exists() else [])
        rows.append(SummaryRow(**r, history=history))
    return write_report(run, rows, title=payload["title"], meta=payload.get("meta"),
                        overwrite=True)
