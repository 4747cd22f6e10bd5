"""LITCriterion: LIT inside a user's own loop is ``loss = crit(x, y); loss.backward()``."""

from __future__ import annotations

import copy

import torch
from lit_tiny import TinyStaged, batches

from lit_core import LITCriterion, LITLoss, StudentForward, lit_step, make_plan


def test_criterion_equals_lit_step_and_trains_only_the_student() -> None:
    teacher, student = TinyStaged(depth=2, seed=1), TinyStaged(depth=1, seed=2)
    ref_student = copy.deepcopy(student)
    t_before = copy.deepcopy(teacher.state_dict())
    crit = LITCriterion(teacher, student, LITLoss(beta=0.5))
    (x, y), = batches(1)
    loss = crit(x, y)
    plan = make_plan(teacher, ref_student)
    ref, _ = lit_step(teacher, StudentForward(ref_student, plan), plan, LITLoss(beta=0.5), x, y)
    torch.testing.assert_close(loss, ref.total)
    assert crit.parts is not None and crit.parts.ir > 0 and crit.parts.kd > 0

    opt = torch.optim.AdamW(crit.student.parameters(), lr=1e-2)
    first = None
    for _ in range(20):
        loss = crit(x, y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first
    assert all(p.grad is None for p in teacher.parameters())
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, t_before[k])
    crit.train()
    assert not crit.teacher.training and crit.student.training
