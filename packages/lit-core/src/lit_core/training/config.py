"""Training configuration: one flat dataclass, defaults from the paper's code (ResNets).

A run has up to two phases (see ``lit_core.method.methods``): an *IR phase* (LIT, or the FitNets hint
stage) trained for ``ir_epochs`` at ``lr``, then an *end-to-end phase* (KD fine-tune, KD or
cross-entropy) trained for ``epochs``, at ``finetune_lr`` when it follows an IR phase and at
``lr`` otherwise. Both phases use SGD and a multi-step schedule (``milestones``, ``gamma``); a
fine-tune phase after an IR phase uses ``finetune_milestones`` when given (the paper's code decays
the LIT phase at epoch 100 of 175 and the fine-tuning at epoch 55 of 125). Every two-phase method
(the IR-phase methods, and ``kd_copied`` whose first phase is KD with the copied parts frozen)
has its own per-phase schedule this way: phase 1 ``ir_epochs`` / ``lr`` / ``milestones``, phase 2
``epochs`` / ``finetune_lr`` / ``finetune_milestones``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..method.losses import (
    DEFAULT_ALPHA,
    DEFAULT_BETA,
    DEFAULT_TEMPERATURE,
    IR_KINDS,
    check_temperature,
    check_unit_interval,
)

__all__ = ["COMPILE_MODES", "PRECISIONS", "TrainConfig"]

PRECISIONS = ("fp32", "bf16", "fp16")
COMPILE_MODES = ("off", "teacher", "step")  # see lit_core.training.compile
MAX_EPOCHS = 1_000_000  # a bound on absurd counts (10**30 would run forever)


@dataclass(frozen=True)
class TrainConfig:
    """Everything the trainer needs besides models, data and the method.

    ``milestones`` are fractions of a phase's epochs when all are < 1 (``(0.5, 0.75)``), else
    epoch numbers within the phase. ``precision``: ``bf16`` autocasts on any device (CPU too);
    ``fp16`` autocasts with a gradient scaler and needs CUDA. ``channels_last`` only applies on
    CUDA. ``teacher_copy``: under bf16/fp16 the frozen teacher runs as a BN-folded copy with its
    conv/linear weights pre-cast once (``lit_core.training.teacher_copy``); fp32 runs the teacher as is.
    ``compile``: ``"off"``, ``"teacher"`` (the teacher's forward compiled, CUDA-graphed on CUDA)
    or ``"step"`` (the whole step; not under DDP), see ``lit_core.training.compile``.
    ``device="auto"`` picks CUDA when available. ``progress=None`` shows the progress bar
    only when stderr is a terminal. ``batch_size`` is read by whoever builds the loaders (the
    CLI); the trainer takes loaders as given. Every field is checked on construction: a
    mistyped or out-of-range value raises one ``ConfigError`` naming it.

    Examples:
        >>> cfg = TrainConfig(ir_epochs=5, epochs=5, lr=0.05)
        >>> cfg.milestone_epochs(cfg.ir_epochs)  # milestones (0.5, 0.75) of a 5-epoch phase
        [2, 4]
        >>> cfg.replace(lr=0.1).lr, TrainConfig.from_dict({"epochs": 3}).epochs
        (0.1, 3)
        >>> TrainConfig(alpha=2.0)
        Traceback (most recent call last):
        ...
        lit_core.errors.ConfigError: alpha must be in [0, 1]; got 2.0
    """

    # schedule
    epochs: int = 10
    ir_epochs: int = 10
    batch_size: int = 128
    lr: float = 0.1
    finetune_lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = False
    milestones: tuple[float, ...] = (0.5, 0.75)
    finetune_milestones: tuple[float, ...] = ()  # empty: the fine-tune phase uses milestones
    gamma: float = 0.1
    # objective (eqs. 1-3)
    alpha: float = DEFAULT_ALPHA
    temperature: float = DEFAULT_TEMPERATURE
    beta: float = DEFAULT_BETA
    ir_loss: str = "l2"
    # the IR phase's loss is multiplied by this before backward (the paper's code halves it:
    # ``full_loss /= 2``, so its gradients are half as large relative to weight decay)
    ir_loss_scale: float = 1.0
    # compress only these stages ("stages.1" or 1; empty: every stage): IR losses sit at them only,
    # and every other stage is copied from the teacher and frozen in the IR phase
    sections: tuple[str | int, ...] = ()
    # student initialisation during the IR phase
    copy_stem_head: bool = True
    freeze_copied: bool = True
    # keep the copied parts frozen in the fine-tune phase too (the authors' CIFAR code never
    # re-enables requires_grad after the LIT phase; BatchNorm statistics still update)
    finetune_freeze_copied: bool = False
    # the baselines' logit losses (lit_core.method.logit_losses; published defaults): DKD's
    # α, β, T and warm-up (a fraction of the phase's epochs, 20/240 as published), DIST's β, γ, τ
    dkd_alpha: float = 1.0
    dkd_beta: float = 8.0
    dkd_temperature: float = 4.0
    dkd_warmup: float = 20 / 240
    dist_beta: float = 1.0
    dist_gamma: float = 1.0
    dist_temperature: float = 1.0
    # reproducibility and speed
    seed: int = 0
    deterministic: bool = False
    precision: str = "fp32"
    channels_last: bool = False
    teacher_copy: bool = True
    compile: str = "off"
    device: str = "auto"
    # DDP: the student's BatchNorm layers synchronise statistics across processes (CUDA only)
    sync_bn: bool = False
    # the frozen teacher's outputs computed once per training example and reused every epoch:
    # "off", "fp32" (exact) or "bf16" (half the memory, |error| <= 2^-8 |x|); needs
    # data.augment = false (``lit_core.training.teacher_cache``)
    teacher_cache: str = "off"
    # bookkeeping
    log_every: int = 50
    progress: bool | None = None
    tensorboard: bool = False
    checkpoint_every: int = 1

    def __post_init__(self) -> None:
        for name in ("milestones", "finetune_milestones"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{name} must be a list of numbers; got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if not isinstance(self.sections, (list, tuple)) or not all(
                isinstance(v, (str, int)) and not isinstance(v, bool) for v in self.sections):
            raise ConfigError(f'sections must be a list of stage names, e.g. ["stages.1"]; got {self.sections!r}')
        object.__setattr__(self, "sections", tuple(self.sections))
        self.validate()

    def validate(self) -> TrainConfig:
        """Raise one ``ConfigError`` naming the first mistyped or out-of-range setting."""
        self._check_types()
        check_unit_interval("alpha", self.alpha)
        check_unit_interval("beta", self.beta)
        check_temperature(self.temperature)
        for name in ("dkd_temperature", "dist_temperature"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ConfigError(f"{name} must be a finite number > 0; got {getattr(self, name)}")
        for name in ("dkd_alpha", "dkd_beta", "dist_beta", "dist_gamma"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0; got {getattr(self, name)}")
        if not (math.isfinite(self.dkd_warmup) and 0 <= self.dkd_warmup <= 1):
            raise ConfigError(f"dkd_warmup must be a fraction of the phase's epochs in [0, 1]; "
                              f"got {self.dkd_warmup}")
        if not (math.isfinite(self.ir_loss_scale) and self.ir_loss_scale > 0):
            raise ConfigError(f"ir_loss_scale must be a finite number > 0; got {self.ir_loss_scale}")
        for name in ("lr", "finetune_lr", "momentum", "weight_decay", "gamma"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"{name} must be a finite number; got {getattr(self, name)}")
        for name in ("epochs", "ir_epochs"):
            if not 0 <= getattr(self, name) <= MAX_EPOCHS:
                raise ConfigError(f"{name} must be in 0..{MAX_EPOCHS}; got {getattr(self, name)}")
        if not 0 <= self.seed < 2**63:
            raise ConfigError(f"seed must be an integer in 0..2**63-1; got {self.seed}")
        for name in ("batch_size", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1; got {getattr(self, name)}")
        for name in ("lr", "finetune_lr"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0; got {getattr(self, name)}")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1); got {self.momentum}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0; got {self.weight_decay}")
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"gamma must be in (0, 1]; got {self.gamma}")
        for name in ("milestones", "finetune_milestones"):
            if any(not (math.isfinite(m) and m > 0) for m in getattr(self, name)):
                raise ConfigError(
                    f"{name} must be finite positive numbers; got {list(getattr(self, name))}"
                )
        for name in ("milestones", "finetune_milestones"):
            values = getattr(self, name)
            if any(m < 1 for m in values) and any(m >= 1 for m in values):
                raise ConfigError(f"{name} mixes fractions (< 1) and epoch numbers (>= 1): "
                                  f"{list(values)}; give all as fractions or all as epochs")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}"
            )
        if self.compile not in COMPILE_MODES:
            raise ConfigError(
                f"compile must be one of {', '.join(COMPILE_MODES)}; got {self.compile!r}"
            )
        if self.teacher_cache not in ("off", "fp32", "bf16"):
            raise ConfigError(f"teacher_cache must be off, fp32 or bf16; got {self.teacher_cache!r}")
        if self.ir_loss not in IR_KINDS:
            raise ConfigError(f"ir_loss must be one of {', '.join(IR_KINDS)}; got {self.ir_loss!r}")
        if not self.device or not isinstance(self.device, str):
            raise ConfigError(f"device must be a device name (cpu, cuda, cuda:1, auto); got {self.device!r}")
        return self

    def _check_types(self) -> None:
        for f in dataclasses.fields(self):
            value, default = getattr(self, f.name), f.default
            if f.name == "sections":
                ok = True  # checked in __post_init__
            elif f.name == "progress":
                ok = value is None or isinstance(value, bool)
            elif f.name in ("milestones", "finetune_milestones"):
                ok = all(isinstance(m, (int, float)) and not isinstance(m, bool) for m in value)
            elif isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            else:
                ok = isinstance(value, type(default))
            if not ok:
                numbers = f.name in ("milestones", "finetune_milestones")
                kind = "a list of numbers" if numbers else type(default).__name__
                raise ConfigError(f"{f.name} must be {kind}; got {value!r}")

    def milestone_epochs(self, phase_epochs: int, finetune: bool = False) -> list[int]:
        """The milestones as epoch numbers within a phase of ``phase_epochs`` epochs
        (``finetune``: the end-to-end phase after an IR phase, which prefers
        ``finetune_milestones``)."""
        milestones = (finetune and self.finetune_milestones) or self.milestones
        if all(m < 1 for m in milestones):
            return sorted({max(1, round(m * phase_epochs)) for m in milestones})
        return sorted({int(m) for m in milestones})

    def to_dict(self) -> dict[str, Any]:
        """Plain-type dict (tuples become lists) for TOML/JSON and checkpoints."""
        d = dataclasses.asdict(self)
        d["milestones"] = list(self.milestones)
        d["finetune_milestones"] = list(self.finetune_milestones)
        d["sections"] = list(self.sections)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict (e.g. a TOML table); an unknown key raises ``ConfigError`` naming it."""
        names = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in names:
                raise ConfigError(
                    f"unknown training setting {key!r}; valid settings: {', '.join(names)}"
                )
        return cls(**data)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (validated; unknown names raise ``ConfigError``)."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})
