"""Compress only part of a network: the chosen *sections* (stages) are trained, every other stage
is copied from the teacher and kept frozen while the sections learn (Secs. 1, 3 of the paper).

Used by classifiers (``train.sections``) and by the StarGAN generator (``models.sections``).
"""

from __future__ import annotations

import torch.nn as nn

from ..errors import ConfigError
from .lit import IRPlan, make_plan

__all__ = ["copy_stages", "copy_uncompressed", "parse_sections", "section_plan"]


def parse_sections(model: nn.Module, sections: list[str | int], what: str = "model") -> list[int]:
    """Stage indices of ``sections`` (``"stages.1"`` or ``1``); one clear error for a bad name."""
    n = len(model.stages)
    names = ", ".join(f"stages.{i}" for i in range(n))
    if not sections:
        raise ConfigError(f"models.sections is empty; name the compressed stage(s): {names}")
    out = []
    for s in sections:
        text = str(s)
        idx = text.removeprefix("stages.")
        if not idx.isdigit() or int(idx) >= n:
            raise ConfigError(f"section {text!r} does not exist; the {what}'s stages are {names}")
        out.append(int(idx))
    return sorted(set(out))


def copy_uncompressed(teacher: nn.Module, student: nn.Module, sections: list[int]) -> list[str]:
    """Copy the teacher's stem, head and every stage outside ``sections`` into the student.

    Returns the copied module names; a non-compressed stage whose shape differs is an error.
    """
    if len(teacher.stages) != len(student.stages):
        raise ConfigError(f"teacher has {len(teacher.stages)} stages but the student {len(student.stages)}; "
                         "models.teacher_blocks and models.student_blocks need one count per stage each")
    parts = ["stem", "head"] + [f"stages.{i}" for i in range(len(student.stages)) if i not in sections]
    copy_stages(teacher, student, parts)
    return parts


def copy_stages(teacher: nn.Module, student: nn.Module, parts: list[str]) -> list[str]:
    """Copy the teacher's modules ``parts`` (``"stem"``, ``"stages.2"``…) into the student; a part
    whose shapes differ is an error naming it. Returns the copied tensor names."""
    copied = []
    for name in parts:
        t, s = teacher.get_submodule(name), student.get_submodule(name)
        t_sd, s_sd = t.state_dict(), s.state_dict()
        if t_sd.keys() != s_sd.keys() or any(t_sd[k].shape != s_sd[k].shape for k in t_sd):
            raise ConfigError(f"{name} is not compressed but the student's differs from the teacher's; "
                             "list it among the sections or give it the teacher's block count")
        s.load_state_dict(t_sd)
        copied += [f"{name}.{k}" for k in t_sd]
    return copied


def section_plan(teacher: nn.Module, student: nn.Module, sections: list[int]) -> IRPlan:
    """lit_core's IR plan with IR losses at the compressed sections only (fed the teacher's input)."""
    plan = make_plan(teacher, student, ir_at="all", teacher_input=True)
    plan.ir_at = list(sections)
    return plan


