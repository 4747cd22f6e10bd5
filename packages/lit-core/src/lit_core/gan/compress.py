"""Compress a StarGAN generator section by section: LIT (β = 0), L2 on the output, and the copies.

The paper's code (``lit-code/stargan/solver.py``): the student generator gets the teacher's
down-sampling (``stem``) and up-sampling (``head``) layers, frozen; only the bottleneck section
(here: the stages named in ``sections``) is trained, with Adam on
    eq. 3, β = 0:  MSE( S_section(T̃_in), T̃_out )
where T̃_in / T̃_out are the teacher's activations entering / leaving that section. Every
stage that is not compressed is copied from the teacher and frozen too. Then the whole student
is fine-tuned with the StarGAN objective (``train.train_gan``). The ``l2`` method (the paper's
"KD analogue") trains the same section on MSE(student G(x, c), teacher G(x, c)) instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError
from ..lit import IRPlan, StudentForward, lit_step, make_plan
from ..losses import LITLoss
from .data import DomainData, target_labels
from .losses import tile_domain

__all__ = [
    "copy_uncompressed",
    "freeze_outside",
    "parse_sections",
    "section_plan",
    "train_section",
]


def parse_sections(model: nn.Module, sections: list[str | int]) -> list[int]:
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
            raise ConfigError(f"section {text!r} does not exist; the generator's stages are {names}")
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
    for name in parts:
        t, s = teacher.get_submodule(name), student.get_submodule(name)
        t_sd, s_sd = t.state_dict(), s.state_dict()
        if t_sd.keys() != s_sd.keys() or any(t_sd[k].shape != s_sd[k].shape for k in t_sd):
            raise ConfigError(f"{name} is not compressed but the student's differs from the teacher's; "
                             "list it in models.sections or give it the teacher's block count")
        s.load_state_dict(t_sd)
    return parts


def freeze_outside(student: nn.Module, sections: list[int]) -> list[nn.Parameter]:
    """Freeze every parameter outside ``sections``; return the sections' (trainable) parameters."""
    for p in student.parameters():
        p.requires_grad_(False)
    params = [p for i in sections for p in student.stages[i].parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


def section_plan(teacher: nn.Module, student: nn.Module, sections: list[int]) -> IRPlan:
    """lit_core's IR plan with IR losses at the compressed sections only (fed the teacher's input)."""
    plan = make_plan(teacher, student, ir_at="all", teacher_input=True)
    plan.ir_at = list(sections)
    return plan


def train_section(
    method: str,
    teacher: nn.Module,
    student: nn.Module,
    sections: list[int],
    data: DomainData,
    *,
    steps: int,
    lr: float,
    betas: tuple[float, float] = (0.5, 0.999),
    batch_size: int = 16,
    seed: int = 0,
    device: torch.device | str = "cpu",
    log: Callable[[dict], None] | None = None,
    log_every: int = 100,
) -> list[dict]:
    """Train the student's ``sections`` for ``steps`` Adam steps (everything else frozen).

    ``method="lit"``: β = 0 LIT, the IR loss at each section on the teacher's input (eq. 3);
    ``method="l2"``: MSE between the student's and the teacher's translated images.
    """
    if method not in ("lit", "l2"):
        raise ConfigError(f"section training method must be 'lit' or 'l2'; got {method!r}")
    device = torch.device(device)
    teacher.to(device).train()  # StarGAN's G always uses instance statistics (never eval())
    student.to(device).train()
    for p in teacher.parameters():
        p.requires_grad_(False)
    params = freeze_outside(student, sections)
    opt = torch.optim.Adam(params, lr, betas=betas)
    plan = section_plan(teacher, student, sections)
    forward = StudentForward(student, plan)
    objective = LITLoss(beta=0.0, ir_kind="l2")  # β = 0: IR only, as in the paper's code
    gen = torch.Generator().manual_seed(seed)
    batches = data.train.batches(batch_size, gen)
    history, t0 = [], time.perf_counter()
    for step in range(steps):
        x, c_org = next(batches)
        c_trg = target_labels(c_org, data.kind, gen)
        inp = tile_domain(x.to(device), c_trg.to(device))
        if method == "lit":
            dummy = torch.zeros(len(x), dtype=torch.long, device=device)
            parts, _ = lit_step(teacher, forward, plan, objective, inp, dummy)
            loss = parts.total
        else:
            with torch.no_grad():
                target = teacher(inp)
            loss = F.mse_loss(student(inp), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % log_every == 0 or step + 1 == steps:
            rec = {"step": step + 1, "seconds": round(time.perf_counter() - t0, 2), f"{method}_loss": round(loss.item(), 6)}
            history.append(rec)
            if log is not None:
                log(rec)
    for p in student.parameters():
        p.requires_grad_(True)
    return history
