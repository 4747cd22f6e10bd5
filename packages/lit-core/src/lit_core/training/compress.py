"""``compress``: the one call that compresses a model with your own data loaders.

It trains the teacher first when asked (``teacher_epochs``), then the student with the chosen
method, both through ``fit``. The run lives in memory unless ``run_dir`` is given.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch.nn as nn

from ..errors import ConfigError
from ..method.methods import MethodConfig, get_method
from .callbacks import Callback
from .config import TrainConfig
from .optim import OptimizerFactory, SchedulerFactory
from .trainer import FitResult, fit

__all__ = ["CompressResult", "compress"]


@dataclass
class CompressResult:
    """What ``compress`` returns.

    Attributes:
        student: the trained student (the module passed in, holding the selected weights).
        teacher: the teacher (trained here when ``teacher_epochs > 0``), or None.
        fit: the student's ``FitResult`` (per-epoch history, best validation accuracy, …).
        teacher_fit: the teacher's ``FitResult`` when it was trained here, else None.
    """

    student: nn.Module
    teacher: nn.Module | None
    fit: FitResult
    teacher_fit: FitResult | None = None


def compress(
    student: nn.Module,
    teacher: nn.Module | None,
    train_loader: Iterable,
    val_loader: Iterable,
    *,
    method: str | MethodConfig = "lit",
    ir_epochs: int | None = None,
    epochs: int | None = None,
    teacher_epochs: int = 0,
    optimizer: OptimizerFactory | None = None,
    scheduler: SchedulerFactory | None = None,
    config: TrainConfig | None = None,
    run_dir: str | os.PathLike | None = None,
    test_loader: Iterable | None = None,
    overwrite: bool = False,
    callbacks: list[Callback] | None = None,
    quiet: bool = False,
    **settings: Any,
) -> CompressResult:
    """Compress ``teacher`` into ``student`` with ``method`` (LIT by default), on your loaders.

    Both models need the stage interface (``stem``, ``stages``, ``head``): lit-models' models
    have it, any other model gets it from ``lit_core.as_staged``. LIT needs a *trained* teacher:
    pass one, or pass an untrained one with ``teacher_epochs=N`` and it is trained first (method
    ``scratch``: cross-entropy for ``N`` epochs at ``lr``, with the same optimiser and scheduler
    factories). The student then gets ``ir_epochs`` of the IR phase (LIT's per-stage losses, at
    ``lr``) and ``epochs`` of end-to-end fine-tuning (knowledge distillation, at
    ``finetune_lr``); single-phase methods (``kd``, ``scratch``) train ``epochs`` at ``lr``.

    Args:
        student: the smaller model to train (trained in place, moved to the device).
        teacher: the trained teacher; an untrained one with ``teacher_epochs``; None only for
            methods without a teacher (``scratch``).
        train_loader: any re-iterable iterable of ``(x, y)`` batches, e.g. a ``DataLoader``.
        val_loader: the same for validation; the best epoch is selected on it.
        method: a name in ``lit_core.METHODS`` or a ``MethodConfig``.
        ir_epochs: epochs of the IR phase (overrides ``config.ir_epochs``).
        epochs: epochs of the fine-tune (or only) phase (overrides ``config.epochs``).
        teacher_epochs: train the teacher for this many epochs first; 0 uses it as given.
        optimizer: ``(params, lr) -> Optimizer`` called per phase, e.g. ``torch.optim.AdamW``;
            None: SGD with momentum and weight decay, as in the paper.
        scheduler: ``(optimizer, phase_epochs) -> LRScheduler`` stepped once per epoch, e.g.
            ``torch.optim.lr_scheduler.CosineAnnealingLR``; None: step decays at
            ``milestones`` by ``gamma``.
        config: the remaining training settings (``TrainConfig``; its defaults when None).
        run_dir: where to write checkpoints and metrics (``teacher/`` and ``student/`` below it);
            None keeps everything in memory and writes nothing.
        test_loader: evaluated once on the selected student (``result.fit.test_acc``).
        overwrite: replace an existing non-empty ``run_dir``.
        callbacks: ``lit_core.training.callbacks.Callback`` objects (epoch, phase and fit end).
        quiet: no per-epoch progress lines on stderr.
        **settings: any other ``TrainConfig`` field, e.g. ``lr=1e-3``, ``device="cpu"``.

    Returns:
        A ``CompressResult``: the trained student and teacher and their ``FitResult``s.

    Raises:
        ConfigError: an unknown or out-of-range setting, or a method that needs a teacher
            without one.
        AlignmentError: teacher and student do not line up at a stage boundary.

    Examples:
        >>> import torch
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> from lit_models import create_model
        >>> data = TensorDataset(torch.randn(64, 3, 8, 8), torch.randint(0, 10, (64,)))
        >>> train, val = DataLoader(data, batch_size=16, shuffle=True), DataLoader(data, batch_size=64)
        >>> teacher, student = create_model("resnet20", img_size=8), create_model("resnet8", img_size=8)
        >>> result = compress(student, teacher, train, val, teacher_epochs=1, ir_epochs=1, epochs=1,
        ...                   optimizer=torch.optim.AdamW, lr=1e-3, finetune_lr=1e-4, quiet=True)
        >>> [r["phase"] for r in result.teacher_fit.history + result.fit.history]
        ['train', 'ir', 'finetune']
        >>> torch.save(result.student.state_dict(), "student.pt")
    """
    changes = {**settings, **({} if ir_epochs is None else {"ir_epochs": ir_epochs}),
               **({} if epochs is None else {"epochs": epochs})}
    cfg = (config or TrainConfig()).replace(**changes)
    chosen = get_method(method)
    if teacher_epochs < 0:
        raise ConfigError(f"teacher_epochs must be >= 0; got {teacher_epochs}")
    if chosen.needs_teacher and teacher is None:
        raise ConfigError(f"method {chosen.name!r} needs a teacher: pass a trained one, or an "
                          "untrained one with teacher_epochs=N to train it first")
    if teacher_epochs and teacher is None:
        raise ConfigError("teacher_epochs needs a teacher model to train; pass teacher=...")
    root = None if run_dir is None else Path(run_dir)
    common = {"test_loader": test_loader, "overwrite": overwrite, "callbacks": callbacks,
              "quiet": quiet, "optimizer": optimizer, "scheduler": scheduler}
    teacher_fit = None
    if teacher is not None and teacher_epochs:
        teacher_fit = fit(teacher, None, train_loader, val_loader, method="scratch",
                          config=cfg.replace(epochs=teacher_epochs, ir_epochs=0),
                          run_dir=None if root is None else root / "teacher", **common)
    result = fit(student, teacher if chosen.needs_teacher else None, train_loader, val_loader,
                 method=chosen, config=cfg, run_dir=None if root is None else root / "student",
                 **common)
    return CompressResult(student, teacher, result, teacher_fit)
