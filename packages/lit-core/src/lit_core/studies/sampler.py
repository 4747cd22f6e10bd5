"""A seeded sampler that workers sharing one study can all use with the same ``--seed``.

A TPE sampler seeded once per process draws the same random start-up trials in every worker
given the same seed, so N workers train the same settings N times. Here every trial samples with
its own seed, derived from the search's seed, the stage and the trial's number; the storage
hands each number to exactly one worker, so workers never repeat each other, and a search with
one worker stays reproducible: trial ``k`` of stage ``i`` always samples with
``trial_seed(seed, i, k)`` (TPE's later trials also read the trials finished so far).
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import require

__all__ = ["trial_seed", "trial_seeded_sampler"]


def trial_seed(seed: int, stage: int, number: int) -> int:
    """The sampling seed of trial ``number`` in stage ``stage``: the first 4 bytes (little
    endian) of ``sha256("<seed>:<stage>:<number>")``."""
    digest = hashlib.sha256(f"{seed}:{stage}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def trial_seeded_sampler(seed: int, stage: int) -> Any:
    """An Optuna sampler that samples each trial with a TPE sampler seeded
    ``trial_seed(seed, stage, trial.number)``."""
    optuna = require("optuna")

    class TrialSeededSampler(optuna.samplers.BaseSampler):  # defined here: Optuna is optional
        def __init__(self) -> None:
            self._per_trial: dict[int, Any] = {}

        def _for(self, trial: Any) -> Any:
            if trial.number not in self._per_trial:
                self._per_trial[trial.number] = optuna.samplers.TPESampler(
                    seed=trial_seed(seed, stage, trial.number))
            return self._per_trial[trial.number]

        def infer_relative_search_space(self, study: Any, trial: Any) -> dict:
            return self._for(trial).infer_relative_search_space(study, trial)

        def sample_relative(self, study: Any, trial: Any, search_space: dict) -> dict:
            return self._for(trial).sample_relative(study, trial, search_space)

        def sample_independent(self, study: Any, trial: Any, param_name: str,
                               param_distribution: Any) -> Any:
            return self._for(trial).sample_independent(study, trial, param_name,
                                                       param_distribution)

        def before_trial(self, study: Any, trial: Any) -> None:
            self._for(trial).before_trial(study, trial)

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            self._for(trial).after_trial(study, trial, state, values)
            del self._per_trial[trial.number]

    return TrialSeededSampler()
