"""The LIT step (eqs. 1-3) and what it needs: IR plans, stem/head copying, alignment checks.

Notation (paper): T̃_0 is the teacher's stem output, T̃_i the teacher's output after stage i,
S_i the student's stage i. LIT trains every S_i on the teacher's input T̃_{i−1} to reproduce T̃_i
(eq. 3), mixed by β with knowledge distillation on the student's own end-to-end forward (eq. 2),
which gives eq. 1.

An ``IRPlan`` generalises "stage" to "piece" so the Table 4 ablations reuse the same step: pieces
are the stages (LIT), or residual blocks mirroring groups of teacher blocks (``lit_block_ir``);
IR losses sit after some pieces (all, the last, the middle); pieces are fed the teacher's
previous output or run on the student's own activations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn

from ..errors import AlignmentError, ConfigError
from .losses import LITLoss, LossParts
from .methods import IR_POSITIONS
from .staged import StagedModel, require_staged

__all__ = [
    "IRPlan",
    "StudentForward",
    "check_alignment",
    "check_plan_alignment",
    "copy_stem_and_head",
    "lit_step",
    "make_plan",
    "teacher_forward",
]



@dataclass
class IRPlan:
    """Matched teacher/student pieces and where the IR losses (eq. 3) sit; built by ``make_plan``.

    Attributes:
        names: a name per piece (``"stage 0"``, …).
        teacher_pieces: ``teacher_pieces[j]`` maps T̃_j to T̃_{j+1}.
        student_pieces: the student's counterpart of each teacher piece.
        ir_at: the piece indices whose output gets an IR loss (ascending).
        teacher_input: each student segment is fed the teacher's T̃ (LIT).
        starts: with teacher input, the piece each IR segment begins at, fed T̃ of that index;
            None chains them (each segment begins right after the previous IR, the first at 0).
    """

    names: list[str]
    teacher_pieces: list[nn.Module]
    student_pieces: list[nn.Module]
    ir_at: list[int]
    teacher_input: bool
    starts: list[int] | None = None

    def segment_starts(self) -> list[int]:
        """The first piece of every IR segment (see ``starts``)."""
        if self.starts is not None:
            return list(self.starts)
        return [0] + [p + 1 for p in self.ir_at[:-1]]


def make_plan(
    teacher: nn.Module, student: nn.Module, ir_at: str = "all", teacher_input: bool = True
) -> IRPlan:
    """Build the IR plan: which teacher/student pieces are paired and where the IR losses sit.

    Args:
        teacher: a staged model (``stem``, ``stages``, ``head``).
        student: a staged model with as many stages as the teacher.
        ir_at: ``"all"`` (LIT: an IR loss after every stage), ``"last"`` or ``"middle"`` (one
            stage), ``"blocks"`` (after every residual block), or ``"last_stage"`` (one IR
            segment, the last stage alone, fed the teacher's T̃_{k−1}).
        teacher_input: each student segment starts from the teacher's output of the previous
            stage (LIT); False chains the student's own outputs.

    Returns:
        The ``IRPlan``.

    Raises:
        AlignmentError: the stage counts differ.
        ConfigError: an unknown ``ir_at``.

    Examples:
        >>> from lit_models import create_model
        >>> plan = make_plan(create_model("resnet20", img_size=8), create_model("resnet8", img_size=8))
        >>> plan.names, plan.ir_at
        (['stage 0', 'stage 1', 'stage 2'], [0, 1, 2])
    """
    teacher = require_staged(teacher, "teacher")
    student = require_staged(student, "student")
    if ir_at not in IR_POSITIONS:
        raise ConfigError(f"ir_at must be one of {', '.join(IR_POSITIONS)}; got {ir_at!r}")
    k_t, k_s = len(teacher.stages), len(student.stages)
    if k_t != k_s:
        raise AlignmentError(
            f"the teacher has {k_t} stages but the student has {k_s}; LIT pairs stages one to one"
        )
    if ir_at == "blocks":
        return _block_plan(teacher, student, teacher_input)
    names = [f"stage {i}" for i in range(k_s)]
    positions = {"all": list(range(k_s)), "last": [k_s - 1], "middle": [(k_s - 1) // 2],
                 "last_stage": [k_s - 1]}[ir_at]
    starts = [k_s - 1] if ir_at == "last_stage" else None
    return IRPlan(names, list(teacher.stages), list(student.stages), positions, teacher_input,
                  starts)


def _block_plan(teacher: StagedModel, student: StagedModel, teacher_input: bool) -> IRPlan:
    """IRs between residual blocks: student block j of stage i mirrors teacher block group j."""
    names, t_pieces, s_pieces = [], [], []
    for i, (t_stage, s_stage) in enumerate(zip(teacher.stages, student.stages, strict=True)):
        for role, stage in (("teacher", t_stage), ("student", s_stage)):
            if not isinstance(stage, nn.Sequential):
                raise AlignmentError(
                    f"IRs between blocks need every stage to be an nn.Sequential of blocks; "
                    f"the {role}'s stage {i} is a {type(stage).__name__}"
                )
        n_t, n_s = len(t_stage), len(s_stage)
        if n_s == 0 or n_t % n_s:
            raise AlignmentError(
                f"IRs between blocks: stage {i} has {n_t} teacher blocks and {n_s} student blocks; "
                f"{n_t} is not divisible by {n_s}, so student blocks cannot mirror equal groups"
            )
        group = n_t // n_s
        for j in range(n_s):
            names.append(f"stage {i} block {j}")
            t_pieces.append(t_stage[j * group : (j + 1) * group])
            s_pieces.append(s_stage[j])
    return IRPlan(names, t_pieces, s_pieces, list(range(len(s_pieces))), teacher_input)


def _same_tensors(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape for k in sa)


def copy_stem_and_head(teacher: nn.Module, student: nn.Module) -> list[str]:
    """Copy the teacher's stem and head into the student where all shapes match (LIT's start).

    Each part is copied whole or not at all.

    Args:
        teacher: the staged teacher.
        student: the staged student (changed in place).

    Returns:
        The names of the copied tensors (``stem.0.weight``, …, ``head.1.bias``).

    Examples:
        >>> from lit_models import create_model
        >>> copied = copy_stem_and_head(create_model("resnet20", img_size=8),
        ...                             create_model("resnet8", img_size=8))
        >>> copied[0], copied[-1]
        ('stem.0.weight', 'head.2.bias')
    """
    copied: list[str] = []
    for part in ("stem", "head"):
        t_part, s_part = getattr(teacher, part), getattr(student, part)
        if _same_tensors(t_part, s_part):
            s_part.load_state_dict(t_part.state_dict())
            copied += [f"{part}.{k}" for k in t_part.state_dict()]
    return copied


def stem_is_shared(teacher: nn.Module, student: nn.Module) -> bool:
    """Whether the student's stem computes exactly the teacher's (same structure and weights)."""
    t_stem, s_stem = teacher.stem, student.stem
    if repr(t_stem) != repr(s_stem) or not _same_tensors(t_stem, s_stem):
        return False
    s_sd = s_stem.state_dict()
    return len(s_sd) > 0 and all(torch.equal(v, s_sd[k]) for k, v in t_stem.state_dict().items())


def teacher_forward(
    teacher: nn.Module, x: torch.Tensor, plan: IRPlan | None
) -> tuple[list[torch.Tensor] | None, torch.Tensor]:
    """The teacher's cuts T̃_0 (stem output) … T̃_n and its logits; call under ``no_grad``.

    Args:
        teacher: the staged teacher.
        x: an input batch.
        plan: the IR plan (``make_plan``); None returns only the logits.

    Returns:
        ``(cuts, logits)``: the stem output and each piece's output (None without a plan), and
        the teacher's logits.

    Examples:
        >>> import torch
        >>> from lit_models import create_model
        >>> teacher = create_model("resnet20", img_size=8).eval()
        >>> plan = make_plan(teacher, create_model("resnet8", img_size=8))
        >>> with torch.no_grad():
        ...     cuts, logits = teacher_forward(teacher, torch.randn(2, 3, 8, 8), plan)
        >>> [tuple(c.shape[1:]) for c in cuts], tuple(logits.shape)
        ([(16, 8, 8), (16, 8, 8), (32, 4, 4), (64, 2, 2)], (2, 10))
    """
    if plan is None:
        return None, teacher(x)
    h = teacher.stem(x)
    cuts = [h]
    for piece in plan.teacher_pieces:
        h = piece(h)
        cuts.append(h)
    return cuts, teacher.head(h)


class StudentForward(nn.Module):
    """The student's side of one training step as a single ``forward`` (so DDP can wrap it).

    ``forward(x, teacher_cuts)`` returns ``(logits or None, [student IR outputs at plan.ir_at])``.
    With no plan it is just ``student(x)``.

    Args:
        student: the staged student.
        plan: the IR plan (``make_plan``), or None for an end-to-end forward.
        share_stem: only valid when the student's stem is a frozen copy of the teacher's (its
            output equals T̃_0): reuse the first IR segment's output as the start of the
            student's own forward instead of computing it twice.

    Examples:
        >>> from lit_models import create_model
        >>> teacher, student = create_model("resnet20", img_size=8), create_model("resnet8", img_size=8)
        >>> import torch
        >>> plan, x = make_plan(teacher, student), torch.randn(2, 3, 8, 8)
        >>> with torch.no_grad():
        ...     cuts, _ = teacher_forward(teacher.eval(), x, plan)
        >>> logits, irs = StudentForward(student, plan)(x, cuts)  # stage i fed the teacher's T̃_i
        >>> tuple(logits.shape), [tuple(h.shape[1:]) for h in irs]
        ((2, 10), [(16, 8, 8), (32, 4, 4), (64, 2, 2)])
    """

    def __init__(self, student: nn.Module, plan: IRPlan | None = None, share_stem: bool = False):
        super().__init__()
        self.student = student
        self.plan = plan
        self.share_stem = share_stem and plan is not None and plan.teacher_input

    def forward(
        self,
        x: torch.Tensor,
        teacher_cuts: Sequence[torch.Tensor] | None = None,
        need_logits: bool = True,
    ) -> tuple[torch.Tensor | None, list[torch.Tensor]]:
        plan, student = self.plan, self.student
        if plan is None:
            return student(x), []
        pieces, irs = plan.student_pieces, []
        if not plan.teacher_input:  # IRs on the student's own activations (FitNets, ablation)
            h = student.stem(x)
            last = len(pieces) - 1 if need_logits else plan.ir_at[-1]
            for j in range(last + 1):
                h = pieces[j](h)
                if j in plan.ir_at:
                    irs.append(h)
            return (student.head(h) if need_logits else None), irs
        if teacher_cuts is None:
            raise ValueError("this plan feeds the student the teacher's outputs; pass teacher_cuts")
        # eq. 3: the segment ending at piece p starts from the teacher's T̃ at its first piece
        for start, p in zip(plan.segment_starts(), plan.ir_at, strict=True):
            h = teacher_cuts[start]
            for j in range(start, p + 1):
                h = pieces[j](h)
            irs.append(h)
        if not need_logits:
            return None, irs
        # eq. 2 needs the student's own end-to-end forward (stem → stages → head).
        if self.share_stem and plan.segment_starts()[0] == 0:
            h, start = irs[0], plan.ir_at[0] + 1
        else:
            h, start = student.stem(x), 0
        for j in range(start, len(pieces)):
            h = pieces[j](h)
        return student.head(h), irs


def lit_step(
    teacher: nn.Module | None,
    student_forward: nn.Module,
    plan: IRPlan | None,
    objective: LITLoss,
    x: torch.Tensor,
    y: torch.Tensor,
    teacher_out: tuple[list[torch.Tensor] | None, torch.Tensor] | None = None,
) -> tuple[LossParts, torch.Tensor | None]:
    """One LIT objective on a batch (eqs. 1-3); returns the loss parts and the student logits.

    With ``plan=None`` and β = 1 it is a KD step (eq. 2); with no teacher and α = 1, a CE step.

    Args:
        teacher: the frozen teacher (None for cross-entropy only).
        student_forward: ``StudentForward(student, plan)``: the student's IR outputs and logits.
        plan: the IR plan (``make_plan``), or None for an end-to-end step.
        objective: the ``LITLoss`` (α, τ, β and the IR distance).
        x: an input batch.
        y: its labels.
        teacher_out: the teacher's ``(cuts, logits)`` for this batch, precomputed (a
            ``TeacherCache``); the teacher is then not run.

    Returns:
        ``(parts, logits)``: the ``LossParts`` (``total`` to backpropagate, ``kd``, ``ir``) and
        the student's logits (None when the objective does not need them).

    Examples:
        >>> import torch
        >>> from lit_models import create_model
        >>> teacher, student = create_model("resnet20", img_size=8), create_model("resnet8", img_size=8)
        >>> plan = make_plan(teacher, student)
        >>> parts, logits = lit_step(teacher.eval(), StudentForward(student, plan), plan, LITLoss(),
        ...                          torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3]))
        >>> parts.total.backward()
    """
    t_cuts, t_logits = teacher_out if teacher_out is not None else (None, None)
    if teacher is not None and teacher_out is None:
        with torch.no_grad():  # teacher: eval mode, never updated
            t_cuts, t_logits = teacher_forward(teacher, x, plan)  # T̃_0 … T̃_n, teacher logits
    feed = t_cuts if plan is not None and plan.teacher_input else None
    s_logits, s_irs = student_forward(x, feed, objective.beta > 0)  # S_i(T̃_{i−1}), student logits
    t_irs = [t_cuts[p + 1] for p in plan.ir_at] if plan is not None else []  # T̃_i
    # eq. 1: β·KD(student, teacher) (eq. 2) + (1−β)·Σ_i l(S_i(T̃_{i−1}), T̃_i) (eq. 3)
    return objective(s_logits, t_logits, y, s_irs, t_irs), s_logits


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.shape[1:])


@torch.no_grad()
def check_plan_alignment(
    teacher: nn.Module, student: nn.Module, plan: IRPlan, x: torch.Tensor, check_logits: bool = True
) -> None:
    """Raise ``AlignmentError`` naming the first piece where teacher and student shapes differ."""
    modes = [(m, m.training) for m in (teacher, student)]
    teacher.eval()
    student.eval()
    try:
        cuts, t_logits = teacher_forward(teacher, x, plan)
        h = student.stem(x)
        if plan.teacher_input and _shape(h) != _shape(cuts[0]):
            raise AlignmentError(_mismatch("stem", cuts[0], h))
        starts = plan.segment_starts() if plan.teacher_input else []
        for j, piece in enumerate(plan.student_pieces):
            if j in starts and j > 0 and _shape(h) != _shape(cuts[j]):
                raise AlignmentError(_mismatch(f"input of {plan.names[j]}", cuts[j], h))
            try:
                h = piece(h)
            except RuntimeError as err:
                raise AlignmentError(
                    f"{plan.names[j]}: the student's piece fails on input shape {_shape(h)}: {err}"
                ) from err
            if j in plan.ir_at and _shape(h) != _shape(cuts[j + 1]):
                raise AlignmentError(_mismatch(plan.names[j], cuts[j + 1], h))
        if check_logits:
            s_logits = student.head(h)
            if _shape(s_logits) != _shape(t_logits):
                raise AlignmentError(_mismatch("logits", t_logits, s_logits))
    finally:
        for m, was_training in modes:
            m.train(was_training)


def _mismatch(where: str, t: torch.Tensor, s: torch.Tensor) -> str:
    return (
        f"{where}: teacher output {_shape(t)} vs student {_shape(s)}; teacher and student must "
        "produce the same shapes at every stage boundary LIT compares"
    )


def check_alignment(teacher: nn.Module, student: nn.Module, x: torch.Tensor) -> None:
    """Check that stem, every stage and the logits of teacher and student have equal shapes.

    Args:
        teacher: the staged teacher.
        student: the staged student.
        x: an input batch (two examples are enough); nothing is trained.

    Returns:
        None; raises instead when the pair does not line up.

    Raises:
        AlignmentError: names the first stage (or the logits) whose shapes differ.

    Examples:
        >>> import torch
        >>> from lit_models import create_model
        >>> check_alignment(create_model("resnet20", img_size=8), create_model("resnet8", img_size=8),
        ...                 torch.randn(2, 3, 8, 8))
    """
    check_plan_alignment(teacher, student, make_plan(teacher, student, "all", True), x)
