"""Unstructured magnitude pruning with retraining (Han et al. 2015), for students and teachers.

One mechanism, used by lit-core's Fig. 6 study and by lit-bench's pruned baselines:

- ``magnitude_masks(model, sparsity, scope)``: 0/1 masks zeroing the smallest-|w| fraction
  ``sparsity`` of the prunable weights (every conv and linear ``weight``; biases and BN stay),
  ranked over the whole network (``scope="global"``) or within each layer (``"layer"``).
  Weights that are already zero rank lowest, so masks only ever grow: iterative pruning works.
- ``apply_masks`` attaches them with ``torch.nn.utils.prune`` (``weight = weight_orig * mask``
  recomputed before every forward), so the zeros stay zero while the model is retrained by any
  optimiser; ``make_permanent`` folds them into plain dense weights.
- ``nonzero_masks(model, target)`` / ``prune_to_nonzero(model, target)``: masks for, or a
  pruned permanent copy with, exactly ``target`` nonzero parameters (global magnitude; what
  lit-bench's ``unstructured_prune`` does — attach the masks to fine-tune without regrowth).
- ``iterative_prune(model, sparsities, retrain)``: Han et al.'s loop — prune to the next
  sparsity, retrain with the mask applied, record, go on — with the same ``retrain`` (hence the
  same budget) for every model. The Fig. 6 study built on it (several students, its table and
  plot) is ``lit_core.studies.pruning``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.utils.prune as tprune

__all__ = [
    "apply_masks",
    "count_nonzero",
    "iterative_prune",
    "magnitude_masks",
    "make_permanent",
    "nonzero_masks",
    "prunable_weights",
    "prune_to_nonzero",
    "sparsity_of",
]

SCOPES = ("global", "layer")
RetrainFn = Callable[[nn.Module, str], Mapping[str, Any]]


def prunable_weights(model: nn.Module) -> dict[str, nn.Module]:
    """Module name → module, for every conv and linear layer (their ``weight`` gets pruned)."""
    return {n: m for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def _effective_weight(m: nn.Module) -> torch.Tensor:
    return m.weight.detach()  # with a prune hook attached, this is weight_orig * mask


def count_nonzero(model: nn.Module) -> int:
    """Parameter elements that are not exactly zero, counting pruned weights as zero."""
    total = 0
    for name, p in model.named_parameters():
        if name.endswith("weight_orig"):
            mod = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            p = _effective_weight(mod)
        total += int(torch.count_nonzero(p))
    return total


def sparsity_of(model: nn.Module) -> float:
    """The fraction of prunable weights that are zero."""
    mods = prunable_weights(model).values()
    n = sum(m.weight.numel() for m in mods)
    return sum(int((_effective_weight(m) == 0).sum()) for m in mods) / n


@torch.no_grad()
def magnitude_masks(model: nn.Module, sparsity: float, scope: str = "global") -> dict[str, torch.Tensor]:
    """Masks (1 keep, 0 prune) zeroing the ``sparsity`` fraction of smallest-|w| prunable weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1); got {sparsity}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}; got {scope!r}")
    mods = prunable_weights(model)
    if not mods:
        raise ValueError(f"{type(model).__name__} has no conv or linear layers to prune")
    weights = {n: _effective_weight(m).abs() for n, m in mods.items()}
    if scope == "layer":
        return {n: _keep_largest(w, round(sparsity * w.numel())) for n, w in weights.items()}
    flat = torch.cat([w.flatten() for w in weights.values()])
    prune = round(sparsity * flat.numel())
    keep = _keep_largest(flat, prune)
    masks, start = {}, 0
    for n, w in weights.items():
        masks[n] = keep[start : start + w.numel()].view_as(w)
        start += w.numel()
    return masks


def _keep_largest(w: torch.Tensor, n_prune: int) -> torch.Tensor:
    """A 0/1 mask of ``w``'s shape zeroing its ``n_prune`` smallest entries (ties: lowest index)."""
    mask = torch.ones_like(w, dtype=torch.float32)
    if n_prune > 0:
        order = torch.argsort(w.flatten().float(), stable=True)
        mask.view(-1)[order[:n_prune]] = 0.0
    return mask


def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """Attach ``masks`` (replacing earlier ones) so the pruned weights stay zero in training."""
    mods = prunable_weights(model)
    for name, mask in masks.items():
        if name not in mods:
            raise ValueError(f"mask for {name!r}, which is not a conv/linear layer of the model")
        m = mods[name]
        if tprune.is_pruned(m) and hasattr(m, "weight_mask"):
            tprune.remove(m, "weight")
        if mask.shape != m.weight.shape:
            raise ValueError(f"mask for {name} has shape {tuple(mask.shape)}, weight {tuple(m.weight.shape)}")
        tprune.custom_from_mask(m, "weight", mask.to(m.weight.device, m.weight.dtype))
    return model


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold attached masks into plain weights (zeros stay) and drop the pruning hooks."""
    for m in prunable_weights(model).values():
        if hasattr(m, "weight_mask"):
            tprune.remove(m, "weight")
    return model


@torch.no_grad()
def nonzero_masks(model: nn.Module, target_nonzero: int) -> dict[str, torch.Tensor]:
    """Global magnitude masks leaving exactly ``target_nonzero`` nonzero parameters in ``model``."""
    mods = prunable_weights(model)
    weights = {n: _effective_weight(m) for n, m in mods.items()}
    prunable = sum(w.numel() for w in weights.values())
    nonzero_prunable = sum(int(torch.count_nonzero(w)) for w in weights.values())
    cut = count_nonzero(model) - int(target_nonzero)
    if cut < 0 or cut > nonzero_prunable:
        raise ValueError(
            f"cannot prune to {target_nonzero} nonzero parameters: the model has "
            f"{count_nonzero(model)}, of which {nonzero_prunable} are nonzero prunable weights"
        )
    # weights that are already zero rank lowest and are pruned first: count them in
    keep = _keep_largest(torch.cat([w.abs().flatten() for w in weights.values()]),
                         cut + prunable - nonzero_prunable)
    masks, start = {}, 0
    for n, w in weights.items():
        masks[n] = keep[start : start + w.numel()].view_as(w)
        start += w.numel()
    return masks


def prune_to_nonzero(model: nn.Module, target_nonzero: int) -> nn.Module:
    """A pruned, permanent deep copy of ``model`` with ``target_nonzero`` nonzero parameters."""
    pruned = make_permanent(copy.deepcopy(model))
    return make_permanent(apply_masks(pruned, nonzero_masks(pruned, target_nonzero)))


def iterative_prune(
    model: nn.Module,
    sparsities: Sequence[float],
    retrain: RetrainFn,
    *,
    scope: str = "global",
    name: str = "model",
) -> list[dict[str, Any]]:
    """Prune ``model`` in place to each sparsity in turn (increasing), retraining after each.

    ``retrain(model, job_name)`` trains the masked model (masks stay applied) and returns at
    least ``val_acc`` (and ``test_acc`` if measured). One row per sparsity: nonzero parameters,
    the measured sparsity and the accuracies after retraining. The masks stay attached on return.
    """
    if list(sparsities) != sorted(sparsities) or len(set(sparsities)) != len(sparsities):
        raise ValueError(f"sparsities must increase strictly; got {list(sparsities)}")
    total = sum(p.numel() for n, p in model.named_parameters() if not n.endswith("weight_orig"))
    total += sum(m.weight.numel() for m in prunable_weights(model).values() if hasattr(m, "weight_orig"))
    rows = []
    for s in sparsities:
        apply_masks(model, magnitude_masks(model, s, scope))
        result = retrain(model, f"{name}-s{round(100 * s):02d}")
        rows.append({
            "model": name, "target_sparsity": s, "sparsity": sparsity_of(model),
            "nonzero_params": count_nonzero(model), "params": total,
            **{k: result.get(k) for k in ("val_acc", "test_acc")},
        })
    return rows
