"""Evaluation: mean cross-entropy and top-1 accuracy of a model over a loader (DDP-aware)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .distributed import all_reduce_sum
from .runtime import autocast, to_device

__all__ = ["Evaluation", "evaluate"]


class Evaluation(NamedTuple):
    """What ``evaluate`` returns.

    Attributes:
        loss: the mean cross-entropy.
        accuracy: top-1 accuracy, 0-1.
        count: the number of samples.
    """

    loss: float
    accuracy: float
    count: int


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    precision: str = "fp32",
    channels_last: bool = False,
) -> Evaluation:
    """Cross-entropy and top-1 accuracy of ``model`` on ``loader`` (summed over DDP ranks).

    The model runs in eval mode, under ``no_grad``; its train/eval mode is restored afterwards.

    Args:
        model: any classifier returning logits.
        loader: a re-iterable of ``(x, y)`` batches.
        device: where to run; None: the device of the model's parameters.
        precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (autocast).
        channels_last: image batches in channels-last memory format.

    Returns:
        An ``Evaluation``: mean ``loss``, top-1 ``accuracy`` (0-1) and the sample ``count``.

    Raises:
        ValueError: the loader yielded no samples.

    Examples:
        >>> import torch, torch.nn as nn
        >>> model = nn.Linear(4, 3)
        >>> result = evaluate(model, [(torch.randn(8, 4), torch.randint(0, 3, (8,)))])
        >>> result.count, 0 <= result.accuracy <= 1
        (8, True)
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    try:
        for x, y in loader:
            x, y = to_device(x, y, device, channels_last)
            with autocast(device, precision):
                logits = model(x)
            totals[0] += F.cross_entropy(logits.float(), y, reduction="sum").double()
            totals[1] += (logits.argmax(1) == y).sum()
            totals[2] += y.numel()
    finally:
        model.train(was_training)
    loss_sum, correct, n = all_reduce_sum(totals).tolist()
    if n == 0:
        raise ValueError("the evaluation loader yielded no samples")
    return Evaluation(loss_sum / n, correct / n, int(n))
