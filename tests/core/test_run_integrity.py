"""Runs that are never silently mixed or shared (issue 20 items 3 and 5): ``--resume`` checks the
data's fingerprint and each job's own stored settings; a run directory deleted mid-run fails;
``--overwrite`` replaces the whole old run and the bench reads only the run's own jobs; two
starts on one name give one winner; ``--parallel`` children die with their parent; the GAN path
holds the run lock. Rows of docs/bad-inputs.md ("Run directories and studies")."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import gan_image_folder, lit_process, wait_for_lock

from lit_bench.litrun import read_run
from lit_core.cli import main

TINY = ["--data", "digits", "--set", "data.limit=300", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400", "--teacher", "resnet8", "--student", "resnet8"]
ONE = ["--set", "train.epochs=1", "--set", "train.teacher.epochs=1", "--set", "train.lit.ir_epochs=1",
       "--set", "train.lit.epochs=0"]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("lit: error: ")
    return err[0]


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "lit.lock"}


def _npz(path: Path, seed: int, n: int = 90, size: int = 8) -> Path:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    np.savez(path, images=rng.integers(0, 255, (n, 1, size, size), dtype=np.uint8), labels=labels,
             test_images=rng.integers(0, 255, (30, 1, size, size), dtype=np.uint8),
             test_labels=np.arange(30) % 3)
    return path


def _dead(pid: int) -> bool:
    """Gone, or a zombie waiting to be reaped (its files, and so its lock, are closed)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


# --------------------------------------------------------------------------- item 5: resume


def test_resume_on_a_replaced_data_file_is_refused(tmp_path, capsys):
    data = _npz(tmp_path / "data.npz", seed=0)
    base = ["train-teacher", "--out", str(tmp_path), "--run-name", "r", "--data", "npz",
            "--data-dir", str(data), "--teacher", "resnet8", "--set", "train.teacher.epochs=1",
            "--set", "data.eval_batch_size=400"]
    assert main(base) == 0
    stored = json.loads((tmp_path / "r" / "config.json").read_text())
    fp = stored["data_fingerprint"]
    assert fp["path"] == str(data.resolve()) and fp["size"] == data.stat().st_size
    assert len(fp["sha256"]) == 64 and fp["seed"] == 0
    _npz(data, seed=1)  # same shapes, same size on disk, other pixels
    capsys.readouterr()
    before = snapshot(tmp_path / "r")
    for extra in ([], ["--allow-config-change"]):  # no data.* setting changed: refused anyway
        assert main([*base, "--resume", *extra]) == 2
        line = one_line_error(capsys)
        assert "--resume on other data than" in line and "content sha256" in line, line
        assert "size" not in line  # the size did not change; the content did
    assert snapshot(tmp_path / "r") == before
    _npz(data, seed=0)  # the run's own data again: it continues (the teacher is reused)
    assert main([*base, "--resume"]) == 0
    assert "finished earlier" in capsys.readouterr().out



def test_resume_accepts_the_same_data_moved_elsewhere(tmp_path, capsys):
    _npz(tmp_path / "a.npz", seed=0)
    link = tmp_path / "current.npz"
    link.symlink_to(tmp_path / "a.npz")
    base = ["train-teacher", "--out", str(tmp_path), "--run-name", "r", "--data", "npz",
            "--data-dir", str(link), "--teacher", "resnet8", "--set", "train.teacher.epochs=1"]
    assert main(base) == 0
    shutil.copy(tmp_path / "a.npz", tmp_path / "b.npz")
    link.unlink()
    link.symlink_to(tmp_path / "b.npz")  # another path, the same content and split
    assert main([*base, "--resume"]) == 0
    assert "finished earlier" in capsys.readouterr().out
    _npz(tmp_path / "b.npz", seed=5)  # other content behind the same link: refused
    assert main([*base, "--resume"]) == 2
    line = one_line_error(capsys)
    assert f"path {str(tmp_path / 'a.npz')!r} -> {str(tmp_path / 'b.npz')!r}" in line, line
    assert "content sha256" in line


def test_resume_without_config_json_compares_the_jobs_own_records(tmp_path, capsys):
    base = ["compress", "--method", "scratch", "--out", str(tmp_path), "--run-name", "r", *TINY,
            "--set", "train.scratch.epochs=1"]
    assert main(base) == 0
    run = tmp_path / "r"
    (run / "config.json").unlink()
    (run / "scratch" / "job.json").unlink()  # as if killed: --resume continues from last.pt
    capsys.readouterr()
    before = snapshot(run)
    assert main([*base, "--resume", "--set", "train.scratch.lr=0.5"]) == 2
    line = one_line_error(capsys)
    assert "train.scratch.lr" in line and str(run / "scratch") in line, line
    assert main([*base, "--resume", "--set", "data.limit=200"]) == 2  # the data: from last.pt
    line = one_line_error(capsys)
    assert "scratch/last.pt" in line and "limit 300 -> 200" in line, line
    assert snapshot(run) == before
    assert main([*base, "--resume"]) == 0


def test_a_run_directory_deleted_mid_run_does_not_end_as_a_success(tmp_path):
    run = tmp_path / "r"
    proc = lit_process("run", "--out", str(tmp_path), "--run-name", "r", *TINY,
                "--set", "train.teacher.epochs=3", "--set", "train.epochs=1",
                "--set", "train.lit.ir_epochs=1", "--set", "train.lit.epochs=0")
    try:
        wait_for_lock(run, proc)
        for _ in range(50):  # the run keeps writing while it is removed
            try:
                shutil.rmtree(run)
                break
            except OSError:
                time.sleep(0.05)
        out, err = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert proc.returncode == 2, (out, err)
    last = err.strip().splitlines()[-1]
    assert "was deleted or replaced while this command was writing it" in last, err
    assert not (run / "summary.json").exists()


def test_a_held_run_directory_that_was_removed_or_replaced_is_found(tmp_path):
    from lit_core.errors import RunDirError
    from lit_core.io.runlock import check_run_intact, hold_run_lock, release_run_locks

    run = tmp_path / "r"
    try:
        run.mkdir()
        hold_run_lock(run)
        check_run_intact(run)  # as taken: fine
        shutil.rmtree(run)
        with pytest.raises(RunDirError, match="was deleted or replaced"):
            check_run_intact(run)
        run.mkdir()  # recreated by a later write: still not the run this process locked
        (run / "lit.lock").write_text("")
        with pytest.raises(RunDirError, match="was deleted or replaced"):
            check_run_intact(run)
        check_run_intact(tmp_path / "not-held")  # a run this process does not hold: nothing
    finally:
        release_run_locks()


# --------------------------------------------------------------------------- item 5: overwrite


def test_overwrite_removes_the_old_runs_jobs_and_the_bench_reads_only_the_runs_own(tmp_path):
    cmp = ["compare", "--out", str(tmp_path), *TINY, *ONE]
    assert main([*cmp, "--run-name", "r", "--methods", "kd"]) == 0
    assert main([*cmp, "--run-name", "r", "--methods", "scratch", "--overwrite"]) == 0
    run = tmp_path / "r"
    assert not (run / "kd").exists()  # the replaced run's job is gone
    assert not list(run.glob("config.*.json"))
    assert [s.label for s in read_run(run).students] == ["scratch"]
    # a job folder another run left here (copied in) is not read as one of this run's students
    assert main([*cmp, "--run-name", "other", "--methods", "kd"]) == 0
    shutil.copytree(tmp_path / "other" / "kd", run / "kd")
    assert [s.label for s in read_run(run).students] == ["scratch"]
    run_id = json.loads((run / "config.json").read_text())["run_id"]
    assert json.loads((run / "scratch" / "job.json").read_text())["run_id"] == run_id


def test_overwrite_refuses_to_remove_the_teacher_checkpoint_it_reads(tmp_path, capsys):
    assert main(["train-teacher", "--out", str(tmp_path), "--run-name", "r", *TINY, *ONE]) == 0
    capsys.readouterr()
    before = snapshot(tmp_path / "r")
    ckpt = tmp_path / "r" / "teacher" / "best.pt"
    assert main(["compress", "--method", "kd", "--teacher-ckpt", str(ckpt), "--out", str(tmp_path),
                 "--run-name", "r", "--overwrite", *TINY, *ONE]) == 2
    assert "lies inside run directory" in one_line_error(capsys)
    assert snapshot(tmp_path / "r") == before


# --------------------------------------------------------------------------- item 3: one writer


@pytest.mark.slow
def test_two_starts_on_one_run_name_give_one_winner_and_one_error_line(tmp_path):
    """The loser checked the (then empty) run name before the winner created it, and reaches the
    lock only after the winner finished: it must not claim the finished run."""
    big = _npz(tmp_path / "big.npz", seed=0, n=6000, size=32)  # slow enough to be caught loading
    loser = lit_process("train-teacher", "--out", str(tmp_path), "--run-name", "same", "--data", "npz",
                 "--data-dir", str(big), "--teacher", "resnet8", "--set", "data.limit=150",
                 "--set", "train.teacher.epochs=1")
    try:
        deadline = time.monotonic() + 300
        fds = Path(f"/proc/{loser.pid}/fd")
        while True:  # the loser is reading its data: it has passed the run-directory check
            try:
                if any(os.readlink(fd) == str(big) for fd in fds.iterdir()):
                    break
            except OSError:
                pass
            assert loser.poll() is None, loser.communicate()
            assert time.monotonic() < deadline
        os.kill(loser.pid, signal.SIGSTOP)
        winner = lit_process("train-teacher", "--out", str(tmp_path), "--run-name", "same", *TINY, *ONE)
        _, w_err = winner.communicate(timeout=600)
        assert winner.returncode == 0, w_err
        os.kill(loser.pid, signal.SIGCONT)
        out, err = loser.communicate(timeout=600)
    finally:
        loser.kill()
    assert loser.returncode == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "already exists and is not empty" in lines[0], err
    config = json.loads((tmp_path / "same" / "config.json").read_text())["config"]
    assert config["data"]["name"] == "digits"  # the winner's run, untouched
    history = json.loads((tmp_path / "same" / "teacher" / "job.json").read_text())["row"]["history"]
    assert len(history) == 1


@pytest.mark.slow
def test_two_starts_at_once_on_one_run_name_give_one_winner(tmp_path):
    procs = [lit_process("train-teacher", "--out", str(tmp_path), "--run-name", "same", *TINY, *ONE)
             for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], results
    err = results[codes.index(2)][1].strip().splitlines()
    assert len(err) == 1, err
    assert "is in use by another lit process" in err[0] or "already exists" in err[0], err
    history = json.loads((tmp_path / "same" / "teacher" / "job.json").read_text())["row"]["history"]
    assert len(history) == 1
    metrics = (tmp_path / "same" / "teacher" / "metrics.jsonl").read_text().splitlines()
    assert len(metrics) == 1  # one run's epochs, not two interleaved


@pytest.mark.slow
def test_killing_a_parallel_parent_kills_its_children_and_resume_runs_each_job_once(tmp_path):
    run = tmp_path / "p"
    long = [*TINY, "--set", "train.teacher.epochs=1", "--set", "train.lit.ir_epochs=1",
            "--set", "train.lit.epochs=100000", "--set", "train.kd.epochs=100000",
            "--set", "train.scratch.epochs=100000"]
    parent = lit_process("run", "--out", str(tmp_path), "--run-name", "p", "--parallel", "2", *long)
    resume = ("run", "--out", str(tmp_path), "--run-name", "p", "--parallel", "2", "--resume",
              "--allow-config-change", *TINY, "--set", "train.teacher.epochs=1",
              "--set", "train.lit.ir_epochs=1", "--set", "train.lit.epochs=1",
              "--set", "train.kd.epochs=1", "--set", "train.scratch.epochs=1")
    children: list[int] = []
    try:
        deadline = time.monotonic() + 600
        while len(children) < 2:
            line = parent.stdout.readline()
            assert line or parent.poll() is None, parent.communicate()
            if ": started on CPU (pid " in line:
                children.append(int(line.rsplit("pid ", 1)[1].rstrip(")\n")))
            assert time.monotonic() < deadline
        for job in ("lit", "kd"):  # both students are training
            while not (run / job / "last.pt").is_file():
                assert time.monotonic() < deadline, (run / f"{job}.log").read_text()
                time.sleep(0.2)
        parent.kill()  # kill -9: no chance to clean up
        parent.communicate()
        again = lit_process(*resume)  # at once: the children may still be stopping
        while not all(_dead(pid) for pid in children):
            assert time.monotonic() < deadline, "the children outlived their parent"
            time.sleep(0.1)
    finally:
        parent.kill()
        for pid in children:
            if not _dead(pid):
                os.kill(pid, signal.SIGKILL)
    out, err = again.communicate(timeout=900)
    if again.returncode == 2:  # it came before the children were gone: the lock stopped it
        assert "is in use by another lit process" in err, err
        again = lit_process(*resume)
        out, err = again.communicate(timeout=900)
    assert again.returncode == 0, (out, err)
    assert "finished earlier" in out  # the teacher
    for job in ("lit", "kd", "scratch"):
        history = json.loads((run / job / "job.json").read_text())["row"]["history"]
        steps = [h["global_epoch"] for h in history]
        assert steps == sorted(set(steps)), (job, steps)  # one writer: no epoch twice
        assert "in use by another lit process" not in (run / f"{job}.log").read_text()
    assert (run / "summary.json").is_file()


# --------------------------------------------------------------------------- item 3: GAN runs


def _gan_config(tmp_path: Path) -> Path:
    root = gan_image_folder(tmp_path / "gan-data")
    path = tmp_path / "gan.toml"
    path.write_text(f'''task = "gan"
description = "tiny"
teacher_ckpt = "{tmp_path / 'teacher.ckpt'}"
[data]
name = "folder"
data_dir = "{root}"
image_size = 8
[models]
conv_dim = 4
d_conv_dim = 4
d_repeat_num = 2
teacher_blocks = [2]
student_blocks = [1]
sections = ["stages.0"]
[train]
iters = 2
decay_iters = 1
batch_size = 4
n_critic = 1
log_every = 1
save_every = 1
[train.teacher]
iters = 100000000
[train.lit]
section_steps = 2
finetune_iters = 2
[train.l2]
section_steps = 2
finetune_iters = 0
[train.scratch]
[eval]
classifier_epochs = 1
kid_subset_size = 4
grid_inputs = 2
''')
    return path


@pytest.mark.slow
def test_a_gan_run_holds_the_run_lock(tmp_path):
    config = _gan_config(tmp_path)
    run = tmp_path / "g"
    first = lit_process("train-teacher", "--config", str(config), "--out", str(tmp_path), "--run-name", "g")
    try:
        wait_for_lock(run, first)
        deadline = time.monotonic() + 300
        while not (run / "teacher" / "state.pt").is_file():  # it is training
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.1)
        for flag in ("--overwrite", "--resume"):
            second = lit_process("train-teacher", "--config", str(config), "--out", str(tmp_path),
                          "--run-name", "g", flag)
            try:
                out, err = second.communicate(timeout=300)
            finally:
                second.kill()
            assert second.returncode == 2, (out, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "is in use by another lit process" in lines[0], err
            assert f"pid {first.pid}" in lines[0]
            assert (run / "teacher" / "state.pt").is_file()  # --overwrite removed nothing
        assert first.poll() is None
    finally:
        first.kill()
        first.communicate()
