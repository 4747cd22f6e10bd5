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

lit-core's own small folder (lit-bench has the benchmark's; lit-core never imports it).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools

import torch
import torch.fx
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .lit import IRPlan

__all__ = ["CAST_TYPES", "conv_bn_pairs", "fold_conv_bn", "inference_copy", "plan_for"]

# the modules whose weights autocast casts to the half dtype (the rest keep fp32 weights)
CAST_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def conv_bn_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """Dotted names ``(conv, bn)`` of every conv whose output feeds only a ``BatchNorm2d``.

    Found by tracing with ``torch.fx``; a model fx cannot trace falls back to adjacent pairs
    inside ``nn.Sequential`` containers (where the conv's output can only feed the BN)."""
    modules = dict(model.named_modules())
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception:  # any tracing failure: use the structural rule
        return _sequential_pairs(model)
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules.get(node.target), nn.BatchNorm2d):
            continue
        src = node.args[0]
        if (
            isinstance(src, torch.fx.Node)
            and src.op == "call_module"
            and isinstance(modules.get(src.target), nn.Conv2d)
            and len(src.users) == 1
        ):
            pairs.append((str(src.target), str(node.target)))
    return pairs


def _sequential_pairs(model: nn.Module) -> list[tuple[str, str]]:
    pairs = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Sequential):
            kids = list(m.named_children())
            for (a, conv), (b, bn) in itertools.pairwise(kids):
                if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                    prefix = f"{name}." if name else ""
                    pairs.append((prefix + a, prefix + b))
    return pairs


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


@torch.no_grad()
def fold_conv_bn(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` in eval mode with each foldable BN absorbed into its conv."""
    folded = copy.deepcopy(model).eval()
    for conv_name, bn_name in conv_bn_pairs(folded):
        bn = folded.get_submodule(bn_name)
        if not bn.track_running_stats or bn.running_mean is None:
            continue  # batch statistics at inference: nothing constant to fold
        _set_submodule(folded, conv_name, fuse_conv_bn_eval(folded.get_submodule(conv_name), bn))
        _set_submodule(folded, bn_name, nn.Identity())
    return folded


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
