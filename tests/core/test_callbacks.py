"""fit's callbacks: per-epoch lines by default, quiet, hook order, the run ETA and the CSV logger."""

from __future__ import annotations

import csv

import pytest
from lit_tiny import batches, resnet

from lit_core import TrainConfig, fit
from lit_core.training.callbacks import Callback, CSVLogger, EpochEvent


class _Record(Callback):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, float | None]] = []

    def on_epoch_end(self, event: EpochEvent) -> None:
        self.calls.append(("epoch", event.phase, event.epoch, event.eta_s))

    def on_phase_end(self, event: EpochEvent) -> None:
        self.calls.append(("phase", event.phase, event.epoch, event.eta_s))

    def on_fit_end(self, event: EpochEvent | None) -> None:
        self.calls.append(("fit", event.phase if event else "", event.epoch if event else 0, None))


def _fit(tmp_path, **kw):
    cfg = TrainConfig(device="cpu", ir_epochs=1, epochs=2, progress=False)
    return fit(resnet(8), resnet(14), batches(2), batches(1), method="lit", config=cfg,
               run_dir=tmp_path / "r", **kw)


def test_hooks_run_in_order_with_a_run_eta_and_csv_rows(tmp_path, capsys):
    rec = _Record()
    _fit(tmp_path, callbacks=[rec, CSVLogger(tmp_path / "m.csv")])
    assert [c[:3] for c in rec.calls] == [
        ("epoch", "ir", 1), ("phase", "ir", 1), ("epoch", "finetune", 1),
        ("epoch", "finetune", 2), ("phase", "finetune", 2), ("fit", "finetune", 2)]
    etas = [c[3] for c in rec.calls if c[0] == "epoch"]
    assert etas[0] > 0 and etas[1] > 0 and etas[2] == 0  # 2, 1, 0 epochs left across phases
    rows = list(csv.DictReader((tmp_path / "m.csv").open()))
    assert [(r["phase"], r["epoch"]) for r in rows] == [("ir", "1"), ("finetune", "1"), ("finetune", "2")]
    lines = [x for x in capsys.readouterr().err.splitlines() if " epoch " in x]
    assert len(lines) == 3 and lines[0].startswith("ir epoch 1/1: train loss ") and "ETA" in lines[0]


def test_quiet_prints_nothing(tmp_path, capsys):
    _fit(tmp_path, quiet=True)
    assert " epoch " not in capsys.readouterr().err


def test_tensorboard_logger_writes_event_scalars(tmp_path):
    # tensorboard is optional (lit-core[tensorboard]); CI's venv lacks it and tests the
    # missing-package error instead (test_bad_inputs, test_cli_loggers)
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from lit_core.training.loggers import TensorBoardLogger

    _fit(tmp_path, callbacks=[TensorBoardLogger(tmp_path / "r" / "tb")], quiet=True)  # in run_dir
    acc = EventAccumulator(str(tmp_path / "r" / "tb"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("finetune/val_acc")] == [2, 3]


def test_logger_names_are_validated_and_missing_packages_named():
    import importlib.util

    from lit_core.errors import ConfigError
    from lit_core.training.loggers import make_loggers, parse_loggers

    assert parse_loggers(["csv,tensorboard", "csv"]) == ["csv", "tensorboard"]
    with pytest.raises(ConfigError, match="unknown logger 'neptune'; choose from csv"):
        parse_loggers(["neptune"])
    for name in ("mlflow", "wandb"):
        if importlib.util.find_spec(name) is None:  # not installable here: the error path only
            with pytest.raises(ConfigError, match=f"pip install {name}"):
                make_loggers([name], "unused")
