"""Logit losses the baselines use in KD's place, written from the papers' formulas.

* ``DKDLoss`` — Decoupled Knowledge Distillation (Zhao, Cui, Song, Qiu, Liang, CVPR 2022, eqs. 1–7).
  With p = softmax(z/T) for student (S) and teacher (T'), target class t:
  b = [p_t, 1 − p_t] (target vs all non-target classes), p̂ = softmax over the non-target logits;
  TCKD = KL(b^T' ‖ b^S), NCKD = KL(p̂^T' ‖ p̂^S) (eq. 4 splits KD = TCKD + (1 − p_t^T')·NCKD);
  DKD = α·TCKD + β·NCKD (eq. 7), times T² like KD; the training loss is
  CE(y, z_S) + w·DKD with the warm-up weight w = min(e / E_warm, 1) in epoch e = 1, 2, …
  Published CIFAR defaults: α 1, β 8, T 4, a 20-epoch warm-up of a 240-epoch schedule.
* ``DISTLoss`` — Knowledge Distillation from A Stronger Teacher (Huang, You, Wang, Qian, Xu,
  NeurIPS 2022, eqs. 8–11). With Y = softmax(z/τ) (B × C) and the Pearson correlation ρ_p:
  inter-class L_inter = τ²·mean_i [1 − ρ_p(Y^S_{i,:}, Y^T_{i,:})] (each example's class scores),
  intra-class L_intra = τ²·mean_j [1 − ρ_p(Y^S_{:,j}, Y^T_{:,j})] (each class across the batch);
  the training loss is CE(y, z_S) + β·L_inter + γ·L_intra. Defaults: β = γ = 1, τ = 1.

Both compute in float32 (like ``KDLoss``; float64 inputs stay float64) and average over the
batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from .losses import LogitLoss, check_temperature

__all__ = [
    "DEFAULT_DIST",
    "DEFAULT_DKD",
    "DISTLoss",
    "DKDLoss",
    "pearson_rows",
    "warmup_epochs",
]

#: The published defaults: DKD on CIFAR (α, β, T, warm-up as a fraction of the schedule: 20/240).
DEFAULT_DKD = {"alpha": 1.0, "beta": 8.0, "temperature": 4.0, "warmup": 20 / 240}
#: DIST's defaults (β, γ, τ).
DEFAULT_DIST = {"beta": 1.0, "gamma": 1.0, "temperature": 1.0}


def _f32(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.float64 else x.float()


def _check_weight(name: str, value: float) -> float:
    if not (math.isfinite(float(value)) and float(value) >= 0.0):
        raise ConfigError(f"{name} must be a finite number >= 0; got {value}")
    return float(value)


def warmup_epochs(fraction: float, epochs: int) -> int:
    """DKD's warm-up length in epochs for a phase of ``epochs``: ``ceil(fraction · epochs)``
    (0 when ``fraction`` is 0). The published 20 of 240 epochs is ``fraction = 1/12``; rounding
    up keeps a ramp in a short schedule (16 epochs → 2: weights 1/2, then 1)."""
    return math.ceil(fraction * epochs - 1e-9) if fraction > 0 else 0


class DKDLoss(LogitLoss):
    """CE + w·(α·TCKD + β·NCKD)·T² (Zhao et al. 2022, eq. 7), w the linear per-epoch warm-up.

    ``warmup`` is the warm-up's length as a fraction of the phase's epochs (``warmup_epochs``);
    the trainer calls ``set_progress`` every epoch. Outside the trainer the weight is 1.
    """

    def __init__(self, alpha: float = 1.0, beta: float = 8.0, temperature: float = 4.0,
                 warmup: float = 20 / 240) -> None:
        super().__init__()
        self.alpha = _check_weight("dkd_alpha", alpha)
        self.beta = _check_weight("dkd_beta", beta)
        self.temperature = check_temperature(temperature)
        if not (math.isfinite(float(warmup)) and 0.0 <= float(warmup) <= 1.0):
            raise ConfigError(f"dkd_warmup must be a fraction of the phase in [0, 1]; got {warmup}")
        self.warmup = float(warmup)
        self.weight = 1.0  # the warm-up weight of the current epoch

    def set_progress(self, epoch: int, epochs: int) -> None:
        """Warm-up weight of 0-based ``epoch``: min((epoch + 1) / E_warm, 1)."""
        n = warmup_epochs(self.warmup, epochs)
        self.weight = 1.0 if n == 0 else min((epoch + 1) / n, 1.0)

    def decoupled(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                  target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(TCKD, NCKD), each batch-mean KL times T² (eqs. 4–6)."""
        tau = self.temperature
        s, t = _f32(student_logits) / tau, _f32(teacher_logits) / tau
        gt = F.one_hot(target, s.shape[1]).bool()
        # target vs non-target binary distributions b (eq. 2), from the full softmax
        p_s, p_t = F.softmax(s, dim=1), F.softmax(t, dim=1)
        pt_s, pt_t = p_s[gt], p_t[gt]
        b_s = torch.stack([pt_s, 1.0 - pt_s], dim=1).clamp_min(1e-12)
        b_t = torch.stack([pt_t, 1.0 - pt_t], dim=1)
        tckd = F.kl_div(b_s.log(), b_t, reduction="batchmean")
        # distributions among the non-target classes p̂ (eq. 3): the target column removed
        rest = ~gt
        s_rest = s[rest].view(s.shape[0], -1)
        t_rest = t[rest].view(t.shape[0], -1)
        nckd = F.kl_div(F.log_softmax(s_rest, dim=1), F.softmax(t_rest, dim=1),
                        reduction="batchmean")
        return tckd * tau * tau, nckd * tau * tau

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        if teacher_logits is None:
            raise ValueError("DKDLoss needs teacher logits")
        ce = F.cross_entropy(_f32(student_logits), target)
        tckd, nckd = self.decoupled(student_logits, teacher_logits, target)
        return ce + self.weight * (self.alpha * tckd + self.beta * nckd)


def pearson_rows(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pearson correlation of each row of ``a`` with the same row of ``b`` (a vector)."""
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(eps)


class DISTLoss(LogitLoss):
    """CE + β·L_inter + γ·L_intra (Huang et al. 2022, eq. 11): Pearson relations of softmax(z/τ)."""

    def __init__(self, beta: float = 1.0, gamma: float = 1.0, temperature: float = 1.0) -> None:
        super().__init__()
        self.beta = _check_weight("dist_beta", beta)
        self.gamma = _check_weight("dist_gamma", gamma)
        self.temperature = check_temperature(temperature)

    def relations(self, student_logits: torch.Tensor,
                  teacher_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(L_inter, L_intra), each times τ² (eqs. 8–10)."""
        tau = self.temperature
        y_s = F.softmax(_f32(student_logits) / tau, dim=1)
        y_t = F.softmax(_f32(teacher_logits) / tau, dim=1)
        inter = (1.0 - pearson_rows(y_s, y_t)).mean()  # per example, across classes
        intra = (1.0 - pearson_rows(y_s.t(), y_t.t())).mean()  # per class, across the batch
        return inter * tau * tau, intra * tau * tau

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        if teacher_logits is None:
            raise ValueError("DISTLoss needs teacher logits")
        ce = F.cross_entropy(_f32(student_logits), target)
        inter, intra = self.relations(student_logits, teacher_logits)
        return ce + self.beta * inter + self.gamma * intra
