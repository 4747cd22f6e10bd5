"""Run-directory policy, in one place: never replace a run without ``--overwrite``; ``--resume``
continues an existing one; ``--out`` must be a directory; a run name stays inside ``--out``.

Every check looks at the *resolved* path (``..`` and symlinks followed first): ``a/missing/..``
is ``a`` to the kernel once ``missing`` is created, so a lexical ``is_dir()`` would be asked about
the wrong directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import RunDirError, RunDirExistsError
from ..io.runlock import LOCK_FILE
from .distributed import barrier, dist_info

__all__ = ["check_run_dir", "clear_run_dir", "make_run_dir", "prepare_fit_dir", "resolve_path",
           "run_dir_path"]


def resolve_path(path: str | Path, what: str = "--out") -> Path:
    """``path`` made absolute with ``..`` and symlinks followed (``RunDirError`` on a loop)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise RunDirError(f"{what} {path} cannot be resolved ({type(e).__name__}: {e}); "
                          "choose another directory") from None


def run_dir_path(out: str | Path, run_name: str) -> Path:
    """The resolved run directory ``out/run_name``; refuses a name that is empty, absolute, or
    leads outside ``out`` (``..``, a symlink), since a run directory is created and replaced."""
    name = str(run_name)
    root = resolve_path(out)
    if not name.strip() or Path(name).is_absolute():
        raise RunDirError(f"--run-name {name!r} is {'absolute' if name.strip() else 'empty'}; give "
                          "a name inside --out (choose the place with --out)")
    path = resolve_path(root / name, "--run-name")
    if root not in path.parents:
        raise RunDirError(f"--run-name {name!r} leads outside --out {out} (to {path}); give a name "
                          "inside --out (choose the place with --out)")
    return path


def check_run_dir(run_dir: Path, *, overwrite: bool = False, resume: bool = False) -> None:
    """Raise unless ``run_dir`` may be used: it is new or empty, or ``overwrite``/``resume`` is set
    (``resume`` needs it to exist). Nothing is created or removed here."""
    run_dir = resolve_path(run_dir, "the run directory")
    for parent in [run_dir, *run_dir.parents]:
        if parent.exists() and not parent.is_dir():
            raise RunDirError(
                f"{parent} is a file, not a directory; choose another --out or --run-name"
            )
    if resume and not run_dir.is_dir():
        raise RunDirError(f"cannot resume: no run directory {run_dir}")
    nearest = next(p for p in [run_dir, *run_dir.parents] if p.exists())
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise RunDirError(f"{nearest} is not writable, so the run directory {run_dir} cannot be "
                          "written; choose another --out (or make it writable)")
    if resume:
        return
    if run_dir.is_dir() and any(p.name != LOCK_FILE for p in run_dir.iterdir()) and not overwrite:
        raise RunDirExistsError(
            f"run directory {run_dir} already exists and is not empty; pass --overwrite "
            "(overwrite=True) to replace it or --resume (resume=True) to continue it, or choose "
            "another --run-name"
        )


def make_run_dir(run_dir: Path) -> None:
    """Create ``run_dir`` (and its parents); a refusal (read-only, immutable, full) is one line."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunDirError(f"cannot create the run directory {run_dir} ({e.strerror or e}); "
                          "choose another --out") from None


def clear_run_dir(run_dir: Path) -> None:
    """Remove everything in ``run_dir`` but its lock (``--overwrite`` replaces a whole run: a
    job of the old run left beside the new run's would be read as one of its own)."""
    for entry in Path(run_dir).iterdir():
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def prepare_fit_dir(run_dir: Path, *, resume: bool, overwrite: bool, files: tuple[str, ...],
                    last: str) -> None:
    """``fit``'s directory: on resume it must hold ``last``; otherwise it is checked
    (``check_run_dir``), created, and the ``files`` a run writes are cleared (rank 0)."""
    run_dir = resolve_path(run_dir, "the run directory")
    if resume:
        if not (run_dir / last).is_file():
            raise RunDirError(f"cannot resume: no {last} in {run_dir}; start a new run without resume")
        return
    barrier()  # every rank looks before rank 0 writes anything
    check_run_dir(run_dir, overwrite=overwrite)
    if dist_info().is_main:
        make_run_dir(run_dir)
        for name in files:
            (run_dir / name).unlink(missing_ok=True)
    barrier()
