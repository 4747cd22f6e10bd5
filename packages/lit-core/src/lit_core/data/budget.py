"""The memory budget of in-memory data sets: declared sizes are checked before anything is read.

A small file can declare a huge array (an ``.npz`` member compresses 1 GB of zeros into 1 MB, an
``.npy`` or IDX header states any shape, a PNG states its pixel count). Every reader asks
``check_budget`` with the bytes a file *declares* before it decompresses or allocates, and
``finalise_splits`` asks again before converting the kept examples to float32. The budget is
``$LIT_DATA_MEMORY_GB`` gigabytes (10⁹ bytes), by default half of this machine's physical memory.
"""

from __future__ import annotations

import math
import os

from .errors import DataError

__all__ = ["ENV_VAR", "check_budget", "format_bytes", "memory_budget"]

#: Environment variable that sets the budget, in gigabytes (10⁹ bytes; fractions allowed).
ENV_VAR = "LIT_DATA_MEMORY_GB"


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):  # not POSIX: assume 16 GB
        return 16 * 10**9


def memory_budget() -> int:
    """The budget in bytes: ``$LIT_DATA_MEMORY_GB`` × 10⁹, else half the physical memory."""
    raw = os.environ.get(ENV_VAR)
    if raw is None or not raw.strip():
        return _physical_memory() // 2
    try:
        gb = float(raw)
    except ValueError:
        gb = math.nan
    if not math.isfinite(gb) or gb <= 0:
        raise DataError(f"{ENV_VAR} must be a positive number of gigabytes (e.g. 32); got {raw!r}")
    return int(gb * 10**9)


def format_bytes(n: int) -> str:
    """``n`` bytes for a message: ``1.2 GB``, ``373 GB``, ``640 kB``."""
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def check_budget(needed: int, what: str, hint: str = "") -> None:
    """Raise ``DataError`` when ``needed`` bytes (what ``what`` declares) exceed the budget.

    Args:
        needed: bytes the data would take in memory.
        what: the file and what it declares, e.g. ``"x.npz: member 'images' (uint8 (10⁶, 3, 224, 224))"``.
        hint: another remedy to offer (e.g. ``"lower data.limit"``), or empty.
    """
    budget = memory_budget()
    if needed > budget:
        also = f"{hint}, or " if hint else ""
        raise DataError(
            f"{what} needs {format_bytes(needed)} of memory, more than the data memory budget of "
            f"{format_bytes(budget)}; {also}raise the budget with {ENV_VAR}=N (gigabytes) if the "
            "machine has the memory"
        )
