"""The LIT method: what it computes, independent of how it is trained.

``staged`` (the stage Protocol a model must have), ``losses`` (eqs. 1–3: KD, IR, LIT),
``wrap`` (``as_staged``: any model gets that interface by module names, keeping its state-dict
keys), ``lit`` (the LIT step, IR plans, stem/head copying, alignment checks), ``methods`` (every
method as a configuration of the same two phases), ``sections`` (compressing only some stages),
and the baselines' parts: ``logit_losses`` (DKD, DIST) and ``depth_prune`` (students from teacher
blocks).
Imports nothing from the rest of lit-core but ``errors``.
"""

from .depth_prune import init_from_teacher_blocks, kept_blocks
from .lit import (
    IRPlan,
    StudentForward,
    check_alignment,
    check_plan_alignment,
    copy_stem_and_head,
    lit_step,
    make_plan,
    teacher_forward,
)
from .logit_losses import DISTLoss, DKDLoss
from .losses import (
    DEFAULT_ALPHA,
    DEFAULT_BETA,
    DEFAULT_TEMPERATURE,
    IR_KINDS,
    IRLoss,
    KDLoss,
    LITLoss,
    LogitLoss,
    LossParts,
    check_temperature,
    check_unit_interval,
)
from .methods import IR_POSITIONS, METHODS, MethodConfig, get_method, student_architecture
from .sections import copy_stages, copy_uncompressed, parse_sections, section_plan
from .staged import StagedModel, StageInterfaceError, require_staged, stage_outputs
from .wrap import StagedWrapper, as_staged, unwrap

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_TEMPERATURE",
    "IR_KINDS",
    "IR_POSITIONS",
    "METHODS",
    "DISTLoss",
    "DKDLoss",
    "IRLoss",
    "IRPlan",
    "KDLoss",
    "LITLoss",
    "LogitLoss",
    "LossParts",
    "MethodConfig",
    "StageInterfaceError",
    "StagedModel",
    "StagedWrapper",
    "StudentForward",
    "as_staged",
    "check_alignment",
    "check_plan_alignment",
    "check_temperature",
    "check_unit_interval",
    "copy_stages",
    "copy_stem_and_head",
    "copy_uncompressed",
    "get_method",
    "init_from_teacher_blocks",
    "kept_blocks",
    "lit_step",
    "make_plan",
    "parse_sections",
    "require_staged",
    "section_plan",
    "stage_outputs",
    "student_architecture",
    "teacher_forward",
    "unwrap",
]
