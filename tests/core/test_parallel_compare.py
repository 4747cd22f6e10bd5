"""``lit compare --parallel N``: students as concurrent processes give the sequential table."""

from __future__ import annotations

import json

import pytest
import torch

from lit_core.cli import main

TINY = ["--data", "digits", "--set", "data.limit=300", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400", "--teacher", "resnet8", "--student", "resnet8",
        "--set", "train.teacher.epochs=1", "--set", "train.lit.ir_epochs=1",
        "--set", "train.lit.epochs=1", "--set", "train.kd.epochs=1"]


@pytest.mark.slow
def test_parallel_students_match_a_sequential_compare(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the children, like this process, use one thread
    base = ["compare", "--methods", "lit,kd", "--out", str(tmp_path), *TINY]
    assert main([*base, "--run-name", "seq"]) == 0
    assert main([*base, "--run-name", "par", "--parallel", "2", "--logger", "csv"]) == 0
    out = capsys.readouterr().out
    assert "lit: started on CPU" in out and "kd: done" in out
    seq = json.loads((tmp_path / "seq" / "summary.json").read_text())["rows"]
    par = json.loads((tmp_path / "par" / "summary.json").read_text())["rows"]
    assert [r["method"] for r in par] == ["teacher", "lit", "kd"]
    for a, b in zip(seq, par, strict=True):
        assert (a["val_acc"], a["test_acc"]) == (b["val_acc"], b["test_acc"])
    for job in ("lit", "kd"):
        w_seq = torch.load(tmp_path / "seq" / job / "best.pt", weights_only=True)["model"]
        w_par = torch.load(tmp_path / "par" / job / "best.pt", weights_only=True)["model"]
        assert all(torch.equal(w_seq[k], w_par[k]) for k in w_seq)
        assert (tmp_path / "par" / f"{job}.log").is_file()
        history = json.loads((tmp_path / "par" / job / "job.json").read_text())["row"]["history"]
        csv_lines = (tmp_path / "par" / job / "metrics.csv").read_text().splitlines()
        assert len(csv_lines) == 1 + len(history)  # --logger reaches the child processes
        assert not (tmp_path / "seq" / job / "metrics.csv").exists()


def test_parallel_needs_a_positive_count(tmp_path, capsys):
    assert main(["compare", "--out", str(tmp_path), "--run-name", "r", "--parallel", "0",
                 *TINY]) == 2
    assert "--parallel must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
