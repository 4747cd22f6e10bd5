"""Run-directory policy, in one place: never replace a run without ``--overwrite``; ``--resume``
continues an existing one; ``--out`` must be a directory."""

from __future__ import annotations

from pathlib import Path

from ..errors import RunDirError, RunDirExistsError
from .distributed import barrier, dist_info

__all__ = ["check_run_dir", "prepare_fit_dir"]


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


def prepare_fit_dir(run_dir: Path, *, resume: bool, overwrite: bool, files: tuple[str, ...],
                    last: str) -> None:
    """``fit``'s directory: on resume it must hold ``last``; otherwise it is checked
    (``check_run_dir``), created, and the ``files`` a run writes are cleared (rank 0)."""
    if resume:
        if not (run_dir / last).is_file():
            raise RunDirError(f"cannot resume: no {last} in {run_dir}; start a new run without resume")
        return
    barrier()  # every rank looks before rank 0 writes anything
    check_run_dir(run_dir, overwrite=overwrite)
    if dist_info().is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        for name in files:
            (run_dir / name).unlink(missing_ok=True)
    barrier()
