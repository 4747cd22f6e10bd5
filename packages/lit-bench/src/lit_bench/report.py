"""Bench report: ``results.json`` (all rows), ``report.md`` (tables, findings, problems), PNG plots."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .timing import NOISY_SPREAD_PCT, P99_MIN_SAMPLES

__all__ = ["PLOTS", "REPORT_FILES", "findings", "markdown", "plot_all", "unproven", "write_report"]

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


def _run_label(r: dict) -> str:
    return f"{r['backend']} {r['dtype']}"


def _acc(r: dict) -> str:
    """``0.8123``, or ``0.8123 ± 0.0021 (n=5)`` for a mean over seeds."""
    if r.get("accuracy_std") is not None:
        return f"{r['accuracy']:.4f} ± {r['accuracy_std']:.4f} (n={r['accuracy_n']})"
    return _fmt(r["accuracy"], ".4f")


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
            pruned = [r for (m, v, bb, dd), r in sorted(lat.items()) if (bb, dd) == (b, d) and v != "dense"]
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
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    lines += ["", "## Batch-1 latency", ""]
    lines += [
        "| model | variant | backend | dtype | params | MACs | conv layers | accuracy | p50 ms | p90 ms | p99 ms | spread % | sync. images/s | peak MiB | max rel err |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in sorted(_ok(rows, 1), key=lambda r: (r["backend"], r["dtype"], r["latency_ms_p50"])):
        lines.append(
            f"| {r['model']} | {r['variant']} | {r['backend']} | {r['dtype']} | {r['params']:,} | "
            f"{r['macs']:.3g} | {r['conv_layers']} | {_acc(r)} | "
            f"{_fmt(r['latency_ms_p50'])} | {_fmt(r['latency_ms_p90'])} | {_fmt(r['latency_ms_p99'])} | "
            f"{_spread(r)} | {_fmt(r['throughput_items_s'], '.4g')} | {_mib(r['peak_mem_bytes'])} | {_fmt(r['max_rel_error'], '.1e')} |"
        )
    batches = sorted({r["batch_size"] for r in _ok(rows) if r["batch_size"] != 1})
    if batches:
        lines += ["", "## Synchronous throughput (images/s) by batch size", ""]
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
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in PLOTS]
    lines += ["", "Columns: params = parameters (nonzero ones for unstructured pruning); MACs = conv+linear "
              "multiply-adds per image (Li et al. 2017 convention, lit_core.models.profile); latency = wall time of "
              "one synchronised call; p99 only from "
              f"{P99_MIN_SAMPLES} samples on (else –); sync. images/s = synchronous throughput = batch / "
              "median latency (one call in flight, no pipelining); spread % = how far the medians of the row's "
              "`repeats` timing groups spread, (max − min) / median × 100 (— where not measured), in brackets in "
              f"the throughput table; **noisy** = spread over {NOISY_SPREAD_PCT:g} %, and no finding states a "
              "speed-up from a noisy row or from two rows whose medians differ by less than their spreads added; "
              "peak MiB = steady-state peak after "
              "warm-up (see lit_bench.timing; – for ORT on GPU: its own arena); max rel err = "
              "max|y − y_eager_fp32| / max|y_eager_fp32| on a random input. eager keeps BatchNorm; "
              "every other backend runs the BN-folded model, as eager_folded does.", ""]
    return "\n".join(lines)


def _scatter(ax, rows: Sequence[dict], xkey: str, xlabel: str) -> None:
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(_run_label(r), []).append(r)
    for label, rs in sorted(groups.items()):
        ax.scatter([r[xkey] for r in rs], [r["latency_ms_p50"] for r in rs], label=label, s=25)
        for r in rs:
            ax.annotate(_label(r), (r[xkey], r["latency_ms_p50"]), fontsize=6, alpha=0.7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("batch-1 latency, median (ms)")
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(fontsize=7)


def _accuracy_scatter(ax, rows: Sequence[dict], xkey: str) -> None:
    """Accuracy (with its spread over seeds as error bars) against ``xkey``, one colour per backend/dtype."""
    for label in sorted({_run_label(r) for r in rows}):
        rs = [r for r in rows if _run_label(r) == label]
        ax.errorbar([r[xkey] for r in rs], [r["accuracy"] for r in rs],
                    yerr=[r.get("accuracy_std") or 0.0 for r in rs], fmt="o", ms=4, capsize=3, label=label)
        for r in rs:
            ax.annotate(_label(r), (r[xkey], r["accuracy"]), fontsize=6, alpha=0.7)
    ax.set_ylabel("test accuracy (error bars: std over seeds)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def plot_all(rows: Sequence[dict], out_dir: Path, title: str = "") -> list[Path]:
    """Write the PNG plots (``PLOTS``) into ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b1 = _ok(rows, 1)
    paths = []

    fig, ax = plt.subplots(figsize=(7, 5))
    with_acc = [r for r in b1 if r["accuracy"] is not None]
    if with_acc:
        _accuracy_scatter(ax, with_acc, "latency_ms_p50")
        ax.set_xlabel("batch-1 latency, median (ms)")
    missing = sorted({_label(r) for r in b1 if r["accuracy"] is None})
    if missing:
        ax.text(0.5, 0.5 if not with_acc else 0.05,
                "no accuracy for: " + ", ".join(missing) + "\n(pass --checkpoint MODEL=PATH of a lit-core run)",
                transform=ax.transAxes, ha="center", va="center", fontsize=7, wrap=True, color="firebrick")
    ax.set_title(f"Latency vs accuracy (Pareto view) {title}".strip())
    paths.append(out_dir / PLOTS[0])

    fig4, ax4 = plt.subplots(figsize=(7, 5))
    largest = [r for r in _best_throughput(rows).values() if r["accuracy"] is not None]
    if largest:
        _accuracy_scatter(ax4, largest, "throughput_items_s")
        ax4.set_xlabel("synchronous throughput at the largest batch timed (images/s)")
    else:
        ax4.text(0.5, 0.5, "no accuracies (pass --run DIR or --checkpoint MODEL=PATH)", transform=ax4.transAxes,
                 ha="center", va="center", fontsize=8, color="firebrick")
    ax4.set_title(f"Throughput vs accuracy {title}".strip())
    paths.append(out_dir / PLOTS[1])
    fig4.savefig(paths[-1], dpi=120, bbox_inches="tight")
    plt.close(fig4)

    for name, key, xlabel in ((PLOTS[2], "conv_layers", "conv layers (depth)"), (PLOTS[3], "macs", "MACs per image")):
        fig2, ax2 = plt.subplots(figsize=(7, 5))
        _scatter(ax2, b1, key, xlabel)
        ax2.set_title(f"Batch-1 latency vs {xlabel} {title}".strip())
        paths.append(out_dir / name)
        fig2.savefig(paths[-1], dpi=120, bbox_inches="tight")
        plt.close(fig2)
    fig.savefig(paths[0], dpi=120, bbox_inches="tight")
    plt.close(fig)

    fig3, ax3 = plt.subplots(figsize=(8, 5))
    series: dict[str, list[tuple[int, float]]] = {}
    for r in _ok(rows):
        series.setdefault(f"{_label(r)} {_run_label(r)}", []).append((r["batch_size"], r["throughput_items_s"]))
    cands = sorted({_label(r) for r in _ok(rows)})
    runs = sorted({_run_label(r) for r in _ok(rows)})
    colors = plt.get_cmap("tab20").colors
    styles = ("-", "--", ":", "-.")
    for label, pts in sorted(series.items()):
        cand, run = label.split(" ", 1)
        pts.sort()
        ax3.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label, linewidth=1,
                 color=colors[cands.index(cand) % len(colors)], linestyle=styles[runs.index(run) % len(styles)])
    ax3.set_xscale("log", base=2)
    ax3.set_yscale("log")
    ax3.set_xlabel("batch size")
    ax3.set_ylabel("throughput (images/s)")
    ax3.grid(alpha=0.3, which="both")
    if series:
        ax3.legend(fontsize=6, ncol=2, bbox_to_anchor=(1.02, 1), loc="upper left")
    ax3.set_title(f"Throughput vs batch size {title}".strip())
    paths.append(out_dir / PLOTS[4])
    fig3.savefig(paths[-1], dpi=120, bbox_inches="tight")
    plt.close(fig3)
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

    Same call as ``lit_core.app.report.write_report``: raises ``FileExistsError`` (naming the file) if a
    report is already there and not ``overwrite``; nothing is written in that case.
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
