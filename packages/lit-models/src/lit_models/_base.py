"""``StagedNet``: the stage anatomy every zoo model shares (stem → stages.i → head)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn


def feature_info_entry(num_chs: int, reduction: int, index: int) -> dict:
    """One ``feature_info`` entry, timm-style: channels, spatial reduction, module name."""
    return {"num_chs": int(num_chs), "reduction": int(reduction), "module": f"stages.{index}"}


class StagedNet(nn.Module):
    """A network split into ``stem``, ``stages`` (an ``nn.ModuleList``) and ``head``.

    ``forward(x)`` is exactly ``head(stages[-1](…stages[0](stem(x))))``; ``forward_stages``
    returns every stage-boundary output, which is what LIT compares between teacher and student.
    """

    def __init__(
        self,
        stem: nn.Module,
        stages: Sequence[nn.Module],
        head: nn.Module,
        feature_info: list[dict],
        input_size: tuple[int, ...],
    ) -> None:
        super().__init__()
        if len(feature_info) != len(stages):
            raise ValueError(
                f"feature_info has {len(feature_info)} entries but there are {len(stages)} stages"
            )
        self.stem = stem
        self.stages = nn.ModuleList(stages)
        self.head = head
        self.feature_info = feature_info
        self.input_size = tuple(input_size)

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of every stage, in order (``len == len(self.stages)``)."""
        x = self.stem(x)
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.head(x)

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        """A random input of the right shape and dtype (for shape checks, tests and export)."""
        return torch.randn(batch_size, *self.input_size)
