"""The one exception type of the data layer."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """Missing or malformed data; the message says what was wrong and where it looked."""
