"""Atomic file writes: write a temp file in the same directory, fsync, then ``os.replace``.

A reader (or a process killed mid-write) sees either the old file or the new one, never a torn
one. Every file ``lit`` writes (checkpoints, JSON records, summaries, plots, caches) goes through
here. The temp file is created with mode 0666 filtered by the process umask, as ``open()`` would
create it, so results are 0644 under umask 022 and 0640 under 027 (``tempfile.mkstemp`` makes
0600 files, which turned every result owner-only).

When the system refuses the write (disk full, quota, a file size limit, a read-only or
forbidden place) the temp file is removed, the previous file stays as it was, and a
``WriteError`` (one line: the path, the reason, what to do) is raised.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import WriteError

__all__ = [
    "append_text",
    "atomic_write",
    "save_figure",
    "write_json_atomic",
    "write_text_atomic",
]


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_REFUSED = {errno.EROFS, errno.EACCES, errno.EPERM}


def _write_error(path: Path, e: OSError, kept: str = "") -> WriteError:
    """The one-line error for a write the system refused."""
    if e.errno in _FULL:
        hint = "free space (or raise the limit) or choose another --out"
    else:
        hint = "choose a writable --out"
    kept = kept or f"the previous {path.name}, if any, is unchanged"
    error = WriteError(f"cannot write {path} ({e.strerror or e}); {hint}; {kept}")
    error.errno = e.errno
    return error


def _create_temp(path: Path) -> tuple[int, Path]:
    """Open a new, empty temp file beside ``path`` (mode 0666 & ~umask, exclusive create)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temp file next to {path}")


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (best effort: some file systems refuse to open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], *, binary: bool = True) -> Path:
    """Call ``write(file_object)`` on a temp file next to ``path``, then rename it into place.

    Args:
        path: the file to create or replace; its directory is created if missing.
        write: called once with the open temp file (binary, or UTF-8 text when ``binary=False``).
        binary: open the temp file in binary mode (default) or as UTF-8 text.

    Returns:
        ``path`` as a ``Path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(path)
    except OSError as e:
        if e.errno in _FULL | _REFUSED:
            raise _write_error(path, e) from None
        raise
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and not isinstance(e, WriteError) and e.errno in _FULL | _REFUSED:
            raise _write_error(path, e) from None
        raise
    _fsync_dir(path.parent)
    return path


def append_text(path: str | os.PathLike, text: str) -> None:
    """Append ``text`` (UTF-8) to ``path`` (a log such as ``metrics.jsonl``); a full disk or a
    refused write is a ``WriteError``, as in ``atomic_write``."""
    path = Path(path)
    try:
        with path.open("a", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        if e.errno in _FULL | _REFUSED:
            raise _write_error(path, e, f"the earlier lines of {path.name} are kept") from None
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    return atomic_write(path, lambda f: f.write(text), binary=False)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (non-JSON values as their ``str``)."""
    return write_text_atomic(path, json.dumps(obj, indent=2, default=str) + "\n")


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Lay out a matplotlib figure, write it as a PNG atomically and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    try:
        return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi))
    finally:
        plt.close(fig)
