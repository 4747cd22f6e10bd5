"""Timing: interleaved latency/throughput of prepared runs, peak memory, environment facts.

Each timed call is synchronised (``torch.cuda.synchronize`` on GPU) and measured with
``time.perf_counter``, so a sample is the end-to-end time a caller waits for one result, and
throughput = batch / median latency is *synchronous* throughput (one call in flight, no
pipelining). The candidates of one group (the backends × dtypes of one model at one batch size)
are interleaved: repetition r runs candidate 0, 1, …, n-1 once each, so clock drift and thermal or
neighbour load hit every candidate alike, while the working set stays one model's. Python's
garbage collector is off while timing. p99 is reported only from ``P99_MIN_SAMPLES`` samples on
(fewer make it the 2nd-largest sample). On GPU, ``gpu_state`` records SM/memory clocks,
temperature and throttle reasons (NVML, else ``nvidia-smi``) before and after each group.

Peak memory is steady state: ``MemoryProbe`` starts before the model is copied and prepared,
``reset_peak()`` after warm-up drops one-time peaks (autotuning, workspaces, export), and the peak
of the calls after it counts — the model's weights, buffers and activations. On GPU it is
``torch.cuda.max_memory_allocated`` less what was allocated before (ONNX Runtime's own CUDA arena
is invisible to it: those rows say "not measured"); on CPU the growth of the process's peak
resident set (VmHWM, reset via ``/proc/self/clear_refs``) over the resident set before prepare —
coarse (page granularity, allocator caching), ``None`` where /proc is unavailable.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

P99_MIN_SAMPLES = 1000
NOISY_SPREAD_PCT = 10.0  # a row whose per-repeat medians spread more than this is ``noisy``

__all__ = [
    "NOISY_SPREAD_PCT",
    "P99_MIN_SAMPLES",
    "LatencyStats",
    "MemoryProbe",
    "Noise",
    "environment",
    "gpu_state",
    "is_oom",
    "noise",
    "summarise",
    "time_interleaved",
]


@dataclass(frozen=True)
class LatencyStats:
    """Per-call latency percentiles (ms) and the throughput they imply at ``batch_size``."""

    p50_ms: float
    p90_ms: float
    p99_ms: float | None  # None below P99_MIN_SAMPLES samples
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
    """Percentiles of per-call times given in seconds (p99 only from ``P99_MIN_SAMPLES`` samples)."""
    xs = sorted(s * 1e3 for s in samples_s)
    return LatencyStats(
        p50_ms=statistics.median(xs), p90_ms=_percentile(xs, 90),
        p99_ms=_percentile(xs, 99) if len(xs) >= P99_MIN_SAMPLES else None,
        runs=len(xs), batch_size=batch_size,
    )


@dataclass(frozen=True)
class Noise:
    """How much one candidate's timing moved between repeats: ``repeats`` groups of samples,
    ``spread_pct`` = (max - min) / median of the per-repeat medians x 100, ``noisy`` above
    ``NOISY_SPREAD_PCT``."""

    repeats: int
    spread_pct: float
    noisy: bool


def noise(samples_s: Sequence[float], repeats: int) -> Noise:
    """Split the samples (in timing order) into ``repeats`` consecutive groups and measure how far
    the groups' medians spread; ``repeats`` is capped at the number of samples."""
    if not samples_s:
        raise ValueError("noise needs at least one sample")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    k = min(repeats, len(samples_s))
    size, extra = divmod(len(samples_s), k)
    medians, start = [], 0
    for g in range(k):
        end = start + size + (1 if g < extra else 0)
        medians.append(statistics.median(samples_s[start:end]))
        start = end
    mid = statistics.median(medians)
    spread = (max(medians) - min(medians)) / mid * 100 if mid > 0 else 0.0
    return Noise(repeats=k, spread_pct=spread, noisy=spread > NOISY_SPREAD_PCT)


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
    """Seconds per call for each zero-argument ``run``, round-robin over ``runs`` each repetition
    (warm-up first, one candidate after another; the garbage collector off while timing)."""
    samples: list[list[float]] = [[] for _ in runs]
    with torch.inference_mode():
        for run in runs:
            for _ in range(warmup):
                run()
        _sync(device)
        gc.collect()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for _ in range(repetitions):
                for i, run in enumerate(runs):
                    _sync(device)
                    t0 = time.perf_counter()
                    run()
                    _sync(device)
                    samples[i].append(time.perf_counter() - t0)
        finally:
            if was_enabled:
                gc.enable()
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

    def reset_peak(self) -> None:
        """Forget the peak so far (call after warm-up): the peak from here on is the steady state."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            with contextlib.suppress(OSError):
                Path("/proc/self/clear_refs").write_text("5")

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
    except (ImportError, AttributeError):  # absent, or a broken install (an empty package)
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


SMI_QUERY = "clocks.sm,clocks.mem,temperature.gpu,power.draw,clocks_throttle_reasons.active"


def format_gpu_state(sm_mhz, mem_mhz, temp_c, power_w, throttle) -> str:
    """One-line GPU state: clocks, temperature, power, throttle-reason bit mask (0x0: none)."""
    if isinstance(throttle, int):
        throttle = hex(throttle)
    return f"SM {sm_mhz} MHz, mem {mem_mhz} MHz, {temp_c} C, {power_w} W, throttle {throttle}"


def parse_smi_state(text: str) -> str | None:
    """``format_gpu_state`` of one ``nvidia-smi --query-gpu=SMI_QUERY --format=csv,noheader,nounits`` line."""
    parts = [p.strip() for p in text.strip().splitlines()[0].split(",")] if text and text.strip() else []
    if len(parts) != 5:
        return None
    return format_gpu_state(*parts)


def gpu_state(device: torch.device) -> str | None:
    """Clocks, temperature, power and throttle reasons of ``device`` now (None on CPU or without NVML/nvidia-smi).

    Uses the torch device index as the NVML index (true unless CUDA_VISIBLE_DEVICES reorders GPUs).
    """
    if device.type != "cuda":
        return None
    index = device.index if device.index is not None else torch.cuda.current_device()
    try:
        import pynvml  # nvidia-ml-py (the [gpu] extra)

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(index)
        return format_gpu_state(
            pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
            pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM),
            pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU),
            round(pynvml.nvmlDeviceGetPowerUsage(h) / 1000),
            pynvml.nvmlDeviceGetCurrentClocksThrottleReasons(h),
        )
    except Exception:  # no NVML (or a call it lacks): try nvidia-smi
        pass
    text = _run_text(["nvidia-smi", "-i", str(index), f"--query-gpu={SMI_QUERY}", "--format=csv,noheader,nounits"])
    return parse_smi_state(text or "")
