"""The frozen teacher's inference copy: BatchNorm folded into the convs, weights pre-cast.

Under autocast every step re-casts the fp32 weights of the frozen teacher to the half dtype
(autocast caches casts only of weights that require grad): 112 casts per ResNet-110 forward. The
copy is built once: each ``Conv2d → BatchNorm2d`` pair becomes one biased conv
(W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β), then the weights autocast would cast (convs,
linears) are stored in the half dtype, so autocast finds them already cast. Norm layers that
could not be folded keep fp32 weights, as under plain autocast. The copy keeps the teacher's
module tree (``stem``, ``stages.i``, ``head``; each folded BN becomes ``nn.Identity``), so an
``IRPlan`` built on the teacher can be re-pointed at it (``plan_for``). It is inference-only
(eval mode, no grad) and, once cast, meant to run under autocast.

The folding itself is ``lit_core.models.fold`` (lit-bench's folded backends use it too).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn as nn

from ..method.lit import IRPlan
from ..models.fold import conv_bn_pairs, fold_conv_bn

__all__ = ["CAST_TYPES", "conv_bn_pairs", "fold_conv_bn", "inference_copy", "plan_for"]

# the modules whose weights autocast casts to the half dtype (the rest keep fp32 weights)
CAST_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


@torch.no_grad()
def inference_copy(teacher: nn.Module, dtype: torch.dtype | None = None) -> nn.Module:
    """The teacher BN-folded, in eval mode, without grad, with conv/linear weights in ``dtype``
    (``None``: the teacher's own dtype). The teacher itself is not changed."""
    folded = fold_conv_bn(teacher)
    if dtype is not None:
        for m in folded.modules():
            if isinstance(m, CAST_TYPES):
                m.to(dtype)
    return folded.requires_grad_(False)


def _piece_in(piece: nn.Module, names: dict[int, str], target: nn.Module) -> nn.Module:
    name = names.get(id(piece))
    if name is not None:
        return target.get_submodule(name) if name else target
    if isinstance(piece, nn.Sequential):  # a slice of a stage (block IR plans)
        return nn.Sequential(*[_piece_in(m, names, target) for m in piece])
    raise ValueError(f"a teacher piece of the plan ({type(piece).__name__}) is not in the teacher")


def plan_for(plan: IRPlan, teacher: nn.Module, target: nn.Module) -> IRPlan:
    """``plan`` with its teacher pieces taken from ``target`` (a copy of ``teacher`` with the same
    module names) instead of ``teacher``; the student pieces are unchanged."""
    names = {id(m): n for n, m in teacher.named_modules()}
    pieces = [_piece_in(p, names, target) for p in plan.teacher_pieces]
    return dataclasses.replace(plan, teacher_pieces=pieces)
