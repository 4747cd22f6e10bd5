"""BatchNorm folding for the benchmark's folded backends: lit-core's ``lit_core.models.fold`` (one
folder for the project; imported lazily, like lit-bench's other lit-core parts).

Every ``Conv2d → BatchNorm2d`` pair becomes one biased ``Conv2d`` in a deep copy (eval mode); the
module tree keeps its names, each folded BN replaced by ``nn.Identity``, which is what a fused
kernel wants to read.
"""

from __future__ import annotations

import torch.nn as nn

__all__ = ["conv_bn_pairs", "fold_bn"]


def _fold():
    try:
        from lit_core import models
    except ImportError as exc:
        raise RuntimeError("BN folding needs lit-core: pip install packages/lit-core") from exc
    return models


def conv_bn_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """Dotted names ``(conv, bn)`` of every conv whose output feeds only a BatchNorm2d."""
    return _fold().conv_bn_pairs(model)


def fold_bn(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` in eval mode with each BN absorbed into its conv (BN → Identity).

    Args:
        model: a model whose convolutions feed BatchNorm2d layers (unchanged).

    Returns:
        The folded copy; it computes what ``model.eval()`` computes.

    Examples:
        >>> import torch
        >>> from lit_models import create_model
        >>> model = create_model("resnet20").eval()
        >>> folded = fold_bn(model)
        >>> any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
        False
        >>> x = torch.randn(2, 3, 32, 32)
        >>> torch.allclose(folded(x), model(x), atol=1e-4)
        True
    """
    return _fold().fold_conv_bn(model)
