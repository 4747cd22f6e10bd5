"""One optimisation step of a phase (``TrainStep``) and how a method's phases are set up."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import AlignmentError, ConfigError, LitError
from ..method.depth_prune import init_from_teacher_blocks, kept_blocks_per_stage
from ..method.lit import (
    IRPlan,
    StudentForward,
    check_plan_alignment,
    copy_stem_and_head,
    lit_step,
    make_plan,
    stem_is_shared,
)
from ..method.logit_losses import DISTLoss, DKDLoss
from ..method.losses import LITLoss, LossParts
from ..method.methods import MethodConfig, get_method
from ..method.sections import copy_stages, parse_sections
from ..method.staged import require_staged
from .compile import compile_teacher, compiled, mark_step_begin
from .config import TrainConfig
from .distributed import all_reduce_sum, dist_info
from .optim import OptimizerFactory, build_optimizer
from .runtime import autocast, resolve_device, to_device
from .teacher_copy import inference_copy, plan_for

__all__ = [
    "NonFiniteLossError",
    "Phase",
    "TrainStep",
    "TrainingSetup",
    "build_phases",
    "check_pair",
    "freeze_for_phase",
    "inference_teacher",
    "make_phase_step",
    "make_train_step",
    "setup_training",
]


class NonFiniteLossError(LitError, RuntimeError):
    """Training stopped on a NaN/Inf loss; the last good checkpoint is left in place.

    Raised by ``fit`` and ``TrainStep.check_finite``; the message suggests a lower learning
    rate, fp32, or checking the data for NaN/Inf.
    """


@dataclass
class Phase:
    """One training phase: its epochs, learning rate, IR plan (or None) and objective;
    ``freeze_copied``: the parts copied from the teacher stay frozen in it."""

    name: str
    epochs: int
    lr: float
    plan: IRPlan | None
    objective: LITLoss
    uses_teacher: bool
    loss_scale: float = 1.0
    freeze_copied: bool = False
    frozen_eval: bool = True  # frozen parts in eval mode; False: their BN statistics still update


def end_to_end_objective(method: MethodConfig, cfg: TrainConfig) -> LITLoss:
    """The end-to-end objective: KD (eq. 2), CE, or DKD / DIST in KD's place (β = 1: no IR)."""
    if method.final_loss == "dkd":
        logit = DKDLoss(cfg.dkd_alpha, cfg.dkd_beta, cfg.dkd_temperature, cfg.dkd_warmup)
        return LITLoss(beta=1.0, logit=logit)
    if method.final_loss == "dist":
        return LITLoss(beta=1.0, logit=DISTLoss(cfg.dist_beta, cfg.dist_gamma, cfg.dist_temperature))
    kd = method.final_loss == "kd"
    return LITLoss(cfg.alpha if kd else 1.0, cfg.temperature, beta=1.0)  # eq. 2 (or CE)


def build_phases(method: MethodConfig, cfg: TrainConfig, plan: IRPlan | None) -> list[Phase]:
    """The phases of a method: an IR phase (eq. 1) when it has a plan, or a frozen-copy phase
    (``kd_copied``: the end-to-end loss with the copied parts frozen), then end-to-end."""
    phases = []
    uses_teacher = method.final_loss != "ce"
    if plan is not None and cfg.ir_epochs > 0:
        beta = cfg.beta if method.ir_beta is None else method.ir_beta
        objective = LITLoss(cfg.alpha, cfg.temperature, beta, cfg.ir_loss)  # eq. 1
        phases.append(Phase("ir", cfg.ir_epochs, cfg.lr, plan, objective, True, cfg.ir_loss_scale,
                            freeze_copied=cfg.freeze_copied))
    elif method.frozen_phase and cfg.ir_epochs > 0:
        phases.append(Phase("frozen", cfg.ir_epochs, cfg.lr, None,
                            end_to_end_objective(method, cfg), uses_teacher, freeze_copied=True))
    lr = cfg.finetune_lr if phases else cfg.lr
    phases.append(Phase("finetune" if phases else "train", cfg.epochs, lr, None,
                        end_to_end_objective(method, cfg), uses_teacher,
                        freeze_copied=bool(phases) and cfg.finetune_freeze_copied,
                        frozen_eval=False))
    return [p for p in phases if p.epochs > 0]


def freeze_for_phase(
    student: nn.Module, phase: Phase, copied_parts: list[str], freeze_copied: bool | None = None
) -> list[nn.Module]:
    """Set ``requires_grad`` for a phase; return the frozen modules (kept in eval mode, except
    the BatchNorm statistics of copied parts frozen in a fine-tune: ``train_mode``).
    ``freeze_copied`` overrides ``phase.freeze_copied``."""
    student.requires_grad_(True)
    plan = phase.plan
    freeze = phase.freeze_copied if freeze_copied is None else freeze_copied
    frozen = [student.get_submodule(p) for p in copied_parts] if freeze else []
    if plan is not None and phase.objective.beta == 0.0:
        # IR only: the head and pieces past the last IR are unused
        frozen.append(student.head)
        frozen += plan.student_pieces[plan.ir_at[-1] + 1 :]
        if plan.teacher_input:
            frozen.append(student.stem)
            frozen += plan.student_pieces[: plan.segment_starts()[0]]
    for m in frozen:
        m.requires_grad_(False)
    return frozen


class TrainStep:
    """One optimisation step of a phase, exactly as ``fit`` runs it.

    ``step(x, y)`` moves the batch to the device, evaluates the phase's objective with
    ``lit.lit_step`` under autocast, records (on the device) whether the loss was finite, then
    backpropagates the loss (times the phase's ``loss_scale``) and updates the student with the
    phase's optimizer (SGD unless ``fit`` was given an optimizer factory; through the gradient
    scaler for fp16). ``check_finite()`` raises ``NonFiniteLossError``.

    ``teacher`` is what runs the teacher's forward (the original teacher, its inference copy, or a
    compiled stand-in; ``make_phase_step`` chooses) and ``teacher_plan`` the phase's plan with
    its teacher pieces taken from it (``None``: ``phase.plan``). ``compile="step"`` compiles the
    objective (and so its backward) and the SGD update (see ``lit_core.training.compile``).

    Build one with ``make_train_step`` (as ``fit`` would) rather than by hand.

    Args:
        student: the student being trained.
        module: what runs the student's side (``StudentForward``, DDP-wrapped when distributed).
        teacher: what runs the teacher's forward, or None.
        phase: the phase (its objective, plan, loss scale).
        frozen: modules kept frozen (and in eval mode) in this phase.
        optimizer: the phase's optimiser.
        scaler: the gradient scaler (enabled for fp16).
        device: where the step runs.
        precision: ``"fp32"``, ``"bf16"`` or ``"fp16"``.
        channels_last: image batches in channels-last memory format.
        teacher_plan: the plan with the teacher pieces of ``teacher`` (None: ``phase.plan``).
        compile: ``"off"``, ``"teacher"`` or ``"step"``.
        teacher_cache: precomputed teacher outputs by example index, or None.

    Examples:
        >>> import torch
        >>> from lit_core import TrainConfig, make_train_step
        >>> from lit_models import create_model
        >>> step = make_train_step(create_model("resnet8", img_size=8), create_model("resnet20", img_size=8),
        ...                        config=TrainConfig(device="cpu"))
        >>> parts, logits = step(torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3]))
        >>> step.check_finite()
    """

    def __init__(
        self,
        student: nn.Module,
        module: nn.Module,
        teacher: nn.Module | None,
        phase: Phase,
        frozen: list[nn.Module],
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        device: torch.device,
        precision: str,
        channels_last: bool,
        teacher_plan: IRPlan | None = None,
        compile: str = "off",
        teacher_cache: Any = None,
    ) -> None:
        self.student, self.module, self.teacher, self.phase = student, module, teacher, phase
        # precomputed teacher outputs by example index (``lit_core.training.teacher_cache``)
        self.teacher_cache = teacher_cache if teacher is not None else None
        self.frozen, self.optimizer, self.scaler = frozen, optimizer, scaler
        self.device, self.precision, self.channels_last = device, precision, channels_last
        if self.teacher_cache is not None:  # on the device when it fits: no host sync per step
            self.teacher_cache = self.teacher_cache.place(self.device)
        self.plan = teacher_plan if teacher_plan is not None else phase.plan
        self.compile = compile
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=device)
        self._objective = compiled(self.objective, device) if compile == "step" else self.objective
        self._update = self._scaled_update
        if compile == "step" and not scaler.is_enabled():
            # fp16's scaler reads found_inf on the host before optimizer.step: that stays eager
            def update() -> None:
                self.optimizer.step()

            self._update = compiled(update, device)

    def train_mode(self) -> None:
        """Student in train mode, except frozen parts (they keep their BN statistics), unless the
        phase lets them update (a fine-tune with frozen copies, as in the authors' code)."""
        self.student.train()
        if self.phase.frozen_eval:
            for m in self.frozen:
                m.eval()

    def objective(
        self, x: torch.Tensor, y: torch.Tensor, teacher_out: Any = None
    ) -> tuple[torch.Tensor, LossParts, torch.Tensor | None]:
        """The loss to backpropagate (eq. 1 times the phase's loss scale), its parts, the logits.
        ``teacher_out``: the teacher's ``(cuts, logits)`` from a cache (the teacher is not run)."""
        phase = self.phase
        with autocast(self.device, self.precision):
            parts, logits = lit_step(self.teacher, self.module, self.plan, phase.objective, x, y,
                                     teacher_out)
        loss = parts.total if phase.loss_scale == 1.0 else parts.total * phase.loss_scale
        return loss, parts, logits

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor | None = None
    ) -> tuple[LossParts, torch.Tensor | None]:
        x, y = to_device(x, y, self.device, self.channels_last)
        teacher_out = None
        if self.teacher_cache is not None:
            if index is None:
                raise ValueError("a teacher cache needs the batch's example indices; build the "
                                 "training BatchLoader with with_indices=True")
            cuts, t_logits = self.teacher_cache.lookup(index, self.device)
            teacher_out = (cuts if self.phase.plan is not None else None, t_logits)
        if self.compile != "off":
            mark_step_begin(self.device)
        loss, parts, logits = self._objective(x, y, teacher_out)
        # no host sync here: the flag stays on the device until ``check_finite``
        self.nonfinite |= ~torch.isfinite(loss.detach())
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self._update()
        return parts, logits

    def _scaled_update(self) -> None:
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def check_finite(self) -> None:
        """Raise ``NonFiniteLossError`` if any step since the last check (on any rank) had a
        NaN/Inf loss; one host sync. ``fit`` calls it every ``log_every`` steps and at epoch end,
        and the epoch's checkpoint is only written after it passed."""
        flag = all_reduce_sum(self.nonfinite.to(torch.float32))
        if flag.item() > 0:
            raise NonFiniteLossError(
                f"non-finite loss in phase {self.phase.name!r}; training stopped, the last good "
                "checkpoint is kept. Try a lower learning rate, fp32, or check the data for NaN/Inf"
            )


def make_phase_step(
    student: nn.Module,
    teacher: nn.Module | None,
    phase: Phase,
    copied_parts: list[str],
    cfg: TrainConfig,
    device: torch.device,
    channels_last: bool,
    scaler: torch.amp.GradScaler,
    inference: nn.Module | None = None,
    teacher_cache: Any = None,
    optimizer: OptimizerFactory | None = None,
) -> TrainStep:
    """Freeze what the phase does not train, wrap for DDP, and build its optimizer: SGD, or
    ``optimizer(params, phase.lr)`` (``lit_core.training.optim``).

    ``teacher`` is the original teacher; ``inference`` what runs its forward (``TrainingSetup.
    inference_teacher``; built here with ``inference_teacher`` when not given). With
    ``cfg.compile == "teacher"`` that forward is compiled."""
    frozen = freeze_for_phase(student, phase, copied_parts)
    share = (
        "stem" in copied_parts
        and phase.freeze_copied
        and phase.plan is not None
        and stem_is_shared(teacher, student)
    )
    module: nn.Module = StudentForward(student, phase.plan, share_stem=share)
    if dist_info().enabled:
        module = DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None
        )
    params = [p for p in student.parameters() if p.requires_grad]
    opt = build_optimizer(params, phase.lr, cfg, optimizer)
    runner, teacher_plan = None, phase.plan
    if phase.uses_teacher and teacher is not None:
        runner = inference if inference is not None else inference_teacher(teacher, cfg,
                                                                            channels_last)
        if runner is not teacher and phase.plan is not None:
            # with a shared stem the student starts from the copy's T̃_0, which differs from its
            # own frozen stem's output at half-precision rounding only
            teacher_plan = plan_for(phase.plan, teacher, runner)
        if cfg.compile == "teacher":
            runner, teacher_plan = compile_teacher(runner, teacher_plan, device)
    return TrainStep(
        student, module, runner, phase, frozen, opt, scaler, device, cfg.precision,
        channels_last, teacher_plan=teacher_plan, compile=cfg.compile,
        teacher_cache=teacher_cache if runner is not None else None,
    )


def inference_teacher(teacher: nn.Module, cfg: TrainConfig, channels_last: bool) -> nn.Module:
    """What runs the frozen teacher's forward in training: under bf16/fp16 (and
    ``cfg.teacher_copy``) a BN-folded copy with conv/linear weights pre-cast to the half dtype, so
    autocast does not re-cast them every step (``lit_core.training.teacher_copy``); else the teacher."""
    if cfg.precision == "fp32" or not cfg.teacher_copy:
        return teacher
    copy = inference_copy(teacher, torch.bfloat16 if cfg.precision == "bf16" else torch.float16)
    return copy.to(memory_format=torch.channels_last) if channels_last else copy


@dataclass
class TrainingSetup:
    """Student and teacher ready to train: on the device, checked, stem/head copied, phases built."""

    student: nn.Module
    teacher: nn.Module | None
    method: MethodConfig
    device: torch.device
    channels_last: bool
    plan: IRPlan | None
    copied: list[str]
    phases: list[Phase]
    inference_teacher: nn.Module | None = None  # what runs the teacher's forward (see make_phase_step)

    @property
    def copied_parts(self) -> list[str]:
        """Parts copied from the teacher: ``stem``, ``head`` and stages outside the sections."""
        return sorted({".".join(n.split(".")[:2]) if n.startswith("stages.") else n.split(".", 1)[0]
                       for n in self.copied})


def check_sections(method: MethodConfig, student: nn.Module, sections: Sequence[str | int]) -> list[int]:
    """The stage indices ``train.sections`` names in ``student``; ``ConfigError`` for a method
    without IR losses at every stage or a stage the student does not have."""
    if method.ir_at != "all":
        raise ConfigError(f"train.sections needs a method with IR losses at every stage (lit, "
                          f"ir_no_teacher_input), not {method.name!r}")
    return parse_sections(student, list(sections))


def check_pair(teacher: nn.Module, student: nn.Module, method: MethodConfig, x: torch.Tensor) -> None:
    """Raise ``AlignmentError`` naming the first stage (or the logits) where the shapes the method
    compares differ, on the batch ``x``; nothing is trained."""
    if method.same_architecture:
        t_sd, s_sd = teacher.state_dict(), student.state_dict()
        if t_sd.keys() != s_sd.keys() or any(t_sd[k].shape != s_sd[k].shape for k in t_sd):
            raise AlignmentError(f"method {method.name!r} needs a student of the teacher's architecture")
    if method.init == "teacher_blocks":
        kept_blocks_per_stage(teacher, student)  # raises, naming the first block that cannot be kept
    if method.ir_phase:
        plan = make_plan(teacher, student, method.ir_at, method.teacher_input)
        check_plan_alignment(teacher, student, plan, x)
        return
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
        raise AlignmentError(
            f"logits: teacher output {tuple(t.shape[1:])} vs student {tuple(s.shape[1:])}; "
            "teacher and student must predict the same classes"
        )


def setup_training(
    student: nn.Module,
    teacher: nn.Module | None,
    method: MethodConfig,
    cfg: TrainConfig,
    sample: Callable[[torch.device], torch.Tensor] | None = None,
) -> TrainingSetup:
    """Everything before the first step, shared by ``fit`` and ``make_train_step``: models on the
    device (channels_last on CUDA when asked), teacher frozen, the pair checked on ``sample(device)``
    (skipped when ``sample`` is None), the teacher's stem and head copied, the phases built."""
    device = resolve_device(cfg.device)
    if cfg.precision == "fp16" and device.type != "cuda":
        raise ConfigError(f"precision fp16 needs a CUDA device (got {device}); use bf16 on CPU")
    if cfg.compile == "step" and dist_info().enabled:
        raise ConfigError(
            "compile 'step' is not supported under torchrun/DDP (untested: DDP's gradient hooks "
            "split a compiled graph); use compile 'teacher' or 'off'"
        )
    channels_last = cfg.channels_last and device.type == "cuda"
    student = require_staged(student, "student").to(device)
    if method.needs_teacher:
        if teacher is None:
            raise ConfigError(f"method {method.name!r} needs a teacher; pass teacher=...")
        teacher = require_staged(teacher, "teacher").to(device).eval().requires_grad_(False)
    else:
        teacher = None
    if channels_last:
        for m in (student, teacher):
            if m is not None:
                m.to(memory_format=torch.channels_last)
    if teacher is not None and sample is not None:
        check_pair(teacher, student, method, sample(device))
    plan = make_plan(teacher, student, method.ir_at, method.teacher_input) if method.ir_phase else None
    copied: list[str] = []
    if method.copy_stem_head and cfg.copy_stem_head and teacher is not None:
        copied = copy_stem_and_head(teacher, student)
    if method.init == "teacher_blocks" and teacher is not None:
        copied += init_from_teacher_blocks(teacher, student)
    if cfg.sections and plan is not None:
        plan.ir_at = check_sections(method, student, cfg.sections)
        if teacher is not None:  # the uncompressed stages: the teacher's, frozen in the IR phase
            keep = [f"stages.{i}" for i in range(len(student.stages)) if i not in plan.ir_at]
            copied += copy_stages(teacher, student, keep)
    phases = build_phases(method, cfg, plan)
    inference = inference_teacher(teacher, cfg, channels_last) if teacher is not None else None
    return TrainingSetup(student, teacher, method, device, channels_last, plan, copied, phases,
                         inference)


def make_train_step(
    student: nn.Module,
    teacher: nn.Module | None,
    method: str | MethodConfig = "lit",
    config: TrainConfig | None = None,
    phase: str = "first",
) -> TrainStep:
    """The ``TrainStep`` of a method's ``"first"`` or ``"last"`` phase, set up as ``fit`` would.

    For benchmarks and experiments: the same set-up as ``fit`` (``setup_training``) without the
    alignment check, run directory or schedule.

    Args:
        student: the staged student (moved to the device; the teacher's stem/head copied in).
        teacher: the staged teacher, or None for methods without one.
        method: a method name or ``MethodConfig``.
        config: training settings (``TrainConfig``; defaults when None).
        phase: ``"first"`` (LIT's IR phase) or ``"last"`` (the fine-tune).

    Returns:
        The ``TrainStep``: call ``step(x, y)`` for one optimisation step; it returns the
        ``LossParts`` and the student's logits.

    Raises:
        ValueError: ``phase`` is neither ``"first"`` nor ``"last"``.

    Examples:
        >>> import torch
        >>> from lit_models import create_model
        >>> step = make_train_step(create_model("resnet8", img_size=8), create_model("resnet20", img_size=8),
        ...                        "lit", TrainConfig(device="cpu"))
        >>> step.phase.name, type(step.optimizer).__name__
        ('ir', 'SGD')
        >>> parts, _ = step(torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3]))
        >>> parts.total.item() > 0
        True
    """
    if phase not in ("first", "last"):
        raise ValueError(f"phase must be 'first' or 'last'; got {phase!r}")
    cfg = (config or TrainConfig()).validate()
    s = setup_training(student, teacher, get_method(method), cfg)
    chosen = s.phases[0] if phase == "first" else s.phases[-1]
    scaler = torch.amp.GradScaler(s.device.type, enabled=cfg.precision == "fp16")
    step = make_phase_step(s.student, s.teacher, chosen, s.copied_parts, cfg, s.device,
                           s.channels_last, scaler, s.inference_teacher)
    step.train_mode()
    return step
