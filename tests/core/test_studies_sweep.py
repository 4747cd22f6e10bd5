"""Sweeps: grid → named jobs, resumable job by job, a table and a plot per key."""

from __future__ import annotations

import json

import pytest
from studies_tiny import DigitsTrainFn

from lit_core.studies.sweep import grid, run_sweep


def test_grid_names_every_combination_from_short_keys():
    jobs = grid({"train.alpha": [0.5, 0.9], "train.ir_loss": ["l2", "l1"]}, base={"method": "lit"})
    assert [j.name for j in jobs] == ["alpha=0.5,ir_loss=l2", "alpha=0.5,ir_loss=l1",
                                      "alpha=0.9,ir_loss=l2", "alpha=0.9,ir_loss=l1"]
    assert jobs[1].overrides == {"method": "lit", "train.alpha": 0.5, "train.ir_loss": "l1"}


@pytest.mark.parametrize("axes, message", [
    ({}, "at least one key"),
    ({"train.alpha": []}, "non-empty list"),
    ({"train.alpha": "0.5"}, "non-empty list"),
    ({"train.alpha": [0.5, 0.5]}, "repeats a value"),
])
def test_bad_grids_are_refused_with_the_key_named(axes, message):
    with pytest.raises(ValueError, match=message):
        grid(axes)


def test_sweep_trains_real_jobs_writes_outputs_and_resumes(tmp_path):
    train_fn = DigitsTrainFn(tmp_path / "jobs", limit=200)
    axes = {"train.beta": [0.5, 1.0], "models.student": ["resnet8", "resnet14"]}
    rows = run_sweep(train_fn, axes, tmp_path / "sweep")
    assert [r["job"] for r in rows] == ["beta=0.5,student=resnet8", "beta=0.5,student=resnet14",
                                        "beta=1,student=resnet8", "beta=1,student=resnet14"]
    assert all(0 <= r["val_acc"] <= 1 and r["test_acc"] is None for r in rows)
    assert not any(split == "test" for _, split in train_fn.touched)
    out = tmp_path / "sweep"
    assert {p.name for p in out.glob("sweep-*.png")} == {"sweep-beta.png", "sweep-student.png"}
    assert "| 0.5 | resnet14 |" in (out / "sweep.md").read_text()
    state = json.loads((out / "state.json").read_text())
    assert sorted(state["jobs"]) == sorted(r["job"] for r in rows)

    # a killed sweep: drop one finished job from the state; only that job runs again
    del state["jobs"]["beta=1,student=resnet8"]
    (out / "state.json").write_text(json.dumps(state))
    n = len(train_fn.calls)
    again = run_sweep(train_fn, axes, out)
    assert [c[1] for c in train_fn.calls[n:]] == ["beta=1,student=resnet8"]
    assert [r["val_acc"] for r in again if r["job"] != "beta=1,student=resnet8"] == [
        r["val_acc"] for r in rows if r["job"] != "beta=1,student=resnet8"]
