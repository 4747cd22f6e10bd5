"""Bench report: ``results.json`` (all rows), ``report.md`` (tables, findings, problems), PNG plots."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .timing import NOISY_SPREAD_PCT, P99_MIN_SAMPLES

__all__ = [
    "PLOTS", "REPORT_FILES", "PlotStyle", "backend_label", "figures", "findings", "markdown", "plot_all", "plot_plan", "unproven",
    "write_report",
]

REPORT_FILES = ("results.json", "report.md")

PLOTS = (
    "latency_vs_accuracy.png",
    "throughput_vs_accuracy.png",
    "latency_vs_conv_layers.png",
    "latency_vs_macs.png",
    "throughput_vs_batch.png",
)


def _ok(rows: Sequence[dict], batch: int | None = None) -> list[dict]:
    return [r for r in rows if r["status"] == "ok" and (batch is None or r["batch_size"] == batch)]


def _label(r: dict) -> str:
    return f"{r['model']}/{r['variant']}"


def backend_label(r: dict) -> str:
    """The row's backend as reports name it: a compile row is "compile+CUDA graphs" only when
    Inductor reported it graphed (its note says "with CUDA graphs"), else plain "compile"."""
    if r.get("backend") == "compile" and "with CUDA graphs" in (r.get("note") or ""):
        return "compile+CUDA graphs"
    return str(r.get("backend"))


def _run_label(r: dict) -> str:
    return f"{backend_label(r)} {r['dtype']}"


def _acc(r: dict) -> str:
    """In percent, as lit's summary: ``81.23``, or ``81.23 ± 0.21 (n=5)`` for a mean over seeds."""
    if r["accuracy"] is None:
        return "–"
    if r.get("accuracy_std") is not None:
        return f"{100 * r['accuracy']:.2f} ± {100 * r['accuracy_std']:.2f} (n={r['accuracy_n']})"
    return f"{100 * r['accuracy']:.2f}"


def _fmt(x, spec: str = ".3g") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return format(x, spec)


def _mib(x) -> str:
    return "–" if x is None else f"{x / 2**20:.1f}"


def _spread(r: dict) -> str:
    """``3.2``, ``14.0 noisy`` for a row flagged noisy, ``—`` for a row timed without repeats."""
    if r.get("spread_pct") is None:
        return "—"
    return f"{r['spread_pct']:.1f}" + (" **noisy**" if r.get("noisy") else "")


def unproven(a: dict, b: dict) -> str | None:
    """Why the timing difference between rows ``a`` and ``b`` may not be stated as a speed-up, or
    None when it may: a noisy row, or medians closer than their spreads (each row's median may lie
    anywhere in a band of ``spread_pct`` % of it, so the bands are added)."""
    noisy = [f"{_label(r)} {_run_label(r)}" for r in (a, b) if r.get("noisy")]
    if noisy:
        return f"{' and '.join(noisy)} {'is' if len(noisy) == 1 else 'are'} noisy (spread > {NOISY_SPREAD_PCT:g} %)"
    sa, sb = a.get("spread_pct"), b.get("spread_pct")
    if sa is None or sb is None:
        return None
    ta, tb = a["latency_ms_p50"], b["latency_ms_p50"]
    if abs(ta - tb) <= (ta * sa + tb * sb) / 100:
        return f"{ta:.3g} ms vs {tb:.3g} ms differ by less than their spreads ({sa:.1f} %, {sb:.1f} %)"
    return None


def _no_claim(what: str, why: str) -> str:
    return f"{what}: no speed-up stated — {why}."


def findings(rows: Sequence[dict]) -> list[str]:
    """Headline comparisons at batch 1, per backend and dtype, computed from the rows; a comparison
    whose rows are noisy or inside each other's spread is reported as such, not as a speed-up."""
    lat = {(r["model"], r["variant"], r["backend"], r["dtype"]): r for r in _ok(rows, 1)}
    runs = sorted({(b, d) for (_, _, b, d) in lat})
    out = []
    noisy = [r for r in _ok(rows) if r.get("noisy")]
    if noisy:
        out.append(f"{len(noisy)} row(s) are noisy (repeat medians spread > {NOISY_SPREAD_PCT:g} %, marked in "
                   "the tables); no speed-up is stated from them.")
    for b, d in runs:
        student = lat.get(("resnet20", "dense", b, d))
        for teacher in ("resnet110", "resnet56"):
            t = lat.get((teacher, "dense", b, d))
            if student and t:
                why = unproven(student, t)
                s_ms, t_ms = student["latency_ms_p50"], t["latency_ms_p50"]
                out.append(_no_claim(f"{b} {d}: resnet20 vs {teacher} at batch 1", why) if why else
                           f"{b} {d}: resnet20 is {t_ms / s_ms:.2f}× faster than {teacher} at batch 1 "
                           f"({s_ms:.3g} ms vs {t_ms:.3g} ms).")
            u = lat.get((teacher, "unstructured", b, d))
            if u and t:
                why = unproven(u, t)
                u_ms, t_ms = u["latency_ms_p50"], t["latency_ms_p50"]
                out.append(_no_claim(f"{b} {d}: unstructured-pruned vs dense {teacher}", why) if why else
                           f"{b} {d}: unstructured-pruned {teacher} runs at {t_ms / u_ms:.2f}× the dense "
                           f"speed ({u_ms:.3g} ms vs {t_ms:.3g} ms) — dense kernels skip no zeros.")
        if student:
            s_ms = student["latency_ms_p50"]
            # pruned teachers only: a student (e.g. a lit run's resnet20/lit) is never a pruned baseline
            pruned = [r for (m, v, bb, dd), r in sorted(lat.items()) if (bb, dd) == (b, d) and v != "dense"
                      and r.get("role") in (None, "pruned")]
            tied = [r for r in pruned if unproven(r, student)]
            faster = [r for r in pruned if r not in tied and r["latency_ms_p50"] <= s_ms]
            if faster:
                out.append(f"{b} {d}: pruned baselines faster than resnet20 ({s_ms:.3g} ms): "
                           + ", ".join(f"{_label(r)} {r['latency_ms_p50']:.3g} ms" for r in faster) + ".")
            if tied:
                out.append(f"{b} {d}: pruned baselines not distinguishable from resnet20 ({s_ms:.3g} ms) — noisy "
                           "or inside the spreads: " + ", ".join(f"{_label(r)} {r['latency_ms_p50']:.3g} ms"
                                                              for r in tied) + ".")
            if pruned and not faster and not tied:
                out.append(f"{b} {d}: resnet20 ({s_ms:.3g} ms) is faster than every pruned baseline.")
    return out + run_findings(rows)


def _best_throughput(rows: Sequence[dict]) -> dict[tuple, dict]:
    """Per (model, variant, backend, dtype): the row at the largest batch size timed."""
    best: dict[tuple, dict] = {}
    for r in _ok(rows):
        key = (r["model"], r["variant"], r["backend"], r["dtype"])
        if key not in best or r["batch_size"] > best[key]["batch_size"]:
            best[key] = r
    return best


def run_findings(rows: Sequence[dict]) -> list[str]:
    """For a lit run (``--run``): each student against its teacher and the pruned teachers, per
    backend and dtype — batch-1 latency, throughput at the largest batch, and test accuracy."""
    b1 = [r for r in _ok(rows, 1) if r.get("role")]
    thr = _best_throughput(rows)
    out = []
    for b, d in sorted({(r["backend"], r["dtype"]) for r in b1}):
        rs = [r for r in b1 if (r["backend"], r["dtype"]) == (b, d)]
        teacher = next((r for r in rs if r["role"] == "teacher"), None)
        students = [r for r in rs if r["role"] == "student" and r["accuracy"] is not None]
        pruned = [r for r in rs if r["role"] == "pruned" and r["accuracy"] is not None]
        if teacher is None or not students:
            continue
        best = max(students, key=lambda r: r["accuracy"])
        t_tp, s_tp = (thr.get((r["model"], r["variant"], b, d), {}) for r in (teacher, best))
        why = unproven(best, teacher)
        speed = (f"shows no speed-up stated over the teacher — {why} —" if why else
                 f"runs {teacher['latency_ms_p50'] / best['latency_ms_p50']:.2f}× faster than the teacher")
        line = (f"{b} {d}: the most accurate student {_label(best)} ({100 * best['accuracy']:.2f}%) {speed} "
                f"{_label(teacher)} ({100 * teacher['accuracy']:.2f}%) at batch 1")
        if t_tp and s_tp and t_tp["batch_size"] == s_tp["batch_size"] and not unproven(s_tp, t_tp):
            line += (f" and gives {s_tp['throughput_items_s'] / t_tp['throughput_items_s']:.2f}× its "
                     f"throughput at batch {s_tp['batch_size']}")
        out.append(line + ".")
        for p in sorted(pruned, key=lambda r: r["latency_ms_p50"]):
            faster = p["latency_ms_p50"] <= best["latency_ms_p50"]
            speed = ("within timing noise of" if unproven(p, best) else
                     "as fast or faster than" if faster else "slower than")
            out.append(f"{b} {d}: {_label(p)} ({100 * p['accuracy']:.2f}%, {p['latency_ms_p50']:.3g} ms) is "
                       f"{speed} {_label(best)} "
                       f"({best['latency_ms_p50']:.3g} ms) and {'more' if p['accuracy'] > best['accuracy'] else 'less'}"
                       f" accurate ({100 * (p['accuracy'] - best['accuracy']):+.2f} pp).")
    return out


def markdown(rows: Sequence[dict], meta: dict, title: str = "lit-bench report") -> str:
    """The markdown report: setup, batch-1 latency, throughput, findings, failures and skips."""
    lines = [f"# {title}", ""]
    for key in ("date", "command", "device", "device_name", "threads", "torch", "onnxruntime", "cuda", "driver", "git_sha"):
        if meta.get(key) is not None:
            lines.append(f"- **{key}**: `{meta[key]}`")
    inputs = meta.get("inputs") or {}
    for shape, models in inputs.items():
        lines.append(f"- **input per item**: `{shape}`" + (f" ({', '.join(models)})" if len(inputs) > 1 else "")
                     + "; a batch of b stacks b of them")
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    lines += ["", "## Batch-1 latency", ""]
    lines += [
        "| model | variant | backend | dtype | params | M MACs | conv layers | accuracy % | p50 ms | p90 ms | p99 ms | spread % | images/s | peak MiB | max rel err |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in sorted(_ok(rows, 1), key=lambda r: (r["backend"], r["dtype"], r["latency_ms_p50"])):
        lines.append(
            f"| {r['model']} | {r['variant']} | {backend_label(r)} | {r['dtype']} | {r['params']:,} | "
            f"{r['macs'] / 1e6:.2f} | {r['conv_layers']} | {_acc(r)} | "
            f"{_fmt(r['latency_ms_p50'])} | {_fmt(r['latency_ms_p90'])} | {_fmt(r['latency_ms_p99'])} | "
            f"{_spread(r)} | {_fmt(r['throughput_items_s'], '.4g')} | {_mib(r['peak_mem_bytes'])} | {_fmt(r['max_rel_error'], '.1e')} |"
        )
    batches = sorted({r["batch_size"] for r in _ok(rows) if r["batch_size"] != 1})
    if batches:
        lines += ["", "## Throughput (images/s) by batch size", ""]
        lines.append("| model | variant | backend | dtype | " + " | ".join(f"b={b}" for b in batches) + " |")
        lines.append("|---|---|---|---|" + "--:|" * len(batches))
        table: dict[tuple, dict[int, str]] = {}
        for r in rows:
            if r["batch_size"] in batches and r["model"] != "*":
                key = (r["model"], r["variant"], r["backend"], r["dtype"])
                cell = r["status"]
                if r["status"] == "ok":
                    cell = _fmt(r["throughput_items_s"], ".4g")
                    if r.get("spread_pct") is not None:
                        cell += f" ({r['spread_pct']:.1f} %)" + (" **noisy**" if r.get("noisy") else "")
                table.setdefault(key, {})[r["batch_size"]] = cell
        for key, cells in sorted(table.items()):
            lines.append("| " + " | ".join(key) + " | " + " | ".join(cells.get(b, "–") for b in batches) + " |")
    found = findings(rows)
    if found:
        lines += ["", "## Findings (batch 1, median latency)", ""] + [f"- {f}" for f in found]
    bad = [r for r in rows if r["status"] != "ok"]
    if bad:
        lines += ["", "## Failed and skipped", "", "| status | model | variant | backend | dtype | batch | reason |",
                  "|---|---|---|---|---|--:|---|"]
        for r in bad:
            lines.append(
                f"| {r['status']} | {r['model'] or '–'} | {r['variant'] or '–'} | {r['backend'] or '–'} | "
                f"{r['dtype'] or '–'} | {_fmt(r['batch_size'], 'd')} | {str(r['reason']).replace('|', '/')} |"
            )
    states = sorted({(r["model"], r["variant"], r["batch_size"], r["gpu_state"]) for r in _ok(rows) if r.get("gpu_state")})
    if states:
        lines += ["", "## GPU state per group (before → after timing)", "", "| model | variant | batch | state |",
                  "|---|---|--:|---|"]
        lines += [f"| {m} | {v} | {b} | {st} |" for m, v, b, st in states]
    notes = sorted({(r["backend"], r["note"]) for r in _ok(rows) if r.get("note")})
    if notes:
        lines += ["", "## Notes per backend", ""] + [f"- {b}: {n}" for b, n in notes]
    plan = plot_plan(rows)
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p, why in plan.items() if why is None]
    lines += [f"- `{p}` not drawn: {why}." for p, why in plan.items() if why is not None]
    lines += ["", "Columns: params = parameters (nonzero ones for unstructured pruning); M MACs = millions of conv+linear "
              "multiply-adds per image (Li et al. 2017 convention, lit_core.models.profile); latency = time per call "
              "in blocks of back-to-back calls (CPU: host clock per call; GPU: CUDA events, per call where p99 is "
              "reported, else per block), models and backends of one batch size interleaved block by block; a "
              "per-call input step (NHWC conversion, copy into a CUDA graph's input) is timed apart and stated "
              "in the notes, not in the latency; compile+CUDA graphs = Inductor reported its CUDA graphs "
              "(else plain compile); p99 only from "
              f"{P99_MIN_SAMPLES} per-call samples on (else –); images/s = batch / median time per call (one "
              "model's calls back to back, one call in flight on CPU); spread % = how far the medians of the row's "
              "`repeats` timing groups spread, (max − min) / median × 100 (— where not measured), in brackets in "
              f"the throughput table; **noisy** = spread over {NOISY_SPREAD_PCT:g} %, and no finding states a "
              "speed-up from a noisy row or from two rows whose medians differ by less than their spreads added; "
              "peak MiB = steady-state peak after "
              "warm-up (see lit_bench.timing; – for ORT on GPU: its own arena); max rel err = "
              "max|y − y_eager_fp32| / max|y_eager_fp32| on a random input. eager keeps BatchNorm; "
              "every other backend runs the BN-folded model, as eager_folded does.", ""]
    return "\n".join(lines)


def _matplotlib_problem() -> str | None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib); the tables above hold every number"
    return None


def plot_plan(rows: Sequence[dict]) -> dict[str, str | None]:
    """Per plot in ``PLOTS``: None when it is drawn, else why it is left out (it would be empty,
    or matplotlib is missing, as on the prepared GPU check's machine)."""
    missing = _matplotlib_problem()
    if missing:
        return dict.fromkeys(PLOTS, missing)
    b1 = _ok(rows, 1)
    no_acc = "no row has an accuracy (pass --run DIR or --checkpoint MODEL=PATH)"
    no_b1 = "no batch-1 row was timed"
    return {
        PLOTS[0]: None if any(r["accuracy"] is not None for r in b1) else no_acc,
        PLOTS[1]: None if any(r["accuracy"] is not None for r in _best_throughput(rows).values()) else no_acc,
        PLOTS[2]: None if b1 else no_b1,
        PLOTS[3]: None if b1 else no_b1,
        PLOTS[4]: None if _ok(rows) else "no row was timed",
    }


MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "p", "h")


@dataclass(frozen=True)
class PlotStyle:
    """One colour per model (``model/variant``) and one marker per backend (``backend dtype``), the
    same in every plot of a report."""

    colors: dict[str, tuple]
    markers: dict[str, str]

    @classmethod
    def of(cls, rows: Sequence[dict]) -> PlotStyle:
        """Assign colours and markers to the models and backends of the timed rows."""
        from matplotlib import colormaps

        models = sorted({_label(r) for r in _ok(rows)})
        runs = sorted({_run_label(r) for r in _ok(rows)})
        n = len(models)
        if n <= 20:
            palette = colormaps["tab10" if n <= 10 else "tab20"].colors
        else:  # more models than a qualitative map holds: n evenly spaced, still distinct, colours
            palette = [colormaps["turbo"](i / (n - 1)) for i in range(n)]
        return cls(colors={m: tuple(palette[i]) for i, m in enumerate(models)},
                   markers={b: MARKERS[i % len(MARKERS)] for i, b in enumerate(runs)})

    def legends(self, ax, rows: Sequence[dict]) -> None:
        """Two legends beside ``ax``: the models (colours) and the backends (markers) in ``rows``."""
        from matplotlib.lines import Line2D

        models = sorted({_label(r) for r in rows})
        runs = sorted({_run_label(r) for r in rows})
        model_handles = [Line2D([], [], color=self.colors[m], marker="o", linestyle="-", label=m) for m in models]
        run_handles = [Line2D([], [], color="0.3", marker=self.markers[b], linestyle="none", label=b) for b in runs]
        first = ax.legend(handles=model_handles, title="model (colour)", fontsize=7, title_fontsize=7,
                          bbox_to_anchor=(1.02, 1), loc="upper left")
        ax.add_artist(first)
        ax.legend(handles=run_handles, title="backend (marker)", fontsize=7, title_fontsize=7,
                  bbox_to_anchor=(1.02, 0), loc="lower left")


def _scatter(ax, rows: Sequence[dict], xkey: str, xlabel: str, style: PlotStyle) -> None:
    scale = 1e-6 if xkey == "macs" else 1  # MACs in millions, as lit's summary
    for r in rows:
        ax.scatter([r[xkey] * scale], [r["latency_ms_p50"]], s=25, color=style.colors[_label(r)],
                   marker=style.markers[_run_label(r)])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("batch-1 latency, median (ms)")
    ax.grid(alpha=0.3)
    style.legends(ax, rows)


def _accuracy_scatter(ax, rows: Sequence[dict], xkey: str, style: PlotStyle) -> None:
    """Accuracy (with its spread over seeds as error bars) against ``xkey``."""
    for r in rows:
        ax.errorbar([r[xkey]], [100 * r["accuracy"]], yerr=[100 * (r.get("accuracy_std") or 0.0)], ms=5, capsize=3,
                    color=style.colors[_label(r)], marker=style.markers[_run_label(r)], linestyle="none")
    ax.set_ylabel("test accuracy, % (error bars: std over seeds)")
    ax.grid(alpha=0.3)
    style.legends(ax, rows)


def figures(rows: Sequence[dict], title: str = "") -> dict[str, Any]:
    """The matplotlib figures of ``plot_plan``'s drawn plots, by file name (the caller closes them)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plan, style, b1 = plot_plan(rows), PlotStyle.of(rows), _ok(rows, 1)
    figs: dict[str, Any] = {}
    if plan[PLOTS[0]] is None:
        fig, ax = plt.subplots(figsize=(8, 5))
        _accuracy_scatter(ax, [r for r in b1 if r["accuracy"] is not None], "latency_ms_p50", style)
        ax.set_xlabel("batch-1 latency, median (ms)")
        missing = sorted({_label(r) for r in b1 if r["accuracy"] is None})
        if missing:
            ax.text(0.5, 0.05, "no accuracy for: " + ", ".join(missing), transform=ax.transAxes, ha="center",
                    va="center", fontsize=7, wrap=True, color="firebrick")
        ax.set_title(f"Latency vs accuracy (Pareto view) {title}".strip())
        figs[PLOTS[0]] = fig
    if plan[PLOTS[1]] is None:
        fig, ax = plt.subplots(figsize=(8, 5))
        largest = [r for r in _best_throughput(rows).values() if r["accuracy"] is not None]
        _accuracy_scatter(ax, largest, "throughput_items_s", style)
        ax.set_xlabel("throughput at the largest batch timed (images/s)")
        ax.set_title(f"Throughput vs accuracy {title}".strip())
        figs[PLOTS[1]] = fig
    for name, key, xlabel in ((PLOTS[2], "conv_layers", "conv layers (depth)"), (PLOTS[3], "macs", "M MACs per image")):
        if plan[name] is None:
            fig, ax = plt.subplots(figsize=(8, 5))
            _scatter(ax, b1, key, xlabel, style)
            ax.set_title(f"Batch-1 latency vs {xlabel} {title}".strip())
            figs[name] = fig
    if plan[PLOTS[4]] is None:
        fig, ax = plt.subplots(figsize=(8, 5))
        series: dict[tuple[str, str], list[tuple[int, float]]] = {}
        for r in _ok(rows):
            series.setdefault((_label(r), _run_label(r)), []).append((r["batch_size"], r["throughput_items_s"]))
        for (model, run), pts in sorted(series.items()):
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], linewidth=1, color=style.colors[model],
                    marker=style.markers[run])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("throughput (images/s)")
        ax.grid(alpha=0.3, which="both")
        style.legends(ax, _ok(rows))
        ax.set_title(f"Throughput vs batch size {title}".strip())
        figs[PLOTS[4]] = fig
    return figs


def plot_all(rows: Sequence[dict], out_dir: Path, title: str = "") -> list[Path]:
    """Write the PNG plots that are not empty (``plot_plan``) into ``out_dir``; returns their paths
    (none without matplotlib: the report says why)."""
    if _matplotlib_problem():
        return []
    import matplotlib.pyplot as plt

    paths = []
    for name, fig in figures(rows, title).items():
        paths.append(out_dir / name)
        fig.savefig(paths[-1], dpi=120, bbox_inches="tight")
        plt.close(fig)
    return paths


def write_report(
    out_dir: str | os.PathLike,
    rows: Sequence[dict],
    *,
    title: str = "lit-bench report",
    meta: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write results.json, report.md and the plots into ``out_dir``; returns their paths.

    Same call as ``lit_core.app.report.write_report``.

    Args:
        out_dir: the report directory (created).
        rows: the rows ``run_bench`` returned.
        title: the report's heading.
        meta: extra facts for results.json (command, host, …).
        overwrite: replace an existing report.

    Returns:
        ``{"json": results.json, "markdown": report.md, <plot name>: png}`` paths.

    Raises:
        FileExistsError: a report is already there and not ``overwrite`` (the file is named);
            nothing is written then.

    Examples:
        >>> cfg = BenchConfig(models=("resnet20",), variants=("dense",), backends=("eager",),
        ...                   batch_sizes=(1,), runs=3, throughput_runs=1, repeats=1, warmup=1)
        >>> paths = write_report("report", run_bench(cfg, log=lambda line: None))
        >>> paths["json"].name, paths["markdown"].name
        ('results.json', 'report.md')
    """
    out = Path(out_dir)
    meta = dict(meta or {})
    paths = {"json": out / REPORT_FILES[0], "markdown": out / REPORT_FILES[1]}
    if not overwrite:
        for p in paths.values():
            if p.exists():
                raise FileExistsError(f"{p} already exists; pass --overwrite or another --out")
    out.mkdir(parents=True, exist_ok=True)
    paths["json"].write_text(json.dumps({"title": title, "meta": meta, "rows": list(rows)}, indent=1, default=str) + "\n")
    paths["markdown"].write_text(markdown(rows, meta, title))
    for p in plot_all(rows, out, title=f"({meta.get('device', '')})"):
        paths[p.stem] = p
    return paths
