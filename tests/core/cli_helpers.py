"""Helpers shared by the lit-core CLI tests (not a test module)."""

from __future__ import annotations

import pytest


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The one ``lit: error: ...`` line a failed command wrote to stderr (asserted to be alone)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("lit: error: ")
    return err[0]
