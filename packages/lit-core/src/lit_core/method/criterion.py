"""LIT as one loss module for your own training loop (in the style of a distillation loss)."""

from __future__ import annotations

import torch
import torch.nn as nn

from .lit import StudentForward, lit_step, make_plan
from .losses import LITLoss, LossParts

__all__ = ["LITCriterion"]


class LITCriterion(nn.Module):
    """Teacher and student wrapped so that ``crit(x, y)`` returns the LIT loss (eq. 1).

    The teacher is frozen (eval mode, ``requires_grad=False``) and never updated; only the
    student's parameters receive gradients. ``crit.parts`` holds the last batch's ``LossParts``
    (total, KD term, IR term) for logging.

    Args:
        teacher: a trained staged model (``stem``, ``stages``, ``head``; see ``as_staged``).
        student: a staged model with as many stages as the teacher.
        objective: the loss mix; defaults to ``LITLoss()`` (the paper's α, T, β).
        ir_at: where the IR losses sit ("all", "last", "middle", "blocks", "last_stage").

    Examples:
        >>> import torch
        >>> from lit_models import create_model
        >>> teacher, student = create_model("resnet20", img_size=8), create_model("resnet8", img_size=8)
        >>> crit = LITCriterion(teacher, student)
        >>> opt = torch.optim.AdamW(crit.student.parameters(), lr=1e-3)
        >>> loader = [(torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))]
        >>> for x, y in loader:
        ...     loss = crit(x, y)
        ...     opt.zero_grad(); loss.backward(); opt.step()
        >>> crit.parts._fields
        ('total', 'kd', 'ir')
    """

    def __init__(
        self,
        teacher: nn.Module,
        student: nn.Module,
        objective: LITLoss | None = None,
        ir_at: str = "all",
    ) -> None:
        super().__init__()
        self.plan = make_plan(teacher, student, ir_at=ir_at)
        self.teacher = teacher.eval().requires_grad_(False)
        self.student = student
        self.student_forward = StudentForward(student, self.plan)
        self.objective = objective if objective is not None else LITLoss()
        self.parts: LossParts | None = None

    def train(self, mode: bool = True) -> LITCriterion:
        """Set the student's mode; the teacher always stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The LIT loss on batch ``(x, y)``; call ``.backward()`` on it.

        Args:
            x: the input batch.
            y: the class labels (used by the KD term's cross-entropy part).

        Returns:
            The scalar loss β·KD + (1−β)·Σ IR.
        """
        parts, _ = lit_step(self.teacher, self.student_forward, self.plan, self.objective, x, y)
        self.parts = parts
        return parts.total
