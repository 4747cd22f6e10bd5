"""Frozen-teacher outputs computed once per example and served by example index.

The teacher is frozen and in eval mode, so on a deterministic pipeline (no random augmentation)
its logits and stage outputs T̃_0 … T̃_n for an example are the same every epoch and for every
student: ``TeacherCache.build`` runs the teacher once over the training images and keeps
them, in memory or memory-mapped ``.npy`` files (``path=``), in fp32 or bf16. A LIT/KD step then
costs only the student (see ``results/teacher-cache/`` for the measured share of the teacher).

bf16 error bound: bf16 keeps 8 significand bits, so round-to-nearest stores every finite value
x as x̂ with |x̂ − x| ≤ 2⁻⁸·|x| (unit roundoff u = 2⁻⁸ ≈ 0.39 %; tested). Logits perturbed
elementwise by at most u·|z| change the tempered KD targets softmax(z/τ) by a factor within
exp(±2u·max|z|/τ). fp32 storage is exact: with the hook below, fp32-cached LIT and KD runs gave
bit-identical weights to uncached ones on CPU; bf16-cached runs diverge like any perturbed run
(``results/teacher-cache/``), so use bf16 only when fp32 does not fit.

With augmentation on, the teacher sees a differently cropped/flipped image each epoch and
cached outputs would be wrong: building a cache then raises ``ValueError``.

Integration (the loader and the step need one hook each): ``BatchLoader`` yields the example
indices of each batch alongside ``(x, y)``, and the step takes the teacher's outputs instead of
computing them: ``cuts, logits = cache.lookup(idx, device)``, then
``lit_step(..., teacher_out=(cuts, logits))``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ..data import Augment, BatchLoader, model_input
from ..data.splits import ArrayDataset
from ..io.atomic import write_text_atomic
from ..method.lit import IRPlan, teacher_forward

__all__ = ["BF16_REL_ERROR", "CACHE_DTYPES", "TeacherCache"]

CACHE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
BF16_REL_ERROR = 2.0**-8  # unit roundoff of bfloat16 (8 significand bits, round to nearest)


def _refuse_augmentation(augment: Augment | None) -> None:
    if augment is not None and augment.enabled:
        what = ", ".join(w for w, on in ((f"random crop (pad {augment.pad})", augment.pad > 0),
                                          ("random flip", augment.flip)) if on)
        raise ValueError(
            f"cannot cache teacher outputs: training augmentation is on ({what}), so the teacher "
            "sees a different image every epoch; train without augmentation to use the cache, "
            "or train without the cache"
        )


DEVICE_BUDGET = 0.5  # fraction of free device memory a cache may take on the GPU


class TeacherCache:
    """The teacher's logits (N×C) and, for an IR plan, its cuts T̃_0 … T̃_n, per example."""

    def __init__(self, logits: torch.Tensor, cuts: Sequence[torch.Tensor] | None, dtype: str) -> None:
        self.logits, self.cuts, self.dtype = logits, None if cuts is None else list(cuts), dtype

    def __len__(self) -> int:
        return len(self.logits)

    @property
    def nbytes(self) -> int:
        """Bytes held (or mapped) for all examples."""
        tensors = [self.logits, *(self.cuts or [])]
        return sum(t.numel() * t.element_size() for t in tensors)

    @classmethod
    @torch.no_grad()
    def build(
        cls,
        teacher: nn.Module,
        data: ArrayDataset | BatchLoader,
        *,
        plan: IRPlan | None = None,
        augment: Augment | None = None,
        dtype: str = "fp32",
        batch_size: int = 256,
        device: torch.device | str = "cpu",
        path: str | os.PathLike | None = None,
    ) -> TeacherCache:
        """Run ``teacher`` once over every training image (index order) and keep its outputs.

        ``data``: the training ``ArrayDataset`` (pass its ``augment``) or the training
        ``BatchLoader`` (its augmentation is checked). ``plan``: the IR phase's plan (from
        ``lit.make_plan``) to cache its cuts as well; ``None`` caches logits only (KD).
        ``path``: a folder for memory-mapped ``.npy`` files (reopen with ``TeacherCache.open``).
        """
        if isinstance(data, BatchLoader):
            augment, images = data.augment, data.images
        else:
            images = data.images
        _refuse_augmentation(augment)
        if dtype not in CACHE_DTYPES:
            raise ValueError(f"cache dtype must be one of {', '.join(CACHE_DTYPES)}; got {dtype!r}")
        device = torch.device(device)
        was_training = teacher.training
        teacher.eval()
        n, store, mapped = len(images), None, []
        try:
            for start in range(0, n, batch_size):
                x = model_input(images[start : start + batch_size]).to(device)
                cuts, logits = teacher_forward(teacher, x, plan)
                outs = [logits, *(cuts or [])]
                if store is None:
                    store = [_allocate(path, i, (n, *o.shape[1:]), dtype, mapped)
                             for i, o in enumerate(outs)]
                for buf, o in zip(store, outs, strict=True):
                    buf[start : start + len(o)] = o.to(CACHE_DTYPES[dtype]).cpu()
        finally:
            teacher.train(was_training)
        if store is None:
            raise ValueError("cannot cache teacher outputs of an empty data set")
        if path is not None:
            for arr in mapped:
                arr.flush()
            meta = {"dtype": dtype, "n": n, "tensors": len(store), "plan": plan is not None}
            write_text_atomic(Path(path) / "cache.json", json.dumps(meta) + "\n")
            return cls.open(path)
        return cls(store[0], store[1:] if plan is not None else None, dtype)

    @classmethod
    def open(cls, path: str | os.PathLike) -> TeacherCache:
        """Memory-map a cache written by ``build(..., path=...)`` (read-only)."""
        path = Path(path)
        try:
            meta = json.loads((path / "cache.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"no teacher cache in {path} (cache.json missing)") from None
        tensors = []
        for i in range(meta["tensors"]):
            arr = np.load(path / f"out{i}.npy", mmap_mode="r")
            with warnings.catch_warnings():  # a read-only mapping: lookups only ever read it
                warnings.simplefilter("ignore", UserWarning)
                t = torch.from_numpy(arr)
            tensors.append(t.view(torch.bfloat16) if meta["dtype"] == "bf16" else t)
        return cls(tensors[0], tensors[1:] if meta["plan"] else None, meta["dtype"])

    @property
    def device(self) -> torch.device:
        """Where the cached outputs live."""
        return self.logits.device

    def place(self, device: torch.device | str, budget: float = DEVICE_BUDGET) -> TeacherCache:
        """This cache where lookups on ``device`` need no host sync.

        On a CUDA device it is copied there when its bytes fit ``budget`` × the free device
        memory (``torch.cuda.mem_get_info``), else into pinned host memory (asynchronous
        copies per step); on the CPU it is returned as it is.
        """
        device = torch.device(device)
        if device.type != "cuda" or self.device == device:
            return self
        tensors = [self.logits, *(self.cuts or [])]
        free, _ = torch.cuda.mem_get_info(device)
        if self.nbytes <= budget * free:
            moved = [t.to(device) for t in tensors]
        else:
            moved = [t.pin_memory() for t in tensors]
        return TeacherCache(moved[0], moved[1:] if self.cuts is not None else None, self.dtype)

    def lookup(
        self, index: torch.Tensor, device: torch.device | str = "cpu"
    ) -> tuple[list[torch.Tensor] | None, torch.Tensor]:
        """``(cuts or None, logits)`` for the examples ``index``, as fp32 on ``device``.

        When the cache lives on ``device`` (see ``place``) the gather runs there with no
        host sync; out-of-range indices then raise inside ``index_select`` (a device-side
        error on CUDA) instead of the host-side check.
        """
        device = torch.device(device)
        if self.device == device or (device.type == "cpu" and self.device.type == "cpu"):
            idx = index.to(self.device, torch.long, non_blocking=True)

            def gather(t: torch.Tensor) -> torch.Tensor:
                return t.index_select(0, idx).to(torch.float32)

            cuts = None if self.cuts is None else [gather(c) for c in self.cuts]
            return cuts, gather(self.logits)
        idx = index.to("cpu", torch.long)
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= len(self)):
            raise IndexError(f"example index out of range for a cache of {len(self)} examples")

        def take(t: torch.Tensor) -> torch.Tensor:
            return t[idx].to(device=device, dtype=torch.float32, non_blocking=True)

        cuts = None if self.cuts is None else [take(c) for c in self.cuts]
        return cuts, take(self.logits)


def _allocate(
    path: str | os.PathLike | None, i: int, shape: tuple[int, ...], dtype: str, mapped: list
) -> torch.Tensor:
    if path is None:
        return torch.empty(shape, dtype=CACHE_DTYPES[dtype])
    Path(path).mkdir(parents=True, exist_ok=True)
    np_dtype = np.float32 if dtype == "fp32" else np.int16  # bf16 bits stored as int16
    arr = np.lib.format.open_memmap(Path(path) / f"out{i}.npy", mode="w+", dtype=np_dtype, shape=shape)
    mapped.append(arr)
    t = torch.from_numpy(arr)
    return t.view(torch.bfloat16) if dtype == "bf16" else t
