"""Test-split accuracy of trained candidates, through lit-core's data loading and evaluation."""

from __future__ import annotations

import os
from collections.abc import Iterable

from .catalog import Candidate, InputSpec

__all__ = ["evaluate_candidates", "load_test_split", "spec_of"]


def load_test_split(data: str = "auto", data_dir: str | os.PathLike | None = None):
    """The lit-core ``DataSplits`` for ``data`` (its ``test`` split is what accuracy is on)."""
    try:
        from lit_core.data import load_data
    except ImportError as exc:
        raise RuntimeError("accuracy needs lit-core: pip install packages/lit-core") from exc
    return load_data(data, data_dir, quiet=True)


def spec_of(splits) -> InputSpec:
    """The model input spec matching a lit-core data set."""
    return InputSpec(in_chans=splits.in_chans, img_size=splits.image_size, num_classes=splits.num_classes)


def evaluate_candidates(candidates: Iterable[Candidate], splits, batch_size: int = 500, log=print) -> None:
    """Set ``accuracy`` (top-1 on the test split, CPU fp32) for every candidate with weights and
    no accuracy yet (a lit run's models come with the accuracies their run measured)."""
    from lit_core import evaluate
    from lit_core.data import BatchLoader

    loader = BatchLoader(splits.test, batch_size, shuffle=False)
    for cand in candidates:
        if cand.trained and cand.accuracy is None:
            cand.accuracy = float(evaluate(cand.module, loader, device="cpu").accuracy)
            log(f"lit-bench: {cand.key} test accuracy {cand.accuracy:.4f} on {splits.name}")
