"""BatchNorm folding: every ``Conv2d → BatchNorm2d`` pair becomes one biased ``Conv2d``.

Inference-only: W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β per output channel. The pairs are
found by tracing with ``torch.fx`` (a BN whose only input is a conv whose only user is that BN),
so the rule does not depend on attribute names; the folded copy keeps the module tree (``stem``,
``stages.i``, ``BasicBlock.conv1`` …) with each folded BN replaced by ``nn.Identity``. Used by
the frozen teacher's inference copy (``teacher_copy``) and by lit-bench's folded backends.
"""

from __future__ import annotations

import copy
import itertools

import torch
import torch.fx
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["conv_bn_pairs", "fold_conv_bn"]


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
