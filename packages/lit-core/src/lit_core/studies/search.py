"""The paper's hyperparameter search, τ → α → β, with Optuna on the validation split only.

Sec. 3 of the paper sets LIT's hyperparameters one after another: first the KD temperature τ,
then α (KD vs cross-entropy), then β (KD vs the IR losses). ``run_search`` runs one Optuna
study per stage; each stage optimises one key with the earlier ones fixed at their best value,
maximising ``val_acc`` from ``train_fn(overrides, name, test=False)`` (contract in
``lit_core.studies``): the test split is never read during the search. ``final_test=True``
trains the chosen setting once more with ``test=True`` (the one time the test split is read).
The result is a TOML overlay for ``lit --config`` (``SearchResult.to_toml``).

Storage. By default a journal file (``<run_dir>/search.journal``, Optuna's
``JournalStorage`` + ``JournalFileBackend``), which several local worker processes can share
safely (file locks): start the same search in N processes with the same storage and study name
and they split each stage's trials. For workers on several machines use an RDB URL that every
machine reaches, e.g. PostgreSQL (needs a driver such as ``psycopg2``)::

    # once: a database
    createdb lit_search            # on host db.example, user lit
    # on every machine, the same command (the lead's `lit search` passes these through):
    lit search --storage postgresql://lit:PASSWORD@db.example/lit_search --study-name fmnist-r20

Each stage stops creating trials once its budget is reached (a worker may overshoot by at most
one trial per extra worker), and every worker waits until the stage's running trials finish
before it reads the stage's best value, so all workers fix the same value for the next stage.
A rerun with the same storage resumes: complete stages are not repeated. A journal whose last
record was torn (a worker killed mid-write) is repaired first; one with a damaged record inside is
refused (``lit_core.studies.journal``).

Seeds. ``seed`` seeds every trial separately: trial ``k`` of stage ``i`` samples with
``trial_seed(seed, i, k)`` (``lit_core.studies.sampler``). Trial numbers are unique across the
workers of a study, so workers started with the same ``--seed`` never draw the same trials, and
one worker's search is reproducible.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import TrainFn, require
from .journal import repair_journal
from .sampler import trial_seeded_sampler

__all__ = ["PAPER_STAGES", "SearchResult", "Stage", "check_storage", "make_storage", "run_search", "to_toml"]


@dataclass(frozen=True)
class Stage:
    """One stage: the dotted key it tunes, its range (or choices), budget and fixed overrides."""

    key: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None
    n_trials: int = 12
    overrides: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.choices is None and (self.low is None or self.high is None or self.low >= self.high):
            raise ValueError(f"stage {self.key}: give low < high or choices; got {self.low}, {self.high}")
        if self.n_trials < 1:
            raise ValueError(f"stage {self.key}: n_trials must be ≥ 1; got {self.n_trials}")

    @property
    def short(self) -> str:
        return self.key.rsplit(".", 1)[-1]

    def suggest(self, trial: Any) -> Any:
        """The trial's value for this stage's key."""
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        return trial.suggest_float(self.key, self.low, self.high, log=self.log)


#: τ on a log scale, then α and β in [0, 1] (the unit interval TrainConfig accepts).
PAPER_STAGES = (
    Stage("train.temperature", 1.0, 20.0, log=True),
    Stage("train.alpha", 0.0, 1.0),
    Stage("train.beta", 0.0, 1.0),
)


@dataclass
class SearchResult:
    """Best value per stage (in stage order), their validation accuracies and trial counts."""

    best: dict[str, Any]
    stages: list[dict[str, Any]]
    test_acc: float | None = None

    def to_toml(self) -> str:
        """The chosen values as a TOML overlay for ``lit --config``."""
        return to_toml(self.best, header="lit search result (validation split only): " + ", ".join(
            f"{s['key']} best val_acc {s['best_val_acc']:.4f} over {s['trials']} trials"
            for s in self.stages))


#: pip packages of the database drivers whose import name differs
_DRIVER_PACKAGES = {"psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient"}


def check_storage(storage: str | os.PathLike) -> None:
    """``ConfigError`` for a ``--storage`` URL that cannot work (unknown scheme, no driver, an SQLite
    file in a missing folder); found before anything is created. A plain path is a journal file."""
    text = str(storage)
    if "://" not in text:
        return
    require("optuna")  # brings SQLAlchemy
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(text)
        dialect = url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as e:
        raise ConfigError(f"--storage {text!r} is not a database URL SQLAlchemy can use ({e}); give "
                          "e.g. sqlite:///search.db, postgresql://USER@HOST/DB, or a journal file path") from None
    try:  # the dialect loads without its driver; the driver is imported only on connecting
        (getattr(dialect, "import_dbapi", None) or dialect.dbapi)()
    except ImportError as e:
        driver = e.name or url.get_driver_name()
        raise ConfigError(f"--storage {text!r} needs the database driver {driver}, which is not "
                          f"installed: pip install {_DRIVER_PACKAGES.get(driver, driver)} (or give "
                          "a journal file path)") from None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).expanduser().parent
        if not folder.is_dir():
            raise ConfigError(f"--storage {text!r}: folder {folder} does not exist; create it or "
                              "give another path")


def make_storage(storage: str | os.PathLike) -> Any:
    """An Optuna storage: an RDB URL (``postgresql://…``, ``sqlite:///…``) or a journal file path."""
    optuna = require("optuna")
    text = str(storage)
    if "://" in text:
        return optuna.storages.RDBStorage(text)
    path = Path(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    note = repair_journal(path)
    if note:
        print(f"lit: {note}", file=sys.stderr)
    try:
        from optuna.storages.journal import JournalFileBackend
    except ImportError:  # Optuna < 4
        from optuna.storages import JournalFileStorage as JournalFileBackend
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ValueError(f"cannot write {v!r} ({type(v).__name__}) to TOML")


def to_toml(overrides: Mapping[str, Any], header: str = "") -> str:
    """Dotted overrides (``train.alpha``) as TOML tables (``[train]`` ``alpha = …``)."""
    tables: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        if "." not in key:
            raise ValueError(f"{key!r} is not a dotted config key (e.g. train.alpha)")
        table, _, name = key.rpartition(".")
        tables.setdefault(table, {})[name] = value
    lines = [f"# {header}"] if header else []
    for table, values in tables.items():
        lines += ["", f"[{table}]", *(f"{k} = {_toml_value(v)}" for k, v in values.items())]
    return "\n".join(lines).lstrip("\n") + "\n"


def _wait_for_running(study: Any, poll_s: float, timeout_s: float | None) -> None:
    optuna = require("optuna")
    start = time.monotonic()
    running = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    while study.get_trials(deepcopy=False, states=running):
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            raise TimeoutError(
                f"study {study.study_name}: trials still running after {timeout_s:.0f} s; if a "
                "worker died, mark its trials failed (optuna.storages.fail_stale_trials) and rerun"
            )
        time.sleep(poll_s)


def _objective(trial: Any, train_fn: TrainFn, stage: Stage, fixed: dict[str, Any]) -> float:
    """One trial: the stage's key suggested, earlier stages fixed; validation accuracy only."""
    overrides = {**fixed, **stage.overrides, stage.key: stage.suggest(trial)}
    name = f"{stage.short}-{trial.number:03d}"
    trial.set_user_attr("job", name)
    trial.set_user_attr("pid", os.getpid())
    result = train_fn(overrides, name, test=False)
    return float(result["val_acc"])


def run_search(
    train_fn: TrainFn,
    study_name: str,
    storage: str | os.PathLike,
    *,
    stages: Sequence[Stage] = PAPER_STAGES,
    base: Mapping[str, Any] | None = None,
    seed: int | None = None,
    final_test: bool = False,
    poll_s: float = 1.0,
    wait_timeout_s: float | None = None,
) -> SearchResult:
    """Run (or join, or resume) the staged search; returns the best value of every stage."""
    optuna = require("optuna")
    if not stages:
        raise ValueError("run_search needs at least one stage")
    storage_obj = make_storage(storage)
    fixed: dict[str, Any] = dict(base or {})
    summary = []
    for i, stage in enumerate(stages):
        study = optuna.create_study(
            storage=storage_obj, study_name=f"{study_name}.{i}-{stage.short}", direction="maximize",
            sampler=optuna.samplers.TPESampler() if seed is None else trial_seeded_sampler(seed, i),
            load_if_exists=True,
        )
        if "fixed" not in study.user_attrs:
            study.set_user_attr("fixed", fixed)
        elif study.user_attrs["fixed"] != fixed:
            raise ValueError(
                f"study {study.study_name} was started with {study.user_attrs['fixed']}, not "
                f"{fixed}; give this search another --study-name"
            )

        if len(study.get_trials(deepcopy=False)) < stage.n_trials:
            objective = functools.partial(_objective, train_fn=train_fn, stage=stage, fixed=dict(fixed))
            study.optimize(objective, callbacks=[optuna.study.MaxTrialsCallback(stage.n_trials, None)])
        _wait_for_running(study, poll_s, wait_timeout_s)
        done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if not done:
            raise RuntimeError(f"stage {stage.key}: no trial completed; see the errors above")
        best = max(done, key=lambda t: (t.value, -t.number))
        fixed[stage.key] = best.params[stage.key]
        summary.append({"key": stage.key, "best": best.params[stage.key],
                        "best_val_acc": best.value, "trials": len(done)})
    result = SearchResult({s["key"]: s["best"] for s in summary}, summary)
    if final_test:
        out = train_fn({**fixed, **stages[-1].overrides}, f"{study_name}-final", test=True)
        result.test_acc = out.get("test_acc")
    return result
