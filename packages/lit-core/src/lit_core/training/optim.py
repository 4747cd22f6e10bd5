"""Optimiser and learning-rate schedule factories: what ``fit`` builds at the start of each phase.

A phase's optimiser comes from ``optimizer(params, lr)`` (the parameters that phase trains, and
the phase's learning rate from ``TrainConfig``: ``lr`` for the first phase, ``finetune_lr`` for a
fine-tune), its schedule from ``scheduler(optimizer, epochs)`` (the phase's epoch count), stepped
once per epoch. PyTorch's classes already have these signatures, so ``torch.optim.AdamW`` or
``functools.partial(torch.optim.AdamW, weight_decay=0.05)`` is an optimiser factory and
``torch.optim.lr_scheduler.CosineAnnealingLR`` a scheduler factory. Without factories, ``fit``
uses SGD (``momentum``, ``weight_decay``, ``nesterov``) and a step decay (``MultiStepLR`` at the
phase's ``milestones`` by ``gamma``), the paper's recipe.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from ..errors import ConfigError
from .config import TrainConfig

__all__ = ["OptimizerFactory", "SchedulerFactory", "build_optimizer", "build_scheduler"]

OptimizerFactory = Callable[[list[nn.Parameter], float], torch.optim.Optimizer]
"""``(params, lr) -> Optimizer``; e.g. ``torch.optim.AdamW``."""
SchedulerFactory = Callable[[torch.optim.Optimizer, int], torch.optim.lr_scheduler.LRScheduler]
"""``(optimizer, phase_epochs) -> LRScheduler`` stepped once per epoch; e.g. ``CosineAnnealingLR``."""


def build_optimizer(
    params: list[nn.Parameter], lr: float, cfg: TrainConfig, factory: OptimizerFactory | None = None
) -> torch.optim.Optimizer:
    """A phase's optimiser: ``factory(params, lr)``, or SGD with ``cfg``'s momentum and decay.

    Args:
        params: the parameters the phase trains (frozen ones are left out).
        lr: the phase's learning rate.
        cfg: supplies SGD's ``momentum``, ``weight_decay`` and ``nesterov`` (default only).
        factory: ``(params, lr) -> Optimizer``; None for SGD.

    Returns:
        The optimiser over ``params``.

    Raises:
        ConfigError: ``factory`` returned something that is not a ``torch.optim.Optimizer``.
    """
    if factory is None:
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay, nesterov=cfg.nesterov)
    optimizer = factory(params, lr)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(f"optimizer factory returned {type(optimizer).__name__}, not a "
                          "torch.optim.Optimizer; pass a callable (params, lr) -> Optimizer, "
                          "e.g. torch.optim.AdamW")
    return optimizer


def build_scheduler(
    optimizer: torch.optim.Optimizer, epochs: int, cfg: TrainConfig, *, finetune: bool = False,
    factory: SchedulerFactory | None = None,
) -> torch.optim.lr_scheduler.LRScheduler:
    """A phase's schedule: ``factory(optimizer, epochs)``, or ``MultiStepLR`` at ``cfg``'s milestones.

    Args:
        optimizer: the phase's optimiser.
        epochs: the phase's number of epochs (the schedule is stepped once per epoch).
        cfg: supplies ``milestones`` / ``finetune_milestones`` and ``gamma`` (default only).
        finetune: the phase is a fine-tune after an IR phase (prefers ``finetune_milestones``).
        factory: ``(optimizer, epochs) -> LRScheduler``; None for the step decay.

    Returns:
        The scheduler.

    Raises:
        ConfigError: ``factory`` returned something without ``step`` and ``state_dict``.
    """
    if factory is None:
        milestones = cfg.milestone_epochs(epochs, finetune=finetune)
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, cfg.gamma)
    scheduler = factory(optimizer, epochs)
    if not all(callable(getattr(scheduler, a, None)) for a in ("step", "state_dict", "load_state_dict")):
        raise ConfigError(f"scheduler factory returned {type(scheduler).__name__}, not a learning-"
                          "rate scheduler; pass a callable (optimizer, epochs) -> LRScheduler, "
                          "e.g. torch.optim.lr_scheduler.CosineAnnealingLR")
    return scheduler
