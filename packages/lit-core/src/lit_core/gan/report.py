"""The Table 3 analogue (Markdown + JSON) of a GAN compression run."""

from __future__ import annotations

import json
from pathlib import Path

from ..io.atomic import write_text_atomic

__all__ = ["format_table", "write_report"]

_COLS = ("method", "generator", "params", "conv layers", "FID ↓", "KID×10³ ↓", "IS ↑",
         "translation acc % ↑", "train time")


def _row(r: dict) -> list[str]:
    s = r["scores"]
    return [r["method"], r["generator"], f"{r['params'] / 1e3:.1f} k", str(r["conv_layers"]),
            f"{s['fid']:.2f}", f"{1e3 * s['kid_mean']:.1f} ± {1e3 * s['kid_std']:.1f}",
            f"{s['is_mean']:.2f} ± {s['is_std']:.2f}", f"{100 * s['translation_acc']:.1f}",
            f"{r['train_seconds']:.0f} s" if r.get("train_seconds") else "—"]


def format_table(rows: list[dict]) -> str:
    """A Markdown table of the rows (one per generator)."""
    lines = ["| " + " | ".join(_COLS) + " |", "|" + "|".join("---" for _ in _COLS) + "|"]
    lines += ["| " + " | ".join(_row(r)) + " |" for r in rows]
    return "\n".join(lines)


def write_report(rows: list[dict], run_dir: Path, *, meta: dict) -> Path:
    """Write ``table.md`` (with how and where it was measured) and ``table.json``."""
    s = rows[0]["scores"] if rows else {}
    head = [f"# {meta.get('description', 'StarGAN generator compression')}", "",
            f"- **data**: {meta.get('data')}",
            f"- **feature network for FID/KID/IS**: {s.get('feature_net')} — "
            + ("standard Inception features." if "Inception-v3" in str(s.get("feature_net")) else
               "a Fashion-MNIST/domain classifier, NOT Inception: the numbers rank these models; "
               "they are not comparable with published FIDs."),
            f"- **classifier**: {meta.get('classifier')}",
            f"- **samples**: FID/KID/IS on {s.get('n_fake')} translations (every test image to every "
            f"domain) against {s.get('n_real')} real test images; KID subsets of "
            f"{meta.get('kid_subset_size')}; translation accuracy over the {s.get('n_translations')} "
            "pairs whose target domain differs from the source",
            f"- **teacher**: {meta.get('teacher')}",
            *[f"- **{k}**: {meta[k]}" for k in ("command", "device", "date_utc", "git_commit", "torch",
                                                 "wall_seconds") if k in meta],
            "", format_table(rows), ""]
    if meta.get("notes"):
        head += [*meta["notes"], ""]
    write_text_atomic(run_dir / "table.md", "\n".join(head))
    write_text_atomic(run_dir / "table.json", json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return run_dir / "table.md"
