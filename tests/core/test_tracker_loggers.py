"""The MLflow and Weights & Biases loggers against the real packages, logging to local stores
(an MLflow ``file://`` store, W&B offline mode). Both packages are optional; where one is not
installed its test skips (CI's venv tests the missing-package error in test_callbacks)."""

from __future__ import annotations

import pytest
from lit_tiny import batches, resnet

from lit_core import TrainConfig, fit
from lit_core.cli import main
from lit_core.training.callbacks import Callback, EpochEvent

TINY = ["--data", "digits", "--set", "data.limit=200", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400"]


def _fit(run_dir, callbacks):
    cfg = TrainConfig(device="cpu", ir_epochs=1, epochs=2, progress=False)
    return fit(resnet(8), resnet(14), batches(2), batches(1), method="lit", config=cfg,
               run_dir=run_dir, callbacks=callbacks, quiet=True)


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """mlflow with its tracking URI on a file store under tmp_path; the client reading it."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow >= 3 keeps file stores opt-in
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield mlflow, mlflow.tracking.MlflowClient(uri)
    mlflow.end_run()


def test_mlflow_logger_makes_one_ended_run_per_fit_with_each_epoch(tmp_path, mlflow_store):
    mlflow, client = mlflow_store
    from lit_core.training.loggers import MLflowLogger

    for name in ("a", "b"):
        result = _fit(tmp_path / name, [MLflowLogger(run_name=name)])
        assert mlflow.active_run() is None  # the run it started ended with the fit
    runs = {r.info.run_name: r for r in client.search_runs(experiment_ids=["0"])}
    assert sorted(runs) == ["a", "b"] and {r.info.status for r in runs.values()} == {"FINISHED"}
    history = client.get_metric_history(runs["b"].info.run_id, "finetune_val_acc")
    assert [m.step for m in history] == [2, 3]
    assert history[-1].value == pytest.approx(result.history[-1]["val_acc"])


def test_mlflow_logger_logs_into_a_run_the_user_opened_and_leaves_it_open(tmp_path, mlflow_store):
    mlflow, client = mlflow_store
    from lit_core.training.loggers import MLflowLogger

    with mlflow.start_run(run_name="mine") as run:
        _fit(tmp_path / "r", [MLflowLogger()])
        assert mlflow.active_run().info.run_id == run.info.run_id
    assert [m.step for m in client.get_metric_history(run.info.run_id, "ir_train_loss")] == [1]


def test_lit_compare_logger_mlflow_gives_one_run_per_job(tmp_path, capsys, mlflow_store):
    _, client = mlflow_store
    rc = main(["compare", "--methods", "kd", "--out", str(tmp_path), "--run-name", "r", "--teacher", "resnet8",
               "--student", "resnet8", "--logger", "mlflow", "--set", "train.teacher.epochs=1",
               "--set", "train.kd.epochs=1", *TINY])
    assert rc == 0, capsys.readouterr().err
    runs = client.search_runs(experiment_ids=["0"])
    assert sorted(r.info.run_name for r in runs) == ["kd", "teacher"]
    assert all(r.info.status == "FINISHED" and r.data.metrics for r in runs)


class _Summary(Callback):
    """Reads back, after WandbLogger, the live wandb run: its step, and the summary of the epoch
    before (wandb commits a step's values when the next step starts)."""

    def __init__(self, wandb) -> None:
        self.wandb, self.steps, self.seen, self._last = wandb, [], [], None

    def on_epoch_end(self, event: EpochEvent) -> None:
        self.steps.append(self.wandb.run.step)
        if self._last is not None:
            key, value = self._last
            self.seen.append((self.wandb.run.summary[key], value))
        self._last = (f"{event.phase}/val_acc", event.metrics["val_acc"])


def test_wandb_logger_logs_offline_and_finishes_its_run(tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    from lit_core.training.loggers import WandbLogger

    summary = _Summary(wandb)
    _fit(tmp_path / "r", [WandbLogger(project="lit-test"), summary])
    assert summary.steps == [1, 2, 3]  # global epochs across the ir and finetune phases
    assert len(summary.seen) == 2 and all(got == pytest.approx(want) for got, want in summary.seen)
    assert wandb.run is None  # finished with the fit
    logs = list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 1 and logs[0].stat().st_size > 0
