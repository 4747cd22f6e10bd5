"""Issue 20 item 10: error messages that name what is really wrong."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lit_core.data import Augment, DataError, finalise_splits


@pytest.mark.parametrize("channels", [2, 5])
def test_channels_last_arrays_are_named_as_such(channels: int) -> None:
    rng = np.random.default_rng(0)
    imgs = rng.random((12, 8, 8, channels), dtype=np.float32)
    labels = np.arange(12) % 2
    with pytest.raises(DataError) as err:
        finalise_splits(name="probe", train_images=imgs, train_labels=labels, test_images=imgs,
                        test_labels=labels, source="probe.npz", augment=Augment(pad=1, flip=False))
    msg = str(err.value)
    assert "channels-last" in msg and "square" not in msg and "\n" not in msg


def test_bench_run_names_a_deleted_teacher_checkpoint(tmp_path) -> None:
    from lit_bench.litrun import read_run

    (tmp_path / "config.json").write_text(json.dumps({"config": {"data": {}}}))
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "job.json").write_text(json.dumps({"row": {"model": "resnet20", "test_acc": 0.5}}))
    with pytest.raises(ValueError) as err:
        read_run(tmp_path)
    msg = str(err.value)
    assert "is missing" in msg and str(teacher / "best.pt") in msg and "records no teacher" not in msg


def test_a_huge_uint64_label_is_reported_as_its_real_value() -> None:
    from lit_core.data.checks import integer_labels

    labels = np.array([0, 1, 2**64 - 5], dtype=np.uint64)
    with pytest.raises(DataError) as err:
        integer_labels(labels, "probe: train", "probe.npz")
    msg = str(err.value)
    assert str(2**64 - 5) in msg and "label 2 " in msg and "-" + "5" not in msg.split("label 2")[1]


def test_sigterm_before_the_run_is_claimed_says_nothing_was_written() -> None:
    import subprocess
    import sys

    code = ("import os, signal, sys\n"
            "import importlib\n"
            "m = importlib.import_module('lit_core.cli.main')\n"
            "m._COMMANDS['run'] = lambda a: os.kill(os.getpid(), signal.SIGTERM) or 0\n"
            "sys.exit(m.main(['run', '--preset', 'digits']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 143, proc.stderr
    assert "SIGTERM" in proc.stderr and "nothing written): run the command again" in proc.stderr


@pytest.mark.parametrize(("signum", "status", "named"), [
    ("SIGTERM", 143, True), ("SIGINT", 130, True), ("SIGTERM", 143, False)])
def test_an_interrupted_run_names_its_own_out_and_run_name(tmp_path, signum, status, named) -> None:
    """SIGTERM / Ctrl-C said "--resume --run-name <the run>": the user had to find the run (a
    generated name) and remember --out; the message now gives both as the run has them."""
    import signal
    import time

    from cli_helpers import lit_process, wait_for_lock

    out = tmp_path / "my out"
    argv = ["train-teacher", "--data", "digits", "--teacher", "resnet8", "--set", "data.limit=300",
            "--set", "train.teacher.epochs=500", "--out", str(out)]
    proc = lit_process(*argv, *(["--run-name", "r1"] if named else []))
    try:
        deadline = time.monotonic() + 300
        while not out.is_dir() or not any(out.iterdir()):  # the run directory, once claimed
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (run,) = list(out.iterdir())
        wait_for_lock(run, proc)
        proc.send_signal(getattr(signal, signum))
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"--resume --out '{out}' --run-name {run.name}" in lines[0]
    assert "<the run>" not in lines[0]
