"""One writer per run directory: an exclusive ``fcntl.flock`` on ``<run>/lit.lock``, held for
the life of the process's command. The kernel drops the lock when the process dies, so a killed
run never blocks ``--resume``. A process holds each run's lock once (nested users share it);
``lit compare --parallel`` children inherit their parent's lock (``LIT_RUN_LOCK_FD``), so they
may write the run while the parent lives, and a second command may not while any of them does.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import LitError, RunDirError

__all__ = ["LOCK_ENV", "LOCK_FILE", "RunLockedError", "check_run_intact", "check_runs_intact",
           "held_runs", "hold_run_lock", "inherited_lock_fd", "release_run_locks"]

LOCK_FILE = "lit.lock"
LOCK_ENV = "LIT_RUN_LOCK_FD"  # an inherited lock's file descriptor (set for --parallel children)
_HELD: dict[Path, int] = {}  # this process's locks by run directory (a lock is per-process state)


class RunLockedError(LitError):
    """Another process is writing the run directory."""


def hold_run_lock(run_dir: Path) -> int:
    """Take (or keep) the exclusive lock of ``run_dir``, which must exist; its file descriptor.
    Raises ``RunLockedError`` at once, writing nothing, when another process holds it."""
    run_dir = Path(run_dir).resolve()
    if run_dir in _HELD:
        return _HELD[run_dir]
    path = run_dir / LOCK_FILE
    fd = _inherited(path)
    if fd is None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise RunLockedError(
                f"run directory {run_dir} is in use by another lit process (pid {holder}); wait "
                "for it to finish (or stop it), or choose another --run-name") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _HELD[run_dir] = fd
    return fd


def _inherited(path: Path) -> int | None:
    """The lock descriptor a parent handed down for ``path``, if it is that file's."""
    text = os.environ.get(LOCK_ENV, "")
    if not text.isdigit():
        return None
    fd = int(text)
    try:
        mine, theirs = os.fstat(fd), os.stat(path)
    except OSError:
        return None
    if (mine.st_dev, mine.st_ino) != (theirs.st_dev, theirs.st_ino):
        return None
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the same lock: succeeds
    return fd


def inherited_lock_fd(run_dir: Path) -> int | None:
    """This process's lock descriptor of ``run_dir`` (to hand to a child), or None."""
    return _HELD.get(Path(run_dir).resolve())


def check_run_intact(run_dir: Path) -> None:
    """``RunDirError`` if ``run_dir``, whose lock this process holds, was deleted or replaced
    since the lock was taken (its lock file is gone, or is another file now): a run whose
    directory vanished mid-run must not end as a success (a later write would quietly recreate
    it). Nothing to check for a run this process does not hold."""
    run_dir = Path(run_dir).resolve()
    fd = _HELD.get(run_dir)
    if fd is None:
        return
    mine = os.fstat(fd)
    try:
        now = os.stat(run_dir / LOCK_FILE)
        same = (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)
    except OSError:
        same = False
    if mine.st_nlink == 0 or not same:
        raise RunDirError(f"run directory {run_dir} was deleted or replaced while this command "
                          "was writing it; its results are incomplete: start the run again "
                          "(without --resume)")


def held_runs() -> frozenset[Path]:
    """The run directories whose locks this process holds now."""
    return frozenset(_HELD)


def check_runs_intact(skip: frozenset[Path] = frozenset()) -> None:
    """``check_run_intact`` for every run this process holds, but those in ``skip`` (e.g. the
    ones held before a command started)."""
    for run_dir in list(_HELD):
        if run_dir not in skip:
            check_run_intact(run_dir)


def release_run_locks() -> None:
    """Drop every lock this process holds (the end of a command)."""
    while _HELD:
        os.close(_HELD.popitem()[1])
