"""Run configuration for the CLI: presets (TOML), a user's TOML file, and ``KEY=VALUE`` overrides.

A configuration has five tables::

    description = "..."
    [data]      name, data_dir, limit, test_limit, val_fraction, seed, eval_batch_size
    [models]    teacher, student (model names), teacher_kwargs, student_kwargs
    [train]     TrainConfig settings shared by every job, plus one sub-table per job that
                overrides them: [train.teacher] (the teacher, trained from scratch) and
                [train.<method>] (lit, kd, scratch, fitnets, ...)
    [run]       methods: the students ``lit run`` / ``lit compare`` train

Precedence: preset < ``--config FILE`` < ``--set a.b.c=VALUE`` (VALUE is parsed as TOML, else
taken as a string). Presets ship inside the package (``lit_core/configs/NAME.toml``); a file
``configs/NAME.toml`` in the working directory or ``$LIT_CONFIG_DIR`` takes precedence.
"""

from __future__ import annotations

import copy
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from .config import TrainConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULT_PRESET",
    "apply_override",
    "job_config",
    "list_presets",
    "load_preset",
    "load_toml",
    "merge",
    "validate_config",
]

DEFAULT_PRESET = "cpu"
_TABLES = {
    "description": None,
    "data": {"name", "data_dir", "limit", "test_limit", "val_fraction", "seed", "eval_batch_size"},
    "models": {"teacher", "student", "teacher_kwargs", "student_kwargs"},
    "train": None,  # TrainConfig fields + per-job tables, checked by job_config
    "run": {"methods"},
}


def _preset_dirs() -> list[Path]:
    dirs = [Path(p) for p in (os.environ.get("LIT_CONFIG_DIR"),) if p]
    return [*dirs, Path.cwd() / "configs"]


def list_presets() -> list[str]:
    """Names of the presets available (bundled and in ./configs or $LIT_CONFIG_DIR)."""
    names = {p.stem for d in _preset_dirs() if d.is_dir() for p in d.glob("*.toml")}
    bundled = resources.files("lit_core") / "configs"
    names |= {p.name[:-5] for p in bundled.iterdir() if p.name.endswith(".toml")}
    return sorted(names)


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML file; a missing or malformed file raises ``ValueError`` naming it."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"config file {p} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"config file {p} is not valid TOML: {e}") from None


def load_preset(name: str) -> tuple[dict[str, Any], str]:
    """The preset's configuration and where it was read from."""
    for d in _preset_dirs():
        if (d / f"{name}.toml").is_file():
            return load_toml(d / f"{name}.toml"), str(d / f"{name}.toml")
    bundled = resources.files("lit_core") / "configs" / f"{name}.toml"
    if bundled.is_file():
        return tomllib.loads(bundled.read_text(encoding="utf-8")), f"lit_core/configs/{name}.toml"
    raise ValueError(f"unknown preset {name!r}; available: {', '.join(list_presets())}")


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, other values in ``over`` replace those in ``base``."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(cfg: dict[str, Any], assignment: str) -> dict[str, Any]:
    """Apply one ``a.b.c=VALUE`` override (VALUE parsed as TOML, else a string)."""
    key, sep, value = assignment.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set expects KEY=VALUE (e.g. train.lit.epochs=3); got {assignment!r}")
    parts = [k.strip() for k in key.split(".")]
    nested: dict[str, Any] = {parts[-1]: _parse_value(value.strip())}
    for part in reversed(parts[:-1]):
        nested = {part: nested}
    return merge(cfg, nested)


def validate_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """Reject unknown tables and keys (naming them); return ``cfg``."""
    for table, value in cfg.items():
        if table not in _TABLES:
            raise ValueError(f"unknown config table {table!r}; valid: {', '.join(_TABLES)}")
        keys = _TABLES[table]
        if keys is not None:
            if not isinstance(value, dict):
                raise ValueError(f"config entry {table!r} must be a table")
            unknown = sorted(set(value) - keys)
            if unknown:
                raise ValueError(
                    f"unknown setting {table}.{unknown[0]}; valid: {', '.join(sorted(keys))}"
                )
    for role in ("teacher", "student"):
        if not isinstance(cfg.get("models", {}).get(role, ""), str):
            raise ValueError(f"models.{role} must be a model name (a string)")
    return cfg


def job_config(cfg: dict[str, Any], job: str) -> TrainConfig:
    """The ``TrainConfig`` of one job: ``[train]`` overridden by ``[train.<job>]`` (validated)."""
    train = cfg.get("train", {})
    shared = {k: v for k, v in train.items() if not isinstance(v, dict)}
    own = train.get(job, {})
    try:
        return TrainConfig.from_dict({**shared, **own})
    except (TypeError, ValueError) as e:
        where = f"train.{job}" if own else "train"
        raise ValueError(f"[{where}] {e}") from None
