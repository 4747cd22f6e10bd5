"""Every method runs through the same trainer on CPU and ends finite."""

from __future__ import annotations

import math

import pytest
from lit_tiny import batches, resnet

from lit_core import METHODS, MethodConfig, TrainConfig, fit, get_method, read_metrics
from lit_core.method.methods import student_architecture

PHASES = {
    "lit": ["ir", "finetune"],
    "kd": ["train"],
    "scratch": ["train"],
    "fitnets": ["ir", "finetune"],
    "born_again": ["train"],
    "lit_single_ir": ["ir", "finetune"],
    "lit_block_ir": ["ir", "finetune"],
    "ir_no_teacher_input": ["ir", "finetune"],
    "depth_prune": ["train"],
    "kd_copied": ["frozen", "finetune"],
    "dkd": ["train"],
    "dist": ["train"],
}


def test_every_method_is_covered_here():
    assert set(PHASES) == set(METHODS)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_runs_and_its_loss_decreases(tmp_path, name):
    teacher = resnet(14)
    student = resnet(14) if name == "born_again" else resnet(8)
    data = batches(1, batch=16)  # one batch seen every epoch: the loss must go down
    cfg = TrainConfig(device="cpu", ir_epochs=3, epochs=3, lr=0.05, finetune_lr=0.05, progress=False)
    result = fit(student, teacher, data, data, method=name, config=cfg, run_dir=tmp_path / name)
    phases = [r["phase"] for r in result.history]
    assert phases == [p for p in PHASES[name] for _ in range(3)]
    for phase in PHASES[name]:
        losses = [r["train_loss"] for r in result.phase_history(phase)]
        assert all(math.isfinite(v) for v in losses)
        assert losses[-1] < losses[0], f"{name}/{phase}: {losses}"
    assert [r["phase"] for r in read_metrics(tmp_path / name)] == phases
    last_phase = [r for r in result.history if r["phase"] == PHASES[name][-1]]
    assert result.best_val_acc == max(r["val_acc"] for r in last_phase)  # selection on val only


def test_scratch_needs_no_teacher(tmp_path):
    result = fit(resnet(8), None, batches(1), batches(1), method="scratch",
                 config=TrainConfig(device="cpu", epochs=1, progress=False), run_dir=tmp_path / "r")
    assert result.completed and result.history[0]["train_kd"] > 0  # alpha = 1: KD term is CE


def test_methods_that_use_a_teacher_require_one(tmp_path):
    with pytest.raises(ValueError, match="method 'kd' needs a teacher"):
        fit(resnet(8), None, batches(1), batches(1), method="kd", run_dir=tmp_path / "r")


def test_born_again_requires_the_teachers_architecture(tmp_path):
    with pytest.raises(ValueError, match="needs a student of the teacher's architecture"):
        fit(resnet(8), resnet(14), batches(1), batches(1), method="born_again",
            run_dir=tmp_path / "r", config=TrainConfig(device="cpu", progress=False))
    assert student_architecture("born_again", "resnet110", "resnet20") == "resnet110"
    assert student_architecture("lit", "resnet110", "resnet20") == "resnet20"


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown method 'lit2'; valid methods: lit, kd, scratch"):
        get_method("lit2")
    custom = MethodConfig("mine", ir_phase=True, ir_at="last")
    assert get_method(custom) is custom


def test_evaluate_reports_loss_and_accuracy_of_known_logits():
    import torch

    from lit_core import evaluate

    class Fixed(torch.nn.Module):
        def forward(self, x):
            return torch.tensor([[2.0, 0.0]]).expand(len(x), 2)

    data = [(torch.zeros(3, 1), torch.tensor([0, 0, 1])), (torch.zeros(1, 1), torch.tensor([1]))]
    result = evaluate(Fixed(), data, device="cpu")
    ce_right, ce_wrong = math.log(1 + math.exp(-2)), math.log(1 + math.exp(2))
    assert result.count == 4 and result.accuracy == 0.5
    assert result.loss == pytest.approx((2 * ce_right + 2 * ce_wrong) / 4, rel=1e-6)


def test_fine_tune_phase_follows_its_own_milestones(tmp_path):
    teacher, student = resnet(14), resnet(8)
    data = batches(1, batch=8)
    cfg = TrainConfig(device="cpu", ir_epochs=3, epochs=3, lr=0.1, finetune_lr=0.01, milestones=(2,),
                      finetune_milestones=(1,), progress=False)
    result = fit(student, teacher, data, data, method="lit", config=cfg, run_dir=tmp_path / "r")
    ir_lrs = [r["lr"] for r in result.phase_history("ir")]
    ft_lrs = [r["lr"] for r in result.phase_history("finetune")]
    assert ir_lrs == pytest.approx([0.1, 0.1, 0.01])  # decayed after epoch 2 of the IR phase
    assert ft_lrs == pytest.approx([0.01, 0.001, 0.001])  # decayed after epoch 1 of fine-tuning
