"""BatchNorm folding: every ``Conv2d → BatchNorm2d`` pair becomes one biased ``Conv2d``.

Inference-only. The pairs are found by tracing the model with ``torch.fx`` (a BN whose only input
is a conv whose only user is that BN), so the rule does not depend on attribute names; the
folded model keeps the original module tree (``stages.i`` names, ``BasicBlock.conv1`` …) with
each folded BN replaced by ``nn.Identity``, which is what a fused kernel wants to read.
"""

from __future__ import annotations

import copy

import torch
import torch.fx
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["conv_bn_pairs", "fold_bn"]


def conv_bn_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """Dotted names ``(conv, bn)`` of every conv whose output feeds only a BatchNorm2d."""
    graph = torch.fx.symbolic_trace(model).graph
    modules = dict(model.named_modules())
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
            pairs.append((src.target, node.target))
    return pairs


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


@torch.no_grad()
def fold_bn(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` in eval mode with each BN absorbed into its conv (BN → Identity).

    W' = W·γ/√(σ²+ε),  b' = (b − μ)·γ/√(σ²+ε) + β  (per output channel).
    """
    folded = copy.deepcopy(model).eval()
    for conv_name, bn_name in conv_bn_pairs(folded):
        conv = folded.get_submodule(conv_name)
        bn = folded.get_submodule(bn_name)
        if not bn.track_running_stats or bn.running_mean is None:
            continue  # batch statistics at inference: nothing constant to fold
        _set_submodule(folded, conv_name, fuse_conv_bn_eval(conv, bn))
        _set_submodule(folded, bn_name, nn.Identity())
    return folded
