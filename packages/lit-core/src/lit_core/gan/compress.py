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
from ..method.lit import StudentForward, lit_step
from ..method.losses import LITLoss
from ..method.sections import copy_uncompressed, parse_sections, section_plan
from .data import DomainData, target_labels
from .losses import tile_domain

__all__ = [
    "copy_uncompressed",
    "freeze_outside",
    "parse_sections",
    "section_plan",
    "train_section",
]


def freeze_outside(student: nn.Module, sections: list[int]) -> list[nn.Parameter]:
    """Freeze every parameter outside ``sections``; return the sections' (trainable) parameters."""
    for p in student.parameters():
        p.requires_grad_(False)
    params = [p for i in sections for p in student.stages[i].parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


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
