"""The stale-result check names every number that moved, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from lit_core.cli.reproduce import COMMAND, compare_numbers

STORED = {"teacher": {"val_acc": 0.94, "test_acc": 0.93}, "lit": {"val_acc": 0.95, "test_acc": 0.95}}


def test_identical_numbers_pass_and_moved_ones_are_named():
    assert compare_numbers(STORED, json.loads(json.dumps(STORED))) == []
    fresh = {"teacher": {"val_acc": 0.94, "test_acc": 0.9306}, "kd": {"val_acc": 0.9, "test_acc": 0.9}}
    assert compare_numbers(STORED, fresh) == [
        "kd: missing from the reference",
        "lit: missing from the fresh run",
        "teacher test_acc: reference 0.93, now 0.9306",
    ]
    assert compare_numbers({"t": STORED["teacher"]}, {"t": fresh["teacher"]}, tolerance=0.001) == []


def test_the_committed_reference_records_its_command_and_provenance():
    ref = json.loads((Path(__file__).parents[2] / "results/reference/reference.json").read_text())
    assert ref["command"] == COMMAND
    assert {"commit", "date", "torch", "threads"} <= set(ref["made_with"])
    assert set(ref["numbers"]) == {"teacher", "lit", "kd", "scratch"}
