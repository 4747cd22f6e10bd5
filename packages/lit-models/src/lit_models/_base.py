"""``StagedNet``: the stage anatomy every zoo model shares (stem → stages.i → head).

``ClassifierNet`` adds timm's classifier interface on top of it for the classification models.
"""

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
        """Outputs of every stage, in order (``len == len(self.stages)``).

        The contract: ``h = stem(x)``, then ``h = stage(h)`` for each stage, collecting every
        ``h``; nothing else runs. lit-core's ``lit_core.method.stage_outputs`` (which its
        ``as_staged`` wrappers use) is the same contract written in lit-core, since the two
        packages may not import each other; a test checks that they agree.
        """
        x = self.stem(x)
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's output (``stem`` then every stage, no head), as timm's method."""
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.head(x)

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        """A random input of the right shape and dtype (for shape checks, tests and export)."""
        return torch.randn(batch_size, *self.input_size)


# Conventional per-channel statistics of the datasets the image families are made for.
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class ClassifierNet(StagedNet):
    """A ``StagedNet`` whose ``head`` is an ``nn.Sequential`` ending in the classifier ``nn.Linear``.

    Gives the timm classifier interface: ``num_classes``, ``get_classifier()``,
    ``reset_classifier(n)``, ``forward_features(x)``, ``forward_head(x, pre_logits=False)`` and a
    ``pretrained_cfg`` dict (``input_size``, ``mean``, ``std``, ``num_classes``). lit-models ships
    no weights, so ``pretrained_cfg`` describes this model as it is (``num_classes`` follows
    ``reset_classifier``); ``mean``/``std`` are None where no standard statistics apply (token
    ids, or an image model built with ``in_chans != 3``). The StarGAN generator and
    discriminator are plain ``StagedNet``s: they have no linear classifier.
    """

    def __init__(
        self,
        stem: nn.Module,
        stages: Sequence[nn.Module],
        head: nn.Sequential,
        feature_info: list[dict],
        input_size: tuple[int, ...],
        *,
        mean: tuple[float, ...] | None,
        std: tuple[float, ...] | None,
    ) -> None:
        if not isinstance(head, nn.Sequential) or not isinstance(head[-1], nn.Linear):
            raise ValueError("a ClassifierNet head must be an nn.Sequential ending in nn.Linear; "
                             f"got {type(head).__name__}")
        super().__init__(stem, stages, head, feature_info, input_size)
        self._head_in_features = head[-1].in_features
        self.num_classes = head[-1].out_features
        self.pretrained_cfg = {"input_size": self.input_size, "mean": mean, "std": std,
                               "num_classes": self.num_classes}

    def get_classifier(self) -> nn.Module:
        """The final classifier layer: ``head[-1]`` (an ``nn.Linear``; ``nn.Identity`` after
        ``reset_classifier(0)``)."""
        return self.head[-1]

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised ``nn.Linear`` to ``num_classes``
        outputs (0: ``nn.Identity``, so ``forward`` returns the pre-logits features, as timm)."""
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be an integer >= 0 (0 removes the classifier); got {num_classes!r}")
        ref = next(self.parameters())
        self.head[-1] = (nn.Linear(self._head_in_features, num_classes, device=ref.device, dtype=ref.dtype)
                         if num_classes else nn.Identity())
        self.num_classes = num_classes
        self.pretrained_cfg["num_classes"] = num_classes

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """The head on ``forward_features`` output; ``pre_logits=True`` stops before the classifier."""
        return self.head[:-1](x) if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def image_stats(in_chans: int, mean: tuple[float, ...], std: tuple[float, ...]) -> dict:
    """``mean``/``std`` keyword arguments for ``ClassifierNet``: the RGB statistics, or None
    for another channel count."""
    return {"mean": mean, "std": std} if in_chans == 3 else {"mean": None, "std": None}
