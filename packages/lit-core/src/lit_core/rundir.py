"""Run-directory policy, in one place: never replace a run without ``--overwrite``; ``--resume``
continues an existing one; ``--out`` must be a directory."""

from __future__ import annotations

from pathlib import Path

from .errors import RunDirError, RunDirExistsError

__all__ = ["check_run_dir"]


def check_run_dir(run_dir: Path, *, overwrite: bool = False, resume: bool = False) -> None:
    """Raise unless ``run_dir`` may be used: it is new or empty, or ``overwrite``/``resume`` is set
    (``resume`` needs it to exist). Nothing is created or removed here."""
    run_dir = Path(run_dir)
    for parent in [run_dir, *run_dir.parents]:
        if parent.exists() and not parent.is_dir():
            raise RunDirError(
                f"{parent} is a file, not a directory; choose another --out or --run-name"
            )
    if resume:
        if not run_dir.is_dir():
            raise RunDirError(f"cannot resume: no run directory {run_dir}")
        return
    if run_dir.is_dir() and any(run_dir.iterdir()) and not overwrite:
        raise RunDirExistsError(
            f"run directory {run_dir} already exists and is not empty; pass --overwrite "
            "(overwrite=True) to replace it or --resume (resume=True) to continue it, or choose "
            "another --run-name"
        )
