"""User-facing errors: what the ``lit`` CLI prints as one ``lit: error: ...`` line (exit 2).

Everything else (a ``TypeError`` deep in torch, an ``AssertionError``) is a bug and keeps its
traceback. Each class also derives from the built-in exception it replaces, so callers of the
library API can keep catching ``ValueError`` / ``FileExistsError``.
"""

from __future__ import annotations

__all__ = [
    "AlignmentError",
    "CheckpointError",
    "ConfigError",
    "LitError",
    "MissingFileError",
    "RunDirError",
    "RunDirExistsError",
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


class MissingFileError(LitError, FileNotFoundError):
    """A file the user named (a checkpoint, weights) that does not exist."""
