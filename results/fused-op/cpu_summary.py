"""Collect two `python -m lit_bench` CPU runs (1 and 2 threads) into cpu.json and cpu.md here.

    python results/fused-op/cpu_summary.py RUN_T1_DIR RUN_T2_DIR --meta meta.json

Each run dir holds the bench's results.json; meta.json holds the commands, date, git commit and
the machine's load average before and after (written by the shell that ran them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = ("eager", "fused", "compile", "onnxrt")


def _rows(run: Path, threads: int) -> list[dict]:
    data = json.loads((run / "results.json").read_text())
    rows = data["rows"] if isinstance(data, dict) else data
    keep = ("model", "backend", "batch_size", "status", "reason", "latency_ms_p50", "latency_ms_p90",
            "throughput_items_s", "max_rel_error", "runs")
    return [{"threads": threads, **{k: r.get(k) for k in keep}} for r in rows]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("t1", type=Path)
    p.add_argument("t2", type=Path)
    p.add_argument("--meta", type=Path, required=True)
    args = p.parse_args()
    meta = json.loads(args.meta.read_text())
    rows = _rows(args.t1, 1) + _rows(args.t2, 2)
    (HERE / "cpu.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    by = {(r["threads"], r["model"], r["batch_size"], r["backend"]): r for r in rows}
    lines = [
        "# Fused op on the CPU (oneDNN path) vs eager, torch.compile and ONNX Runtime",
        "",
        f"Device: {meta['device']}. Date: {meta['date']}. Git commit: {meta['git']}.",
        f"Load average (1/5/15 min) before: {meta['load_before']}; between: {meta['load_between']}; "
        f"after: {meta['load_after']} (a shared machine: other engineers' jobs ran meanwhile).",
        "",
        "Commands (one run per thread count; backends interleaved within each run):",
        "",
        *[f"    {c}" for c in meta["commands"]],
        "",
        "Batch 1: p50 latency in ms (lower is better). Batch 64: throughput in images/s (higher is "
        "better). `fused ≥ eager` compares the fused row with eager in the same run.",
        "",
        "| threads | model | batch | eager | fused | compile | onnxrt | fused ≥ eager |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in (1, 2):
        for model in ("resnet20", "resnet8"):
            for batch in (1, 64):
                cells, vals = [], {}
                for b in BACKENDS:
                    r = by.get((t, model, batch, b))
                    if r is None or r["status"] != "ok":
                        cells.append(f"{r['status']}: {r['reason']}" if r else "—")
                        continue
                    v = r["latency_ms_p50"] if batch == 1 else r["throughput_items_s"]
                    vals[b] = v
                    cells.append(f"{v:.2f} ms" if batch == 1 else f"{v:,.0f}/s")
                ok = "—"
                if "fused" in vals and "eager" in vals:
                    better = vals["fused"] <= vals["eager"] if batch == 1 else vals["fused"] >= vals["eager"]
                    ratio = vals["eager"] / vals["fused"] if batch == 1 else vals["fused"] / vals["eager"]
                    ok = f"{'yes' if better else 'NO'} ({ratio:.2f}×)"
                lines.append(f"| {t} | {model} | {batch} | " + " | ".join(cells) + f" | {ok} |")
    lines += ["", *meta.get("notes", [])]
    (HERE / "cpu.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
