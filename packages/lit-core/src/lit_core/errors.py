"""User-facing errors: what the ``lit`` CLI prints as one ``lit: error: ...`` line (exit 2).

Everything else (a ``TypeError`` deep in torch, an ``AssertionError``) is a bug and keeps its
traceback. Each class also derives from the built-in exception it replaces, so callers of the
library API can keep catching ``ValueError`` / ``FileExistsError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = [
    "AlignmentError",
    "CheckpointError",
    "ConfigError",
    "LitError",
    "MissingExtraError",
    "MissingFileError",
    "OutputExistsError",
    "RunDirError",
    "RunDirExistsError",
    "StateFileError",
    "WriteError",
    "optional_import",
]


class LitError(Exception):
    """A problem with the user's input or files, reported as one line."""


class ConfigError(LitError, ValueError):
    """A setting that is missing, mistyped or out of range (named in the message)."""


class CheckpointError(LitError, ValueError):
    """A checkpoint that cannot be read, or that does not fit the model it is loaded into."""


class AlignmentError(LitError, ValueError):
    """Teacher and student do not line up at a stage boundary (the stage and shapes are named)."""


class RunDirError(LitError, FileNotFoundError):
    """A run directory (or output root) that cannot be used as asked."""


class RunDirExistsError(LitError, FileExistsError):
    """A run directory that exists and would be overwritten without ``--overwrite``."""


class StateFileError(LitError, ValueError):
    """A run's own record file (``job.json``, a study's ``state.json``) that cannot be read."""


class WriteError(LitError, OSError):
    """A file lit writes that the system refuses: disk full, quota, file size limit, read-only."""


class MissingFileError(LitError, FileNotFoundError):
    """A file the user named (a checkpoint, weights) that does not exist."""


class MissingExtraError(LitError, ModuleNotFoundError):
    """An optional dependency that is not installed (the message names the extra that brings it)."""


def optional_import(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise ``MissingExtraError`` saying which ``lit-core[extra]`` brings it.

    Args:
        module: the module to import, e.g. ``"sklearn.datasets"``.
        extra: the lit-core extra that installs it, e.g. ``"sklearn"``.
        purpose: what needs it, for the message, e.g. ``"the digits data set"``.

    Returns:
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        top = module.split(".")[0]
        raise MissingExtraError(
            f"{purpose} needs {top!r}, which is not installed; install it with: "
            f"pip install 'lit-core[{extra}]'"
        ) from None


class OutputExistsError(LitError, FileExistsError):
    """An output file that exists and would be replaced without ``--overwrite``."""
