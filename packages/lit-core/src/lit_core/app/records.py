"""A finished job's record, ``<job>/job.json`` (summary row, result, settings, run id): read and
checked in one place, so that ``--resume`` finds a damaged one before anything trains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import StateFileError
from .report import SummaryRow

__all__ = ["RESULT_FILE", "check_job_records", "job_record_paths", "read_job_record"]

RESULT_FILE = "job.json"  # the record of a finished job (summary row + result)


def job_record_paths(run_dir: Path) -> list[Path]:
    """Every finished job's record in ``run_dir``: top-level jobs and a study's ``jobs/<name>``."""
    run_dir = Path(run_dir)
    return sorted([*run_dir.glob(f"*/{RESULT_FILE}"), *run_dir.glob(f"jobs/*/{RESULT_FILE}")])


def read_job_record(path: Path) -> dict[str, Any]:
    """The record ``path`` holds, its ``row`` a valid summary row; ``StateFileError`` (one line
    naming the file and what to do) when it is not JSON, not UTF-8 or not a lit job record."""
    advice = f"delete {path} to train the job again on --resume"
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StateFileError(f"job record {path} is not valid JSON ({e}); {advice}") from None
    try:
        SummaryRow(**record["row"])
    except (TypeError, KeyError) as e:
        raise StateFileError(f"job record {path} is not a lit job record ({e!r}); {advice}") from None
    return record


def check_job_records(run_dir: Path) -> None:
    """``read_job_record`` of every finished job of ``run_dir`` (``--resume``, before the run)."""
    for path in job_record_paths(run_dir):
        read_job_record(path)
