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
    """A network split at stage boundaries: ``forward(x) == head(stages[-1](…(stem(x))))``.

    What every lit function that takes a teacher or student asks for. lit-models' models have
    it; ``as_staged`` gives it to any other model.

    Attributes:
        stem: the modules before the first stage.
        stages: one module per stage (``stages.0 … stages.N-1``).
        head: the modules after the last stage (pooling, classifier).

    Examples:
        >>> from lit_models import create_model
        >>> isinstance(create_model("resnet20"), StagedModel)
        True
    """

    stem: nn.Module
    stages: Sequence[nn.Module]
    head: nn.Module

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


def require_staged(model: object, role: str = "model") -> StagedModel:
    """Return ``model`` if it has the stage interface (``stem``, ``stages``, ``head``).

    Args:
        model: the model to check.
        role: what the model is, for the message (``"teacher"``, ``"student"``).

    Returns:
        ``model`` itself.

    Raises:
        StageInterfaceError: names the missing attributes and suggests ``as_staged``.

    Examples:
        >>> import torch.nn as nn
        >>> require_staged(nn.Linear(2, 2), "teacher")
        Traceback (most recent call last):
        ...
        lit_core.method.staged.StageInterfaceError: the teacher (Linear) lacks the stage interface ...
    """
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
