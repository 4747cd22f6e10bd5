"""Every method as a configuration of the same two-phase machinery (no separate scripts).

A method has an optional *IR phase* (intermediate-representation losses, eq. 3, mixed with KD by
β, eq. 1) and an *end-to-end phase* (KD, eq. 2, or cross-entropy). The IR phase is described by
where the IR losses sit (every stage boundary, only the last, only the middle one, or between
residual blocks) and whether each student piece is fed the teacher's previous output.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["IR_POSITIONS", "METHODS", "MethodConfig", "get_method", "student_architecture"]

#: Where a method's IR losses sit: every stage boundary, the last, the middle one (FitNets' hint),
#: or between groups of residual blocks.
IR_POSITIONS = ("all", "last", "middle", "blocks")


@dataclass(frozen=True)
class MethodConfig:
    """One training method.

    Attributes:
        name: the method's name (a key of ``METHODS``).
        ir_phase: whether an IR phase precedes the end-to-end phase.
        ir_at: where the IR losses sit: ``"all"`` stage boundaries, the ``"last"`` one, the
            ``"middle"`` one (FitNets' hint), or ``"blocks"`` (between groups of residual blocks).
        teacher_input: feed each student piece the teacher's previous output T̃_{i−1} (LIT);
            otherwise the student runs from its own stem.
        ir_beta: β for the IR phase; ``None`` uses ``TrainConfig.beta``, ``0.0`` is IR only.
        final_loss: ``"kd"`` or ``"ce"`` for the end-to-end phase.
        copy_stem_head: copy the teacher's stem and head into the student before training
            (still switchable off with ``TrainConfig.copy_stem_head``).
        same_architecture: the student must have the teacher's architecture (born-again).
    """

    name: str
    ir_phase: bool = False
    ir_at: str = "all"
    teacher_input: bool = True
    ir_beta: float | None = None
    final_loss: str = "kd"
    copy_stem_head: bool = False
    same_architecture: bool = False

    def __post_init__(self) -> None:
        if self.final_loss not in ("kd", "ce"):
            raise ValueError(f"final_loss must be 'kd' or 'ce'; got {self.final_loss!r}")
        if self.ir_at not in IR_POSITIONS:
            raise ValueError(f"ir_at must be one of {', '.join(IR_POSITIONS)}; got {self.ir_at!r}")
        if self.ir_beta is not None and not 0.0 <= self.ir_beta <= 1.0:
            raise ValueError(f"ir_beta must be in [0, 1]; got {self.ir_beta}")

    @property
    def needs_teacher(self) -> bool:
        """Whether training uses a teacher at all (``scratch`` does not)."""
        return self.ir_phase or self.final_loss == "kd"


METHODS: dict[str, MethodConfig] = {
    m.name: m
    for m in (
        MethodConfig("lit", ir_phase=True, ir_at="all", teacher_input=True, copy_stem_head=True),
        MethodConfig("kd"),
        MethodConfig("scratch", final_loss="ce"),
        MethodConfig("fitnets", ir_phase=True, ir_at="middle", teacher_input=False, ir_beta=0.0),
        MethodConfig("born_again", same_architecture=True),
        # Table 4 ablations
        MethodConfig(
            "lit_single_ir", ir_phase=True, ir_at="last", teacher_input=True, copy_stem_head=True
        ),
        MethodConfig(
            "lit_block_ir", ir_phase=True, ir_at="blocks", teacher_input=True, copy_stem_head=True
        ),
        MethodConfig(
            "ir_no_teacher_input", ir_phase=True, ir_at="all", teacher_input=False,
            copy_stem_head=True,
        ),
    )
}


def get_method(method: str | MethodConfig) -> MethodConfig:
    """Look a method up by name (a ``MethodConfig`` passes through); unknown → ``ValueError``."""
    if isinstance(method, MethodConfig):
        return method
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")
    return METHODS[method]


def student_architecture(method: str | MethodConfig, teacher: str, student: str) -> str:
    """The student model name to build for ``method`` (born-again uses the teacher's)."""
    return teacher if get_method(method).same_architecture else student
