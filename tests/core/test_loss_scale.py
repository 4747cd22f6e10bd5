"""The IR phase's loss scale (the paper's code halves the LIT loss: ``full_loss /= 2``)."""

from __future__ import annotations

import copy

import pytest
import torch
from lit_tiny import batches, resnet

from lit_core import TrainConfig, make_train_step
from lit_core.app.runconfig import resolve_run_config


def _one_step(student, teacher, **cfg):
    config = TrainConfig(device="cpu", progress=False, copy_stem_head=False, **cfg)
    step = make_train_step(copy.deepcopy(student), copy.deepcopy(teacher), "lit", config)
    x, y = next(iter(batches(1, batch=16)))
    before = {n: p.detach().clone() for n, p in step.student.named_parameters()}
    step(x, y)
    return before, dict(step.student.named_parameters())


def test_half_scale_is_one_sgd_step_on_half_the_gradient_plus_full_weight_decay():
    torch.manual_seed(0)
    student, teacher = resnet(8), resnet(14)
    lr, wd = 0.1, 1e-2
    # the plain gradient g: one step at lr 1, no momentum, no weight decay, scale 1
    p0, p1 = _one_step(student, teacher, lr=1.0, momentum=0.0, weight_decay=0.0)
    grads = {n: p0[n] - p1[n].detach() for n in p0}
    # the paper's setting: scale 0.5, weight decay applied to the weights at full strength
    q0, q1 = _one_step(student, teacher, lr=lr, momentum=0.9, weight_decay=wd, ir_loss_scale=0.5)
    checked = 0
    for n in q0:
        expected = q0[n] - lr * (0.5 * grads[n] + wd * q0[n])  # SGD's first step: buf = d_p
        torch.testing.assert_close(q1[n].detach(), expected, rtol=1e-5, atol=1e-7)
        checked += bool(grads[n].abs().sum() > 0)
    assert checked > 10  # the comparison covered trained tensors, not only frozen ones


def test_scale_only_touches_the_ir_phase_and_the_paper_preset_halves_it():
    lit = resolve_run_config("paper").job("lit")
    assert lit.ir_loss_scale == 0.5
    assert resolve_run_config("cpu").job("lit").ir_loss_scale == 1.0
    step = make_train_step(resnet(8), resnet(14), "lit",
                           TrainConfig(device="cpu", ir_loss_scale=0.5), phase="last")
    assert step.phase.name == "finetune" and step.phase.loss_scale == 1.0
    with pytest.raises(ValueError, match="ir_loss_scale"):
        TrainConfig(device="cpu", ir_loss_scale=0.0)
