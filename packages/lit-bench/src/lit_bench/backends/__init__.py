"""Inference backends: one ``Backend`` record per way of running a model, in one strict registry.

A backend turns an eval-mode model (already on its device and dtype, BN folded when
``folds_bn``) and an example input into a ``run(x) -> y`` callable; the harness verifies ``run``
against eager fp32 before it times it. ``run.info`` (optional) is a note for the row (e.g. the
execution provider that really ran). ``run.staged`` (optional) = ``(stage, core, what)`` with
``run(x) == core(stage(x))``: ``stage`` is a per-call input step (an NCHW → NHWC conversion, the
copy into a CUDA graph's static input) that the bench times on its own and reports beside the
latency, while the latency is ``core`` on the staged input (``timed_call``). ``prepare`` may take
keyword options (``BenchConfig.options``; e.g. ``mode`` for ``compile``). ``dry_check`` (optional) is what can be checked of the backend
without its device (export, trace), for ``python -m lit_bench --dry-run``.

Backends register themselves on import; the imports at the bottom of this file are the complete list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn

__all__ = [
    "Backend",
    "RunFn",
    "get_backend",
    "list_backends",
    "register_backend",
    "timed_call",
    "unregister_backend",
]

RunFn = Callable[[torch.Tensor], torch.Tensor]


def _always_available() -> str | None:
    return None


@dataclass(frozen=True)
class Backend:
    """How to run a model: name, where and in which dtypes, whether BN is folded, and how.

    Attributes:
        name: the registry name (``"eager"``, ``"onnxrt"``, …).
        devices: the device types it runs on (``"cpu"``, ``"cuda"``).
        dtypes: the dtypes it supports.
        folds_bn: whether it runs the BN-folded model.
        prepare: ``prepare(model, example) -> run``, where ``run(x)`` returns the outputs.
        available: returns None when usable here, else why not (a missing package, no GPU).
        own_memory: it allocates device memory outside PyTorch's allocator.
        dry_check: what can be checked on CPU for a later run on ``devices``.

    Examples:
        >>> import torch
        >>> get_backend("eager").fits("cpu", torch.float32) is None
        True
    """

    name: str
    devices: tuple[str, ...]
    dtypes: tuple[torch.dtype, ...]
    folds_bn: bool
    prepare: Callable[[nn.Module, torch.Tensor], RunFn]
    available: Callable[[], str | None] = _always_available
    #: device memory it allocates outside PyTorch's allocator (not seen by the CUDA peak probe)
    own_memory: bool = False
    #: what can be checked on CPU for a later run on ``devices`` (returns a one-line summary)
    dry_check: Callable[[nn.Module, torch.Tensor], str] | None = None
    #: a prepared run takes any batch size (nothing specialised to the example's shape), so the
    #: bench prepares it once and reuses it across batch sizes (eager, fused); the others — CUDA
    #: graphs, Inductor with ``dynamic=False``, static-shape ONNX / TensorRT engines — are
    #: prepared once per batch size
    shape_agnostic: bool = False

    def fits(self, device: str, dtype: torch.dtype) -> str | None:
        """None if this backend is made for ``device`` and ``dtype``, else why not (static)."""
        if device not in self.devices:
            return f"backend {self.name!r} runs on {', '.join(self.devices)}, not {device}"
        if dtype not in self.dtypes:
            names = ", ".join(str(d).removeprefix("torch.") for d in self.dtypes)
            return f"backend {self.name!r} supports {names}, not {str(dtype).removeprefix('torch.')}"
        return None

    def supports(self, device: str, dtype: torch.dtype) -> str | None:
        """None if this backend can run here on ``device`` in ``dtype``, else the reason it cannot."""
        return self.fits(device, dtype) or self.available()


class _Registry:
    """Name → Backend table; a name registers once."""

    def __init__(self) -> None:
        self._entries: dict[str, Backend] = {}

    def add(self, backend: Backend) -> Backend:
        if backend.name in self._entries:
            raise ValueError(f"backend {backend.name!r} is already registered; pick another name")
        self._entries[backend.name] = backend
        return backend

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> Backend:
        if name not in self._entries:
            raise ValueError(f"unknown backend {name!r}; valid: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        return list(self._entries)


_REGISTRY = _Registry()


def register_backend(backend: Backend) -> Backend:
    """Add a backend to the registry.

    Args:
        backend: the ``Backend`` (name, devices, dtypes, ``prepare(model, example) -> run(x)``).

    Returns:
        ``backend`` itself.

    Raises:
        ValueError: a backend of that name is already registered.

    Examples:
        >>> import torch
        >>> from lit_bench.backends import unregister_backend
        >>> mine = Backend("my_eager", devices=("cpu",), dtypes=(torch.float32,), folds_bn=False,
        ...                prepare=lambda model, example: model)  # run(x) = model(x)
        >>> register_backend(mine).name in list_backends()
        True
        >>> unregister_backend("my_eager")
    """
    return _REGISTRY.add(backend)


def unregister_backend(name: str) -> None:
    """Remove a backend by name (no-op if absent); for tests and plug-ins that register their own."""
    _REGISTRY.remove(name)


def get_backend(name: str) -> Backend:
    """The registered backend called ``name``.

    Args:
        name: a name from ``list_backends()``.

    Returns:
        The ``Backend``.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).

    Examples:
        >>> backend = get_backend("eager")
        >>> backend.devices, backend.folds_bn
        (('cpu', 'cuda'), False)
    """
    return _REGISTRY.get(name)


def list_backends() -> list[str]:
    """Registered backend names, in registration order.

    Returns:
        The names (``eager``, ``eager_folded``, ``cuda_graphs``, ``compile``, ``onnxrt``, …).

    Examples:
        >>> list_backends()[:2]
        ['eager', 'eager_folded']
    """
    return _REGISTRY.names()


def timed_call(run: RunFn, x: torch.Tensor) -> tuple[Callable[[], object], Callable[[], object] | None, str | None]:
    """What the bench times for ``run(x)``: the call without its per-call input step, that step
    (None if ``run`` has none) and what the step is (see the module docstring)."""
    staged = getattr(run, "staged", None)
    if staged is None:
        return (lambda: run(x)), None, None
    stage, core, what = staged
    xs = stage(x)
    return (lambda: core(xs)), (lambda: stage(x)), what


# --- backend modules (each registers itself on import; order = listing order) -----------------
# isort: off
from . import eager  # noqa: E402, F401
from . import cuda_graphs  # noqa: E402, F401
from . import torch_compile  # noqa: E402, F401
from . import onnxrt  # noqa: E402, F401

# Plug-ins: append one line per further backend below, e.g. `from . import fused` (with the
# same noqa comment as above).
from . import fused  # noqa: E402,F401
