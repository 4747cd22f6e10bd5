"""Every file lit writes honours the umask (0644 under 022, 0640 under 027), as ``open()`` does."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from lit_core.cli import main
from lit_core.data.csv_reader import read_csv_split
from lit_core.data.text import Quantizer
from lit_core.io.atomic import atomic_write, write_json_atomic

TINY = ["--data", "digits", "--set", "data.limit=200", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400"]


@pytest.fixture
def umask():
    """Set the process umask for one test, restoring the old one afterwards."""
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_run_results_get_the_umask_mode(tmp_path, capsys, umask, mask, mode):
    umask(mask)
    rc = main(["train-teacher", "--out", str(tmp_path), "--run-name", "r", "--teacher", "resnet8",
               "--set", "train.teacher.epochs=1", *TINY])
    assert rc == 0, capsys.readouterr().err
    modes = _modes(tmp_path / "r")
    # the records the issue named: written through the atomic writer, once all 0600
    for name in ("config.json", "teacher/best.pt"):
        assert name in modes, sorted(modes)
    assert any(n.startswith("summary.") for n in modes) or "teacher/metrics.jsonl" in modes
    assert {n: oct(m) for n, m in modes.items() if m != mode} == {}


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_atomic_writer_replaces_with_the_umask_mode(tmp_path, umask, mask, mode):
    umask(mask)
    path = tmp_path / "sub" / "x.json"
    write_json_atomic(path, {"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == mode
    os.chmod(path, 0o600)  # a replaced file takes the new mode, not the old file's
    atomic_write(path, lambda f: f.write(b"{}"))
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert json.loads(path.read_text()) == {}
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]  # no temp file left


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("old")

    def boom(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, boom)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_text_csv_cache_files_get_the_umask_mode(tmp_path, umask):
    umask(0o027)
    csv = tmp_path / "train.csv"
    csv.write_text('"1","hello world"\n"2","good bye"\n', encoding="utf-8")
    ids, labels, cached = read_csv_split(csv, Quantizer(seq_len=16), cache=tmp_path / "cache")
    assert ids.shape == (2, 16)
    assert not cached and np.asarray(labels).tolist() == [0, 1]
    modes = _modes(tmp_path / "cache")
    assert modes and set(modes.values()) == {0o640}, modes


@pytest.mark.parametrize("seeds", [[], ["--seeds", "0"]], ids=["compare", "seeds"])
def test_every_file_of_a_study_with_loggers_gets_the_umask_mode(tmp_path, capsys, umask, seeds):
    """summary.* (compare) or the study ledger and seeds.* (--seeds), each job's job.json, best.pt,
    last.pt, metrics.jsonl and the CSV logger's metrics.csv: all 0640 under umask 027."""
    umask(0o027)
    rc = main(["compare", "--methods", "kd", *seeds, "--out", str(tmp_path), "--run-name", "r",
               "--teacher", "resnet8", "--student", "resnet8", "--logger", "csv",
               "--set", "train.teacher.epochs=1", "--set", "train.kd.epochs=1", *TINY])
    assert rc == 0, capsys.readouterr().err
    modes = _modes(tmp_path / "r")
    expected = {"config.json", "teacher/job.json", "teacher/best.pt", "teacher/last.pt",
                "teacher/metrics.jsonl", "teacher/metrics.csv"}
    expected |= {"state.json", "seeds.json", "seeds.md"} if seeds else {"summary.json", "summary.md"}
    student = next(p.parent for p in (tmp_path / "r").rglob("job.json") if p.parent.name != "teacher")
    expected |= {str((student / n).relative_to(tmp_path / "r")) for n in ("job.json", "best.pt", "metrics.csv")}
    assert expected <= set(modes), sorted(expected - set(modes))
    assert {n: oct(m) for n, m in modes.items() if m != 0o640} == {}
