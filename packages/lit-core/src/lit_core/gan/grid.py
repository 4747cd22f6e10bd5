"""The Fig. 5 analogue: for each model a panel whose rows are inputs and columns target domains."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ..io.atomic import atomic_write
from .data import DomainData, domain_targets
from .losses import translate

__all__ = ["grid_inputs", "save_grid"]


def grid_inputs(data: DomainData, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` test images from distinct source domains where possible (the first of each)."""
    seen, idx = set(), []
    for i, lab in enumerate(data.test.labels):
        key = tuple(lab.tolist())
        if key not in seen:
            seen.add(key)
            idx.append(i)
        if len(idx) == n:
            break
    idx += [i for i in range(len(data.test)) if i not in idx][: n - len(idx)]
    return data.test.images[idx], data.test.labels[idx]


@torch.no_grad()
def save_grid(models: dict[str, nn.Module], data: DomainData, path: Path, *, n_inputs: int = 4,
              note: str = "") -> Path:
    """Write the grid PNG: one panel per model (name above), input column then one per domain."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, c_org = grid_inputs(data, n_inputs)
    targets = domain_targets(c_org, data.kind, data.domains)
    cols = 1 + len(targets)
    fig, axes = plt.subplots(len(models) * n_inputs, cols, squeeze=False,
                             figsize=(0.75 * cols, 0.78 * n_inputs * len(models) + 0.6))
    for m, (name, g) in enumerate(models.items()):
        g.train()  # instance statistics, as the paper's code
        outs = [x] + [translate(g, x, c) for c in targets]
        for r in range(n_inputs):
            for k, img in enumerate(outs):
                ax = axes[m * n_inputs + r, k]
                im = ((img[r] + 1) / 2).clamp(0, 1).permute(1, 2, 0).squeeze(-1).numpy()
                ax.imshow(im, cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
                if r == n_inputs - 1 and m < len(models) - 1:  # a gap between panels
                    ax.spines["bottom"].set_linewidth(2.5)
                ax.set_xticks([])
                ax.set_yticks([])
                if m == 0 and r == 0:  # column titles once, above the first panel
                    ax.set_title("input" if k == 0 else data.domains[k - 1], fontsize=6)
            axes[m * n_inputs + r, 0].set_ylabel(name if r == 0 else "", fontsize=7, rotation=0,
                                                 ha="right", va="center")
    fig.suptitle(f"StarGAN translations per model (rows: inputs; columns: target domains){note}", fontsize=7)
    fig.tight_layout(h_pad=0.1, w_pad=0.05)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=130))
    plt.close(fig)
    return path
