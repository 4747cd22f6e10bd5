"""Helpers shared by the lit-core CLI tests (not a test module)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The one ``lit: error: ...`` line a failed command wrote to stderr (asserted to be alone)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("lit: error: ")
    return err[0]


def _default_sigint() -> None:
    """In the child before exec: SIGINT back to its default. A job a non-interactive shell starts
    with ``&`` inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler, so a
    Ctrl-C test would see the run go on (and finish with exit 0)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def lit_process(*args: str, **kw) -> subprocess.Popen:
    """Start ``python -m lit_core ARGS`` (one torch thread, unbuffered, SIGINT at its default)
    with its output piped."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    kw.setdefault("preexec_fn", _default_sigint)
    return subprocess.Popen([sys.executable, "-m", "lit_core", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


def wait_for_lock(run: Path, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    """Wait until ``proc`` holds the run directory's lock (it wrote its pid into ``lit.lock``)."""
    deadline = time.monotonic() + timeout
    lock = run / "lit.lock"
    while not (lock.is_file() and lock.read_text().strip() == str(proc.pid)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never took its lock"
        time.sleep(0.05)


def gan_image_folder(root: Path) -> Path:
    """A tiny three-domain image folder (train 8, test 3 grey 8×8 PNGs per domain) for GAN runs."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("test", 3)):
        for k, cls in enumerate(("dark", "mid", "light")):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                img = np.clip(rng.normal(60 + 70 * k, 20, (8, 8)), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(root / split / cls / f"{i}.png")
    return root
