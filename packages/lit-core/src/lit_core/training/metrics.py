"""Per-epoch metrics: appended to ``run_dir/metrics.jsonl``, optionally mirrored to TensorBoard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..io.atomic import append_text

__all__ = ["METRICS_FILE", "MetricsLogger", "read_metrics"]

METRICS_FILE = "metrics.jsonl"


class MetricsLogger:
    """Append one JSON object per epoch; with ``tensorboard=True`` also write scalars to ``tb/``.

    Args:
        run_dir: the directory of ``metrics.jsonl`` (and ``tb/``).
        tensorboard: also write TensorBoard scalars (needs the tensorboard package).
        enabled: False writes nothing (ranks other than 0, a run kept in memory).

    Examples:
        >>> logger = MetricsLogger(".")
        >>> logger.log({"phase": "train", "epoch": 1, "val_acc": 0.5})
        >>> logger.close()
        >>> open("metrics.jsonl").read()
        '{"phase": "train", "epoch": 1, "val_acc": 0.5}\\n'
    """

    def __init__(self, run_dir: str | Path, tensorboard: bool = False, enabled: bool = True):
        self.path = Path(run_dir) / METRICS_FILE
        self.enabled = enabled
        self._writer = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as err:
                raise ImportError(
                    "tensorboard=True needs the tensorboard package: pip install 'lit-core[tensorboard]'"
                ) from err
            self._writer = SummaryWriter(log_dir=str(Path(run_dir) / "tb"))

    def log(self, record: dict[str, Any]) -> None:
        """Append ``record`` (one epoch) to the JSONL file and TensorBoard."""
        if not self.enabled:
            return
        append_text(self.path, json.dumps(record) + "\n")
        if self._writer is not None:
            step = int(record.get("global_epoch", 0))
            for key, value in record.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._writer.add_scalar(f"{record.get('phase', 'train')}/{key}", value, step)
            self._writer.flush()

    def close(self) -> None:
        """Flush and close TensorBoard (the JSONL file is closed after every write)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """All per-epoch records of a run (its ``metrics.jsonl``), in order.

    Args:
        run_dir: a run directory ``fit`` wrote (one model's: ``best.pt`` sits beside it).

    Returns:
        One dict per epoch (``phase``, ``epoch``, ``lr``, ``train_loss``, ``val_acc``, …); empty
        when the run has none yet.

    Examples:
        >>> MetricsLogger(".").log({"phase": "train", "epoch": 1, "val_acc": 0.5})
        >>> read_metrics(".")
        [{'phase': 'train', 'epoch': 1, 'val_acc': 0.5}]
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
