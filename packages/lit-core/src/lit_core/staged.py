"""The stage interface lit-core consumes, as a structural ``Protocol`` (no lit_models import).

Any ``nn.Module`` with ``stem``, ``stages`` (indexable, one module per stage), ``head``,
``feature_info`` (per stage: ``num_chs``, ``reduction``, ``module``) and ``forward_stages(x)``
conforms: the zoo's models, ``lit_models.as_staged`` wrappers, or a user's own class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn as nn


@runtime_checkable
class StagedModel(Protocol):
    """A network split at stage boundaries: ``forward(x) == head(stages[-1](…(stem(x))))``."""

    stem: nn.Module
    stages: Sequence[nn.Module]
    head: nn.Module
    feature_info: Sequence[dict[str, Any]]

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every stage-boundary output, in order."""
        ...

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


def require_staged(model: object, role: str = "model") -> StagedModel:
    """Return ``model`` if it has the stage interface, else raise one clear ``TypeError``."""
    missing = [a for a in ("stem", "stages", "head", "feature_info", "forward_stages")
               if not hasattr(model, a)]
    if missing:
        raise TypeError(
            f"the {role} ({type(model).__name__}) lacks the stage interface attribute(s) "
            f"{', '.join(missing)}; wrap it with lit_models.as_staged(model, stem=..., stages=[...], head=...)"
        )
    return model  # type: ignore[return-value]
