"""Timing: interleaved latency/throughput of prepared runs, peak memory, environment facts.

Each timed call is synchronised (``torch.cuda.synchronize`` on GPU) and measured with
``time.perf_counter``, so a sample is the end-to-end time a caller waits for one result. The
candidates of one group are interleaved: repetition r runs candidate 0, 1, …, n-1 once each, so
clock drift and thermal or neighbour load hit every candidate alike.

Peak memory: on GPU ``torch.cuda.max_memory_allocated`` over model copy + prepare + warm-up, less
what was allocated before (ONNX Runtime's own arena is not seen by it); on CPU the growth of the process's peak resident set (VmHWM, reset via
``/proc/self/clear_refs``) over the resident set before prepare — coarse (page granularity,
allocator caching), ``None`` where /proc is unavailable.
"""

from __future__ import annotations

import contextlib
import functools
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

__all__ = [
    "LatencyStats",
    "MemoryProbe",
    "environment",
    "is_oom",
    "summarise",
    "time_interleaved",
]


@dataclass(frozen=True)
class LatencyStats:
    """Per-call latency percentiles (ms) and the throughput they imply at ``batch_size``."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    runs: int
    batch_size: int

    @property
    def throughput(self) -> float:
        """Items per second at the median latency."""
        return self.batch_size / (self.p50_ms / 1e3)


def _percentile(sorted_xs: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of already sorted samples."""
    if len(sorted_xs) == 1:
        return sorted_xs[0]
    pos = q / 100 * (len(sorted_xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def summarise(samples_s: Sequence[float], batch_size: int) -> LatencyStats:
    """Percentiles of per-call times given in seconds."""
    xs = sorted(s * 1e3 for s in samples_s)
    return LatencyStats(
        p50_ms=statistics.median(xs), p90_ms=_percentile(xs, 90), p99_ms=_percentile(xs, 99),
        runs=len(xs), batch_size=batch_size,
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_interleaved(
    runs: Sequence[Callable[[], object]],
    *,
    repetitions: int,
    warmup: int,
    device: torch.device,
) -> list[list[float]]:
    """Seconds per call for each zero-argument ``run``, round-robin over ``runs`` each repetition."""
    with torch.inference_mode():
        for run in runs:
            for _ in range(warmup):
                run()
        _sync(device)
        samples: list[list[float]] = [[] for _ in runs]
        for _ in range(repetitions):
            for i, run in enumerate(runs):
                _sync(device)
                t0 = time.perf_counter()
                run()
                _sync(device)
                samples[i].append(time.perf_counter() - t0)
    return samples


def is_oom(exc: BaseException) -> bool:
    """Whether an exception means the device ran out of memory (PyTorch or ONNX Runtime)."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return "out of memory" in text or "failed to allocate memory" in text


def _proc_status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class MemoryProbe:
    """Peak memory of what happens inside ``with probe:`` (see the module docstring)."""

    device: torch.device
    peak_bytes: int | None = field(default=None, init=False)
    _base: int | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> MemoryProbe:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        else:
            with contextlib.suppress(OSError):
                Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
            rss = _proc_status_kb("VmRSS")
            self._base = rss * 1024 if rss is not None else None
        return self

    def __exit__(self, *exc_info) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = int(torch.cuda.max_memory_allocated(self.device)) - (self._base or 0)
        else:
            hwm = _proc_status_kb("VmHWM")
            if hwm is not None and self._base is not None:
                self.peak_bytes = max(0, hwm * 1024 - self._base)


def _run_text(cmd: list[str], cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def cpu_model() -> str:
    """CPU model name (lscpu, else /proc/cpuinfo, else platform)."""
    text = _run_text(["lscpu"])
    for line in (text or "").splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def git_sha() -> str | None:
    """Git revision of the checkout the package lives in (``-dirty`` when modified), if any."""
    here = Path(__file__).resolve().parent
    sha = _run_text(["git", "rev-parse", "--short=12", "HEAD"], cwd=here)
    if sha is None:
        return None
    dirty = _run_text(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here)
    return sha + ("-dirty" if dirty else "")


@functools.cache
def environment(device: str) -> dict[str, object]:
    """Versions and hardware for every result row (device name, driver, torch, ORT, CUDA, git)."""
    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    env: dict[str, object] = {
        "torch": torch.__version__,
        "onnxruntime": ort_version,
        "cuda": torch.version.cuda,
        "driver": None,
        "device_name": cpu_model(),
        "git_sha": git_sha(),
    }
    if device == "cuda" and torch.cuda.is_available():
        env["device_name"] = torch.cuda.get_device_name()
        smi = _run_text(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"])
        env["driver"] = smi.splitlines()[0] if smi else None
    return env
