"""The Optuna journal file of ``lit search``: a torn last record is repaired, a damaged one refused.

Optuna appends one JSON record per line (under its lock file, ``<journal>.lock``). A worker killed
mid-append leaves a last line without its newline; Optuna's reader skips it, but the next append
is glued onto it and the study can never be read again. ``repair_journal`` runs before a search
opens the file, under the same lock (so a live worker's append is never mistaken for a torn one):
a torn last line is cut off and kept beside the journal (``<journal>.torn``); a complete line that
is not JSON is damage that cannot be undone, and is refused with one line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import StateFileError

__all__ = ["repair_journal"]


def repair_journal(path: str | os.PathLike) -> str | None:
    """Check the journal file ``path`` (if it exists); cut off a torn last record. Returns a
    one-line note of what was repaired, or None. ``StateFileError`` when a record inside is not
    JSON (the study's record is damaged)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return None
    from optuna.storages.journal import JournalFileSymlinkLock  # Optuna's own lock for this file

    lock = JournalFileSymlinkLock(str(path))
    lock.acquire()
    try:
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1  # everything after the last newline is an unfinished record
        for number, line in enumerate(data[:end].splitlines(), start=1):
            try:
                json.loads(line)
            except ValueError:
                raise StateFileError(
                    f"search journal {path} line {number} is not a JSON record (the study's "
                    "record is damaged); restore the file from a copy, or start the search again "
                    "with another --storage or --study-name") from None
        if end == len(data):
            return None
        torn = data[end:]
        path.with_name(path.name + ".torn").write_bytes(torn)
        with path.open("r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())
    finally:
        lock.release()
    return (f"{path} ended in a torn record ({len(torn)} bytes, a worker stopped mid-write); cut "
            f"it off (kept in {path.name}.torn), the study continues from its complete records")
