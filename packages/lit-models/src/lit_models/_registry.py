"""The one model registry: ``register_model``, ``create_model``, ``list_models``."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from typing import Any

import torch.nn as nn

ModelFn = Callable[..., nn.Module]


class _Registry:
    """Name → builder table; strict (a name registers once) and explicit (no star imports)."""

    def __init__(self) -> None:
        self._entries: dict[str, ModelFn] = {}
        self._families: dict[str, str] = {}

    def register(self, fn: ModelFn) -> ModelFn:
        name = fn.__name__
        if name in self._entries:
            raise ValueError(f"model name {name!r} is already registered; pick another name")
        self._entries[name] = fn
        self._families[name] = fn.__module__.rsplit(".", 1)[-1]
        return fn

    def names(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def get(self, name: str) -> ModelFn:
        if name not in self._entries:
            close = difflib.get_close_matches(name, list(self._entries), n=5, cutoff=0.5)
            hint = f"closest: {', '.join(close)}" if close else "see lit_models.list_models()"
            raise ValueError(f"unknown model {name!r}; {hint}")
        return self._entries[name]

    def family(self, name: str) -> str:
        self.get(name)
        return self._families[name]


_REGISTRY = _Registry()


def register_model(fn: ModelFn) -> ModelFn:
    """Register a model builder under its function name (raises on a duplicate name)."""
    return _REGISTRY.register(fn)


def create_model(name: str, pretrained: bool = False, **kwargs: Any) -> nn.Module:
    """Build a registered model by name, e.g. ``create_model("resnet20", num_classes=100)``.

    Args:
        name: a name from ``list_models()`` (``"resnet20"``, ``"resnet110"``, ``"vdcnn29"``, …).
        pretrained: accepted for timm/torchvision-style calls; lit-models publishes no weights,
            so True raises and says how to get a trained teacher instead.
        **kwargs: the builder's keyword arguments (``num_classes``, ``in_chans``, ``img_size``, …).

    Returns:
        The model, with the stage interface (``stem``, ``stages``, ``head``, ``feature_info``).

    Raises:
        ValueError: an unknown name, or ``pretrained=True``.

    Examples:
        >>> model = create_model("resnet20", num_classes=100)
        >>> [info["num_chs"] for info in model.feature_info], model.num_classes
        ([16, 32, 64], 100)
    """
    builder = _REGISTRY.get(name)
    if pretrained:
        raise ValueError(
            f"no pretrained weights exist for {name!r}: lit-models ships architectures only; "
            f"train one with `lit train-teacher --teacher {name}` and load its best.pt"
        )
    return builder(**kwargs)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted registered model names matching a shell-style ``pattern``.

    Args:
        pattern: an ``fnmatch`` pattern (``"*"``: every model).

    Returns:
        The matching names, sorted.

    Examples:
        >>> list_models("vdcnn*")
        ['vdcnn', 'vdcnn17', 'vdcnn29', 'vdcnn49', 'vdcnn9']
    """
    return _REGISTRY.names(pattern)


def model_family(name: str) -> str:
    """The family (defining module) of a registered model, e.g. ``"cifar_resnet"``."""
    return _REGISTRY.family(name)
