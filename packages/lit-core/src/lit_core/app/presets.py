"""Where configurations come from: presets (TOML), a user's TOML file, ``KEY=VALUE`` overrides.

These functions only read and merge dicts; ``lit_core.app.runconfig`` validates the result (the
tables are described there). Precedence: preset < ``--config FILE`` < ``--set a.b.c=VALUE`` (VALUE is parsed as TOML, else
taken as a string). Presets ship inside the package (``lit_core/configs/NAME.toml``); a file
``configs/NAME.toml`` in the working directory or ``$LIT_CONFIG_DIR`` takes precedence.
"""

from __future__ import annotations

import copy
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULT_PRESET",
    "apply_override",
    "list_presets",
    "load_preset",
    "load_toml",
    "merge",
    "preset_descriptions",
]

DEFAULT_PRESET = "cpu"


def _preset_dirs() -> list[Path]:
    dirs = [Path(p) for p in (os.environ.get("LIT_CONFIG_DIR"),) if p]
    return [*dirs, Path.cwd() / "configs"]


def list_presets() -> list[str]:
    """Names of the presets available (bundled and in ./configs or $LIT_CONFIG_DIR)."""
    names = {p.stem for d in _preset_dirs() if d.is_dir() for p in d.glob("*.toml")}
    bundled = resources.files("lit_core") / "configs"
    names |= {p.name[:-5] for p in bundled.iterdir() if p.name.endswith(".toml")}
    return sorted(names)


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML file; a missing, unreadable or malformed file raises ``ConfigError`` naming it."""
    p = Path(path)
    if not p.is_file():
        what = "a directory" if p.is_dir() else "not found"
        raise ConfigError(f"config file {p} is {what}; give the path of a .toml file")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {p} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise ConfigError(f"config file {p} cannot be read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {p} is not valid TOML: {e}") from None


def load_preset(name: str) -> tuple[dict[str, Any], str]:
    """The preset's configuration and where it was read from."""
    for d in _preset_dirs():
        if (d / f"{name}.toml").is_file():
            return load_toml(d / f"{name}.toml"), str(d / f"{name}.toml")
    bundled = resources.files("lit_core") / "configs" / f"{name}.toml"
    if bundled.is_file():
        return tomllib.loads(bundled.read_text(encoding="utf-8")), f"lit_core/configs/{name}.toml"
    raise ConfigError(f"unknown preset {name!r}; available: {', '.join(list_presets())}")


def preset_descriptions() -> dict[str, str]:
    """Each available preset's ``description`` (without a leading ``"name: "``), by name."""
    out = {}
    for name in list_presets():
        text = str(load_preset(name)[0].get("description", "")).strip()
        out[name] = text[len(name) + 2:] if text.startswith(f"{name}: ") else text
    return out


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, other values in ``over`` replace those in ``base``."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(cfg: dict[str, Any], assignment: str) -> dict[str, Any]:
    """Apply one ``a.b.c=VALUE`` override (VALUE parsed as TOML, else a string)."""
    key, sep, value = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE (e.g. train.lit.epochs=3); got {assignment!r}")
    parts = [k.strip() for k in key.split(".")]
    nested: dict[str, Any] = {parts[-1]: _parse_value(value.strip())}
    for part in reversed(parts[:-1]):
        nested = {part: nested}
    return merge(cfg, nested)
