"""The ``gan`` preset's tables: validation and the per-job schedule.

A GAN configuration (e.g. ``lit_core/configs/gan-cpu.toml``) has::

    task = "gan"; description; teacher_ckpt (path, or a file name under lit_core/gan/weights/)
    [data]     name, data_dir, image_size, limit, test_limit, seed, selected_attrs, crop_size, test_count
    [models]   conv_dim, d_conv_dim, d_repeat_num, teacher_blocks, student_blocks, sections
    [train]    GanSchedule fields + lambda_cls/rec/gp, seed, device, shared by every job, and one
               sub-table per job overriding them: teacher, lit, l2, scratch
               (lit/l2 also: section_steps, section_lr, finetune_iters, finetune)
    [eval]     classifier_ckpt, classifier_model, classifier_epochs, inception_weights,
               kid_subset_size, grid_inputs, methods
"""

from __future__ import annotations

from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .losses import GanWeights
from .train import GanSchedule

__all__ = ["FINETUNE_MODES", "JOBS", "METHODS", "job_settings", "resolve_weights", "validate"]

METHODS = ("teacher", "lit", "l2", "scratch", "rand_init")
JOBS = ("teacher", "lit", "l2", "scratch")
_KEYS = {
    "task": None, "description": None, "teacher_ckpt": None,
    "data": {"name", "data_dir", "image_size", "limit", "test_limit", "seed", "selected_attrs",
             "crop_size", "test_count"},
    "models": {"conv_dim", "d_conv_dim", "d_repeat_num", "teacher_blocks", "student_blocks", "sections"},
    "train": None,
    "eval": {"classifier_ckpt", "classifier_model", "classifier_epochs", "inception_weights",
             "kid_subset_size", "grid_inputs", "methods", "batch_size"},
}
_SCHEDULE = {f.name for f in fields(GanSchedule)}
_EXTRA = {"lambda_cls", "lambda_rec", "lambda_gp", "seed", "device"}
_SECTION = {"section_steps", "section_lr", "finetune_iters", "finetune"}
# how lit/l2 fine-tune G after the section phase (``run._compress``)
FINETUNE_MODES = ("fixed_d", "trained_d", "frozen_g")


def validate(cfg: dict[str, Any]) -> dict[str, Any]:
    """Reject unknown tables, keys, jobs and methods with one message naming them; return ``cfg``."""
    for table, value in cfg.items():
        if table not in _KEYS:
            raise ConfigError(f"unknown config table {table!r} for a GAN run; valid: {', '.join(_KEYS)}")
        keys = _KEYS[table]
        if keys is not None:
            unknown = sorted(set(value) - keys)
            if unknown:
                raise ConfigError(f"unknown setting {table}.{unknown[0]}; valid: {', '.join(sorted(keys))}")
    train = cfg.get("train", {})
    for key, value in train.items():
        if isinstance(value, dict):
            if key not in JOBS:
                raise ConfigError(f"unknown job table [train.{key}]; valid: {', '.join(JOBS)}")
            allowed = _SCHEDULE | _EXTRA | (_SECTION if key in ("lit", "l2") else set())
            bad = sorted(set(value) - allowed)
            if bad:
                raise ConfigError(f"unknown setting train.{key}.{bad[0]}; valid: {', '.join(sorted(allowed))}")
            mode = value.get("finetune", "fixed_d")
            if mode not in FINETUNE_MODES:
                raise ConfigError(f"train.{key}.finetune must be one of {', '.join(FINETUNE_MODES)}; "
                                  f"got {mode!r}")
        elif key not in _SCHEDULE | _EXTRA:
            raise ConfigError(f"unknown setting train.{key}; valid: {', '.join(sorted(_SCHEDULE | _EXTRA))}")
    bad = [m for m in cfg.get("eval", {}).get("methods", []) if m not in METHODS]
    if bad:
        raise ConfigError(f"unknown method {bad[0]!r} in eval.methods; valid: {', '.join(METHODS)}")
    return cfg


def job_settings(cfg: dict[str, Any], job: str) -> tuple[GanSchedule, GanWeights, dict[str, Any]]:
    """``[train]`` overridden by ``[train.<job>]``: the schedule, the loss weights, the rest."""
    train = cfg.get("train", {})
    merged = {k: v for k, v in train.items() if not isinstance(v, dict)}
    merged.update(train.get(job, {}))
    sched = GanSchedule.from_table({k: v for k, v in merged.items() if k in _SCHEDULE})
    weights = GanWeights(float(merged.get("lambda_cls", 1.0)), float(merged.get("lambda_rec", 10.0)),
                         float(merged.get("lambda_gp", 10.0)))
    rest = {k: v for k, v in merged.items() if k not in _SCHEDULE}
    return sched, weights, rest


def resolve_weights(name: str | None) -> Path | None:
    """A checkpoint path: as given if it exists, else a file shipped under ``lit_core/gan/weights``."""
    if not name:
        return None
    p = Path(name).expanduser()
    if p.exists():
        return p
    shipped = Path(str(resources.files("lit_core.gan") / "weights" / str(name)))
    return shipped if shipped.is_file() else p
