"""The run configuration: resolved once, validated whole, immutable; everything downstream reads it.

``resolve_run_config`` merges a preset, a ``--config`` TOML file, the CLI's shorthand flags and
``--set KEY=VALUE`` overrides (in that order of precedence, see ``lit_core.app.presets``) into a
``RunConfig``. Every table is checked before anything is created: unknown tables or keys, wrong
types and out-of-range values raise one ``ConfigError`` naming the setting. Each job's
``TrainConfig`` (``[train]`` overridden by ``[train.<job>]``) is derived and validated here, once.

The TOML layout::

    description = "..."
    [data]      name, data_dir, limit, test_limit, val_fraction, seed, eval_batch_size, seq_len, augment,
                loader ("memory" | "stream"); stream only: workers, image_size, resize, channels
    [models]    teacher, student (model names), teacher_kwargs, student_kwargs
    [train]     TrainConfig settings shared by every job, plus one sub-table per job that
                overrides them: [train.teacher] and [train.<method>] (lit, kd, scratch, ...)
    [run]       methods: the students ``lit run`` / ``lit compare`` train
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..data.stream import DEFAULT_IMAGE_SIZE
from ..errors import ConfigError
from ..method.methods import METHODS, get_method
from ..training.config import TrainConfig
from .presets import apply_override, load_preset, load_toml, merge

__all__ = [
    "DEFAULT_METHODS",
    "DataSettings",
    "ModelSettings",
    "RunConfig",
    "build_run_config",
    "config_diff",
    "merged_config",
    "resolve_run_config",
]

DEFAULT_METHODS = ("lit", "kd", "scratch")
LOADERS = ("memory", "stream")  # data.loader: tensors held in memory, or image files read per batch
_TOP_LEVEL = ("description", "data", "models", "train", "run")


@dataclass(frozen=True)
class DataSettings:
    """The ``[data]`` table: which data set, where, how much, and how it is split."""

    name: str = "auto"
    data_dir: str | None = None
    limit: int | None = None
    test_limit: int | None = None
    val_fraction: float = 0.1
    seed: int = 0
    eval_batch_size: int = 500
    seq_len: int | None = None  # text: characters per example (None: the data set's default)
    augment: bool = True  # the data set's training augmentation (crop/flip); off for a teacher cache
    loader: str = "memory"  # "stream": image folders read per batch by DataLoader workers
    workers: int = 2  # stream: DataLoader worker processes (0: read in the main process)
    image_size: int | None = None  # stream: side of the square crop (None: DEFAULT_IMAGE_SIZE)
    resize: int | None = None  # stream: shorter side before the center crop (None: image_size·8/7)
    channels: int | None = None  # stream: 3 (RGB, grey replicated) or 1 (greyscale); None: 3

    def __post_init__(self) -> None:
        _require(isinstance(self.name, str) and self.name, "data.name", "a data set name", self.name)
        _require(self.data_dir is None or isinstance(self.data_dir, str), "data.data_dir", "a path",
                 self.data_dir)
        for key in ("limit", "test_limit", "seq_len"):
            value = getattr(self, key)
            _require(value is None or (_is_int(value) and value > 0), f"data.{key}",
                     "a positive integer (or left out for all the data)", value)
        _require(_is_int(self.seed) and 0 <= self.seed < 2**32, "data.seed",
                 "an integer in 0..2**32-1", self.seed)
        _require(isinstance(self.augment, bool), "data.augment", "true or false", self.augment)
        _require(_is_int(self.eval_batch_size) and self.eval_batch_size > 0, "data.eval_batch_size",
                 "a positive integer", self.eval_batch_size)
        ok = _is_number(self.val_fraction) and 0 < self.val_fraction < 1
        _require(ok, "data.val_fraction", "a number in (0, 1)", self.val_fraction)
        _require(self.loader in LOADERS, "data.loader", " or ".join(f'"{v}"' for v in LOADERS),
                 self.loader)
        _require(_is_int(self.workers) and self.workers >= 0, "data.workers",
                 "a non-negative integer", self.workers)
        for key in ("image_size", "resize"):
            value = getattr(self, key)
            _require(value is None or (_is_int(value) and value > 0), f"data.{key}",
                     "a positive integer", value)
        _require(self.channels in (None, 1, 3), "data.channels", "3 (RGB) or 1 (greyscale)",
                 self.channels)
        if self.resize is not None and self.resize < (self.image_size or DEFAULT_IMAGE_SIZE):
            raise ConfigError(f"data.resize ({self.resize}) must be at least data.image_size "
                              f"({self.image_size or DEFAULT_IMAGE_SIZE}): the center crop is taken "
                              "from the resized image")
        given = [k for k in ("image_size", "resize", "channels") if getattr(self, k) is not None]
        if self.loader == "memory" and given:
            raise ConfigError(
                f'data.{given[0]} applies to data.loader = "stream" (the in-memory path keeps the '
                f'images as they are); set data.loader = "stream" or drop data.{given[0]}')
        if self.loader == "stream" and not self._is_image_folder():
            raise ConfigError(
                f'data.loader = "stream" reads image folders only (data.name is {self.name!r}); '
                'pass --data folder --data-dir DIR with DIR/train/<class>/* and DIR/test/<class>/*, '
                'or set data.loader = "memory"')

    def _is_image_folder(self) -> bool:
        """Whether the data set is an image folder (named, or ``auto`` on a train/+test/ folder)."""
        if self.name in ("folder", "imagefolder"):
            return True
        d = Path(self.data_dir) if self.name == "auto" and self.data_dir else None
        return d is not None and (d / "train").is_dir() and (d / "test").is_dir()


@dataclass(frozen=True)
class ModelSettings:
    """The ``[models]`` table: teacher and student names and their extra builder arguments."""

    teacher: str | None = None
    student: str | None = None
    teacher_kwargs: Mapping[str, Any] = field(default_factory=dict)
    student_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for role in ("teacher", "student"):
            name = getattr(self, role)
            _require(name is None or (isinstance(name, str) and name), f"models.{role}",
                     "a model name (a string)", name)
            kwargs = getattr(self, f"{role}_kwargs")
            _require(isinstance(kwargs, Mapping), f"models.{role}_kwargs",
                     "a table of builder arguments, e.g. {width = 2}", kwargs)
            object.__setattr__(self, f"{role}_kwargs", MappingProxyType(dict(kwargs)))


@dataclass(frozen=True)
class RunConfig:
    """One resolved, validated run configuration (see the module docstring)."""

    preset: str
    source: str
    description: str
    data: DataSettings
    models: ModelSettings
    methods: tuple[str, ...]
    jobs: Mapping[str, TrainConfig]
    raw: Mapping[str, Any]

    def job(self, name: str) -> TrainConfig:
        """The ``TrainConfig`` of job ``name`` (``teacher`` or a method name)."""
        if name in self.jobs:
            return self.jobs[name]
        get_method(name)  # an unknown method raises ConfigError naming the valid ones
        return self.jobs["__shared__"]

    def to_dict(self) -> dict[str, Any]:
        """The merged configuration as plain TOML/JSON types (what ``config.json`` stores)."""
        return _plain(self.raw)

    def replace(self, **overrides: Any) -> RunConfig:
        """A new ``RunConfig`` with dotted-key overrides applied, e.g.
        ``cfg.replace(**{"train.seed": 3})`` (validated as a whole again)."""
        cfg = dict(_plain(self.raw))
        for key, value in overrides.items():
            cfg = merge(cfg, _nested(key, value))
        return build_run_config(cfg, self.preset, self.source)


def resolve_run_config(
    preset: str,
    config_file: str | None = None,
    flags: Mapping[str, Any] | None = None,
    overrides: Sequence[str] = (),
    *,
    base: Mapping[str, Any] | None = None,
) -> RunConfig:
    """Preset < ``config_file`` < ``flags`` (dotted keys; ``None`` values skipped) < ``overrides``
    (``KEY=VALUE`` strings), validated as a whole into a ``RunConfig``. ``base`` replaces the
    preset's contents (``--resume`` starts from the run's own stored configuration)."""
    cfg, source = merged_config(preset, config_file, flags, overrides, base=base)
    return build_run_config(cfg, preset, source)


def merged_config(
    preset: str,
    config_file: str | None = None,
    flags: Mapping[str, Any] | None = None,
    overrides: Sequence[str] = (),
    *,
    base: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """The merged, not yet validated, configuration dict and where it came from (the first half
    of ``resolve_run_config``; a ``task = "gan"`` configuration is validated by ``lit_core.gan``)."""
    if base is not None:
        cfg, source = _plain(base), f"{preset} (stored run configuration)"
    else:
        cfg, source = load_preset(preset)
    if config_file is not None:
        cfg, source = merge(cfg, load_toml(config_file)), f"{source} + {config_file}"
    for key, value in (flags or {}).items():
        if value is not None:
            cfg = merge(cfg, _nested(key, value))
    for assignment in overrides:
        cfg = apply_override(cfg, assignment)
    return cfg, source


def config_diff(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two configuration dicts (sorted)."""
    keys = sorted(set(old) | set(new))
    out: list[str] = []
    for key in keys:
        a, b, dotted = old.get(key), new.get(key), f"{prefix}{key}"
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += config_diff(a, b, f"{dotted}.")
        elif _plain(a) != _plain(b):
            out.append(dotted)
    return out


# --------------------------------------------------------------------------- building


def build_run_config(cfg: dict[str, Any], preset: str, source: str) -> RunConfig:
    """Validate a merged configuration dict (``merged_config``) into a ``RunConfig``."""
    for table in cfg:
        if table not in _TOP_LEVEL:
            raise ConfigError(f"unknown config table {table!r}; valid: {', '.join(_TOP_LEVEL)}")
    description = cfg.get("description", "")
    _require(isinstance(description, str), "description", "a string", description)
    data = _table(cfg, "data", DataSettings)
    models = _table(cfg, "models", ModelSettings)
    run = cfg.get("run", {})
    _require(isinstance(run, Mapping), "run", "a table", run)
    unknown = sorted(set(run) - {"methods"})
    if unknown:
        raise ConfigError(f"unknown setting run.{unknown[0]}; valid: methods")
    methods = run.get("methods", list(DEFAULT_METHODS))
    _require(isinstance(methods, list) and methods and all(isinstance(m, str) for m in methods),
             "run.methods", 'a non-empty list of method names, e.g. ["lit", "kd"]', methods)
    for m in methods:
        get_method(m)
    jobs = _jobs(cfg.get("train", {}))
    if data.loader == "stream":
        cached = sorted("train" if k == "__shared__" else f"train.{k}"
                        for k, job in jobs.items() if job.teacher_cache != "off")
        if cached:
            raise ConfigError(
                f'{cached[0]}.teacher_cache cannot run with data.loader = "stream": the cache is '
                'keyed by example index, which streamed batches do not carry; set '
                'train.teacher_cache = "off" or data.loader = "memory"')
    return RunConfig(preset, source, description or source, data, models, tuple(methods),
                     MappingProxyType(jobs), MappingProxyType(dict(cfg)))


def _table(cfg: Mapping[str, Any], name: str, cls: type) -> Any:
    table = cfg.get(name, {})
    _require(isinstance(table, Mapping), name, "a table", table)
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise ConfigError(f"unknown setting {name}.{unknown[0]}; valid: {', '.join(valid)}")
    return cls(**table)


def _jobs(train: Any) -> dict[str, TrainConfig]:
    """``__shared__`` ([train] alone), then one TrainConfig per job table, all validated."""
    _require(isinstance(train, Mapping), "train", "a table", train)
    shared = {k: v for k, v in train.items() if not isinstance(v, Mapping)}
    valid_jobs = ("teacher", *METHODS)
    jobs = {"__shared__": _train_config(shared, "train")}
    for job, own in train.items():
        if not isinstance(own, Mapping):
            continue
        if job not in valid_jobs:
            raise ConfigError(f"unknown job table [train.{job}]; valid: {', '.join(valid_jobs)}")
        jobs[job] = _train_config({**shared, **own}, f"train.{job}")
    jobs.setdefault("teacher", jobs["__shared__"])
    return jobs


def _train_config(values: Mapping[str, Any], where: str) -> TrainConfig:
    try:
        return TrainConfig.from_dict(dict(values))
    except ConfigError as e:
        raise ConfigError(f"[{where}] {e}") from None


# --------------------------------------------------------------------------- helpers


def _require(ok: Any, key: str, what: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key} must be {what}; got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _nested(dotted: str, value: Any) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    return {head: _nested(rest, value) if rest else value}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
