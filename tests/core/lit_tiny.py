"""Tiny models and data shared by the lit-core tests (not a test module)."""

from __future__ import annotations

import torch
import torch.nn as nn

from lit_models import create_model

IMG = 8


def resnet(depth: int, **kwargs) -> nn.Module:
    """A CIFAR ResNet of ``depth`` for 8x8 inputs, seeded so every call builds the same model."""
    torch.manual_seed(depth)
    return create_model(f"resnet{depth}", img_size=IMG, **kwargs)


def batches(n_batches: int = 2, batch: int = 8, seed: int = 0, classes: int = 10):
    """A fixed list of ``(x, y)`` batches of 3x8x8 images."""
    g = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(batch, 3, IMG, IMG, generator=g), torch.randint(0, classes, (batch,), generator=g))
        for _ in range(n_batches)
    ]


class TinyStaged(nn.Module):
    """A BN-free staged net (stem, 3 conv stages, head) for DDP parity tests."""

    def __init__(self, depth: int = 1, width: int = 4, classes: int = 10, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())
        self.stages = nn.ModuleList(
            nn.Sequential(*[
                nn.Sequential(nn.Conv2d(width, width, 3, padding=1, stride=2 if (b == 0 and i > 0) else 1), nn.ReLU())
                for b in range(depth)
            ])
            for i in range(3)
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(width, classes))
        self.feature_info = [{"num_chs": width, "reduction": 2**i, "module": f"stages.{i}"} for i in range(3)]

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_stages(x)[-1])


def state_equal(a: dict, b: dict) -> list[str]:
    """Names of the tensors that differ between two state dicts (empty when bit-identical)."""
    assert a.keys() == b.keys()
    return [k for k in a if not torch.equal(a[k], b[k])]


def clone_state(model: nn.Module) -> dict:
    """A detached copy of a model's state dict."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
