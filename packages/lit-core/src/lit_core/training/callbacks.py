"""Callbacks for ``fit``: what a run reports after each epoch, each phase and at the end.

A callback subclasses ``Callback`` and overrides the hooks it needs (all are no-ops). Each hook
receives an ``EpochEvent``: the phase, the epoch, the epoch's metrics record, the run's elapsed
seconds and, after the first epoch, a run-level ETA (elapsed / epochs done x epochs left, across
phases). ``PrintProgress`` is the default callback of the Python API (``quiet=True`` drops it).
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = ["CSVLogger", "Callback", "CallbackList", "EpochEvent", "PrintProgress", "format_eta"]


@dataclass(frozen=True)
class EpochEvent:
    """Where a run stands when a hook is called."""

    phase: str
    epoch: int
    phase_epochs: int
    metrics: dict[str, Any]
    elapsed_s: float
    eta_s: float | None


class Callback:
    """Base class of fit callbacks; every hook is a no-op."""

    def on_epoch_end(self, event: EpochEvent) -> None:
        """Called after each epoch's evaluation, checkpoint and metrics record."""

    def on_phase_end(self, event: EpochEvent) -> None:
        """Called after the last epoch of a phase (``event`` is that epoch's)."""

    def on_fit_end(self, event: EpochEvent | None) -> None:
        """Called once when training stops (``event`` is the last epoch's, None if none ran)."""


def format_eta(seconds: float) -> str:
    """``seconds`` as ``H:MM:SS``."""
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@dataclass
class PrintProgress(Callback):
    """Prints one line per epoch (phase, epoch, losses, val acc, time, run ETA) to ``stream``."""

    stream: TextIO | None = None

    def on_epoch_end(self, event: EpochEvent) -> None:
        m = event.metrics
        eta = "" if event.eta_s is None else f", ETA {format_eta(event.eta_s)}"
        print(f"{event.phase} epoch {event.epoch}/{event.phase_epochs}: train loss "
              f"{m['train_loss']:.4f}, val acc {m['val_acc']:.4f} ({m['epoch_time_s']:.1f}s"
              f"{eta})", file=self.stream or sys.stderr, flush=True)


@dataclass
class CSVLogger(Callback):
    """Writes one CSV row per epoch to ``path`` (columns: the first record's keys).
    ``append``: keep the rows (and columns) of an existing file, as a resumed run does."""

    path: str | Path
    append: bool = False
    _fields: list[str] = field(default_factory=list, init=False)

    def on_epoch_end(self, event: EpochEvent) -> None:
        path = Path(self.path)
        if not self._fields and self.append and path.is_file():
            with path.open(newline="") as f:
                self._fields = next(csv.reader(f), [])
        new = not self._fields
        if new:
            self._fields = list(event.metrics)
        with path.open("w" if new else "a", newline="") as f:
            writer = csv.DictWriter(f, self._fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(event.metrics)


@dataclass
class CallbackList:
    """Dispatches events to ``callbacks`` and keeps the run clock for the ETA."""

    callbacks: Sequence[Callback]
    total_epochs: int
    start: float = field(default_factory=time.perf_counter)
    done: int = 0
    last: EpochEvent | None = None

    def epoch_end(self, phase: str, epoch: int, phase_epochs: int, global_epoch: int,
                  metrics: dict[str, Any]) -> None:
        """Report an epoch; ``global_epoch`` is 1-based across phases."""
        self.done += 1
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total_epochs - global_epoch)
        self.last = EpochEvent(phase, epoch, phase_epochs, dict(metrics), elapsed, eta)
        for cb in self.callbacks:
            cb.on_epoch_end(self.last)
        if epoch == phase_epochs:
            for cb in self.callbacks:
                cb.on_phase_end(self.last)

    def fit_end(self) -> None:
        """Report the end of training."""
        for cb in self.callbacks:
            cb.on_fit_end(self.last)
