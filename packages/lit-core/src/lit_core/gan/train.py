"""StarGAN training with the StarGAN objective: the teacher, the scratch student, the fine-tuning.

The loop follows the paper's code (``lit-code/stargan/solver.py``): every iteration one D step
on WGAN-GP + domain classification, every ``n_critic``-th iteration one G step (adversarial +
domain + cycle reconstruction); Adam(β₁ = 0.5, β₂ = 0.999); target domains are the batch's
own labels permuted. The learning rates decay linearly to zero over the last ``decay_iters``
iterations (the intent of the authors' schedule; their code's decrement is 1/1000 of that).
Generators stay in train mode throughout, as in the authors' code (see ``lit_models.stargan``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import ConfigError
from ..io.checkpoint import capture_rng_state, load_checkpoint, restore_rng_state, save_atomic
from .data import DomainData, target_labels
from .losses import GanWeights, d_loss, g_loss

__all__ = ["GanSchedule", "train_gan"]


@dataclass(frozen=True)
class GanSchedule:
    """One StarGAN training run's schedule (defaults: the paper's code, except ``iters``)."""

    iters: int = 200_000
    decay_iters: int = 100_000
    batch_size: int = 16
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 5
    log_every: int = 50
    save_every: int = 500

    @classmethod
    def from_table(cls, table: dict) -> GanSchedule:
        """Build from a TOML table; unknown keys are an error naming the accepted ones."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - names)
        if unknown:
            raise ConfigError(f"unknown training setting(s) {', '.join(unknown)}; accepted: {', '.join(sorted(names))}")
        return cls(**table)

    def lr_scale(self, i: int) -> float:
        """Learning-rate factor at iteration ``i``: 1, then linear to 0 over the last ``decay_iters``."""
        if self.decay_iters <= 0:
            return 1.0
        return min(1.0, (self.iters - i) / self.decay_iters)


def _adam(params: Iterable[nn.Parameter], lr: float, s: GanSchedule) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr, betas=(s.beta1, s.beta2))


def train_gan(
    g: nn.Module,
    d: nn.Module,
    data: DomainData,
    sched: GanSchedule,
    weights: GanWeights,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    ckpt_path: Path | None = None,
    resume: bool = False,
    log: Callable[[dict], None] | None = None,
    train_d: bool = True,
) -> list[dict]:
    """Train G and D with the StarGAN objective; returns the logged history (one dict per log).

    Only G's parameters with ``requires_grad`` are updated. ``train_d=False`` keeps D fixed (no D
    step; G still steps every ``n_critic``-th iteration, so G gets as many updates as with a
    trained D). D's ``requires_grad`` flags are set for the run (all on, or all off for a fixed
    D) and restored as they were on return, also on an error. With ``ckpt_path`` the state is
    saved every ``save_every`` iterations and at the end; ``resume`` continues from it.
    """
    flags = [p.requires_grad for p in d.parameters()]
    d.requires_grad_(train_d)  # a fixed D still passes gradients to G, never to itself
    try:
        return _train(g, d, data, sched, weights, seed=seed, device=device, ckpt_path=ckpt_path,
                      resume=resume, log=log, train_d=train_d)
    finally:
        for p, flag in zip(d.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def _train(g: nn.Module, d: nn.Module, data: DomainData, sched: GanSchedule, weights: GanWeights,
           *, seed: int, device: torch.device | str, ckpt_path: Path | None, resume: bool,
           log: Callable[[dict], None] | None, train_d: bool) -> list[dict]:
    """``train_gan``'s loop, with D's ``requires_grad`` already set for ``train_d``."""
    device = torch.device(device)
    g.to(device).train()
    d.to(device).train()
    g_opt = _adam([p for p in g.parameters() if p.requires_grad], sched.g_lr, sched)
    d_opt = _adam(d.parameters(), sched.d_lr, sched)
    start, history = 0, []
    torch.manual_seed(seed)
    if resume and ckpt_path is not None and ckpt_path.is_file():
        ck = load_checkpoint(ckpt_path)
        g.load_state_dict(ck["g"])
        d.load_state_dict(ck["d"])
        g_opt.load_state_dict(ck["g_opt"])
        d_opt.load_state_dict(ck["d_opt"])
        start, history = int(ck["iter"]), list(ck["history"])
        restore_rng_state(ck["rng"])
    gen = torch.Generator().manual_seed(seed * 100_003 + start)
    batches = data.train.batches(sched.batch_size, gen)
    # "seconds" in the history counts training time across resumed sessions
    t0, parts = time.perf_counter() - (history[-1]["seconds"] if history else 0.0), {}

    def save(i: int) -> None:
        if ckpt_path is not None:
            save_atomic({"g": g.state_dict(), "d": d.state_dict(), "g_opt": g_opt.state_dict(),
                         "d_opt": d_opt.state_dict(), "iter": i, "history": history,
                         "rng": capture_rng_state()}, ckpt_path)

    for i in range(start, sched.iters):
        scale = sched.lr_scale(i)
        for opt, lr in ((g_opt, sched.g_lr), (d_opt, sched.d_lr)):
            for group in opt.param_groups:
                group["lr"] = lr * scale
        x, c_org = next(batches)
        x, c_org = x.to(device), c_org.to(device)
        c_trg = target_labels(c_org, data.kind, gen)
        loss = None
        if train_d:  # D step, every iteration
            loss, d_parts = d_loss(g, d, x, c_org, c_trg, data.kind, weights)
            d_opt.zero_grad(set_to_none=True)
            loss.backward()
            d_opt.step()
            parts.update(d_parts)
        if (i + 1) % sched.n_critic == 0:  # G step, every n_critic-th iteration
            loss, g_parts = g_loss(g, d, x, c_org, c_trg, data.kind, weights)
            g_opt.zero_grad(set_to_none=True)
            d_opt.zero_grad(set_to_none=True)
            loss.backward()
            g_opt.step()
            parts.update(g_parts)
        if loss is not None and not torch.isfinite(loss):
            raise FloatingPointError(f"StarGAN loss is {loss.item()} at iteration {i + 1}; lower the learning rates")
        if (i + 1) % sched.log_every == 0 or i + 1 == sched.iters:
            rec = {"iter": i + 1, "seconds": round(time.perf_counter() - t0, 2), "lr_scale": round(scale, 4),
                   **{k: round(v, 5) for k, v in parts.items()}}
            history.append(rec)
            if log is not None:
                log(rec)
        if (i + 1) % sched.save_every == 0:
            save(i + 1)
    save(sched.iters)
    return history
