"""Which models a job builds: the configured teacher and student, or the registered model a
checkpoint records — never an import path named by a file (a checkpoint cannot choose code)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..errors import CheckpointError, ConfigError
from ..io.checkpoint import (
    check_counts_fit_state,
    check_state_fits,
    load_checkpoint,
    load_state_into,
)
from ..method.methods import get_method
from ..models.build import build_model, is_import_path
from ..training.runtime import seed_everything
from .session import Session

__all__ = ["ModelSpec", "load_weights", "model_kwargs", "model_spec", "recorded_spec", "student_spec", "teacher_spec"]


@dataclass(frozen=True)
class ModelSpec:
    """A model to build: name, keyword arguments, and whether the name may be an import path."""

    name: str
    kwargs: dict[str, Any]
    allow_import: bool = True
    data: str = ""  # what the model is built for, named in errors ("text data (fortunes)")

    def build(self, seed: int) -> nn.Module:
        """A freshly initialised model (seeded)."""
        seed_everything(seed)
        try:
            return build_model(self.name, allow_import=self.allow_import, **self.kwargs)
        except ConfigError as e:
            if self.data and "does not accept" in str(e):
                raise ConfigError(f"model {self.name!r} cannot be built for {self.data}: {e}") from None
            raise


def model_kwargs(session: Session) -> dict[str, Any]:
    """What a model builder needs for this data (images: classes, channels; text: classes,
    vocabulary, sequence length): the task interface of ``DataSplits``."""
    return dict(session.data.model_kwargs())


_TASK_KEYS = ("num_classes", "in_chans", "vocab_size")  # seq_len changes no weight: not checked


def _misfits(session: Session, kwargs: dict[str, Any]) -> str:
    """The task arguments (classes, channels, vocabulary) in ``kwargs`` that differ from the
    data's own, as ``num_classes=5 (the data has 10)``; empty when all fit."""
    data = model_kwargs(session)
    return ", ".join(f"{k}={kwargs[k]!r} (the data has {data[k]})" for k in _TASK_KEYS
                     if k in kwargs and k in data and kwargs[k] != data[k])


def model_spec(session: Session, role: str) -> ModelSpec:
    models = session.cfg.models
    name = getattr(models, role)
    if not name:
        raise ConfigError(f"no {role} model configured; pass --{role} NAME or --set models.{role}=NAME")
    extra = dict(getattr(models, f"{role}_kwargs"))
    misfits = _misfits(session, extra)
    if misfits:
        raise ConfigError(
            f"models.{role}_kwargs does not fit {session.data.name}: {misfits}; remove them "
            "(lit sets them from the data)"
        )
    return ModelSpec(name, {**model_kwargs(session), **extra},
                     data=f"{session.data.kind} data ({session.data.name})")


def teacher_spec(session: Session, ckpt: Path | None, teacher_given: bool) -> ModelSpec:
    """The configured teacher, or the registered model a checkpoint records (unless --teacher
    names one). A checkpoint may only name registered models, never an import path."""
    spec = model_spec(session, "teacher") if (teacher_given or ckpt is None) else None
    if spec is not None:
        return spec
    loaded = load_checkpoint(ckpt)
    meta = loaded.get("meta", {})
    name = meta.get("model") if isinstance(meta, dict) else None
    if not name:
        return model_spec(session, "teacher")
    return recorded_spec(session, ckpt, loaded)


def recorded_spec(session: Session, ckpt: Path, loaded: dict[str, Any]) -> ModelSpec:
    """The registered model the checkpoint ``ckpt`` (already ``loaded``) records in its ``meta``,
    with its recorded kwargs, checked against the data and its own tensors before anything is built."""
    meta = loaded.get("meta") if isinstance(loaded.get("meta"), dict) else {}
    name, kwargs = meta.get("model"), meta.get("model_kwargs")
    if not isinstance(name, str) or is_import_path(name):
        raise CheckpointError(
            f"{ckpt} names the model builder {name!r}; a checkpoint may only name registered "
            "models (a file must never choose which code runs): pass --teacher/--model yourself"
        )
    if kwargs is not None and not isinstance(kwargs, dict):
        raise CheckpointError(f"{ckpt}: meta.model_kwargs is not a table of builder arguments")
    misfits = _misfits(session, kwargs or {})
    if misfits:
        raise CheckpointError(
            f"checkpoint {ckpt} was trained for other data than {session.data.name}: "
            f"meta.model_kwargs {misfits}; use it on the data it was trained for"
        )
    state = loaded.get("model")
    if kwargs and isinstance(state, dict):  # the file's tensor count caps the blocks it may ask for
        check_counts_fit_state(kwargs, state, ckpt)
    return ModelSpec(name, {**model_kwargs(session), **(kwargs or {})}, allow_import=False,
                     data=f"{session.data.kind} data ({session.data.name})")


def student_spec(session: Session, method: str, teacher: ModelSpec) -> ModelSpec:
    """The student for ``method``: the configured one, or the teacher's architecture (born-again)."""
    return teacher if get_method(method).same_architecture else model_spec(session, "student")


def load_weights(spec: ModelSpec, path: Path, loaded: dict[str, Any] | None = None) -> nn.Module:
    """``spec`` built with a checkpoint's weights (``loaded``: the checkpoint ``path`` already
    read, else it is read here). The model is first built on the ``meta`` device (no memory) and
    its shapes compared with the file's tensors, so a checkpoint's metadata (``width=1000``, a
    huge ``num_classes``) cannot make us allocate what it never held."""
    state = (load_checkpoint(path) if loaded is None else loaded).get("model")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a lit checkpoint (no 'model' state dict)")
    with torch.device("meta"):
        shell = spec.build(0)
    try:
        check_state_fits(shell, state)
        model = spec.build(0)
        load_state_into(model, state)
    except CheckpointError as e:
        raise CheckpointError(f"checkpoint {path} does not fit {spec.name}: {e}") from None
    return model
