"""Command line for the GAN task: ``python -m lit_core.gan`` (the ``lit`` CLI will call ``run``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..presets import apply_override, load_preset, load_toml

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the teacher training or the compression run; 0 on success."""
    p = argparse.ArgumentParser(prog="python -m lit_core.gan", description=__doc__)
    p.add_argument("--preset", default="gan-cpu", help="preset name (lit_core/configs/NAME.toml)")
    p.add_argument("--config", help="a TOML file replacing the preset")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. train.lit.section_steps=100")
    p.add_argument("--out", default="results", help="parent folder; the run goes to OUT/<preset>")
    p.add_argument("--teacher-ckpt", help="teacher file: lit's, or an official StarGAN *-G.ckpt")
    p.add_argument("--train-teacher", action="store_true", help="train the teacher instead of compressing it")
    p.add_argument("--export", help="with --train-teacher: where to write the portable teacher file")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--overwrite", action="store_true")
    a = p.parse_args(argv)

    try:
        cfg = load_toml(a.config) if a.config else load_preset(a.preset)[0]
        for s in a.set:
            cfg = apply_override(cfg, s)
        run_dir = Path(a.out) / (Path(a.config).stem if a.config else a.preset)
        if a.train_teacher:
            from .teacher import train_teacher  # torch imports after argument errors

            path = train_teacher(cfg, run_dir, resume=a.resume, overwrite=a.overwrite,
                                 export=Path(a.export) if a.export else None)
            print(f"teacher written to {path}")
        else:
            from .run import run

            run(cfg, run_dir, resume=a.resume, overwrite=a.overwrite,
                teacher_ckpt=Path(a.teacher_ckpt) if a.teacher_ckpt else None)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"lit: error: {e}", file=sys.stderr)
        return 2
    return 0
