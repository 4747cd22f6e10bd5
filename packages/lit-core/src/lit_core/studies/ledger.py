"""A study's record of finished jobs: one JSON file in the run directory, written atomically.

``Ledger(path).run(name, fn)`` returns the stored result when job ``name`` finished earlier and
otherwise calls ``fn()``, stores its result and rewrites the file (temp file + ``os.replace``),
so a study killed at any point resumes job by job and never reruns a finished job. The
``study`` dict (the overrides every job shares) must match the stored one, so two different
studies never share a file. One process writes a given ledger at a time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import StateFileError
from ..io.atomic import write_json_atomic

__all__ = ["Ledger"]


class Ledger:
    """Finished jobs of one study, by name, persisted in ``path`` (``state.json``)."""

    def __init__(self, path: str | os.PathLike, study: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.study = dict(study or {})
        if self.path.is_file():
            try:
                state = json.loads(self.path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise StateFileError(f"study state {self.path} is not valid JSON ({e}); "
                                     "delete it to start the study again") from None
            if not isinstance(state, dict) or not isinstance(state.get("jobs", {}), dict) \
                    or not isinstance(state.get("study", {}), dict):
                raise StateFileError(f"study state {self.path} is not a lit study record; "
                                     "delete it to start the study again")
            saved = state.get("study", {})
            if study is not None and saved and saved != self.study:
                raise StateFileError(
                    f"{self.path} belongs to another study ({saved}), not {self.study}; "
                    "use another run directory or delete the state file"
                )
            self.study = saved or self.study
            self.jobs = dict(state.get("jobs", {}))

    def done(self, name: str) -> bool:
        """Whether job ``name`` finished earlier."""
        return name in self.jobs

    def run(self, name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The result of job ``name``: stored if it finished earlier, else ``fn()`` (then stored)."""
        if name not in self.jobs:
            self.jobs[name] = dict(fn())
            self.save()
        return self.jobs[name]

    def save(self) -> None:
        """Write the state file atomically."""
        write_json_atomic(self.path, {"study": self.study, "jobs": self.jobs})
