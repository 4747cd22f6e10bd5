"""``lit compare --parallel N``: one teacher, then the students as independent processes.

At the paper's batch size (32) a LIT step is launch-bound, and DDP over several GPUs splits each
batch further; independent jobs (one method, or one seed, per GPU) use a node far better. The
teacher is trained (or loaded) first, in this process; then each method runs as its own
``lit compress --resume`` process on the same run directory, at most ``N`` at a time, each pinned
to one visible GPU (round robin; on a CPU-only machine they share the CPU). Every child reads the
run's stored ``config.json``, so all jobs use exactly the configuration resolved here. Finally the
table is built from the finished jobs, as ``--resume`` would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError, LitError
from ..io.runlock import LOCK_ENV, inherited_lock_fd
from ..training.rundir import run_dir_path
from ..training.trainer import BEST_CHECKPOINT
from .jobs import compare
from .runconfig import RunConfig

__all__ = ["compare_parallel", "visible_gpus"]


def visible_gpus() -> list[str]:
    """The GPU ids a child may be pinned to (``CUDA_VISIBLE_DEVICES`` entries, or indices)."""
    if not torch.cuda.is_available():
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed:
        return [g.strip() for g in listed.split(",") if g.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]


def compare_parallel(
    cfg: RunConfig,
    methods: Sequence[str],
    *,
    parallel: int,
    out: Path,
    run_name: str | None,
    ckpt: Path | None = None,
    teacher_given: bool = False,
    log=print,
    **session_kw: Any,
) -> int:
    """Teacher here, then ``methods`` as up to ``parallel`` concurrent processes; the table."""
    if parallel < 1:
        raise ConfigError(f"--parallel must be >= 1; got {parallel}")
    name = run_name or f"{cfg.preset}-{cfg.data.name}-compare-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = run_dir_path(out, name)
    kw = {**session_kw, "out": out, "run_name": name, "label": "compare"}
    if ckpt is None:
        compare(cfg, [], **kw)  # the teacher, in this process
        teacher_ckpt = run_dir / "teacher" / BEST_CHECKPOINT
    else:
        compare(cfg, [], ckpt=ckpt, teacher_given=teacher_given, **kw)  # checks and records it
        teacher_ckpt = ckpt
    gpus = visible_gpus()
    pending = list(methods)
    running: list[tuple[str, subprocess.Popen, Any]] = []
    failed: list[str] = []
    while pending or running:
        while pending and len(running) < parallel:
            method = pending.pop(0)
            slot = len(methods) - len(pending) - 1
            running.append(_start(method, teacher_ckpt, out, name, run_dir, gpus, slot, log,
                                  session_kw.get("loggers", ()),
                                  session_kw.get("allow_config_change", False)))
        still = []
        for method, proc, logf in running:
            if proc.poll() is None:
                still.append((method, proc, logf))
                continue
            logf.close()
            if proc.returncode != 0:
                failed.append(method)
            log(f"lit: {method}: {'done' if proc.returncode == 0 else 'FAILED'} "
                f"(log: {run_dir / f'{method}.log'})")
        running = still
        time.sleep(0.2)
    if failed:
        raise LitError(f"method(s) {', '.join(failed)} failed; see their logs in {run_dir}; "
                       "fix and continue with --resume")
    return compare(cfg, list(methods), ckpt=ckpt, teacher_given=teacher_given,
                   **{**kw, "resume": True, "overwrite": False})


def _start(method: str, teacher_ckpt: Path, out: Path, name: str, run_dir: Path,
           gpus: list[str], slot: int, log,
           loggers: Sequence[str] = (),
           allow_config_change: bool = False) -> tuple[str, subprocess.Popen, Any]:
    env = dict(os.environ)
    where = "CPU"
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
        where = f"GPU {env['CUDA_VISIBLE_DEVICES']}"
    argv = [sys.executable, "-m", "lit_core", "compress", "--method", method, "--teacher-ckpt",
            str(teacher_ckpt), "--out", str(out), "--run-name", name, "--resume",
            *(f"--logger={n}" for n in loggers),
            *(["--allow-config-change"] if allow_config_change else [])]  # the parent's decision
    fd = inherited_lock_fd(run_dir)  # the child writes this run under its parent's lock
    if fd is not None:
        env[LOCK_ENV] = str(fd)
    logf = open(run_dir / f"{method}.log", "w", encoding="utf-8")  # noqa: SIM115 -- closed when the child ends
    proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, env=env,
                            pass_fds=() if fd is None else (fd,),
                            preexec_fn=_die_with_parent(os.getpid()))
    log(f"lit: {method}: started on {where} (pid {proc.pid})")
    return method, proc, logf


def _die_with_parent(parent: int):
    """A child's pre-exec hook: on Linux, SIGTERM when the parent dies (``PR_SET_PDEATHSIG``),
    so killing ``lit compare --parallel`` never leaves its students training (and holding the
    run's lock); a parent already gone ends the child at once."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(1)

    return hook
