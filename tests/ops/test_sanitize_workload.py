"""The compute-sanitizer workload (tests/ops/sanitize.py) runs and checks its results; on CPU here."""

from __future__ import annotations

import pytest
import sanitize


@pytest.mark.ext
def test_sanitizer_workload_matches_reference_on_the_device(native_op, device, capsys):
    assert sanitize.workload(device) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(sanitize.SHAPES) * 3 * 2 and all(line.endswith(" ok") for line in lines)


def test_unknown_sanitizer_tool_is_one_clear_error(capsys):
    assert sanitize.main(["--all", "--tools", "memcheck,leakcheck"]) == 2
    assert capsys.readouterr().out.strip() == (
        "lit: error: unknown sanitizer tool(s) leakcheck; valid: memcheck, racecheck, initcheck, synccheck"
    )
