"""Checkpoints: resume parity, atomic writes, code-free loading, and the bad-input errors."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from lit_tiny import batches, clone_state, resnet, state_equal
from torch.utils.data import DataLoader, TensorDataset

from lit_core import NonFiniteLossError, TrainConfig, fit, load_checkpoint, load_model_weights
from lit_core.io.checkpoint import save_atomic

CFG = TrainConfig(device="cpu", ir_epochs=2, epochs=2, deterministic=True, progress=False, seed=3)


def _loader(seed: int = 0) -> DataLoader:
    """Shuffled batches drawn from the global torch RNG, so resume must restore it."""
    data = batches(4, batch=8, seed=seed)
    x, y = torch.cat([b[0] for b in data]), torch.cat([b[1] for b in data])
    return DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)


def _run(run_dir, teacher, student, **kwargs):
    return fit(student, teacher, _loader(), _loader(1), method="lit", config=CFG,
               run_dir=run_dir, **kwargs)


def test_killed_and_resumed_run_ends_with_identical_weights(tmp_path):
    teacher = resnet(14)
    whole = resnet(8)
    _run(tmp_path / "whole", copy.deepcopy(teacher), whole)
    # killed after epoch 1 (mid LIT phase), then after epoch 3 (mid fine-tune), then finished;
    # every restart builds fresh models, as a new process would
    first = _run(tmp_path / "split", copy.deepcopy(teacher), resnet(8), stop_after_epochs=1)
    assert not first.completed and len(first.history) == 1
    second = _run(tmp_path / "split", copy.deepcopy(teacher), resnet(8), resume=True,
                  stop_after_epochs=2)
    assert [r["global_epoch"] for r in second.history] == [1, 2, 3]
    resumed = resnet(8)
    third = _run(tmp_path / "split", copy.deepcopy(teacher), resumed, resume=True)
    assert third.completed and [r["phase"] for r in third.history] == ["ir", "ir", "finetune", "finetune"]
    last_whole = load_checkpoint(tmp_path / "whole" / "last.pt")["model"]
    last_split = load_checkpoint(tmp_path / "split" / "last.pt")["model"]
    assert state_equal(last_whole, last_split) == []
    assert state_equal(clone_state(whole), clone_state(resumed)) == []  # the selected (best) model
    lines = (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["global_epoch"] for x in lines] == [1, 2, 3, 4]


def test_checkpoint_loads_without_executing_code(tmp_path):
    _run(tmp_path / "r", resnet(14), resnet(8), stop_after_epochs=1)
    ckpt = torch.load(tmp_path / "r" / "last.pt", weights_only=True)
    assert ckpt["position"] == {"phase": 0, "epoch": 1, "step": 4}
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "config"} <= ckpt.keys()


def test_checkpoint_of_another_architecture_names_the_first_mismatching_tensor(tmp_path):
    save_atomic({"model": resnet(8, width=2).state_dict()}, tmp_path / "wide.pt")
    with pytest.raises(ValueError, match=r"tensor 'stem.0.weight' has shape \(32, 3, 3, 3\) in the "
                                         r"checkpoint but \(16, 3, 3, 3\) in the model"):
        load_model_weights(resnet(8), tmp_path / "wide.pt")
    save_atomic({"model": resnet(8).state_dict()}, tmp_path / "shallow.pt")
    with pytest.raises(ValueError, match=r"tensor 'stages.0.1.conv1.weight' \(shape \(16, 16, 3, 3\)\) "
                                         "is missing from the checkpoint"):
        load_model_weights(resnet(14), tmp_path / "shallow.pt")


def test_resume_with_another_student_architecture_is_rejected(tmp_path):
    _run(tmp_path / "r", resnet(14), resnet(8), stop_after_epochs=1)
    with pytest.raises(ValueError, match=r"tensor 'stages\.0\.1\.conv1\.weight'"):
        _run(tmp_path / "r", resnet(14), resnet(14), resume=True)


class _PoisonedSecondEpoch:
    """Clean batches in epoch 0, a NaN input in epoch 1 (global epoch index from set_epoch)."""

    def __init__(self):
        self.data, self.epoch = batches(2), 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        for i, (x, y) in enumerate(self.data):
            yield (x.clone().fill_(float("nan")) if self.epoch == 1 and i == 1 else x), y


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = TrainConfig(device="cpu", ir_epochs=0, epochs=3, deterministic=True, progress=False)
    teacher = resnet(14)
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss.*the last good checkpoint is kept"):
        fit(resnet(8), copy.deepcopy(teacher), _PoisonedSecondEpoch(), batches(1), method="kd",
            config=cfg, run_dir=tmp_path / "nan")
    clean = fit(resnet(8), copy.deepcopy(teacher), _PoisonedSecondEpoch(), batches(1), method="kd",
                config=cfg, run_dir=tmp_path / "clean", stop_after_epochs=1)
    assert not clean.completed
    kept = load_checkpoint(tmp_path / "nan" / "last.pt")
    assert kept["position"]["epoch"] == 1
    assert state_equal(kept["model"], load_checkpoint(tmp_path / "clean" / "last.pt")["model"]) == []


def test_existing_run_directory_is_not_overwritten_without_overwrite(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("precious\n")
    with pytest.raises(FileExistsError, match=r"already exists and is not empty; pass --overwrite \(overwrite=True\)"):
        fit(resnet(8), None, batches(1), batches(1), method="scratch", run_dir=run)
    assert (run / "metrics.jsonl").read_text() == "precious\n"
    fit(resnet(8), None, batches(1), batches(1), method="scratch", run_dir=run, overwrite=True,
        config=TrainConfig(device="cpu", epochs=1, progress=False))
    assert "precious" not in (run / "metrics.jsonl").read_text()


def test_resume_without_a_checkpoint_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cannot resume: no last\.pt in"):
        fit(resnet(8), None, batches(1), batches(1), method="scratch", run_dir=tmp_path, resume=True)


def test_failed_save_leaves_the_previous_file_and_no_temp_files(tmp_path):
    path = save_atomic({"a": torch.ones(2)}, tmp_path / "c.pt")
    with pytest.raises(Exception):  # noqa: B017 - whatever pickling raises
        save_atomic({"a": lambda: 0}, path)
    assert torch.equal(load_checkpoint(path)["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_resume_restores_only_this_devices_cuda_rng_state():
    from lit_core.io.checkpoint import (
        capture_rng_state,
        cuda_rng_for_this_device,
        restore_rng_state,
    )

    eight = [torch.full((16,), i, dtype=torch.uint8) for i in range(8)]
    old_style = {"cuda": eight}  # written by rank 0 of an 8-GPU job, before this fix
    assert torch.equal(cuda_rng_for_this_device(old_style, 0), eight[0])
    assert torch.equal(cuda_rng_for_this_device(old_style, 3), eight[3])
    assert cuda_rng_for_this_device(old_style, 9) is None  # more GPUs now than then: left alone
    assert cuda_rng_for_this_device({"cuda_device": eight[5]}, 0) is eight[5]
    assert cuda_rng_for_this_device({}, 0) is None
    state = capture_rng_state()
    assert "cuda" not in state  # never every device's state
    restore_rng_state({**state, "cuda": eight})  # no error, whatever this machine has
