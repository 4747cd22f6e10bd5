"""Fixtures for the fused-op tests: the native library, built once per session (marked ext)."""

from __future__ import annotations

import pytest

from lit_bench import ops


@pytest.fixture(scope="session")
def native_op() -> None:
    """Build (or reuse) and load the native op; fail loudly rather than test the fallback."""
    if not ops.is_available():
        pytest.fail("the native lit op did not build; see the warning above for the log path")
