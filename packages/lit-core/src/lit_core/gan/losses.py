"""The StarGAN objective (Choi et al. 2018), as the paper's code computes it.

D: −E[D_src(x)] + E[D_src(G(x, c))] + λ_cls·L_cls(D_cls(x), c_org) + λ_gp·GP   (WGAN-GP)
G: −E[D_src(G(x, c))] + λ_cls·L_cls(D_cls(G(x, c)), c) + λ_rec·‖x − G(G(x, c), c_org)‖₁

L_cls is binary cross-entropy summed over attributes and averaged over the batch for
multi-label domains (CelebA), softmax cross-entropy for single-label domains (RaFD, classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["GanWeights", "d_loss", "domain_loss", "g_loss", "gradient_penalty", "tile_domain", "translate"]


@dataclass(frozen=True)
class GanWeights:
    """λ_cls, λ_rec, λ_gp (the paper's code: 1, 10, 10)."""

    cls: float = 1.0
    rec: float = 10.0
    gp: float = 10.0


def tile_domain(image: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """G's input: ``image (B, C, H, W)`` with ``label (B, c_dim)`` tiled as extra channels.

    The same conditioning as ``lit_models.tile_domain`` (lit-core does not import the zoo).
    """
    maps = label.to(image.dtype)[:, :, None, None].expand(-1, -1, *image.shape[2:])
    return torch.cat([image, maps], dim=1)


def translate(g: nn.Module, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """G(x, c): the image with the target domain tiled as extra channels, through G."""
    return g(tile_domain(x, c))


def domain_loss(logits: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """L_cls: BCE summed over attributes / batch (``multi``), or softmax CE (``single``)."""
    if kind == "multi":
        return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / logits.shape[0]
    return F.cross_entropy(logits, target.argmax(dim=1))


def gradient_penalty(d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: E[(‖∇_x̂ D_src(x̂)‖₂ − 1)²] on random interpolates x̂ of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    src, _ = d(x_hat)
    (grad,) = torch.autograd.grad(src, x_hat, torch.ones_like(src), create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def d_loss(
    g: nn.Module, d: nn.Module, x: torch.Tensor, c_org: torch.Tensor, c_trg: torch.Tensor,
    kind: str, w: GanWeights,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The discriminator's loss on one batch and its parts (for logging)."""
    src_real, cls_real = d(x)
    with torch.no_grad():
        fake = translate(g, x, c_trg)
    src_fake, _ = d(fake)
    real, fake_term = -src_real.mean(), src_fake.mean()
    cls = domain_loss(cls_real, c_org, kind)
    gp = gradient_penalty(d, x, fake)
    total = real + fake_term + w.cls * cls + w.gp * gp
    return total, {"D/real": real.item(), "D/fake": fake_term.item(), "D/cls": cls.item(), "D/gp": gp.item()}


def g_loss(
    g: nn.Module, d: nn.Module, x: torch.Tensor, c_org: torch.Tensor, c_trg: torch.Tensor,
    kind: str, w: GanWeights,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The generator's loss on one batch: adversarial + domain + cycle reconstruction."""
    fake = translate(g, x, c_trg)
    src, cls_logits = d(fake)
    adv = -src.mean()
    cls = domain_loss(cls_logits, c_trg, kind)
    rec = (x - translate(g, fake, c_org)).abs().mean()
    total = adv + w.cls * cls + w.rec * rec
    return total, {"G/fake": adv.item(), "G/cls": cls.item(), "G/rec": rec.item()}
