"""The train function the studies call (``lit_core.studies.TrainFn``), backed by the jobs module.

``open_study`` checks everything, claims the run directory, trains (or loads) the one shared
teacher, and returns a ``train_fn``: each call applies its dotted-key overrides to the run's
configuration (validated as a whole), trains one student in ``<run>/jobs/<name>/`` against that
teacher, and returns its accuracies. Studies vary training and model settings, never the data
(one data set per study: a ``data.*`` override is refused).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..app.jobs import open_with_teacher, train_one
from ..app.runconfig import RunConfig
from ..app.session import Session
from ..app.specs import model_spec
from ..errors import ConfigError
from ..method.methods import get_method
from . import TrainFn

__all__ = ["open_study"]


def open_study(
    cfg: RunConfig,
    methods: Sequence[str],
    *,
    ckpt: Path | None = None,
    teacher_given: bool = False,
    **session_kw: Any,
) -> tuple[Session, TrainFn, Any]:
    """The session (run directory claimed), its ``train_fn`` and the trained, frozen teacher."""
    session, teacher, _, _ = open_with_teacher(cfg, methods, ckpt=ckpt, teacher_given=teacher_given,
                                               **session_kw)
    teacher.eval().requires_grad_(False)
    default_method = methods[0] if methods else "lit"

    def train_fn(overrides: Mapping[str, Any], name: str, *, test: bool = False) -> dict[str, Any]:
        rest = dict(overrides)
        method = str(rest.pop("method", default_method))
        data_keys = sorted(k for k in rest if k.startswith("data."))
        if data_keys:
            raise ConfigError(f"a study cannot vary the data ({', '.join(data_keys)}); one data set "
                              "per study: run another study for other data")
        job_cfg = cfg.replace(**rest)
        job_session = replace(session, cfg=job_cfg)
        role = "teacher" if get_method(method).same_architecture else "student"
        spec = model_spec(job_session, role)
        _, row = train_one(job_session, f"jobs/{name}", method, spec,
                           teacher if get_method(method).needs_teacher else None,
                           job_cfg.job(method), f"[{name}]", test=test)
        return {"val_acc": row.val_acc, "test_acc": row.test_acc, "wall_time_s": row.wall_time_s,
                "budget": row.budget}

    return session, train_fn, teacher
