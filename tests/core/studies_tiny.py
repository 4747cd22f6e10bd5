"""A real train function for the studies' tests: tiny ``fit`` runs on scikit-learn digits.

``DigitsTrainFn`` follows the ``lit_core.studies`` contract: one shared frozen teacher (a seeded
resnet14 for 8×8 inputs, untrained: the studies' mechanics do not need a good one), dotted
``train.*`` / ``models.student`` overrides, the reserved ``method`` key, and the test split read
only when ``test=True``. Every loader it builds records which split was iterated, by job.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from lit_core.data import BatchLoader, load_data
from lit_core.training.config import TrainConfig
from lit_core.training.trainer import fit
from lit_models import create_model


class Recording:
    """A loader that notes ``(job, split)`` in ``log`` whenever it is iterated."""

    def __init__(self, loader: BatchLoader, split: str, job: str, log: list) -> None:
        self.loader, self.split, self.job, self.log = loader, split, job, log

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        self.log.append((self.job, self.split))
        return iter(self.loader)


def tiny_model(name: str, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model(name, num_classes=10, in_chans=1, img_size=8)


class DigitsTrainFn:
    """``train_fn(overrides, name, *, test=False) -> {"val_acc", ["test_acc"]}`` on digits."""

    def __init__(self, run_dir: str | Path, limit: int = 300, epochs: int = 1) -> None:
        self.run_dir = Path(run_dir)
        self.data = load_data("digits", seed=0, limit=limit, quiet=True)
        self.teacher = tiny_model("resnet14", 1234)
        self.epochs = epochs
        self.touched: list[tuple[str, str]] = []
        self.calls: list[tuple[dict[str, Any], str, bool]] = []

    def __call__(self, overrides: Mapping[str, Any], name: str, *, test: bool = False) -> dict:
        self.calls.append((dict(overrides), name, test))
        train = {k.split(".", 1)[1]: v for k, v in overrides.items() if k.startswith("train.")}
        cfg = TrainConfig(epochs=self.epochs, ir_epochs=self.epochs, batch_size=64, device="cpu",
                          progress=False, log_every=1000).replace(**train)
        method = overrides.get("method", "lit")
        student = tiny_model(overrides.get("models.student", "resnet8"), cfg.seed)
        d = self.data
        loaders = {
            "train": BatchLoader(d.train, cfg.batch_size, shuffle=True, augment=d.augment, seed=cfg.seed),
            "val": BatchLoader(d.val, 500, shuffle=False),
            "test": BatchLoader(d.test, 500, shuffle=False),
        }
        rec = {k: Recording(v, k, name, self.touched) for k, v in loaders.items()}
        result = fit(student, self.teacher if method != "scratch" else None, rec["train"], rec["val"],
                     method=method, config=cfg, run_dir=self.run_dir / name, overwrite=True,
                     test_loader=rec["test"] if test else None)
        out = {"val_acc": result.best_val_acc}
        if test:
            out["test_acc"] = result.test_acc
        return out


def search_worker(storage: str, study_name: str, run_dir: str, n_trials: int, ready=None) -> None:
    """One search worker process (module-level so ``multiprocessing`` can start it). ``ready``, a
    ``multiprocessing`` barrier, holds every worker until all have started (imported torch, loaded
    the data): otherwise on a slow machine the first can finish every trial before the next starts."""
    torch.set_num_threads(1)
    from lit_core.studies.search import Stage, run_search

    stages = (Stage("train.temperature", 1.0, 8.0, n_trials=n_trials),
              Stage("train.alpha", 0.5, 1.0, n_trials=n_trials))
    train_fn = DigitsTrainFn(run_dir, limit=200)
    if ready is not None:
        ready.wait(timeout=300)
    run_search(train_fn, study_name, storage, stages=stages, poll_s=0.2, wait_timeout_s=300)
