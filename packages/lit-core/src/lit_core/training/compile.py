"""``train.compile``: the frozen teacher's forward, or the whole step, under ``torch.compile``.

* ``"off"``: eager (the default).
* ``"teacher"``: the teacher's forward (its inference copy under bf16/fp16) compiled as one
  graph. On CUDA with ``mode="reduce-overhead"``, so it is also CUDA-graphed at the fixed batch
  size: one graph replay per step instead of one launch per kernel; on CPU with the default mode
  (CUDA graphs do not exist there). ``lit.teacher_forward`` calls the teacher's ``stem``, each
  plan piece and ``head`` in turn; compiling those one by one would give one graph per piece (and
  Dynamo stops compiling after 8 differently shaped ``Sequential``s, so a block plan would fall
  back to eager), so ``compile_teacher`` returns a stand-in whose ``stem`` runs the whole compiled
  forward once and whose pieces and ``head`` hand out the cuts it computed (see ``_OneCallTeacher``).
* ``"step"``: the objective (teacher forward, student forward, eqs. 1-3, loss scale) is one
  compiled region, so AOTAutograd also compiles its backward; the SGD update is compiled
  separately (``torch.compile`` of ``optimizer.step``). What stays eager, and why: ``.backward()``
  itself (a graph break in Dynamo; it runs the compiled backward graph), the non-finite flag (one
  device op) and, for fp16, the ``GradScaler`` (its ``step`` reads ``found_inf`` on the host
  before calling ``optimizer.step``, so the optimizer stays eager there). One CUDA graph of the
  whole step (forward + backward + update) would additionally need: the update captured with it
  (SGD has no ``capturable`` flag, but a compiled ``optimizer.step`` with the learning rate held
  as a device tensor can be graphed; a Python-float lr changed by the scheduler recompiles at each
  milestone instead), the momentum buffers allocated before capture (they are created lazily by
  the first step), a static input batch, and no host sync inside (fp16's scaler has one), so it is
  not done here.

All of this is checked on CPU only (same losses and weights as ``"off"`` within float rounding);
no CUDA run has been made. ``"step"`` is refused under DDP (not tested: DDP's bucketed gradient
hooks split a compiled graph) and ``"teacher"`` works under DDP (the teacher is not wrapped).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from ..method.lit import IRPlan, teacher_forward
from .config import COMPILE_MODES

__all__ = [
    "COMPILE_MODES", "compile_options", "compile_teacher", "compiled", "mark_step_begin",
]


def compile_options(device: torch.device) -> dict[str, Any]:
    """``torch.compile`` arguments for ``device``: CUDA graphs (``reduce-overhead``) on CUDA,
    the default mode elsewhere; shapes static (the batch size is fixed, the last short batch of
    an epoch compiles once more)."""
    mode = "reduce-overhead" if device.type == "cuda" else "default"
    return {"mode": mode, "dynamic": False}


def compiled(fn: Callable, device: torch.device) -> Callable:
    """``torch.compile(fn)`` with ``compile_options(device)``."""
    return torch.compile(fn, **compile_options(device))


class _OneCallTeacher(nn.Module):
    """A teacher for ``lit.lit_step`` whose forward is one compiled call.

    With a plan, ``lit.teacher_forward`` calls ``stem(x)``, then each plan piece, then ``head``:
    here ``stem`` runs the compiled ``teacher_forward`` of the real teacher once and returns T̃_0,
    piece j returns T̃_{j+1} and ``head`` the logits (then the held outputs are released). Without
    a plan, calling it runs the compiled teacher.
    """

    def __init__(self, teacher: nn.Module, plan: IRPlan | None, device: torch.device):
        super().__init__()
        self.teacher = teacher

        def all_outputs(x: torch.Tensor) -> tuple[list[torch.Tensor] | None, torch.Tensor]:
            return teacher_forward(teacher, x, plan)

        self._forward = compiled(all_outputs, device)
        self.stem = _Hand(self, 0, first=True)
        self.head = _Hand(self, -1)
        self.pieces = [_Hand(self, j + 1) for j in range(len(plan.teacher_pieces))] if plan else []
        self._held: tuple[list[torch.Tensor], torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(x)[1]


class _Hand(nn.Module):
    """One output of ``_OneCallTeacher``'s compiled forward: cut ``index`` (-1: the logits)."""

    def __init__(self, owner: _OneCallTeacher, index: int, first: bool = False):
        super().__init__()
        self._owner = [owner]  # a list, so the owner is not registered as a submodule (a cycle)
        self.index, self.first = index, first

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        owner = self._owner[0]
        if self.first:
            owner._held = owner._forward(h)
        if owner._held is None:
            raise RuntimeError("the compiled teacher's pieces must be called after its stem")
        cuts, logits = owner._held
        if self.index == -1:
            owner._held = None
            return logits
        return cuts[self.index]


def compile_teacher(
    teacher: nn.Module, plan: IRPlan | None, device: torch.device
) -> tuple[nn.Module, IRPlan | None]:
    """A teacher and plan for ``lit.lit_step`` whose teacher forward runs as one compiled call.
    The teacher (and its weights) are shared, not copied; compilation happens at the first call."""
    runner = _OneCallTeacher(teacher, plan, device)
    if plan is None:
        return runner, None
    return runner, dataclasses.replace(plan, teacher_pieces=list(runner.pieces))


def mark_step_begin(device: torch.device) -> None:
    """Tell CUDA-graph trees a new step starts (outputs of the last replay may be overwritten)."""
    if device.type == "cuda":
        torch.compiler.cudagraph_mark_step_begin()
