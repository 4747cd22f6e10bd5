"""``--logger``: every job of a CLI run logs its epochs to the named trackers; a bad name or a
missing package is one line, exit 2, and no run directory."""

from __future__ import annotations

import csv
import json
import sys

import pytest
from cli_helpers import one_line_error

from lit_core.cli import main

# digits, a few hundred images, the smallest model: a couple of seconds per run
TINY = ["--data", "digits", "--set", "data.limit=300", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400", "--student", "resnet8"]


def test_logger_csv_writes_one_row_per_epoch_in_the_job_dir(tmp_path):
    rc = main(["compress", "--method", "scratch", "--out", str(tmp_path), "--run-name", "r",
               "--set", "train.scratch.epochs=2", "--logger", "csv", *TINY])
    assert rc == 0
    job = tmp_path / "r" / "scratch"
    with (job / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    history = json.loads((job / "job.json").read_text())["row"]["history"]
    assert len(rows) == 2 == len(history)
    assert [int(r["global_epoch"]) for r in rows] == [1, 2]
    assert float(rows[-1]["val_acc"]) == pytest.approx(history[-1]["val_acc"])


def test_logger_csv_keeps_the_earlier_epochs_on_resume(tmp_path):
    base = ["compress", "--method", "scratch", "--out", str(tmp_path), "--run-name", "r",
            "--logger", "csv", *TINY]
    assert main([*base, "--set", "train.scratch.epochs=1"]) == 0
    job = tmp_path / "r" / "scratch"
    (job / "job.json").unlink()  # as if killed after epoch 1: --resume continues from last.pt
    assert main([*base, "--set", "train.scratch.epochs=2", "--resume",
                 "--allow-config-change"]) == 0
    with (job / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["global_epoch"]) for r in rows] == [1, 2]


def test_no_logger_writes_no_csv(tmp_path):
    assert main(["compress", "--method", "scratch", "--out", str(tmp_path), "--run-name", "r",
                 "--set", "train.scratch.epochs=1", *TINY]) == 0
    assert not (tmp_path / "r" / "scratch" / "metrics.csv").exists()


@pytest.mark.parametrize("flags", [["--logger", "nosuch"], ["--logger", "csv,nosuch"],
                                   ["--logger", "csv", "--logger", "nosuch"]])
def test_unknown_logger_is_one_line_and_creates_nothing(tmp_path, capsys, flags):
    out = tmp_path / "out"
    rc = main(["compress", "--method", "scratch", "--out", str(out), "--run-name", "r",
               *flags, *TINY])
    assert rc == 2
    line = one_line_error(capsys)
    assert "'nosuch'" in line and "csv, tensorboard, mlflow, wandb" in line
    assert not out.exists()


def test_missing_tracker_package_is_one_line_and_creates_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # `import wandb` raises ImportError
    out = tmp_path / "out"
    rc = main(["compress", "--method", "scratch", "--out", str(out), "--run-name", "r",
               "--logger", "csv,wandb", *TINY])
    assert rc == 2
    assert "pip install wandb" in one_line_error(capsys)
    assert not out.exists()


def test_logger_tensorboard_writes_event_files_in_the_job_dir(tmp_path):
    pytest.importorskip("tensorboard")  # an optional extra; the csv tests above always run
    assert main(["compress", "--method", "scratch", "--out", str(tmp_path), "--run-name", "r",
                 "--set", "train.scratch.epochs=1", "--logger", "tensorboard", *TINY]) == 0
    assert list((tmp_path / "r" / "scratch" / "tb").glob("events.out.tfevents.*"))


def test_logger_on_a_gan_task_is_one_line_and_creates_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--preset", "gan-cpu", "--out", str(out), "--run-name", "g",
                 "--logger", "csv"]) == 2
    assert "--logger applies to classifier runs" in one_line_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("flags", [["--logger", "tensorboard", "--set", "train.tensorboard=true"],
                                   ["--set", "train.tensorboard=true"]])
def test_train_tensorboard_is_the_tensorboard_logger_one_writer_of_tb(tmp_path, flags):
    pytest.importorskip("tensorboard")  # an optional extra; the csv tests above always run
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert main(["compress", "--method", "scratch", "--out", str(tmp_path), "--run-name", "r",
                 "--set", "train.scratch.epochs=2", *flags, *TINY]) == 0
    tb = tmp_path / "r" / "scratch" / "tb"
    events = list(tb.glob("events.out.tfevents.*"))
    assert len(events) == 1, events  # not one file per writer
    acc = EventAccumulator(str(tb))
    acc.Reload()
    assert [e.step for e in acc.Scalars("train/val_acc")] == [1, 2]  # each epoch logged once


def test_prune_retraining_rounds_log_to_the_loggers(tmp_path):
    assert main(["prune", "--methods", "scratch", "--sparsities", "0.5", "--retrain-epochs", "1",
                 "--out", str(tmp_path), "--run-name", "p", "--logger", "csv",
                 "--set", "train.scratch.epochs=1", *TINY]) == 0
    retrain = tmp_path / "p" / "prune" / "scratch-s50"
    with (retrain / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["phase"] == "train"
    assert (tmp_path / "p" / "jobs" / "scratch" / "metrics.csv").is_file()  # the student too
