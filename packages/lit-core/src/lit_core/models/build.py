"""Build models by name without importing a model zoo: entry points or ``module:function``.

Names that come from a file someone else may have written (a checkpoint's metadata) are built
with ``allow_import=False``: only registered model names (``lit.model_factories`` entry points)
are accepted, so a checkpoint can never choose which code runs. A ``package.module:function``
builder must come from the user's own command line or config file.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

import torch.nn as nn

from ..errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "build_model", "is_import_path"]

ENTRY_POINT_GROUP = "lit.model_factories"


def is_import_path(name: str) -> bool:
    """Whether ``name`` names a builder by import path (``package.module:function``)."""
    return ":" in name


def build_model(name: str, *, allow_import: bool = True, **kwargs: Any) -> nn.Module:
    """Build ``name`` through the ``lit.model_factories`` entry points (e.g. lit-models).

    Args:
        name: a registered model name (``"resnet20"``), or ``"package.module:function"`` to
            import and call that function (a user's model builder).
        allow_import: allow the ``package.module:function`` form (never for names read from a
            checkpoint: a file could run code that way).
        **kwargs: passed to the builder (``num_classes=100``, ``img_size=8``, …).

    Returns:
        The built ``nn.Module``.

    Raises:
        ConfigError: an unknown name, a refused import path, a builder that rejects the keyword
            arguments, or one that returns something other than an ``nn.Module``.

    Examples:
        >>> model = build_model("resnet8", num_classes=100)  # needs lit-models installed
        >>> model.head[-1].out_features
        100
        >>> build_model("torchvision.models:resnet18", num_classes=10).fc.out_features
        10
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a model name must be a non-empty string; got {name!r}")
    if is_import_path(name):
        if not allow_import:
            raise ConfigError(
                f"refusing to import model builder {name!r} named by a checkpoint (a file could "
                "run any code that way); pass it yourself with --teacher/--model or in your config"
            )
        module_name, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise ConfigError(f"cannot import model factory {name!r}: {err}") from None
        return _checked(name, _call(name, factory, kwargs))
    factories = list(entry_points(group=ENTRY_POINT_GROUP))
    if not factories:
        raise ConfigError(
            f"no model factory is installed to build {name!r}: pip install packages/lit-models "
            "(or pass a model object, or a 'package.module:function' string)"
        )
    errors = []
    for ep in factories:
        factory = ep.load()
        try:
            return _checked(name, _call(name, lambda f=factory, **kw: f(name, **kw), kwargs))
        except ConfigError as err:
            if not str(err).startswith("unknown model"):
                raise
            errors.append(f"{ep.name}: {err}")
    raise ConfigError(f"{'; '.join(errors)}" if len(errors) == 1 else
                      f"unknown model {name!r} ({'; '.join(errors)})")


def _call(name: str, factory: Any, kwargs: dict[str, Any]) -> Any:
    """Call a builder; its complaints about the arguments become ``ConfigError``."""
    try:
        return factory(**kwargs)
    except TypeError as err:
        if "argument" not in str(err):
            raise
        keys = ", ".join(sorted(kwargs)) or "none"
        raise ConfigError(
            f"model {name!r} does not accept the arguments it was given ({keys}): {err}; is it a "
            "model for this kind of data? check models.*_kwargs"
        ) from None
    except ValueError as err:
        if isinstance(err, ConfigError):
            raise
        text = " ".join(str(err).split())
        raise ConfigError(text if text.startswith("unknown model") else f"model {name!r}: {text}") from None


def _checked(name: str, model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"the builder of model {name!r} returned a {type(model).__name__}, not a torch.nn.Module"
        )
    return model
