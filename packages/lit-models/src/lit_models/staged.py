"""``as_staged``, re-exported from lit-core, where it lives beside the stage Protocol.

lit-models never imports lit-core (import-linter checks it): the call is forwarded to the
function lit-core declares under the ``lit.staging`` entry point, the same way lit-core finds
lit-models' ``create_model`` through ``lit.model_factories``. Importing lit_models loads nothing
of lit-core; calling ``as_staged`` needs lit-core installed.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import torch.nn as nn

__all__ = ["as_staged"]

ENTRY_POINT_GROUP = "lit.staging"


def as_staged(model: nn.Module, **kwargs: Any) -> nn.Module:
    """``lit_core.as_staged(model, stem=..., stages=[...], head=..., example_input=...)``.

    Args:
        model: any ``nn.Module`` whose ``forward`` applies the named modules in order.
        **kwargs: ``stem``, ``stages``, ``head`` and ``example_input``, as ``lit_core.as_staged``.

    Returns:
        lit-core's ``StagedWrapper`` over ``model``'s own modules, with ``model``'s state-dict keys.

    Raises:
        ImportError: lit-core is not installed.

    Examples:
        >>> import torch, torchvision
        >>> staged = as_staged(torchvision.models.resnet18(num_classes=10),
        ...                    stem=["conv1", "bn1", "relu", "maxpool"],
        ...                    stages=["layer1", "layer2", "layer3", "layer4"], head=["avgpool", "fc"],
        ...                    example_input=torch.randn(2, 3, 32, 32))
        >>> [info["num_chs"] for info in staged.feature_info]
        [64, 128, 256, 512]
    """
    found = entry_points(group=ENTRY_POINT_GROUP, name="as_staged")
    if not found:
        raise ImportError("as_staged lives in lit-core; install it beside lit-models: "
                          "pip install packages/lit-core")
    return next(iter(found)).load()(model, **kwargs)
