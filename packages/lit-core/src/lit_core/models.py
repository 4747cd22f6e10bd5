"""Build models by name without importing a model zoo: entry points or ``module:function``."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

import torch.nn as nn

__all__ = ["ENTRY_POINT_GROUP", "build_model"]

ENTRY_POINT_GROUP = "lit.model_factories"


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build ``name`` through the ``lit.model_factories`` entry points (e.g. lit-models).

    ``"package.module:function"`` calls that function with ``kwargs`` instead (a user's model).
    """
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"cannot import model factory {name!r}: {err}") from err
        return factory(**kwargs)
    factories = list(entry_points(group=ENTRY_POINT_GROUP))
    if not factories:
        raise ModuleNotFoundError(
            f"no model factory is installed to build {name!r}: pip install packages/lit-models "
            "(or pass a model object, or a 'package.module:function' string)"
        )
    errors = []
    for ep in factories:
        try:
            return ep.load()(name, **kwargs)
        except ValueError as err:  # this factory does not know the name
            errors.append(f"{ep.name}: {err}")
    raise ValueError(f"unknown model {name!r} ({'; '.join(errors)})")
