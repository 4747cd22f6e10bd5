"""The LIT losses, exactly as the paper (Koratana et al., ICML 2019) defines them.

* eq. 2, ``KDLoss``: α·CE(y, student) + (1−α)·τ²·H(softmax(teacher/τ), log_softmax(student/τ)),
  where H(q, log p) = −Σ_c q_c log p_c is the cross-entropy form (it differs from KL(q‖p) only by
  the teacher's entropy, a constant with respect to the student). Averaged over the batch.
* ``IRLoss``: the intermediate-representation loss l(·, ·) (Table 5: L2, L1, smooth L1).
* eqs. 1 and 3, ``LITLoss``: β·KD + (1−β)·Σ_i l(S_i(T̃_{i−1}), T̃_i).
* Logit losses used beside KD by the baselines (``logit_losses``): ``DKDLoss`` (Zhao et al.,
  CVPR 2022) and ``DISTLoss`` (Huang et al., NeurIPS 2022); ``LITLoss(logit=...)`` puts one in
  KD's place.

Losses are computed in float32 even under autocast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_TEMPERATURE",
    "IR_KINDS",
    "IRLoss",
    "KDLoss",
    "LITLoss",
    "LogitLoss",
    "LossParts",
    "check_temperature",
    "check_unit_interval",
]

IR_KINDS = ("l2", "l1", "smooth_l1")
# The paper's code's defaults (ResNets); ``TrainConfig`` takes its defaults from here.
DEFAULT_ALPHA = 0.95
DEFAULT_TEMPERATURE = 6.0
DEFAULT_BETA = 0.75


def check_unit_interval(name: str, value: float) -> float:
    """Return ``value`` if it lies in [0, 1], else raise a ``ConfigError`` naming ``name``."""
    if not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"{name} must be in [0, 1]; got {value}")
    return float(value)


def check_temperature(value: float) -> float:
    """Return ``value`` if it is a finite temperature τ > 0, else raise ``ConfigError``."""
    if not (math.isfinite(float(value)) and float(value) > 0.0):
        raise ConfigError(f"temperature (tau) must be a finite number > 0; got {value}")
    return float(value)


class KDLoss(nn.Module):
    """Knowledge distillation, eq. 2; α weights the hard (label) term, as in the paper's code.

    ``loss(student_logits, teacher_logits, target) = α·CE(student, target) + (1−α)·τ²·H(q_τ, p_τ)``.
    With ``alpha == 1`` it is plain cross-entropy and ``teacher_logits`` may be ``None``.

    Args:
        alpha: the weight of the hard-label term, in [0, 1] (the paper: 0.95).
        temperature: τ > 0 of the softened distributions (the paper: 6).

    Examples:
        >>> import torch
        >>> kd = KDLoss(alpha=0.5, temperature=4.0)
        >>> loss = kd(torch.randn(8, 10), torch.randn(8, 10), torch.randint(0, 10, (8,)))
        >>> loss.shape
        torch.Size([])
    """

    def __init__(self, alpha: float = DEFAULT_ALPHA, temperature: float = DEFAULT_TEMPERATURE) -> None:
        super().__init__()
        self.alpha = check_unit_interval("alpha", alpha)
        self.temperature = check_temperature(temperature)

    def forward(
        self, student_logits: torch.Tensor, teacher_logits: torch.Tensor | None, target: torch.Tensor
    ) -> torch.Tensor:
        hard = F.cross_entropy(student_logits.float(), target)
        if self.alpha == 1.0:
            return hard
        if teacher_logits is None:
            raise ValueError(f"KDLoss with alpha={self.alpha} < 1 needs teacher logits")
        tau = self.temperature
        q = F.softmax(teacher_logits.float() / tau, dim=1)
        log_p = F.log_softmax(student_logits.float() / tau, dim=1)
        soft = -(q * log_p).sum(dim=1).mean()  # H(q, p), batch mean
        return self.alpha * hard + (1.0 - self.alpha) * tau * tau * soft


class IRLoss(nn.Module):
    """Intermediate-representation loss l(student, teacher) (Table 5); ``l2`` is the MSE mean.

    Args:
        kind: ``"l2"`` (mean squared error), ``"l1"`` or ``"smooth_l1"``.

    Examples:
        >>> import torch
        >>> IRLoss("l1")(torch.zeros(2, 4), torch.ones(2, 4))
        tensor(1.)
    """

    def __init__(self, kind: str = "l2") -> None:
        super().__init__()
        if kind not in IR_KINDS:
            raise ValueError(f"ir loss kind must be one of {', '.join(IR_KINDS)}; got {kind!r}")
        self.kind = kind

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        s, t = student.float(), teacher.float()
        if self.kind == "l2":
            return F.mse_loss(s, t)
        if self.kind == "l1":
            return F.l1_loss(s, t)
        return F.smooth_l1_loss(s, t)


class LogitLoss(nn.Module):
    """What a logit loss in KD's place computes: ``forward(student, teacher, target) -> loss``.

    ``set_progress(epoch, epochs)`` is called by the trainer at the start of every epoch of a
    phase (0-based ``epoch``); losses with a warm-up (DKD) read it, the others ignore it.
    """

    def set_progress(self, epoch: int, epochs: int) -> None:
        """The phase's position, for losses whose weight depends on it (default: none)."""


class LossParts(NamedTuple):
    """A training objective's value and its two terms (for logging).

    Attributes:
        total: the loss to backpropagate (eq. 1).
        kd: the KD (or other logit-loss) term, 0 when unused.
        ir: the summed IR terms (eq. 3), 0 when unused.
    """

    total: torch.Tensor
    kd: torch.Tensor
    ir: torch.Tensor


class LITLoss(nn.Module):
    """The LIT objective, eq. 1: β·KD (eq. 2) + (1−β)·Σ_i l(S_i(T̃_{i−1}), T̃_i) (eq. 3).

    ``beta == 1`` is plain KD (no IR term needed); ``beta == 0`` is IR only (no logits needed),
    which is the FitNets hint objective. ``logit`` replaces KD by another logit loss with KD's
    signature (``DKDLoss``, ``DISTLoss``).

    Args:
        alpha: KD's hard-label weight (eq. 2; the paper: 0.95).
        temperature: KD's τ (the paper: 6).
        beta: the KD term's weight against the IR terms (the paper: 0.75).
        ir_kind: the IR distance l (``IRLoss``: ``"l2"``, ``"l1"``, ``"smooth_l1"``).
        logit: a logit loss in KD's place (``forward(student, teacher, target)``), or None.

    Examples:
        >>> loss = LITLoss(beta=0.75)
        >>> loss.beta, loss.kd.alpha, loss.kd.temperature
        (0.75, 0.95, 6.0)
    """

    def __init__(
        self,
        alpha: float = DEFAULT_ALPHA,
        temperature: float = DEFAULT_TEMPERATURE,
        beta: float = DEFAULT_BETA,
        ir_kind: str = "l2",
        logit: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.beta = check_unit_interval("beta", beta)
        # the logit term: KD (eq. 2), or a baseline's loss in its place (``logit``: DKD, DIST)
        self.kd = KDLoss(alpha, temperature) if logit is None else logit
        self.ir = IRLoss(ir_kind)

    def set_progress(self, epoch: int, epochs: int) -> None:
        """Tell the logit loss where the phase stands (DKD's warm-up); see ``LogitLoss``."""
        if isinstance(self.kd, LogitLoss):
            self.kd.set_progress(epoch, epochs)

    def forward(
        self,
        student_logits: torch.Tensor | None,
        teacher_logits: torch.Tensor | None,
        target: torch.Tensor,
        student_irs: Sequence[torch.Tensor] = (),
        teacher_irs: Sequence[torch.Tensor] = (),
    ) -> LossParts:
        if len(student_irs) != len(teacher_irs):
            raise ValueError(
                f"got {len(student_irs)} student IRs but {len(teacher_irs)} teacher IRs"
            )
        zero = target.new_zeros((), dtype=torch.float32)
        kd = zero
        if self.beta > 0.0:
            if student_logits is None:
                raise ValueError(f"LITLoss with beta={self.beta} > 0 needs student logits")
            kd = self.kd(student_logits, teacher_logits, target)  # eq. 2
        ir = zero
        if self.beta < 1.0:
            for s_i, t_i in zip(student_irs, teacher_irs, strict=True):  # eq. 3
                ir = ir + self.ir(s_i, t_i)
        return LossParts(self.beta * kd + (1.0 - self.beta) * ir, kd, ir)  # eq. 1
