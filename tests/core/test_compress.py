"""``lit_core.compress``: the one call, on plain DataLoaders: optimiser and scheduler factories,
the default SGD + step decays, the in-memory mode, and training the teacher first."""

from __future__ import annotations

import pytest
import torch
from lit_tiny import IMG, resnet
from torch.utils.data import DataLoader, TensorDataset

from lit_core import TrainConfig, compress, evaluate, fit, make_train_step
from lit_core.errors import ConfigError
from lit_core.training.callbacks import Callback


def loaders(n: int = 32, seed: int = 0) -> tuple[DataLoader, DataLoader]:
    """Train/val DataLoaders of 3x8x8 images whose class is the sign of the first channel's mean."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2 * n, 3, IMG, IMG, generator=g)
    y = (x[:, 0].mean((1, 2)) > 0).long()
    train = DataLoader(TensorDataset(x[:n], y[:n]), batch_size=8, shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    return train, DataLoader(TensorDataset(x[n:], y[n:]), batch_size=16)


CPU = {"device": "cpu", "progress": False}


def test_adamw_factory_builds_each_phase_optimizer_at_the_phase_lr():
    made: list[torch.optim.Optimizer] = []

    def adamw(params, lr):
        made.append(torch.optim.AdamW(params, lr=lr, weight_decay=0.01))
        return made[-1]

    train, val = loaders()
    student = resnet(8, num_classes=2)
    result = compress(student, resnet(14, num_classes=2), train, val, ir_epochs=1, epochs=1,
                      optimizer=adamw, lr=1e-3, finetune_lr=1e-4, quiet=True, **CPU)
    assert [type(o) for o in made] == [torch.optim.AdamW, torch.optim.AdamW]
    assert [o.param_groups[0]["initial_lr"] for o in made] == [1e-3, 1e-4]
    # AdamW really stepped: its moment estimates exist for the parameters it trained
    assert all("exp_avg" in made[1].state[p] for p in made[1].param_groups[0]["params"])
    assert [r["phase"] for r in result.fit.history] == ["ir", "finetune"]
    assert result.student is student


def test_default_optimizer_is_sgd_with_step_decays():
    step = make_train_step(resnet(8), resnet(14), "lit", TrainConfig(**CPU))
    assert type(step.optimizer) is torch.optim.SGD
    assert step.optimizer.param_groups[0]["momentum"] == 0.9
    train, val = loaders()
    result = compress(resnet(8, num_classes=2), None, train, val, method="scratch", epochs=4,
                      lr=0.1, quiet=True, **CPU)  # milestones (0.5, 0.75) of 4 epochs, gamma 0.1
    assert [r["lr"] for r in result.fit.history] == pytest.approx([0.1, 0.1, 0.01, 0.001])


def test_scheduler_factory_sets_the_lr_trajectory_of_every_phase():
    calls = []

    def halving(optimizer, epochs):
        calls.append(epochs)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: 0.5**e)

    train, val = loaders()
    result = compress(resnet(8, num_classes=2), resnet(14, num_classes=2), train, val,
                      ir_epochs=2, epochs=3, scheduler=halving, lr=0.08, finetune_lr=0.04,
                      quiet=True, **CPU)
    assert calls == [2, 3]
    assert [r["lr"] for r in result.fit.phase_history("ir")] == pytest.approx([0.08, 0.04])
    assert [r["lr"] for r in result.fit.phase_history("finetune")] == pytest.approx([0.04, 0.02, 0.01])


def test_cosine_class_is_a_scheduler_factory_as_is():
    train, val = loaders()
    result = compress(resnet(8, num_classes=2), None, train, val, method="scratch", epochs=2,
                      optimizer=torch.optim.AdamW,
                      scheduler=torch.optim.lr_scheduler.CosineAnnealingLR, lr=1e-3,
                      quiet=True, **CPU)
    assert [r["lr"] for r in result.fit.history] == pytest.approx([1e-3, 5e-4])


def test_in_memory_mode_writes_nothing_and_keeps_the_best_weights(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train, val = loaders()
    student = resnet(8, num_classes=2)
    result = compress(student, resnet(14, num_classes=2), train, val, ir_epochs=1, epochs=3,
                      teacher_epochs=1, run_dir=None, quiet=True, **CPU)
    assert list(tmp_path.iterdir()) == []
    assert result.fit.run_dir is None and result.fit.best_checkpoint is None
    # the student holds the selected epoch's weights, not the last epoch's
    assert evaluate(student, val, torch.device("cpu")).accuracy == result.fit.best_val_acc
    best = result.fit.history[result.fit.best_epoch - 1]
    assert best["val_acc"] == result.fit.best_val_acc


def test_in_memory_mode_restores_the_best_epoch_not_the_last():
    train, _ = loaders()
    g = torch.Generator().manual_seed(3)  # labels unrelated to the images: val acc wanders
    val = [(torch.randn(32, 3, IMG, IMG, generator=g), torch.randint(0, 2, (32,), generator=g))]
    student = resnet(8, num_classes=2)
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, event):
            snapshots.append({k: v.clone() for k, v in student.state_dict().items()})

    result = compress(student, None, train, val, method="scratch", epochs=5, lr=0.05,
                      callbacks=[Snapshot()], quiet=True, **CPU)
    assert result.fit.best_epoch < len(result.fit.history)  # this seed's best is not the last
    best = snapshots[result.fit.best_epoch - 1]
    assert all(torch.equal(v, best[k]) for k, v in student.state_dict().items())
    assert not all(torch.equal(v, snapshots[-1][k]) for k, v in student.state_dict().items())


def test_teacher_is_trained_first_and_the_student_learns_from_the_trained_one():
    train, val = loaders()
    teacher = resnet(14, num_classes=2)
    untrained = {k: v.clone() for k, v in teacher.state_dict().items()}
    student = resnet(8, num_classes=2)
    # epochs=0: only the IR phase, where the stem copied from the teacher stays frozen
    result = compress(student, teacher, train, val, teacher_epochs=3, ir_epochs=1, epochs=0,
                      lr=0.05, quiet=True, **CPU)
    fit_t = result.teacher_fit
    assert fit_t is not None and fit_t.method == "scratch"
    assert [r["phase"] for r in fit_t.history] == ["train"] * 3
    assert result.teacher is teacher
    trained = teacher.state_dict()
    changed = [k for k in untrained if not torch.equal(untrained[k], trained[k])]
    assert "stem.0.weight" in changed
    assert torch.equal(student.stem[0].weight, teacher.stem[0].weight)


def test_run_dir_holds_the_teacher_and_the_student(tmp_path):
    train, val = loaders()
    result = compress(resnet(8, num_classes=2), resnet(14, num_classes=2), train, val,
                      teacher_epochs=1, ir_epochs=1, epochs=1, run_dir=tmp_path / "run",
                      quiet=True, **CPU)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["student", "teacher"]
    assert (tmp_path / "run" / "teacher" / "best.pt").is_file()
    assert result.fit.best_checkpoint == str(tmp_path / "run" / "student" / "best.pt")


def test_a_method_that_needs_a_teacher_without_one_is_refused(tmp_path):
    train, val = loaders()
    with pytest.raises(ConfigError, match="needs a teacher: pass a trained one, or an untrained "
                                          "one with teacher_epochs=N"):
        compress(resnet(8), None, train, val, run_dir=tmp_path / "run", **CPU)
    with pytest.raises(ConfigError, match="unknown training setting 'learning_rate'"):
        compress(resnet(8), resnet(14), train, val, run_dir=tmp_path / "run", learning_rate=1)
    assert not (tmp_path / "run").exists()


def test_a_factory_returning_the_wrong_thing_is_named(tmp_path):
    train, val = loaders()
    with pytest.raises(ConfigError, match="optimizer factory returned list"):
        compress(resnet(8, num_classes=2), None, train, val, method="scratch", epochs=1,
                 optimizer=lambda params, lr: list(params), quiet=True, **CPU)
    with pytest.raises(ConfigError, match="scheduler factory returned float, not a learning-rate "
                                          "scheduler"):
        compress(resnet(8, num_classes=2), None, train, val, method="scratch", epochs=1,
                 scheduler=lambda optimizer, epochs: 0.5, quiet=True, **CPU)


def test_fit_in_memory_refuses_resume_and_tensorboard():
    train, val = loaders()
    with pytest.raises(ConfigError, match="resume needs the run directory"):
        fit(resnet(8), None, train, val, method="scratch", run_dir=None, resume=True,
            config=TrainConfig(**CPU))
    with pytest.raises(ConfigError, match="tensorboard = true writes to the run directory"):
        fit(resnet(8), None, train, val, method="scratch", run_dir=None,
            config=TrainConfig(tensorboard=True, **CPU))
