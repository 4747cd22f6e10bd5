"""The depth-gap report's side-by-side table (PROTOCOL.md, exploratory 1 and 2) from the run records.

``python tables.py RUN_DIR [RUN_DIR ...] --seeds 1,2,3 [--inheritance FILE.json ...] [--out FILE]``

Reads every finished job of each run from its ``state.json`` (job names ``<method>-seed<N>``, as
``lit compare --seeds`` writes them), keeps the given seeds, and writes one row per method: seeds,
test accuracy mean ± std, summed learning rate over its phases, the share of the teacher's wrong
test labels it repeats (mean over seeds, from ``analysis.py inheritance`` files), and its paired
difference to LIT and to KD over their common seeds with a 95 % t interval (descriptive only: these
are the protocol's exploratory comparisons, not tests). ``FILE.md`` gets the Markdown table,
``FILE.json`` the numbers. A job present in two runs, or a seed no run has, is refused.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

from lit_core.io import write_json_atomic, write_text_atomic
from lit_core.studies.stats import paired_test, summarize

JOB = re.compile(r"^(?P<method>.+)-seed(?P<seed>\d+)$")
REFERENCES = ("lit", "kd")  # every method's paired difference is shown to these two


def job_rows(run_dirs: list[Path], seeds: list[int]) -> list[dict]:
    """One row per finished ``<method>-seed<N>`` job of the runs, for the given seeds."""
    rows: dict[str, dict] = {}
    for run in run_dirs:
        state = run / "state.json"
        if not state.is_file():
            raise ValueError(f"{state}: no such file; pass a `lit compare --seeds` run directory")
        for name, rec in json.loads(state.read_text(encoding="utf-8")).get("jobs", {}).items():
            m = JOB.match(name)
            if not m or int(m["seed"]) not in seeds:
                continue
            if name in rows:
                raise ValueError(f"job {name} is in two runs ({rows[name]['run']} and {run}); pass each run once")
            rows[name] = {"run": str(run), "job": name, "method": m["method"], "seed": int(m["seed"]),
                          "test_acc": rec["test_acc"], "val_acc": rec.get("val_acc"),
                          "lr_sum": sum(b["lr_sum"] for b in rec.get("budget") or [])}
    missing = sorted(set(seeds) - {r["seed"] for r in rows.values()})
    if missing:
        raise ValueError(f"no finished job has seed(s) {missing}; finish them or drop them from --seeds")
    return list(rows.values())


def inheritance_by_job(files: list[Path]) -> dict[str, float]:
    """``analysis.py inheritance`` results keyed by job name (``jobs/kd-seed1`` → ``kd-seed1``)."""
    out: dict[str, float] = {}
    for f in files:
        for r in json.loads(f.read_text(encoding="utf-8"))["rows"]:
            name = Path(r["job"]).name
            if name in out:
                raise ValueError(f"{f}: job {name} already read from another inheritance file")
            out[name] = r["inherits_teacher_error"]
    return out


def side_by_side(rows: list[dict], inherits: dict[str, float]) -> list[dict]:
    """Per method: seeds, test mean ± std, summed lr, inheritance, paired differences to LIT and KD."""
    table = []
    for s in summarize(rows, "test_acc"):
        mine = [r for r in rows if r["method"] == s.method]
        inh = [inherits[r["job"]] for r in mine if r["job"] in inherits]
        row = {"method": s.method, "seeds": sorted(r["seed"] for r in mine), "test_mean": s.mean,
               "test_std": s.std, "lr_sum": mine[0]["lr_sum"],
               "inherits_mean": statistics.fmean(inh) if len(inh) == len(mine) else None}
        for ref in REFERENCES:
            common = {r["seed"] for r in mine} & {r["seed"] for r in rows if r["method"] == ref}
            if ref == s.method or len(common) < 2:
                row[f"vs_{ref}"] = None
                continue
            t = paired_test(rows, s.method, ref)
            row[f"vs_{ref}"] = {"n": t.n, "mean_diff": t.mean_diff, "ci_low": t.ci_low, "ci_high": t.ci_high}
        table.append(row)
    return table


def markdown(table: list[dict]) -> str:
    def diff(d: dict | None) -> str:
        if d is None:
            return "—"
        return f"{100 * d['mean_diff']:+.2f} [{100 * d['ci_low']:+.2f}, {100 * d['ci_high']:+.2f}]"

    lines = ["| method | seeds | test acc % (mean ± std) | summed lr | repeats teacher's error % | "
             "− LIT, pp [95 % CI] | − KD, pp [95 % CI] |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in table:
        inh = "—" if r["inherits_mean"] is None else f"{100 * r['inherits_mean']:.1f}"
        lines.append(f"| {r['method']} | {','.join(map(str, r['seeds']))} | {100 * r['test_mean']:.2f} ± "
                     f"{100 * r['test_std']:.2f} | {r['lr_sum']:.3g} | {inh} | {diff(r['vs_lit'])} | "
                     f"{diff(r['vs_kd'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", type=Path, nargs="+", help="`lit compare --seeds` run directories")
    ap.add_argument("--seeds", required=True, help="comma-separated seeds to keep, e.g. 1,2,3")
    ap.add_argument("--inheritance", type=Path, action="append", default=[], help="analysis.py inheritance JSON")
    ap.add_argument("--out", type=Path, help="FILE: writes FILE.md and FILE.json")
    args = ap.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",")] if re.fullmatch(r"\d+(,\d+)*", args.seeds) else None
        if seeds is None:
            raise ValueError(f"--seeds {args.seeds!r}: expected comma-separated integers, e.g. 1,2,3")
        table = side_by_side(job_rows(args.runs, seeds), inheritance_by_job(args.inheritance))
    except (ValueError, OSError) as exc:
        print(f"tables.py: {exc}", file=sys.stderr)
        return 2
    text = markdown(table)
    if args.out:
        write_text_atomic(args.out.with_suffix(".md"), text)
        write_json_atomic(args.out.with_suffix(".json"), {"seeds": seeds, "rows": table})
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
