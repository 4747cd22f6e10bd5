"""The two-phase trainer: an optional IR phase (LIT / hint / ablations), then end-to-end training.

``fit`` reads top to bottom: prepare the run directory (none in memory) and device, check teacher/student
alignment on one batch, copy the teacher's stem and head, then for each phase build the optimizer
and schedule, train epoch by epoch (``step.TrainStep`` runs ``lit.lit_step`` on every batch),
evaluate on the validation split, write metrics and checkpoints. Model selection uses the validation split only; the test
split (if given) is evaluated once, on the selected model.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ..errors import CheckpointError, ConfigError
from ..io.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    load_state_into,
    restore_rng_state,
    save_atomic,
)
from ..method.methods import MethodConfig, get_method
from .callbacks import Callback, CallbackList, PrintProgress
from .config import TrainConfig
from .distributed import all_reduce_sum, barrier, dist_info
from .evaluation import Evaluation, evaluate
from .loggers import TensorBoardLogger
from .metrics import METRICS_FILE, MetricsLogger
from .optim import OptimizerFactory, SchedulerFactory, build_scheduler
from .rundir import prepare_fit_dir
from .runtime import deterministic_mode, seed_everything
from .step import TrainingSetup, TrainStep, make_phase_step, setup_training

__all__ = ["BEST_CHECKPOINT", "LAST_CHECKPOINT", "Evaluation", "FitResult", "evaluate", "fit"]

_LOG = logging.getLogger("lit_core.training.trainer")
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
_RUN_FILES = (METRICS_FILE, LAST_CHECKPOINT, BEST_CHECKPOINT)


@dataclass
class FitResult:
    """What ``fit`` returns.

    Attributes:
        method: the method's name.
        best_val_acc: the selected epoch's validation accuracy (0-1).
        best_epoch: the selected epoch (1-based, across phases).
        last_val_acc: the last epoch's validation accuracy.
        test_acc: the selected model's test accuracy, when a test loader was given.
        wall_time_s: training time, including earlier calls of a resumed run.
        history: one dict per epoch (``phase``, ``epoch``, ``lr``, ``train_loss``, ``val_acc``,
            …; also in ``metrics.jsonl``).
        run_dir: the run directory; None for a run kept in memory (``run_dir=None``).
        best_checkpoint: the path of ``best.pt``; None in memory.
        copied: the tensors copied from the teacher (stem, head, …).
        completed: False when ``stop_after_epochs`` stopped the run early.
    """

    method: str
    best_val_acc: float
    best_epoch: int
    last_val_acc: float
    test_acc: float | None
    wall_time_s: float
    history: list[dict[str, Any]]
    run_dir: str | None
    best_checkpoint: str | None
    copied: list[str] = field(default_factory=list)
    completed: bool = True

    def phase_history(self, phase: str) -> list[dict[str, Any]]:
        """The epochs of one phase (``"ir"``, ``"finetune"`` or ``"train"``)."""
        return [r for r in self.history if r["phase"] == phase]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _sample_batch(loader: Iterable) -> Callable[[torch.device], torch.Tensor]:
    def sample(device: torch.device) -> torch.Tensor:
        for x, *_ in loader:
            return x[:2].to(device)
        raise ValueError("the training loader yielded no batches")

    return sample


def fit(
    student: nn.Module,
    teacher: nn.Module | None,
    train_loader: Iterable,
    val_loader: Iterable,
    *,
    method: str | MethodConfig = "lit",
    config: TrainConfig | None = None,
    run_dir: str | os.PathLike | None,
    test_loader: Iterable | None = None,
    resume: bool = False,
    overwrite: bool = False,
    stop_after_epochs: int | None = None,
    meta: dict[str, Any] | None = None,
    teacher_cache: Any = None,
    callbacks: list[Callback] | None = None,
    quiet: bool = False,
    optimizer: OptimizerFactory | None = None,
    scheduler: SchedulerFactory | None = None,
) -> FitResult:
    """Train ``student`` with ``method`` (see ``lit_core.METHODS``) and return a result.

    ``lit_core.compress`` is the one-call front end (it also trains the teacher); ``fit``
    trains one model and can resume. Phases: ``"ir"`` (methods with an IR phase; ``config.ir_epochs`` at ``config.lr``) or
    ``"frozen"`` (``kd_copied``: the end-to-end loss with the copied parts frozen, the same
    budget), then ``"finetune"`` (``config.epochs`` at ``config.finetune_lr``, milestones
    ``finetune_milestones``) or ``"train"`` (single-phase methods; ``config.epochs`` at
    ``config.lr``). A phase with 0 epochs is skipped.

    Loaders are re-iterable iterables of ``(x, y)`` batches (CPU or device tensors); the first
    training batch is used for the alignment check; ``train_loader.set_epoch(e)`` is called with
    the global epoch index (0-based, across phases) when it exists. Under DDP each rank passes
    its own shard (see ``lit_core.training.distributed.RankSlice``). The teacher (``None`` for
    ``scratch``) is put in eval mode with ``requires_grad`` off and is never updated.

    Model selection uses ``val_loader`` only, over the last phase; on return the student holds
    the selected weights, evaluated once on ``test_loader`` if given. ``run_dir`` receives
    ``metrics.jsonl`` (one record per epoch), ``last.pt`` (resumable), ``best.pt`` (selected
    weights + ``meta``); ``FitResult.to_dict()`` is JSON-ready for the caller to store.
    ``run_dir=None`` keeps the run in memory: nothing is written, the selected weights are kept
    as a copy of the state dict, and ``resume`` and ``config.tensorboard`` are refused.
    ``stop_after_epochs`` stops after that many epochs in this call (as if killed);
    ``resume=True`` continues from ``last.pt``. ``teacher_cache`` (a ``TeacherCache`` of the
    training examples) replaces the teacher's forward; it needs a loader built with
    ``with_indices=True`` and without augmentation.

    ``optimizer`` and ``scheduler`` are factories called at the start of each phase
    (``lit_core.training.optim``): ``optimizer(params, lr)`` with the parameters the phase trains
    and its learning rate, ``scheduler(optimizer, phase_epochs)`` stepped once per epoch; e.g.
    ``optimizer=torch.optim.AdamW``, ``scheduler=torch.optim.lr_scheduler.CosineAnnealingLR``.
    None: SGD (``momentum``, ``weight_decay``, ``nesterov``) and a step decay (``milestones``,
    ``gamma``), as in the paper. Resuming needs the same factories as the interrupted run.

    Args:
        student: the staged model to train (in place; moved to ``config.device``).
        teacher: the trained staged teacher (frozen), or None for ``scratch``.
        train_loader: a re-iterable of ``(x, y)`` batches.
        val_loader: the same, for model selection.
        method: a name in ``lit_core.METHODS`` or a ``MethodConfig``.
        config: the training settings (``TrainConfig``; defaults when None).
        run_dir: the run directory, or None to keep the run in memory.
        test_loader: evaluated once on the selected model.
        resume: continue from ``run_dir/last.pt``.
        overwrite: replace a non-empty ``run_dir``.
        stop_after_epochs: stop after this many epochs in this call (as if killed).
        meta: stored in ``best.pt`` and ``last.pt`` (model name, preprocessing, …).
        teacher_cache: a ``TeacherCache`` that replaces the teacher's forward.
        callbacks: ``lit_core.training.callbacks.Callback`` objects (epoch, phase, fit end).
        quiet: no ``PrintProgress`` line per epoch (with a run-level ETA) on stderr.
        optimizer: ``(params, lr) -> Optimizer`` per phase; None: SGD.
        scheduler: ``(optimizer, phase_epochs) -> LRScheduler`` per phase; None: step decays.

    Returns:
        A ``FitResult``: best and last validation accuracy, best epoch, test accuracy, the
        per-epoch ``history``, wall time, the run directory and best checkpoint (None in memory).

    Raises:
        RunDirExistsError: a non-empty ``run_dir`` without ``overwrite``/``resume`` (a
            ``FileExistsError``).
        AlignmentError: teacher and student do not line up at a stage boundary.
        ConfigError: a bad setting, or ``resume``/``tensorboard`` without a run directory.
        CheckpointError: resuming from a checkpoint of another method or architecture.
        NonFiniteLossError: a NaN/Inf loss (``last.pt`` keeps the last good epoch).

    Examples:
        >>> import torch
        >>> from lit_models import create_model
        >>> batches = [(torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))) for _ in range(2)]
        >>> result = fit(create_model("resnet8", img_size=8), create_model("resnet20", img_size=8),
        ...              batches, batches, method="lit", run_dir="run", quiet=True,
        ...              config=TrainConfig(ir_epochs=1, epochs=1, device="cpu"))
        >>> [r["phase"] for r in result.history], result.best_checkpoint
        (['ir', 'finetune'], 'run/best.pt')
    """
    cfg = (config or TrainConfig()).validate()
    with deterministic_mode(cfg.deterministic):
        seed_everything(cfg.seed)
        return _fit(
            student, teacher, train_loader, val_loader, get_method(method), cfg,
            None if run_dir is None else Path(run_dir), test_loader, resume, overwrite,
            stop_after_epochs, meta, teacher_cache,
            [*(callbacks or []), *([] if quiet else [PrintProgress()])], (optimizer, scheduler),
        )


@dataclass
class _Progress:
    """Where training stands: phase index, epochs done in it, global step, history, best."""

    phase: int = 0
    epoch: int = 0
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=lambda: {"val_acc": -1.0, "epoch": 0})
    elapsed_s: float = 0.0
    best_state: dict[str, torch.Tensor] | None = None  # the selected weights of a run in memory


def _restore(run_dir: Path, method: MethodConfig, student: nn.Module) -> tuple[_Progress, dict]:
    """The progress and the checkpoint of an interrupted run (``last.pt``); the student's weights."""
    ckpt = load_checkpoint(run_dir / LAST_CHECKPOINT, map_location="cpu")
    if ckpt.get("method") != method.name:
        raise CheckpointError(
            f"{run_dir / LAST_CHECKPOINT} was written by method {ckpt.get('method')!r}, "
            f"not {method.name!r}; resume with the same method"
        )
    try:
        load_state_into(student, ckpt["model"])
        pos = ckpt["position"]
        progress = _Progress(pos["phase"], pos["epoch"], pos["step"], list(ckpt["history"]),
                             dict(ckpt["best"]), ckpt["elapsed_s"])
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"{run_dir / LAST_CHECKPOINT} is not a resumable lit checkpoint "
                              f"(missing {e})") from None
    return progress, ckpt


def _fit(
    student: nn.Module,
    teacher: nn.Module | None,
    train_loader: Iterable,
    val_loader: Iterable,
    method: MethodConfig,
    cfg: TrainConfig,
    run_dir: Path | None,
    test_loader: Iterable | None,
    resume: bool,
    overwrite: bool,
    stop_after_epochs: int | None,
    meta: dict[str, Any] | None,
    teacher_cache: Any = None,
    callbacks: list[Callback] | None = None,
    factories: tuple[OptimizerFactory | None, SchedulerFactory | None] = (None, None),
) -> FitResult:
    if teacher_cache is not None:
        augment = getattr(train_loader, "augment", None)
        if augment is not None and augment.enabled:
            raise ConfigError("a teacher cache needs training data without augmentation "
                              "(set data.augment = false)")
        if not getattr(train_loader, "with_indices", False):
            raise ValueError("a teacher cache needs BatchLoader(..., with_indices=True)")
    if run_dir is None and resume:
        raise ConfigError("resume needs the run directory of the interrupted run; pass run_dir=...")
    if run_dir is None and cfg.tensorboard:
        raise ConfigError("tensorboard = true writes to the run directory; pass run_dir=... or "
                          "set tensorboard = false")
    start_time = time.perf_counter()
    info = dist_info()
    # Everything that can fail on the inputs fails here, before the run directory is touched.
    setup = setup_training(student, teacher, method, cfg, _sample_batch(train_loader))
    student, teacher, device = setup.student, setup.teacher, setup.device
    callbacks = list(callbacks or [])
    if cfg.tensorboard:  # one writer of tb/, also when the caller passes a TensorBoardLogger there
        tb_dir = (Path(run_dir) / "tb").resolve()
        if not any(isinstance(c, TensorBoardLogger) and Path(c.log_dir).resolve() == tb_dir
                   for c in callbacks):
            callbacks.append(TensorBoardLogger(tb_dir))  # ConfigError here if the package is missing
    if run_dir is not None:
        prepare_fit_dir(run_dir, resume=resume, overwrite=overwrite, files=_RUN_FILES,
                        last=LAST_CHECKPOINT)
    progress, ckpt = _restore(run_dir, method, student) if resume else (_Progress(), None)

    logger = MetricsLogger(run_dir or ".", enabled=info.is_main and run_dir is not None)
    show_bar = info.is_main and (cfg.progress if cfg.progress is not None else sys.stderr.isatty())
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16")
    budget = _EpochBudget(stop_after_epochs)
    events = CallbackList(callbacks if info.is_main and callbacks else [],
                          sum(p.epochs for p in setup.phases))
    try:
        for pi, phase in enumerate(setup.phases):
            if pi < progress.phase or (pi == progress.phase and progress.epoch >= phase.epochs):
                continue
            train_step = make_phase_step(student, teacher, phase, setup.copied_parts, cfg, device,
                                         setup.channels_last, scaler, setup.inference_teacher,
                                         teacher_cache, factories[0])
            scheduler = build_scheduler(train_step.optimizer, phase.epochs, cfg,
                                        finetune=phase.name == "finetune", factory=factories[1])
            first_epoch = 0
            if ckpt is not None:  # continue the interrupted phase exactly where it stopped
                if pi == progress.phase:
                    train_step.optimizer.load_state_dict(ckpt["optimizer"])
                    scheduler.load_state_dict(ckpt["scheduler"])
                    scaler.load_state_dict(ckpt["scaler"])
                    first_epoch = progress.epoch
                restore_rng_state(ckpt["rng"])
                ckpt = None
            if teacher is not None and any(p.requires_grad for p in teacher.parameters()):
                raise RuntimeError("a teacher parameter requires grad; the teacher must stay frozen")
            run = _PhaseRun(setup, pi, train_step, scheduler, cfg, run_dir, meta, logger,
                            show_bar, start_time, events)
            if not run.epochs(range(first_epoch, phase.epochs), train_loader, val_loader,
                              progress, budget):
                break
    finally:
        logger.close()
    events.fit_end()

    barrier()
    test_acc = None
    best = progress.best_state if run_dir is None else (
        load_checkpoint(run_dir / BEST_CHECKPOINT)["model"]
        if (run_dir / BEST_CHECKPOINT).is_file() else None)
    if budget.completed and best is not None:
        load_state_into(student, best)
        if test_loader is not None:
            test_acc = evaluate(student, test_loader, device, cfg.precision,
                                setup.channels_last).accuracy
    student.requires_grad_(True)
    history = progress.history
    return FitResult(
        method=method.name,
        best_val_acc=progress.best["val_acc"],
        best_epoch=progress.best["epoch"],
        last_val_acc=history[-1]["val_acc"] if history else float("nan"),
        test_acc=test_acc,
        wall_time_s=progress.elapsed_s + time.perf_counter() - start_time,
        history=history,
        run_dir=None if run_dir is None else str(run_dir),
        best_checkpoint=None if run_dir is None else str(run_dir / BEST_CHECKPOINT),
        copied=setup.copied,
        completed=budget.completed,
    )


@dataclass
class _EpochBudget:
    """``stop_after_epochs``: how many epochs this call may still run (as if killed after)."""

    left: int | None
    completed: bool = True

    def take(self) -> bool:
        if self.left is not None:
            if self.left <= 0:
                self.completed = False
                return False
            self.left -= 1
        return True


@dataclass
class _PhaseRun:
    """The epochs of one phase: train, evaluate, select, checkpoint, log."""

    setup: TrainingSetup
    index: int
    train_step: TrainStep
    scheduler: Any
    cfg: TrainConfig
    run_dir: Path | None
    meta: dict[str, Any] | None
    logger: MetricsLogger
    show_bar: bool
    start_time: float
    events: CallbackList

    def epochs(self, epochs: range, train_loader: Iterable, val_loader: Iterable,
               progress: _Progress, budget: _EpochBudget) -> bool:
        """Run ``epochs``; False if the epoch budget stopped it early."""
        phases, phase = self.setup.phases, self.setup.phases[self.index]
        is_main = dist_info().is_main
        for epoch in epochs:
            if not budget.take():
                return False
            global_epoch = sum(p.epochs for p in phases[: self.index]) + epoch
            if hasattr(train_loader, "set_epoch"):
                train_loader.set_epoch(global_epoch)
            phase.objective.set_progress(epoch, phase.epochs)  # DKD's warm-up weight
            t0 = time.perf_counter()
            stats, progress.step = _train_epoch(
                self.train_step, train_loader, progress.step, self.cfg.log_every,
                desc=f"{phase.name} {epoch + 1}/{phase.epochs}", show_bar=self.show_bar,
            )
            lr = self.train_step.optimizer.param_groups[0]["lr"]
            self.scheduler.step()
            val = evaluate(self.setup.student, val_loader, self.setup.device, self.cfg.precision,
                           self.setup.channels_last)
            record = {
                "phase": phase.name, "epoch": epoch + 1, "global_epoch": global_epoch + 1,
                "step": progress.step, "lr": lr, **stats, "val_loss": val.loss,
                "val_acc": val.accuracy, "epoch_time_s": time.perf_counter() - t0,
            }
            progress.history.append(record)
            if self.index == len(phases) - 1 and val.accuracy > progress.best["val_acc"]:
                progress.best = {"val_acc": val.accuracy, "epoch": global_epoch + 1}
                if self.run_dir is None:  # every rank keeps its own copy
                    progress.best_state = {k: v.detach().clone()
                                           for k, v in self.setup.student.state_dict().items()}
                elif is_main:
                    self._save_best(progress)
            last_of_phase = epoch + 1 == phase.epochs
            due = (epoch + 1) % self.cfg.checkpoint_every == 0 or last_of_phase
            if is_main and self.run_dir is not None and due:
                self._save_last(progress, epoch + 1)
            self.logger.log(record)
            if is_main:
                acc = record["train_acc"]
                _LOG.info(
                    "%s epoch %d/%d: train loss %.4f%s, val acc %.4f (%.1fs)", phase.name,
                    epoch + 1, phase.epochs, record["train_loss"],
                    "" if acc is None else f", train acc {acc:.4f}", val.accuracy,
                    record["epoch_time_s"],
                )
            self.events.epoch_end(phase.name, epoch + 1, phase.epochs, global_epoch + 1, record)
        return True

    def _save_best(self, progress: _Progress) -> None:
        save_atomic({"model": self.setup.student.state_dict(), "method": self.setup.method.name,
                     "config": self.cfg.to_dict(), "meta": self.meta or {}, **progress.best},
                    self.run_dir / BEST_CHECKPOINT)

    def _save_last(self, progress: _Progress, epochs_done: int) -> None:
        save_atomic(
            {
                "model": self.setup.student.state_dict(),
                "optimizer": self.train_step.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.train_step.scaler.state_dict(),
                "rng": capture_rng_state(),
                "position": {"phase": self.index, "epoch": epochs_done, "step": progress.step},
                "method": self.setup.method.name,
                "config": self.cfg.to_dict(),
                "meta": self.meta or {},
                "best": progress.best,
                "history": progress.history,
                "elapsed_s": progress.elapsed_s + time.perf_counter() - self.start_time,
            },
            self.run_dir / LAST_CHECKPOINT,
        )


def _train_epoch(
    train_step: TrainStep,
    loader: Iterable,
    step: int,
    log_every: int,
    desc: str,
    show_bar: bool,
) -> tuple[dict[str, float | None], int]:
    """One pass over ``loader``; returns mean train loss/kd/ir/accuracy and the global step."""
    train_step.train_mode()
    device = train_step.device
    sums = torch.zeros(5, dtype=torch.float64, device=device)  # loss, kd, ir, correct, n
    zero = torch.zeros((), dtype=torch.int64, device=device)
    has_logits = train_step.phase.objective.beta > 0
    total = len(loader) if hasattr(loader, "__len__") else None  # type: ignore[arg-type]
    with tqdm(total=total, desc=desc, disable=not show_bar, leave=False, dynamic_ncols=True) as bar:
        for x, y, *index in loader:  # index: the examples' indices (a teacher cache's key)
            parts, logits = train_step(x, y, *index)
            step += 1
            y = y.to(device)
            n = y.numel()
            correct = (logits.detach().argmax(1) == y).sum() if logits is not None else zero
            sums += torch.stack([parts.total.detach().double() * n, parts.kd.detach().double() * n,
                                 parts.ir.detach().double() * n, correct.double(),
                                 torch.full((), n, dtype=torch.float64, device=device)])
            if step % log_every == 0:
                train_step.check_finite()
                if show_bar:
                    s = sums.tolist()
                    post = {"loss": f"{s[0] / s[4]:.4f}"}
                    if has_logits:
                        post["acc"] = f"{s[3] / s[4]:.3f}"
                    bar.set_postfix(post)
            bar.update()
    train_step.check_finite()
    loss_sum, kd_sum, ir_sum, correct, n = all_reduce_sum(sums).tolist()
    if n == 0:
        raise ValueError("the training loader yielded no batches")
    return {
        "train_loss": loss_sum / n,
        "train_kd": kd_sum / n,
        "train_ir": ir_sum / n,
        "train_acc": correct / n if has_logits else None,
    }, step
