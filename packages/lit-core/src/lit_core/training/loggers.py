"""Experiment-tracker loggers for ``fit``: TensorBoard, MLflow and Weights & Biases callbacks.

Each logger imports its package when it is created; a missing package raises ``ConfigError``
with the pip command, before anything is written. None of these packages is required.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ConfigError
from .callbacks import Callback, CSVLogger, EpochEvent

LOGGERS = ("csv", "tensorboard", "mlflow", "wandb")

__all__ = ["LOGGERS", "MLflowLogger", "TensorBoardLogger", "WandbLogger", "make_loggers", "parse_loggers"]


def _require(module: str, package: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        how = "'lit-core[tensorboard]'" if package == "tensorboard" else package  # lit-core's extra
        raise ConfigError(f"the {package} logger needs the {package} package: "
                          f"pip install {how}") from None


def _scalars(event: EpochEvent) -> dict[str, float]:
    return {f"{event.phase}/{k}": float(v) for k, v in event.metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def _step(event: EpochEvent) -> int:
    return int(event.metrics.get("global_epoch", event.epoch))


@dataclass
class TensorBoardLogger(Callback):
    """Writes each epoch's numeric metrics as TensorBoard scalars to ``log_dir``."""

    log_dir: str | Path
    _writer: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        _require("tensorboard", "tensorboard")  # fail now; create nothing until the first epoch

    def on_epoch_end(self, event: EpochEvent) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.log_dir))
        for k, v in _scalars(event).items():
            self._writer.add_scalar(k, v, _step(event))

    def on_fit_end(self, event: EpochEvent | None) -> None:
        if self._writer is not None:
            self._writer.close()


@dataclass
class MLflowLogger(Callback):
    """Logs each epoch's numeric metrics to the active MLflow run; with none active, to a run it
    starts at the first epoch (named ``run_name``) and ends with the fit, so each fit is one run."""

    run_name: str | None = None
    _mlflow: Any = field(default=None, init=False)
    _started: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._mlflow = _require("mlflow", "mlflow")

    def on_epoch_end(self, event: EpochEvent) -> None:
        if self._mlflow.active_run() is None:
            self._mlflow.start_run(run_name=self.run_name)
            self._started = True
        self._mlflow.log_metrics({k.replace("/", "_"): v for k, v in _scalars(event).items()},
                                 step=_step(event))

    def on_fit_end(self, event: EpochEvent | None) -> None:
        if self._started and self._mlflow.active_run() is not None:
            self._mlflow.end_run()
        self._started = False


@dataclass
class WandbLogger(Callback):
    """Logs each epoch's numeric metrics to Weights & Biases (``wandb.init`` if no run is open)."""

    project: str = "lit"
    _wandb: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._wandb = _require("wandb", "wandb")

    def on_epoch_end(self, event: EpochEvent) -> None:
        if self._wandb.run is None:
            self._wandb.init(project=self.project)
        self._wandb.log(_scalars(event), step=_step(event))

    def on_fit_end(self, event: EpochEvent | None) -> None:
        if self._wandb.run is not None:
            self._wandb.finish()


def parse_loggers(values: list[str]) -> list[str]:
    """``["csv,tensorboard", "wandb"]`` -> ``["csv", "tensorboard", "wandb"]``; ConfigError if unknown."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    bad = [n for n in names if n not in LOGGERS]
    if bad:
        raise ConfigError(f"unknown logger {bad[0]!r}; choose from {', '.join(LOGGERS)}")
    return list(dict.fromkeys(names))


def make_loggers(names: list[str], run_dir: str | Path, *, resume: bool = False) -> list[Callback]:
    """The loggers named in ``names`` for a run in ``run_dir`` (CSV to ``metrics.csv``, TB to ``tb/``);
    ``resume``: the CSV file keeps the rows of the epochs already run."""
    run_dir = Path(run_dir)
    makers = {"csv": lambda: CSVLogger(run_dir / "metrics.csv", append=resume),
              "tensorboard": lambda: TensorBoardLogger(run_dir / "tb"),
              "mlflow": lambda: MLflowLogger(run_name=run_dir.name), "wandb": WandbLogger}
    return [makers[n]() for n in parse_loggers(names)]
