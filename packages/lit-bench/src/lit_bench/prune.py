"""Pruned baselines of a CIFAR ResNet teacher: unstructured magnitude, L1-norm filter, DepGraph.

Every function returns a pruned deep copy and leaves its input untouched.

- ``unstructured_prune``: Han et al. (2015) magnitude pruning, delegated to lit-core's
  ``lit_core.models.pruning.prune_to_nonzero`` (global L1 over conv and linear weights), made permanent. Tensors keep their dense shapes, so
  dense kernels do the same work: no speed-up is expected, and the bench shows it.
- ``l1_filter_prune``: Li et al. (2017), "Pruning Filters for Efficient ConvNets", §4.2: in each
  residual block only the first conv loses filters (those of smallest L1 norm, eq. 1 of the
  paper: s_j = Σ|F_j|), its BN and the second conv's input channels follow, so the residual
  stream is untouched. Sensitive layers are skipped and the ratio is set per stage; the
  published configurations are in ``LI2017_CONFIGS``. Channels are physically removed (the
  low-level Torch-Pruning functions do the tensor surgery).
- ``depgraph_prune``: Fang et al. (2023) DepGraph via Torch-Pruning's ``MetaPruner`` with
  magnitude (L1) importance, global ranking, stepped until MACs fall to 1/speed-up.
  Option-A (zero-pad) shortcuts are invisible to DepGraph's channel tracing: it treats the pad
  as channel-preserving and produces a broken net. So the residual stream (stem conv, every
  block's second conv, the classifier) is kept and only block-internal channels are pruned —
  the same restriction Li et al. use. Option-B nets could prune the stream as well; the
  teachers here are option A.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn as nn

from .counting import lit_core_profile

__all__ = [
    "LI2017_CONFIGS",
    "L1FilterConfig",
    "depgraph_prune",
    "l1_filter_prune",
    "unstructured_prune",
]


def unstructured_prune(model: nn.Module, target_nonzero: int) -> nn.Module:
    """Zero the smallest-magnitude conv/linear weights until ``target_nonzero`` parameters remain.

    One mechanism for the project: this is ``lit_core.models.pruning.prune_to_nonzero`` (global
    magnitude masks over every conv and linear weight, made permanent).

    Args:
        model: the model to prune.
        target_nonzero: how many nonzero parameter elements to keep.

    Returns:
        The pruned model (dense tensors with zeros).

    Examples:
        >>> from lit_models import create_model
        >>> pruned = unstructured_prune(create_model("resnet20"), 100_000)
        >>> count_nonzero_params(pruned)
        100000
    """
    from lit_core.models import prune_to_nonzero

    return prune_to_nonzero(model, target_nonzero)


@dataclass(frozen=True)
class L1FilterConfig:
    """Li et al. (2017) filter-pruning setting: skipped conv layer ids and a ratio per stage.

    Layer ids count conv layers from 1 (the stem) in forward order, so block k's first conv is
    layer 2k+2 (the numbering of the paper's Figure 2 and of its reference code).
    """

    skip: tuple[int, ...]
    stage_ratios: tuple[float, float, float]
    published_macs: float  # Table 1 of the paper, for the record and the tests


LI2017_CONFIGS: dict[str, dict[str, L1FilterConfig]] = {
    "resnet56": {
        "A": L1FilterConfig(skip=(16, 20, 38, 54), stage_ratios=(0.1, 0.1, 0.1), published_macs=1.12e8),
        "B": L1FilterConfig(
            skip=(16, 18, 20, 34, 38, 54), stage_ratios=(0.6, 0.3, 0.1), published_macs=9.09e7
        ),
    },
    "resnet110": {
        "A": L1FilterConfig(skip=(36,), stage_ratios=(0.5, 0.0, 0.0), published_macs=2.13e8),
        "B": L1FilterConfig(skip=(36, 38, 74), stage_ratios=(0.5, 0.4, 0.3), published_macs=1.55e8),
    },
}


def _basic_blocks(model: nn.Module) -> list[tuple[int, nn.Module]]:
    """(stage index, block) for every residual block, in forward order."""
    stages = getattr(model, "stages", None)
    if stages is None:
        raise ValueError(f"{type(model).__name__} has no `stages`; expected a CIFAR ResNet (StagedNet)")
    blocks = []
    for s, stage in enumerate(stages):
        for block in stage:
            if not all(hasattr(block, a) for a in ("conv1", "bn1", "conv2")):
                raise ValueError(f"block {type(block).__name__} in stages.{s} has no conv1/bn1/conv2")
            blocks.append((s, block))
    return blocks


@torch.no_grad()
def l1_filter_prune(model: nn.Module, config: L1FilterConfig) -> nn.Module:
    """Remove the smallest-L1 filters of each block's first conv, as ``config`` prescribes.

    Li et al. (2017), "Pruning Filters for Efficient ConvNets"; ``LI2017_CONFIGS`` holds their
    ResNet-56/110 settings A and B. Needs Torch-Pruning (``torch_pruning``).

    Args:
        model: a CIFAR ResNet (unchanged).
        config: the layers to skip and the ratio per stage (an ``L1FilterConfig``).

    Returns:
        A pruned deep copy, with narrower first convs in the pruned blocks.

    Examples:
        >>> from lit_models import create_model
        >>> pruned = l1_filter_prune(create_model("resnet56"), LI2017_CONFIGS["resnet56"]["A"])
        >>> pruned.stages[0][0].conv1.out_channels  # 16 filters, 10% cut
        14
    """
    import torch_pruning as tp

    pruned = copy.deepcopy(model)
    for k, (stage, block) in enumerate(_basic_blocks(pruned)):
        layer_id = 2 * k + 2
        ratio = config.stage_ratios[stage]
        if layer_id in config.skip or ratio <= 0:
            continue
        n_out = block.conv1.out_channels
        keep = int(n_out * (1 - ratio))
        l1 = block.conv1.weight.abs().sum(dim=(1, 2, 3))  # s_j = Σ|F_j| (Li et al., eq. 1)
        drop = torch.argsort(l1)[: n_out - keep].tolist()
        tp.prune_conv_out_channels(block.conv1, drop)
        tp.prune_batchnorm_out_channels(block.bn1, drop)
        tp.prune_conv_in_channels(block.conv2, drop)
    return pruned


def _residual_stream_layers(model: nn.Module) -> list[nn.Module]:
    """Layers whose output channels are the residual stream (kept under option-A shortcuts)."""
    first_conv = next(m for m in model.stem.modules() if isinstance(m, nn.Conv2d))
    linears = [m for m in model.head.modules() if isinstance(m, nn.Linear)]
    return [first_conv, *(b.conv2 for _, b in _basic_blocks(model)), *linears]


def depgraph_prune(
    model: nn.Module,
    speedup: float = 2.0,
    *,
    round_to: int | None = None,
    steps: int = 20,
    max_ratio: float = 0.9,
    input_size: tuple[int, ...] = (3, 32, 32),
) -> nn.Module:
    """DepGraph (Torch-Pruning) global L1 pruning of block-internal channels to MACs/``speedup``.

    Args:
        model: a CIFAR ResNet (unchanged).
        speedup: the target MAC reduction (> 1): prune until MACs <= base MACs / ``speedup``.
        round_to: round every pruned layer's channel count to a multiple of this (e.g. 8).
        steps: iterative pruning steps.
        max_ratio: the most any one layer may lose (a fraction of its channels).
        input_size: the input shape (without batch) to count MACs on.

    Returns:
        A pruned deep copy.

    Raises:
        ValueError: ``speedup`` <= 1.

    Examples:
        >>> from lit_models import create_model
        >>> model = create_model("resnet20")
        >>> pruned = depgraph_prune(model, speedup=2.0)
        >>> count_nonzero_params(pruned) < count_nonzero_params(model)
        True
    """
    import torch_pruning as tp

    if speedup <= 1:
        raise ValueError(f"speedup must be > 1; got {speedup}")
    pruned = copy.deepcopy(model).eval()
    base = lit_core_profile().count_macs(pruned, input_size)
    example = torch.zeros(1, *input_size)
    pruner = tp.pruner.MetaPruner(
        pruned,
        example,
        importance=tp.importance.MagnitudeImportance(p=1),
        global_pruning=True,
        pruning_ratio=max_ratio,
        max_pruning_ratio=max_ratio,
        iterative_steps=steps,
        ignored_layers=_residual_stream_layers(pruned),
        round_to=round_to,
    )
    for _ in range(steps):
        pruner.step()
        if lit_core_profile().count_macs(pruned, input_size) * speedup <= base:
            return pruned
    raise RuntimeError(
        f"DepGraph pruning reached only {base / lit_core_profile().count_macs(pruned, input_size):.2f}× fewer MACs "
        f"(asked {speedup}×) with block-internal channels pruned up to {max_ratio:.0%}"
    )
