"""The depth-gap study's two measurements that lit's own reports do not make (PROTOCOL.md).

``python analysis.py train-acc RUN_DIR``: the teacher's clean training accuracy — its selected
checkpoint on the run's training split without augmentation.

``python analysis.py inheritance TEACHER_CKPT RUN_DIR [--out FILE.json]``: on the test images the
teacher gets wrong, the fraction on which each student (every ``job.json`` under ``RUN_DIR`` with
a ``best.pt``) predicts the teacher's wrong label, beside its test accuracy.

Both read the data exactly as the run split it (its ``config.json``) and load checkpoints with
lit-core's code-free loader. CPU, batch 500.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

import lit_models
from lit_core import load_model_weights
from lit_core.app import build_run_config, load_run_data
from lit_core.io import load_checkpoint, write_json_atomic


def _splits(run_dir: Path):
    stored = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    cfg = build_run_config(stored.get("config", stored),
                           str(stored.get("preset", "")), "config.json")
    return load_run_data(cfg, quiet=True)


def _model(ckpt: Path, splits) -> torch.nn.Module:
    meta = load_checkpoint(ckpt).get("meta", {})
    kwargs = {"num_classes": splits.num_classes, "in_chans": splits.in_chans,
              "img_size": splits.image_size, **(meta.get("model_kwargs") or {})}
    model = lit_models.create_model(meta["model"], **kwargs)
    load_model_weights(model, ckpt)
    return model.eval()


@torch.no_grad()
def predictions(model: torch.nn.Module, inputs: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Top-1 class of every input (eval mode, no augmentation)."""
    return torch.cat([model(inputs[i:i + batch]).argmax(1) for i in range(0, len(inputs), batch)])


def inherited_fraction(teacher_pred: torch.Tensor, student_pred: torch.Tensor,
                       labels: torch.Tensor) -> tuple[float, int]:
    """Share of the teacher's wrong test images on which the student repeats its wrong label."""
    wrong = teacher_pred != labels
    n = int(wrong.sum())
    same = int((student_pred[wrong] == teacher_pred[wrong]).sum())
    return (same / n if n else float("nan")), n


def train_acc(run_dir: Path) -> dict:
    splits = _splits(run_dir)
    ckpt = next(run_dir.glob("teacher/best.pt"))
    pred = predictions(_model(ckpt, splits), splits.train.inputs)
    return {"checkpoint": str(ckpt), "train_images": len(pred),
            "clean_train_acc": float((pred == splits.train.labels).float().mean())}


def inheritance(teacher_ckpt: Path, run_dir: Path) -> dict:
    splits = _splits(run_dir)
    x, y = splits.test.inputs, splits.test.labels
    t_pred = predictions(_model(teacher_ckpt, splits), x)
    rows = []
    for record in sorted(run_dir.rglob("job.json")):
        ckpt = record.parent / "best.pt"
        if not ckpt.is_file() or record.parent.name == "teacher":
            continue
        s_pred = predictions(_model(ckpt, splits), x)
        frac, n = inherited_fraction(t_pred, s_pred, y)
        rows.append({"job": str(record.parent.relative_to(run_dir)),
                     "test_acc": float((s_pred == y).float().mean()),
                     "inherits_teacher_error": frac, "teacher_wrong": n})
    return {"teacher": str(teacher_ckpt), "teacher_test_acc": float((t_pred == y).float().mean()),
            "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("train-acc")
    a.add_argument("run_dir", type=Path)
    b = sub.add_parser("inheritance")
    b.add_argument("teacher_ckpt", type=Path)
    b.add_argument("run_dir", type=Path)
    for p in (a, b):
        p.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    result = train_acc(args.run_dir) if args.cmd == "train-acc" else inheritance(args.teacher_ckpt, args.run_dir)
    if args.out:
        write_json_atomic(args.out, result)
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
