"""Run directories cannot be destroyed, shared or silently mixed: run names stay inside
``--out`` (paths resolved before every check), one writer at a time holds a run (a lock for the
run's life, released by the kernel when a process dies), ``--parallel`` children die with their
parent, and ``--overwrite`` / ``--resume`` never mix two runs. Rows of docs/bad-inputs.md."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from cli_helpers import lit_process, one_line_error, wait_for_lock

from lit_core.cli import main

TINY = ["--data", "digits", "--set", "data.limit=300", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400", "--teacher", "resnet8", "--student", "resnet8"]
TEACHER_1 = ["--set", "train.teacher.epochs=1"]


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> sha256), to show nothing changed."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def victim(tmp_path, capsys) -> Path:
    """A finished teacher run at ``tmp_path/out/victim``."""
    assert main(["train-teacher", "--out", str(tmp_path / "out"), "--run-name", "victim",
                 *TINY, *TEACHER_1]) == 0
    capsys.readouterr()
    run = tmp_path / "out" / "victim"
    assert (run / "config.json").is_file() and (run / "teacher" / "job.json").is_file()
    return run


@pytest.mark.parametrize(("out", "name", "needle"), [
    ("victim/nonexistent", "..", "leads outside --out"),  # the probe's case
    ("victim/nonexistent", "../../victim", "leads outside --out"),
    ("victim", "../../x", "leads outside --out"),
    ("victim", "ABSOLUTE", "is absolute"),
    ("victim/nonexistent/..", "teacher", "already exists"),  # `..` in --out, resolved first
    ("victim/nonexistent/../..", "victim", "already exists"),
])
def test_a_run_name_cannot_leave_out_or_reach_an_existing_run(tmp_path, capsys, victim, out,
                                                              name, needle):
    before = snapshot(tmp_path)
    name = str(tmp_path / "elsewhere") if name == "ABSOLUTE" else name
    args = ["train-teacher", "--out", str(tmp_path / "out" / out), "--run-name", name, *TINY,
            *TEACHER_1]
    assert main(args) == 2
    assert needle in one_line_error(capsys)
    assert snapshot(tmp_path) == before  # the victim's config.json and job.json intact
    assert not (victim / "nonexistent").exists()
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "x").exists()


def test_a_run_name_inside_out_may_have_subdirectories(tmp_path, capsys):
    assert main(["train-teacher", "--out", str(tmp_path), "--run-name", "a/b/../c", *TINY,
                 *TEACHER_1]) == 0
    assert (tmp_path / "a" / "c" / "teacher" / "job.json").is_file()
    assert not (tmp_path / "a" / "b").exists()


def test_resume_with_a_run_name_outside_out_is_refused_before_reading_it(tmp_path, capsys, victim):
    assert main(["run", "--out", str(tmp_path / "out" / "victim" / "nonexistent"), "--run-name",
                 "..", "--resume"]) == 2
    assert "leads outside --out" in one_line_error(capsys)


# --------------------------------------------------------------------------- one writer


LONG = [*TINY, "--set", "train.teacher.epochs=1", "--set", "train.lit.ir_epochs=1",
        "--set", "train.lit.epochs=0", "--set", "train.kd.epochs=1",
        "--set", "train.scratch.epochs=100000"]


def test_a_second_writer_is_refused_while_a_run_lives_and_a_killed_run_resumes(tmp_path):
    run = tmp_path / "same"
    first = lit_process("run", "--out", str(tmp_path), "--run-name", "same", *LONG)
    try:
        wait_for_lock(run, first)
        while not (run / "config.json").is_file():  # written just after the lock is taken
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        config = (run / "config.json").read_bytes()
        for flag in ("--resume", "--overwrite"):
            second = lit_process("run", "--out", str(tmp_path), "--run-name", "same", *LONG, flag)
            out, err = second.communicate(timeout=300)
            assert second.returncode == 2, (out, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "is in use by another lit process" in lines[0], err
            assert f"pid {first.pid}" in lines[0]
            assert (run / "config.json").read_bytes() == config
        assert first.poll() is None  # the first run was not disturbed
    finally:
        first.kill()  # as kill -9: the kernel drops its lock
        first.communicate()
    again = lit_process("run", "--out", str(tmp_path), "--run-name", "same", "--resume",
                 "--allow-config-change", *LONG, "--set", "train.scratch.epochs=1")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert (run / "summary.json").is_file()
