"""The τ → α → β search: stage order, validation split only, a TOML overlay, shared storage."""

from __future__ import annotations

import multiprocessing as mp
import sys

import optuna
import pytest
from studies_tiny import DigitsTrainFn, search_worker

from lit_core.studies.search import Stage, make_storage, run_search, to_toml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_stages_run_in_order_each_fixing_the_earlier_best_and_never_reading_test(tmp_path):
    train_fn = DigitsTrainFn(tmp_path / "jobs", limit=200)
    stages = (Stage("train.temperature", 1.0, 8.0, log=True, n_trials=3),
              Stage("train.alpha", 0.5, 1.0, n_trials=3),
              Stage("train.beta", 0.0, 1.0, n_trials=2))
    result = run_search(train_fn, "s", tmp_path / "search.journal", stages=stages, seed=0)

    keys = [[k for k in ("train.temperature", "train.alpha", "train.beta") if k in o]
            for o, _, _ in train_fn.calls]
    assert keys == [["train.temperature"]] * 3 + [["train.temperature", "train.alpha"]] * 3 + [
        ["train.temperature", "train.alpha", "train.beta"]] * 2
    assert {c[0]["train.temperature"] for c in train_fn.calls[3:]} == {result.best["train.temperature"]}
    assert {c[0]["train.alpha"] for c in train_fn.calls[6:]} == {result.best["train.alpha"]}
    assert not any(test for _, _, test in train_fn.calls)  # every trial scored on val only
    assert {split for _, split in train_fn.touched} == {"train", "val"}

    overlay = tomllib.loads(result.to_toml())
    assert list(overlay["train"]) == ["temperature", "alpha", "beta"]
    assert overlay["train"]["beta"] == result.best["train.beta"]

    # resuming a finished search trains nothing; final_test reads the test split exactly once
    n = len(train_fn.calls)
    again = run_search(train_fn, "s", tmp_path / "search.journal", stages=stages, final_test=True)
    assert again.best == result.best
    assert [c[1] for c in train_fn.calls[n:]] == ["s-final"]
    assert [job for job, split in train_fn.touched if split == "test"] == ["s-final"]
    assert 0 <= again.test_acc <= 1


def test_to_toml_nests_dotted_keys_and_refuses_plain_ones():
    text = to_toml({"train.alpha": 0.9, "train.lit.beta": 0.5, "models.student": "resnet8"})
    assert tomllib.loads(text) == {"train": {"alpha": 0.9, "lit": {"beta": 0.5}},
                                   "models": {"student": "resnet8"}}
    with pytest.raises(ValueError, match="not a dotted config key"):
        to_toml({"method": "lit"})


@pytest.mark.slow
def test_two_local_worker_processes_share_one_journal_study(tmp_path):
    journal = str(tmp_path / "search.journal")
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(2)  # both workers start searching together (CI once saw one do every trial)
    workers = [ctx.Process(target=search_worker,
                           args=(journal, "w", str(tmp_path / f"jobs{i}"), 4, ready))
               for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=600)
    assert [w.exitcode for w in workers] == [0, 0]

    storage = make_storage(journal)
    tau = optuna.load_study(study_name="w.0-temperature", storage=storage).get_trials()
    alpha = optuna.load_study(study_name="w.1-alpha", storage=storage).get_trials()
    for trials in (tau, alpha):
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        assert 4 <= len(trials) <= 5  # the budget, overshot by at most one per extra worker
    assert len({t.user_attrs["pid"] for t in tau + alpha}) == 2  # both workers trained trials
    assert max(t.datetime_complete for t in tau) <= min(t.datetime_start for t in alpha)
    best_tau = max(tau, key=lambda t: (t.value, -t.number)).params["train.temperature"]
    assert optuna.load_study(study_name="w.1-alpha", storage=storage).user_attrs["fixed"] == {
        "train.temperature": best_tau}
