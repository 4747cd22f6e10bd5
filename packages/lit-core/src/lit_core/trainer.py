"""The two-phase trainer: an optional IR phase (LIT / hint / ablations), then end-to-end training.

``fit`` reads top to bottom: prepare the run directory and device, check teacher/student
alignment on one batch, copy the teacher's stem and head, then for each phase build the optimizer
and schedule, train epoch by epoch (``lit.lit_step`` on every batch), evaluate on the validation
split, write metrics and checkpoints. Model selection uses the validation split only; the test
split (if given) is evaluated once, on the selected model.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from .checkpoint import (
    capture_rng_state,
    load_checkpoint,
    load_state_into,
    restore_rng_state,
    save_atomic,
)
from .config import TrainConfig
from .distributed import all_reduce_sum, barrier, dist_info
from .lit import (
    IRPlan,
    StudentForward,
    check_plan_alignment,
    copy_stem_and_head,
    lit_step,
    make_plan,
    stem_is_shared,
)
from .losses import LITLoss, LossParts
from .methods import MethodConfig, get_method
from .metrics import METRICS_FILE, MetricsLogger
from .staged import require_staged

__all__ = [
    "BEST_CHECKPOINT",
    "LAST_CHECKPOINT",
    "Evaluation",
    "FitResult",
    "NonFiniteLossError",
    "TrainStep",
    "deterministic_mode",
    "evaluate",
    "fit",
    "make_train_step",
    "resolve_device",
    "seed_everything",
]

_LOG = logging.getLogger("lit_core.trainer")
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
_RUN_FILES = (METRICS_FILE, LAST_CHECKPOINT, BEST_CHECKPOINT)


class NonFiniteLossError(RuntimeError):
    """Training stopped on a NaN/Inf loss; the last good checkpoint is left in place."""


class Evaluation(NamedTuple):
    """Mean cross-entropy loss and top-1 accuracy (0-1) over ``count`` samples."""

    loss: float
    accuracy: float
    count: int


@dataclass
class FitResult:
    """What ``fit`` returns; ``history`` has one dict per epoch (also in ``metrics.jsonl``)."""

    method: str
    best_val_acc: float
    best_epoch: int
    last_val_acc: float
    test_acc: float | None
    wall_time_s: float
    history: list[dict[str, Any]]
    run_dir: str
    best_checkpoint: str
    copied: list[str] = field(default_factory=list)
    completed: bool = True

    def phase_history(self, phase: str) -> list[dict[str, Any]]:
        """The epochs of one phase (``"ir"``, ``"finetune"`` or ``"train"``)."""
        return [r for r in self.history if r["phase"] == phase]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


@dataclass
class _Phase:
    name: str
    epochs: int
    lr: float
    plan: IRPlan | None
    objective: LITLoss
    uses_teacher: bool


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def deterministic_mode(enabled: bool = True) -> Iterator[None]:
    """Deterministic algorithms and cuDNN settings inside the block; restored afterwards."""
    if not enabled:
        yield
        return
    prev = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = prev[1], prev[2]


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` → this rank's CUDA device if available, else CPU; otherwise ``torch.device``."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", dist_info().local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    return torch.device(name)


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def _to_device(x: torch.Tensor, y: torch.Tensor, device: torch.device, channels_last: bool):
    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    precision: str = "fp32",
    channels_last: bool = False,
) -> Evaluation:
    """Cross-entropy and top-1 accuracy of ``model`` on ``loader`` (summed over DDP ranks)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    try:
        for x, y in loader:
            x, y = _to_device(x, y, device, channels_last)
            with _autocast(device, precision):
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


def _prepare_run_dir(run_dir: Path, resume: bool, overwrite: bool, is_main: bool) -> None:
    if resume:
        if not (run_dir / LAST_CHECKPOINT).is_file():
            raise FileNotFoundError(
                f"cannot resume: no {LAST_CHECKPOINT} in {run_dir}; start a new run without resume"
            )
        return
    occupied = run_dir.exists() and any(run_dir.iterdir())
    barrier()  # every rank has looked before rank 0 writes anything
    if occupied and not overwrite:
        raise FileExistsError(
            f"run directory {run_dir} already exists and is not empty; pass overwrite=True "
            "(--overwrite) to replace it or resume=True (--resume) to continue it"
        )
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        for name in _RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
    barrier()


def _sample_batch(loader: Iterable, device: torch.device) -> torch.Tensor:
    for x, _ in loader:
        return x[:2].to(device)
    raise ValueError("the training loader yielded no batches")


def _build_phases(method: MethodConfig, cfg: TrainConfig, plan: IRPlan | None) -> list[_Phase]:
    phases = []
    if plan is not None and cfg.ir_epochs > 0:
        beta = cfg.beta if method.ir_beta is None else method.ir_beta
        objective = LITLoss(cfg.alpha, cfg.temperature, beta, cfg.ir_loss)  # eq. 1
        phases.append(_Phase("ir", cfg.ir_epochs, cfg.lr, plan, objective, True))
    kd = method.final_loss == "kd"
    final = LITLoss(cfg.alpha if kd else 1.0, cfg.temperature, beta=1.0)  # eq. 2 (or CE)
    lr = cfg.finetune_lr if phases else cfg.lr
    phases.append(_Phase("finetune" if phases else "train", cfg.epochs, lr, None, final, kd))
    return [p for p in phases if p.epochs > 0]


def _freeze_for_phase(
    student: nn.Module, phase: _Phase, copied_parts: list[str], freeze_copied: bool
) -> list[nn.Module]:
    """Set ``requires_grad`` for a phase; return the frozen modules (kept in eval mode)."""
    student.requires_grad_(True)
    plan = phase.plan
    if plan is None:
        return []
    frozen = [getattr(student, p) for p in copied_parts] if freeze_copied else []
    if phase.objective.beta == 0.0:  # IR only: the head and pieces past the last IR are unused
        frozen.append(student.head)
        frozen += plan.student_pieces[plan.ir_at[-1] + 1 :]
        if plan.teacher_input:
            frozen.append(student.stem)
    for m in frozen:
        m.requires_grad_(False)
    return frozen


def fit(
    student: nn.Module,
    teacher: nn.Module | None,
    train_loader: Iterable,
    val_loader: Iterable,
    *,
    method: str | MethodConfig = "lit",
    config: TrainConfig | None = None,
    run_dir: str | os.PathLike,
    test_loader: Iterable | None = None,
    resume: bool = False,
    overwrite: bool = False,
    stop_after_epochs: int | None = None,
    meta: dict[str, Any] | None = None,
) -> FitResult:
    """Train ``student`` with ``method`` (see ``lit_core.methods.METHODS``) and return a result.

    Phases: ``"ir"`` (methods with an IR phase; ``config.ir_epochs`` at ``config.lr``), then
    ``"finetune"`` (after an IR phase; ``config.epochs`` at ``config.finetune_lr``) or ``"train"``
    (single-phase methods; ``config.epochs`` at ``config.lr``). A phase with 0 epochs is skipped.

    Loaders are re-iterable iterables of ``(x, y)`` batches (CPU or device tensors); the first
    training batch is used for the alignment check; ``train_loader.set_epoch(e)`` is called with
    the global epoch index (0-based, across phases) when it exists. Under DDP each rank passes
    its own shard (see ``lit_core.distributed.RankSlice``). The teacher (``None`` for
    ``scratch``) is put in eval mode with ``requires_grad`` off and is never updated.

    Model selection uses ``val_loader`` only, over the last phase; on return the student holds
    the selected weights, evaluated once on ``test_loader`` if given. ``run_dir`` receives
    ``metrics.jsonl`` (one record per epoch), ``last.pt`` (resumable), ``best.pt`` (selected
    weights + ``meta``); ``FitResult.to_dict()`` is JSON-ready for the caller to store.
    ``stop_after_epochs`` stops after that many epochs in this call (as if killed);
    ``resume=True`` continues from ``last.pt``.

    Raises ``FileExistsError`` (non-empty ``run_dir`` without ``overwrite``/``resume``),
    ``ValueError`` (misaligned teacher/student, bad settings, checkpoint of another
    architecture) and ``NonFiniteLossError`` (NaN/Inf loss; ``last.pt`` keeps the last good epoch).
    """
    cfg = (config or TrainConfig()).validate()
    with deterministic_mode(cfg.deterministic):
        seed_everything(cfg.seed)
        return _fit(
            student, teacher, train_loader, val_loader, get_method(method), cfg, Path(run_dir),
            test_loader, resume, overwrite, stop_after_epochs, meta,
        )


def _fit(
    student: nn.Module,
    teacher: nn.Module | None,
    train_loader: Iterable,
    val_loader: Iterable,
    method: MethodConfig,
    cfg: TrainConfig,
    run_dir: Path,
    test_loader: Iterable | None,
    resume: bool,
    overwrite: bool,
    stop_after_epochs: int | None,
    meta: dict[str, Any] | None,
) -> FitResult:
    start_time = time.perf_counter()
    info = dist_info()
    device = resolve_device(cfg.device)
    if cfg.precision == "fp16" and device.type != "cuda":
        raise ValueError(f"precision fp16 needs a CUDA device (got {device}); use bf16 on CPU")
    _prepare_run_dir(run_dir, resume, overwrite, info.is_main)
    channels_last = cfg.channels_last and device.type == "cuda"

    student = require_staged(student, "student").to(device)
    if method.needs_teacher:
        if teacher is None:
            raise ValueError(f"method {method.name!r} needs a teacher; pass teacher=...")
        teacher = require_staged(teacher, "teacher").to(device).eval().requires_grad_(False)
    else:
        teacher = None
    if channels_last:
        for m in (student, teacher):
            if m is not None:
                m.to(memory_format=torch.channels_last)
    if method.same_architecture and teacher is not None:
        t_sd, s_sd = teacher.state_dict(), student.state_dict()
        if t_sd.keys() != s_sd.keys() or any(t_sd[k].shape != s_sd[k].shape for k in t_sd):
            raise ValueError(f"method {method.name!r} needs a student of the teacher's architecture")

    # Alignment, before any training: names the first stage whose shapes differ.
    plan = make_plan(teacher, student, method.ir_at, method.teacher_input) if method.ir_phase else None
    if teacher is not None:
        x = _sample_batch(train_loader, device)
        if plan is not None:
            check_plan_alignment(teacher, student, plan, x)
        else:
            _check_logits(teacher, student, x)

    copied: list[str] = []
    if method.copy_stem_head and cfg.copy_stem_head and teacher is not None:
        copied = copy_stem_and_head(teacher, student)
    copied_parts = sorted({name.split(".", 1)[0] for name in copied})
    phases = _build_phases(method, cfg, plan)
    selection_phase = len(phases) - 1

    # Position: (phase index, epochs done in it); restored from last.pt on resume.
    start_phase, start_epoch, step, history, elapsed = 0, 0, 0, [], 0.0
    best = {"val_acc": -1.0, "epoch": 0}
    ckpt = None
    if resume:
        ckpt = load_checkpoint(run_dir / LAST_CHECKPOINT, map_location="cpu")
        if ckpt.get("method") != method.name:
            raise ValueError(
                f"{run_dir / LAST_CHECKPOINT} was written by method {ckpt.get('method')!r}, "
                f"not {method.name!r}; resume with the same method"
            )
        load_state_into(student, ckpt["model"])
        pos = ckpt["position"]
        start_phase, start_epoch, step = pos["phase"], pos["epoch"], pos["step"]
        history, best, elapsed = list(ckpt["history"]), dict(ckpt["best"]), ckpt["elapsed_s"]

    logger = MetricsLogger(run_dir, cfg.tensorboard, enabled=info.is_main)
    show_bar = info.is_main and (cfg.progress if cfg.progress is not None else sys.stderr.isatty())
    epochs_this_call = 0
    completed = True
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16")
    try:
        for pi, phase in enumerate(phases):
            if pi < start_phase or (pi == start_phase and start_epoch >= phase.epochs):
                continue
            train_step = _make_phase_step(
                student, teacher, phase, copied_parts, cfg, device, channels_last, scaler
            )
            optimizer = train_step.optimizer
            scheduler = torch.optim.lr_scheduler.MultiStepLR(
                optimizer, cfg.milestone_epochs(phase.epochs), cfg.gamma
            )
            first_epoch = 0
            if ckpt is not None and pi == start_phase:
                optimizer.load_state_dict(ckpt["optimizer"])
                scheduler.load_state_dict(ckpt["scheduler"])
                scaler.load_state_dict(ckpt["scaler"])
                first_epoch = start_epoch
            if ckpt is not None:  # the RNG state at the moment the interrupted run checkpointed
                restore_rng_state(ckpt["rng"])
                ckpt = None
            if teacher is not None and any(p.requires_grad for p in teacher.parameters()):
                raise RuntimeError("a teacher parameter requires grad; the teacher must stay frozen")

            for epoch in range(first_epoch, phase.epochs):
                if stop_after_epochs is not None and epochs_this_call >= stop_after_epochs:
                    completed = False
                    break
                global_epoch = sum(p.epochs for p in phases[:pi]) + epoch
                if hasattr(train_loader, "set_epoch"):
                    train_loader.set_epoch(global_epoch)
                t0 = time.perf_counter()
                train_stats, step = _train_epoch(
                    train_step, train_loader, step, cfg.log_every,
                    desc=f"{phase.name} {epoch + 1}/{phase.epochs}", show_bar=show_bar,
                )
                lr = optimizer.param_groups[0]["lr"]
                scheduler.step()
                val = evaluate(student, val_loader, device, cfg.precision, channels_last)
                record = {
                    "phase": phase.name, "epoch": epoch + 1, "global_epoch": global_epoch + 1,
                    "step": step, "lr": lr, **train_stats, "val_loss": val.loss,
                    "val_acc": val.accuracy, "epoch_time_s": time.perf_counter() - t0,
                }
                history.append(record)
                epochs_this_call += 1
                if pi == selection_phase and val.accuracy > best["val_acc"]:
                    best = {"val_acc": val.accuracy, "epoch": global_epoch + 1}
                    if info.is_main:
                        save_atomic(
                            {"model": student.state_dict(), "method": method.name,
                             "config": cfg.to_dict(), "meta": meta or {}, **best},
                            run_dir / BEST_CHECKPOINT,
                        )
                last_of_phase = epoch + 1 == phase.epochs
                if info.is_main and ((epoch + 1) % cfg.checkpoint_every == 0 or last_of_phase):
                    save_atomic(
                        {
                            "model": student.state_dict(),
                            "optimizer": optimizer.state_dict(),
                            "scheduler": scheduler.state_dict(),
                            "scaler": scaler.state_dict(),
                            "rng": capture_rng_state(),
                            "position": {"phase": pi, "epoch": epoch + 1, "step": step},
                            "method": method.name,
                            "config": cfg.to_dict(),
                            "meta": meta or {},
                            "best": best,
                            "history": history,
                            "elapsed_s": elapsed + time.perf_counter() - start_time,
                        },
                        run_dir / LAST_CHECKPOINT,
                    )
                logger.log(record)
                if info.is_main:
                    acc = record["train_acc"]
                    _LOG.info(
                        "%s epoch %d/%d: train loss %.4f%s, val acc %.4f (%.1fs)", phase.name,
                        epoch + 1, phase.epochs, record["train_loss"],
                        "" if acc is None else f", train acc {acc:.4f}", val.accuracy,
                        record["epoch_time_s"],
                    )
            if not completed:
                break
    finally:
        logger.close()

    barrier()
    test_acc = None
    if completed and (run_dir / BEST_CHECKPOINT).is_file():
        load_state_into(student, load_checkpoint(run_dir / BEST_CHECKPOINT)["model"])
        if test_loader is not None:
            test_acc = evaluate(student, test_loader, device, cfg.precision, channels_last).accuracy
    student.requires_grad_(True)
    return FitResult(
        method=method.name,
        best_val_acc=best["val_acc"],
        best_epoch=best["epoch"],
        last_val_acc=history[-1]["val_acc"] if history else float("nan"),
        test_acc=test_acc,
        wall_time_s=elapsed + time.perf_counter() - start_time,
        history=history,
        run_dir=str(run_dir),
        best_checkpoint=str(run_dir / BEST_CHECKPOINT),
        copied=copied,
        completed=completed,
    )


def _check_logits(teacher: nn.Module, student: nn.Module, x: torch.Tensor) -> None:
    modes = [(m, m.training) for m in (teacher, student)]
    teacher.eval()
    student.eval()
    try:
        with torch.no_grad():
            t, s = teacher(x), student(x)
    finally:
        for m, was in modes:
            m.train(was)
    if t.shape[1:] != s.shape[1:]:
        raise ValueError(
            f"logits: teacher output {tuple(t.shape[1:])} vs student {tuple(s.shape[1:])}; "
            "teacher and student must predict the same classes"
        )


class TrainStep:
    """One optimisation step of a phase, exactly as ``fit`` runs it.

    ``step(x, y)`` moves the batch to the device, evaluates the phase's objective with
    ``lit.lit_step`` under autocast, stops on a non-finite loss (``NonFiniteLossError``), then
    backpropagates and updates the student with SGD (through the gradient scaler for fp16).
    """

    def __init__(
        self,
        student: nn.Module,
        module: nn.Module,
        teacher: nn.Module | None,
        phase: _Phase,
        frozen: list[nn.Module],
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        device: torch.device,
        precision: str,
        channels_last: bool,
    ) -> None:
        self.student, self.module, self.teacher, self.phase = student, module, teacher, phase
        self.frozen, self.optimizer, self.scaler = frozen, optimizer, scaler
        self.device, self.precision, self.channels_last = device, precision, channels_last

    def train_mode(self) -> None:
        """Student in train mode, except frozen parts (they keep their BN statistics)."""
        self.student.train()
        for m in self.frozen:
            m.eval()

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[LossParts, torch.Tensor | None]:
        x, y = _to_device(x, y, self.device, self.channels_last)
        phase = self.phase
        with _autocast(self.device, self.precision):
            parts, logits = lit_step(self.teacher, self.module, phase.plan, phase.objective, x, y)
        loss = parts.total
        global_loss = all_reduce_sum(loss.detach().clone())  # a NaN on any rank stops every rank
        if not math.isfinite(global_loss.item()):
            raise NonFiniteLossError(
                f"non-finite loss ({global_loss.item()}) in phase {phase.name!r}; training "
                "stopped, the last good checkpoint is kept. Try a lower learning rate, fp32, or "
                "check the data for NaN/Inf"
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return parts, logits


def _make_phase_step(
    student: nn.Module,
    teacher: nn.Module | None,
    phase: _Phase,
    copied_parts: list[str],
    cfg: TrainConfig,
    device: torch.device,
    channels_last: bool,
    scaler: torch.amp.GradScaler,
) -> TrainStep:
    """Freeze what the phase does not train, wrap for DDP, and build its SGD optimizer."""
    frozen = _freeze_for_phase(student, phase, copied_parts, cfg.freeze_copied)
    share = (
        "stem" in copied_parts
        and cfg.freeze_copied
        and phase.plan is not None
        and stem_is_shared(teacher, student)
    )
    module: nn.Module = StudentForward(student, phase.plan, share_stem=share)
    if dist_info().enabled:
        module = DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None
        )
    params = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(
        params, lr=phase.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
        nesterov=cfg.nesterov,
    )
    return TrainStep(
        student, module, teacher if phase.uses_teacher else None, phase, frozen, optimizer,
        scaler, device, cfg.precision, channels_last,
    )


def make_train_step(
    student: nn.Module,
    teacher: nn.Module | None,
    method: str | MethodConfig = "lit",
    config: TrainConfig | None = None,
    phase: str = "first",
) -> TrainStep:
    """The ``TrainStep`` of a method's ``"first"`` or ``"last"`` phase, set up as ``fit`` would.

    For benchmarks and experiments: models are moved to the configured device, the stem and
    head copied when the method does so; no alignment check, run directory or schedule.
    """
    cfg = (config or TrainConfig()).validate()
    method = get_method(method)
    device = resolve_device(cfg.device)
    channels_last = cfg.channels_last and device.type == "cuda"
    student = require_staged(student, "student").to(device)
    teacher = (
        require_staged(teacher, "teacher").to(device).eval().requires_grad_(False)
        if method.needs_teacher and teacher is not None
        else None
    )
    if channels_last:
        for m in (student, teacher):
            if m is not None:
                m.to(memory_format=torch.channels_last)
    plan = make_plan(teacher, student, method.ir_at, method.teacher_input) if method.ir_phase else None
    copied = []
    if method.copy_stem_head and cfg.copy_stem_head and teacher is not None:
        copied = copy_stem_and_head(teacher, student)
    phases = _build_phases(method, cfg, plan)
    if phase not in ("first", "last"):
        raise ValueError(f"phase must be 'first' or 'last'; got {phase!r}")
    chosen = phases[0] if phase == "first" else phases[-1]
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16")
    parts = sorted({n.split(".", 1)[0] for n in copied})
    step = _make_phase_step(student, teacher, chosen, parts, cfg, device, channels_last, scaler)
    step.train_mode()
    return step


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
    has_logits = train_step.phase.objective.beta > 0
    total = len(loader) if hasattr(loader, "__len__") else None  # type: ignore[arg-type]
    with tqdm(total=total, desc=desc, disable=not show_bar, leave=False, dynamic_ncols=True) as bar:
        for x, y in loader:
            parts, logits = train_step(x, y)
            step += 1
            y = y.to(device)
            n = y.numel()
            sums[0] += parts.total.detach().double() * n
            sums[1] += parts.kd.detach().double() * n
            sums[2] += parts.ir.detach().double() * n
            if logits is not None:
                sums[3] += (logits.detach().argmax(1) == y).sum()
            sums[4] += n
            if show_bar:
                if step % log_every == 0:
                    s = sums.tolist()
                    post = {"loss": f"{s[0] / s[4]:.4f}"}
                    if has_logits:
                        post["acc"] = f"{s[3] / s[4]:.3f}"
                    bar.set_postfix(post)
                bar.update()
    loss_sum, kd_sum, ir_sum, correct, n = all_reduce_sum(sums).tolist()
    if n == 0:
        raise ValueError("the training loader yielded no batches")
    return {
        "train_loss": loss_sum / n,
        "train_kd": kd_sum / n,
        "train_ir": ir_sum / n,
        "train_acc": correct / n if has_logits else None,
    }, step
