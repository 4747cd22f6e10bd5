"""Model size: what lit-core's profiler (``lit_core.models.profile``) does not count — nonzero parameters.

Parameters, MACs and conv layers come from ``lit_core.models.profile`` (one counter for the project).
Its MACs are ``FlopCounterMode`` FLOPs / 2 per aten op, i.e. one multiply-add per weight per output
position of conv and linear layers (no BN, ReLU, pooling, additions, biases) — Li et al. (2017)'s
"FLOPs": ResNet-56 1.25e8, ResNet-110 2.53e8 at 32×32. lit-bench's former forward-hook counter
gave the same numbers on every bench model (resnet20/56/110 dense, l1-B, depgraph) but missed
functional convolutions and matmuls and over-counted transposed convolutions 16× (4→16 channels,
4×4 kernel, stride 2), so it was removed.
"""

from __future__ import annotations

import torch.nn as nn

__all__ = ["count_nonzero_params", "lit_core_profile"]


def count_nonzero_params(model: nn.Module) -> int:
    """Number of parameter elements that are not exactly zero (what unstructured pruning cuts).

    ``lit_core.models.pruning.count_nonzero``: masked (still-hooked) weights count their zeros too.

    Args:
        model: any module.

    Returns:
        The count of nonzero parameter elements.

    Examples:
        >>> import torch.nn as nn
        >>> layer = nn.Linear(4, 2)
        >>> _ = layer.weight.data[0].zero_()
        >>> count_nonzero_params(layer)  # 8 weights, 4 zeroed, 2 biases
        6
    """
    from lit_core.models import count_nonzero

    return count_nonzero(model)


def lit_core_profile():
    """``lit_core.models`` (params, MACs, conv layers: its ``profile`` names), imported lazily."""
    try:
        from lit_core import models
    except ImportError as exc:
        raise RuntimeError("counting MACs needs lit-core: pip install packages/lit-core") from exc
    return models
