"""The frozen teacher's inference copy (issue 15 item 4): BN folded, weights pre-cast once."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
import torch.nn as nn
from lit_tiny import batches, clone_state, resnet, state_equal
from torch.utils._python_dispatch import TorchDispatchMode

from lit_core import TrainConfig
from lit_core.errors import ConfigError
from lit_core.method.lit import make_plan, teacher_forward
from lit_core.training.step import make_train_step
from lit_core.training.teacher_copy import conv_bn_pairs, inference_copy, plan_for


class _CountOps(TorchDispatchMode):
    """Counts the aten ops that run (below autocast, so autocast's own casts are seen)."""

    def __init__(self):
        super().__init__()
        self.ops: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def _teacher(depth: int = 14) -> nn.Module:
    """A frozen teacher whose BNs hold non-trivial running statistics and affine weights."""
    t = resnet(depth)
    g = torch.Generator().manual_seed(depth)
    for m in t.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return t.eval().requires_grad_(False)


def _outputs(teacher, x, plan, dtype=None):
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
        cuts, logits = teacher_forward(teacher, x, plan)
    return [c.float() for c in cuts] + [logits.float()]


def _rel_err(a: torch.Tensor, ref: torch.Tensor) -> float:
    return ((a - ref).abs().max() / ref.abs().max()).item()


def test_fp32_folded_copy_matches_the_teacher_at_every_cut():
    teacher = _teacher()
    before = clone_state(teacher)
    copy = inference_copy(teacher)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in copy.modules())  # every BN folded
    assert len(conv_bn_pairs(teacher)) == sum(isinstance(m, nn.Conv2d) for m in teacher.modules())
    assert state_equal(before, teacher.state_dict()) == []  # the teacher itself is untouched
    x = batches(1, batch=4)[0][0]
    plan = make_plan(teacher, resnet(8))
    ref = _outputs(teacher, x, plan)
    got = _outputs(copy, x, plan_for(plan, teacher, copy))
    for a, r in zip(got, ref, strict=True):  # stem, 3 stages, logits; fp32 reassociation only
        assert _rel_err(a, r) < 1e-5


def test_bf16_copy_is_as_close_to_the_fp32_teacher_as_autocast_is():
    teacher = _teacher()
    copy = inference_copy(teacher, torch.bfloat16)
    assert {p.dtype for p in copy.parameters()} == {torch.bfloat16}
    x = batches(1, batch=4)[0][0]
    plan = make_plan(teacher, resnet(8))
    ref = _outputs(teacher, x, plan)
    plain = _outputs(teacher, x, plan, torch.bfloat16)  # today's path: autocast of the teacher
    got = _outputs(copy, x, plan_for(plan, teacher, copy), torch.bfloat16)
    for a, p, r in zip(got, plain, ref, strict=True):
        # bf16 keeps 8 significant bits (relative rounding 2^-8 ≈ 0.4 %); through 14 layers the
        # error stays within a few percent of the output's range, like autocast's own
        assert _rel_err(a, r) < 0.05
        assert _rel_err(a, r) < 3 * _rel_err(p, r) + 1e-2


def test_bf16_copy_is_not_recast_by_autocast():
    teacher = _teacher()
    copy = inference_copy(teacher, torch.bfloat16)
    x = batches(1, batch=2)[0][0]
    plan = make_plan(teacher, resnet(8))
    n_weights = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in teacher.modules())
    counts = {}
    for name, model, p in (("teacher", teacher, plan), ("copy", copy, plan_for(plan, teacher, copy))):
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16), _CountOps() as count:
            teacher_forward(model, x, p)
        counts[name] = count.ops
    assert counts["teacher"]["_to_copy"] >= n_weights  # every conv/linear weight, every step
    assert counts["copy"]["_to_copy"] == 1  # only the fp32 input image
    assert counts["copy"]["native_batch_norm"] == 0


@pytest.mark.parametrize("method", ["lit", "lit_block_ir", "kd"])
def test_bf16_step_runs_the_copy_and_copies_stem_and_head_from_the_teacher(method):
    teacher = _teacher()
    cfg = TrainConfig(precision="bf16", device="cpu")
    step = make_train_step(resnet(8), teacher, method, cfg)
    assert step.teacher is not teacher
    assert {p.dtype for p in step.teacher.parameters()} == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in step.student.parameters())
    if method != "kd":
        assert state_equal(clone_state(step.student.stem), teacher.stem.state_dict()) == []
        copy_modules = {id(m) for m in step.teacher.modules()}
        assert all(id(m) in copy_modules for p in step.plan.teacher_pieces for m in p.children())
        assert step.plan.student_pieces == step.phase.plan.student_pieces
    x, y = batches(1)[0]
    parts, _ = step(x, y)
    assert torch.isfinite(parts.total)


def test_fp32_and_teacher_copy_off_run_the_teacher_itself():
    teacher = _teacher()
    for cfg in (TrainConfig(device="cpu"), TrainConfig(precision="bf16", teacher_copy=False, device="cpu")):
        assert make_train_step(resnet(8), teacher, "lit", cfg).teacher is teacher


def test_bf16_step_with_the_copy_matches_the_step_without_it():
    x, y = batches(1, batch=8)[0]
    results = []
    for use_copy in (False, True):
        cfg = TrainConfig(precision="bf16", teacher_copy=use_copy, device="cpu")
        step = make_train_step(resnet(8), _teacher(), "lit", cfg)
        parts, _ = step(x, y)
        results.append(parts.total.item())
    assert results[1] == pytest.approx(results[0], rel=0.05)  # both bf16; copies round differently


def test_unknown_compile_mode_is_refused():
    with pytest.raises(ConfigError, match="compile must be one of off, teacher, step"):
        TrainConfig(device="cpu", compile="graph")

