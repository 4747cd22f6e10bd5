"""The paper's studies as library functions: seeds + significance, sweeps, the τ → α → β search.

Contract with the caller (the CLI's jobs module provides the callable): every study takes a
*train function* instead of calling the CLI::

    train_fn(overrides: dict[str, Any], name: str, *, test: bool = False) -> dict[str, Any]

- ``overrides`` are dotted config keys exactly as ``lit --set`` takes them, e.g.
  ``{"train.alpha": 0.9, "train.seed": 3, "models.student": "resnet14"}``, applied over the
  caller's resolved configuration for this one job; the reserved undotted key ``"method"``
  names the student's training method (``lit``, ``kd``, ``scratch``, …; absent: the caller's
  default method).
- ``name`` is a unique, filesystem-safe job name (``lit-seed3``, ``alpha=0.9``, ``tau-007``);
  the caller trains into its own directory for that name.
- It trains one student against the caller's one shared, frozen teacher (trained once or loaded;
  ``train.seed`` seeds the student job only) and returns a dict with at least ``val_acc``
  (best validation accuracy, 0–1), plus ``test_acc`` when ``test=True``. With ``test=False``
  the implementation must not read the test split: the search relies on it.

Studies record finished jobs in a JSON ledger in their run directory (``ledger.Ledger``), so a
killed study resumes job by job. Modules: ``stats`` (mean ± std, the pre-registered paired test),
``seeds`` (methods × seeds), ``sweep`` (grids over config keys), ``search`` (Optuna, τ → α → β),
``pruning`` (the Fig. 6 prune study; the stale-result check is ``lit_core.cli.reproduce``). ``optuna`` and ``scipy`` come with the ``studies`` extra:
``pip install 'lit-core[studies]'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["TrainFn", "require"]


class TrainFn(Protocol):
    """Train one job with ``overrides`` as ``name``; see the module docstring for the contract."""

    def __call__(
        self, overrides: Mapping[str, Any], name: str, *, test: bool = False
    ) -> dict[str, Any]: ...


def require(module: str):
    """Import an optional dependency of the studies, or raise one clear ``ModuleNotFoundError``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"the lit studies need {module!r}; install it with: pip install 'lit-core[studies]'"
        ) from None
