"""Timing: interleaved latency/throughput of prepared runs, peak memory, environment facts.

One clock interface for both devices (``clock_for``): ``HostClock`` (``time.perf_counter``) on
CPU, where a call returns when its work is done, and ``CudaClock`` on GPU, CUDA events
(``torch.cuda.Event(enable_timing=True)``) recorded on the current stream between calls that are
queued back to back, with one synchronisation per block of calls instead of two per call (a host
timer plus two device-wide syncs costs ~10–20 µs, 5–15 % of a 0.1–0.3 ms CUDA-graph call).
``time_block`` times ``calls`` back-to-back calls of one run: one sample per call (an event
or host mark after every call; used where p99 needs per-call samples, and always on CPU, where
marks cost ~0.1 µs) or one sample per block, the block's mean (GPU rows without p99). A GPU
sample is therefore the time per call in a stream of calls (launch overhead overlapped with the
previous call's kernels where the GPU is the bottleneck), not an isolated host round trip.

The candidates of one group are interleaved block by block: block r runs candidate 0's block,
candidate 1's, …, so clock drift and thermal or neighbour load hit every candidate alike. The
bench's groups span models (every model and backend × dtype at one batch size), so a speed-up of
one model over another is measured under the same conditions. Python's garbage collector is off
while timing. p99 is reported only from ``P99_MIN_SAMPLES`` per-call samples on (fewer make it the
2nd-largest sample). On GPU, ``gpu_state`` records SM/memory clocks, temperature and throttle
reasons (NVML, else ``nvidia-smi``) before and after each group.

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
import itertools
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
BLOCKS = 10  # blocks each candidate's timed calls are split into (the unit of interleaving)

__all__ = [
    "BLOCKS",
    "NOISY_SPREAD_PCT",
    "P99_MIN_SAMPLES",
    "CudaClock",
    "HostClock",
    "LatencyStats",
    "MemoryProbe",
    "Noise",
    "Samples",
    "clock_for",
    "environment",
    "gpu_state",
    "is_oom",
    "noise",
    "summarise",
    "time_block",
    "time_interleaved",
    "time_mean",
    "wants_per_call",
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


def summarise(samples_s: Sequence[float], batch_size: int, calls_per_sample: int = 1) -> LatencyStats:
    """Percentiles of per-call times given in seconds (p99 only from ``P99_MIN_SAMPLES`` per-call
    samples); ``calls_per_sample`` > 1: each sample is a block's mean, ``runs`` counts calls."""
    xs = sorted(s * 1e3 for s in samples_s)
    per_call = calls_per_sample == 1
    return LatencyStats(
        p50_ms=statistics.median(xs), p90_ms=_percentile(xs, 90),
        p99_ms=_percentile(xs, 99) if per_call and len(xs) >= P99_MIN_SAMPLES else None,
        runs=len(xs) * calls_per_sample, batch_size=batch_size,
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


class HostClock:
    """Host wall clock (CPU: a call returns when its work is done)."""

    def mark(self) -> float:
        """A point in time."""
        return time.perf_counter()

    def seconds(self, start: float, end: float) -> float:
        """Seconds between two marks."""
        return end - start

    def settle(self) -> None:
        """Wait until every mark so far can be read (nothing to wait for on the host)."""


class CudaClock:
    """CUDA events on the current stream: marks are queued with the work, read after one sync."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def mark(self) -> torch.cuda.Event:
        """An event recorded on the current stream after the work queued so far."""
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def seconds(self, start: torch.cuda.Event, end: torch.cuda.Event) -> float:
        """Seconds between two recorded events (after ``settle``)."""
        return start.elapsed_time(end) / 1e3

    def settle(self) -> None:
        """Wait for the device, so that every event recorded so far has a time."""
        torch.cuda.synchronize(self.device)


def clock_for(device: torch.device) -> HostClock | CudaClock:
    """CUDA events on a GPU, the host clock on a CPU."""
    return CudaClock(device) if device.type == "cuda" else HostClock()


def time_block(run: Callable[[], object], calls: int, clock: HostClock | CudaClock, *, per_call: bool) -> list[float]:
    """Seconds per call of ``calls`` back-to-back calls of ``run``: one sample per call
    (``per_call``: a mark after every call) or one sample, the block's mean; one ``settle``."""
    if calls < 1:
        raise ValueError(f"a block needs at least one call, got {calls}")
    marks = [clock.mark()]
    for _ in range(calls):
        run()
        if per_call:
            marks.append(clock.mark())
    if not per_call:
        marks.append(clock.mark())
    clock.settle()
    if per_call:
        return [clock.seconds(a, b) for a, b in itertools.pairwise(marks)]
    return [clock.seconds(marks[0], marks[1]) / calls]


@dataclass(frozen=True)
class Samples:
    """One candidate's timing: seconds per call, in timing order (``calls_per_sample`` = 1), or
    per-block means of ``calls_per_sample`` calls."""

    seconds: list[float]
    calls_per_sample: int


def _block_sizes(repetitions: int, blocks: int, equal: bool) -> list[int]:
    """``repetitions`` calls split into at most ``blocks`` blocks; ``equal``: all of one size (the
    remainder, < ``blocks`` calls, is dropped, so every block mean weighs the same)."""
    k = max(1, min(blocks, repetitions))
    size, extra = divmod(repetitions, k)
    return [size + (0 if equal or i >= extra else 1) for i in range(k)]


def time_interleaved(
    runs: Sequence[Callable[[], object]],
    *,
    repetitions: int,
    warmup: int,
    device: torch.device,
    per_call: bool = True,
    blocks: int = BLOCKS,
) -> list[Samples]:
    """Time ``repetitions`` calls of each zero-argument ``run``: warm-up first (one candidate after
    another), then ``blocks`` rounds, each a block of back-to-back calls per candidate in turn
    (``time_block``; the garbage collector off). ``per_call`` False: one sample per block, its
    mean (the bench's choice on GPU where no p99 is reported; see ``wants_per_call``)."""
    clock = clock_for(device)
    sizes = _block_sizes(repetitions, blocks, equal=not per_call)
    samples: list[list[float]] = [[] for _ in runs]
    with torch.inference_mode():
        for run in runs:
            for _ in range(warmup):
                run()
        clock.settle()
        gc.collect()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for size in sizes:
                for i, run in enumerate(runs):
                    samples[i].extend(time_block(run, size, clock, per_call=per_call))
        finally:
            if was_enabled:
                gc.enable()
    return [Samples(s, 1 if per_call else sizes[0]) for s in samples]


def wants_per_call(device: torch.device, batch_size: int, repetitions: int) -> bool:
    """Per-call samples where they are free (CPU) or where p99 needs them (batch 1 with at least
    ``P99_MIN_SAMPLES`` calls); otherwise block means (a GPU event per call costs a few µs)."""
    return device.type != "cuda" or (batch_size == 1 and repetitions >= P99_MIN_SAMPLES)


def time_mean(run: Callable[[], object], calls: int, device: torch.device) -> float:
    """Seconds per call of ``run`` over ``calls`` back-to-back calls (e.g. a per-call input step
    reported beside the latency, not in it)."""
    with torch.inference_mode():
        run()
        return time_block(run, calls, clock_for(device), per_call=False)[0]


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
