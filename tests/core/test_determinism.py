"""Same seed, thread count, data and commit → identical weights and accuracies on CPU.

A tiny real job (digits, augmented training loader, an IR phase then KD fine-tuning) runs twice
in the same process; the selected weights, the last checkpoint and every logged accuracy must be
bit-identical. A third run with another seed must differ (so the comparison can fail).
"""

from __future__ import annotations

import json

import torch
from lit_tiny import state_equal
from studies_tiny import tiny_model

from lit_core.data import BatchLoader, load_data
from lit_core.training.config import TrainConfig
from lit_core.training.trainer import fit


def _run(tmp_path, name, seed):
    data = load_data("digits", seed=0, limit=300, quiet=True)
    cfg = TrainConfig(epochs=1, ir_epochs=1, batch_size=32, seed=seed, device="cpu", progress=False)
    teacher = tiny_model("resnet14", 7)
    student = tiny_model("resnet8", seed)
    train = BatchLoader(data.train, cfg.batch_size, shuffle=True, augment=data.augment, seed=seed)
    val = BatchLoader(data.val, 100, shuffle=False)
    test = BatchLoader(data.test, 100, shuffle=False)
    result = fit(student, teacher, train, val, method="lit", config=cfg,
                 run_dir=tmp_path / name, test_loader=test)
    last = torch.load(tmp_path / name / "last.pt", weights_only=False)["model"]
    return student.state_dict(), last, result


def test_same_seed_threads_and_data_give_identical_weights_and_accuracies(tmp_path):
    torch.set_num_threads(1)
    a_best, a_last, a = _run(tmp_path, "a", seed=3)
    b_best, b_last, b = _run(tmp_path, "b", seed=3)
    assert state_equal(a_best, b_best) == []
    assert state_equal(a_last, b_last) == []
    assert (a.best_val_acc, a.test_acc, a.best_epoch) == (b.best_val_acc, b.test_acc, b.best_epoch)
    keys = ("train_loss", "train_ir", "train_kd", "val_loss", "val_acc")
    assert [[r[k] for k in keys] for r in a.history] == [[r[k] for k in keys] for r in b.history]

    c_best, _, _ = _run(tmp_path, "c", seed=4)
    assert state_equal(a_best, c_best) != []


def test_the_cli_run_twice_gives_identical_checkpoints_and_summary(tmp_path):
    from lit_core.cli import main

    torch.set_num_threads(1)
    args = ["compare", "--data", "digits", "--methods", "lit,kd", "--device", "cpu",
            "--teacher", "resnet8", "--student", "resnet8", "--set", "data.limit=300",
            "--set", "train.teacher.epochs=1", "--set", "train.lit.ir_epochs=1",
            "--set", "train.lit.epochs=1", "--set", "train.kd.epochs=1", "--out", str(tmp_path)]
    assert main([*args, "--run-name", "a"]) == 0
    assert main([*args, "--run-name", "b"]) == 0
    for job in ("teacher", "lit", "kd"):
        a = torch.load(tmp_path / "a" / job / "best.pt", weights_only=False)
        b = torch.load(tmp_path / "b" / job / "best.pt", weights_only=False)
        assert state_equal(a["model"], b["model"]) == [], job
        assert a["val_acc"] == b["val_acc"]
    rows = [json.loads((tmp_path / r / "summary.json").read_text())["rows"] for r in "ab"]
    drop = ("wall_time_s",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in rows[0]] == [
        {k: v for k, v in r.items() if k not in drop} for r in rows[1]]
