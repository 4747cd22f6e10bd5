"""The stage interface lit-core consumes, as a structural ``Protocol`` (no lit_models import).

lit-core asks only for what it uses: ``stem``, ``stages`` (indexable, one module per stage) and
``head``, with ``forward(x) == head(stages[-1](…(stem(x))))``. The zoo's models (which also
carry ``feature_info`` and ``forward_stages``), ``lit_core.as_staged`` wrappers, or a user's
own ``nn.Module`` conform.

``stage_outputs`` is the ``forward_stages`` contract written once for lit-core (its wrappers call
it). lit-models' ``StagedNet.forward_stages`` implements the same contract in its own package,
because lit-core and lit-models may not import each other (import-linter's independence rule);
``tests/core/test_forward_stages_contract.py`` checks that the two agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch
import torch.nn as nn

from ..errors import LitError

__all__ = ["StageInterfaceError", "StagedModel", "require_staged", "stage_outputs"]


class StageInterfaceError(LitError, TypeError):
    """A model without ``stem``/``stages``/``head`` given where lit needs the stage interface."""


@runtime_checkable
class StagedModel(Protocol):
    """A network split at stage boundaries: ``forward(x) == head(stages[-1](…(stem(x))))``."""

    stem: nn.Module
    stages: Sequence[nn.Module]
    head: nn.Module

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


def require_staged(model: object, role: str = "model") -> StagedModel:
    """Return ``model`` if it has the stage interface, else raise one clear ``StageInterfaceError``."""
    missing = [a for a in ("stem", "stages", "head") if not hasattr(model, a)]
    if missing:
        raise StageInterfaceError(
            f"the {role} ({type(model).__name__}) lacks the stage interface attribute(s) "
            f"{', '.join(missing)}; wrap it with lit_core.as_staged(model, stem=..., stages=[...], head=...)"
        )
    return model  # type: ignore[return-value]


def stage_outputs(model: StagedModel, x: torch.Tensor) -> list[torch.Tensor]:
    """Every stage's output, in order: the ``forward_stages`` contract.

    ``h = stem(x)``, then for each ``stage`` in ``stages``: ``h = stage(h)``, collecting every
    ``h``; so the list has ``len(stages)`` entries, the last is what ``head`` takes, and nothing
    else (no head, no hooks, no copies) runs.
    """
    h = model.stem(x)
    outs = []
    for stage in model.stages:
        h = stage(h)
        outs.append(h)
    return outs
