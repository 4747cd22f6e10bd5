"""Depth pruning: the student built from some of the teacher's own residual blocks.

The strongest simple alternative to LIT (the depth-pruning + distillation recipe of NVIDIA's
Minitron / ModelOpt and of layer-pruning work such as LayerMerge, ICML 2024): keep some of the
trained teacher's blocks in every stage, drop the rest, and fine-tune what is left with KD. The
``depth_prune`` method initialises the configured student (e.g. resnet8 for a resnet56 teacher)
from those blocks, with the teacher's stem and head, then trains it with KD.

**Which blocks (a fixed, data-free rule).** In a stage of ``n`` teacher blocks a student stage of
``m`` blocks keeps blocks ``floor(i·(n−1)/(m−1) + 1/2)`` for i = 0 … m−1: always the stage's
**first** block, which carries the stride and the channel change (no other block can take its
place without a shape change), and the others evenly spaced up to the last (``m = 1`` keeps the
first only). Why not a score such as each block's residual norm on a calibration batch: it
needs data and a choice of batch, and its ranking changes with both, while the evenly spaced
rule is deterministic, reproducible from the two architectures alone and already the usual
baseline of the layer-pruning literature; a score-based selection can be added beside it.
Dropping a block with an identity shortcut from a post-activation ResNet is exact where its
residual branch is zero (ReLU(0 + x) = x for x ≥ 0), so the pruned student's forward equals the
teacher's with those branches zeroed (tested).
"""

from __future__ import annotations

import math

import torch.nn as nn

from ..errors import AlignmentError
from .staged import require_staged

__all__ = ["init_from_teacher_blocks", "kept_blocks", "kept_blocks_per_stage"]


def kept_blocks(n_teacher: int, n_student: int) -> list[int]:
    """The teacher block indices a student stage of ``n_student`` blocks keeps (see module doc)."""
    if not 1 <= n_student <= n_teacher:
        raise AlignmentError(f"depth pruning keeps 1 to {n_teacher} of the stage's {n_teacher} "
                             f"teacher blocks; the student stage has {n_student}")
    if n_student == 1:
        return [0]
    step = (n_teacher - 1) / (n_student - 1)
    return [math.floor(i * step + 0.5) for i in range(n_student)]


def _stages(model: nn.Module, role: str) -> list[nn.Sequential]:
    stages = list(require_staged(model, role).stages)
    for i, stage in enumerate(stages):
        if not isinstance(stage, nn.Sequential):
            raise AlignmentError(f"depth pruning keeps blocks of each stage: the {role}'s stage {i} "
                                 f"is a {type(stage).__name__}, not an nn.Sequential of blocks")
    return stages


def kept_blocks_per_stage(teacher: nn.Module, student: nn.Module) -> list[list[int]]:
    """For every stage, the teacher blocks the student keeps; ``AlignmentError`` naming the first
    stage/block whose shapes do not allow it (stage counts, block counts, block structure)."""
    t_stages, s_stages = _stages(teacher, "teacher"), _stages(student, "student")
    if len(t_stages) != len(s_stages):
        raise AlignmentError(f"depth pruning: the teacher has {len(t_stages)} stages but the "
                             f"student has {len(s_stages)}; it keeps blocks stage by stage")
    kept = []
    for i, (t_stage, s_stage) in enumerate(zip(t_stages, s_stages, strict=True)):
        if len(s_stage) > len(t_stage):
            raise AlignmentError(f"depth pruning: stage {i} of the student has {len(s_stage)} "
                                 f"blocks, more than the teacher's {len(t_stage)}")
        idx = kept_blocks(len(t_stage), len(s_stage))
        for j, k in enumerate(idx):
            t_sd, s_sd = t_stage[k].state_dict(), s_stage[j].state_dict()
            same = (repr(t_stage[k]) == repr(s_stage[j]) and t_sd.keys() == s_sd.keys()
                    and all(t_sd[n].shape == s_sd[n].shape for n in t_sd))
            if not same:
                raise AlignmentError(
                    f"depth pruning: student block stages.{i}.{j} differs in structure or shapes "
                    f"from the teacher block stages.{i}.{k} it would be copied from; the student "
                    "must have the teacher's widths and block type (only fewer blocks per stage)")
        kept.append(idx)
    return kept


def init_from_teacher_blocks(teacher: nn.Module, student: nn.Module) -> list[str]:
    """Copy the kept teacher blocks into the student's stages; returns the copied tensor names
    (``stages.i.j.…``, the student's names). Stem and head are copied separately."""
    copied = []
    kept = kept_blocks_per_stage(teacher, student)
    for i, idx in enumerate(kept):
        t_stage, s_stage = teacher.stages[i], student.stages[i]
        for j, k in enumerate(idx):
            sd = t_stage[k].state_dict()
            s_stage[j].load_state_dict(sd)
            copied += [f"stages.{i}.{j}.{n}" for n in sd]
    return copied
