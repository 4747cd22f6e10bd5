"""Studies state that cannot be silently corrupted: a torn last record of the Optuna journal is
repaired (a damaged one refused), workers given the same --seed draw different trials, and the
stale-result check (``nox -s reproduce``) cannot pass on a NaN tolerance or empty entries. Rows
of docs/bad-inputs.md ("Run directories and studies")."""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import time
from pathlib import Path

import optuna
import pytest

from lit_core.cli import main as lit_main
from lit_core.cli.reproduce import compare_numbers
from lit_core.cli.reproduce import main as reproduce_main
from lit_core.errors import StateFileError
from lit_core.studies.journal import repair_journal
from lit_core.studies.search import Stage, make_storage, run_search

optuna.logging.set_verbosity(optuna.logging.WARNING)


def quadratic(overrides, name, test=False):
    """A train function without training: the study's mechanics are what is tested."""
    x = overrides["train.alpha"]
    return {"val_acc": 1.0 - (x - 0.3) ** 2}


def slow_quadratic(overrides, name, test=False):
    time.sleep(0.05)  # lets two workers interleave
    return quadratic(overrides, name, test)


def stage(n: int) -> tuple[Stage, ...]:
    return (Stage("train.alpha", 0.0, 1.0, n_trials=n),)


def alphas(journal: Path, study: str = "s.0-alpha") -> list[float]:
    trials = optuna.load_study(study_name=study, storage=make_storage(journal)).get_trials()
    return [t.params["train.alpha"] for t in trials]


# --------------------------------------------------------------------------- the journal


def test_a_torn_last_journal_record_is_cut_off_and_the_study_continues(tmp_path, capsys):
    journal = tmp_path / "search.journal"
    run_search(quadratic, "s", journal, stages=stage(2), seed=0)
    complete = journal.read_bytes()
    torn = b'{"op_code":4,"worker_id":"dead-worker","trial_id":1,"sta'  # killed mid-append
    journal.write_bytes(complete + torn)
    result = run_search(quadratic, "s", journal, stages=stage(4), seed=0)
    assert result.stages[0]["trials"] == 4
    assert "ended in a torn record" in capsys.readouterr().err
    assert (tmp_path / "search.journal.torn").read_bytes() == torn
    data = journal.read_bytes()
    assert data.startswith(complete) and data.endswith(b"\n")
    assert all(json.loads(line) for line in data.splitlines())  # every record readable
    assert len(alphas(journal)) == 4  # and the study with them, in a fresh reader


def test_a_damaged_record_inside_the_journal_is_refused_and_left_as_it_is(tmp_path):
    journal = tmp_path / "search.journal"
    run_search(quadratic, "s", journal, stages=stage(2), seed=0)
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[1] = b'{"op_code": garbage\n'
    journal.write_bytes(b"".join(lines))
    before = journal.read_bytes()
    with pytest.raises(StateFileError, match="line 2 is not a JSON record"):
        repair_journal(journal)
    with pytest.raises(StateFileError, match="line 2 is not a JSON record"):
        run_search(quadratic, "s", journal, stages=stage(4), seed=0)
    assert journal.read_bytes() == before
    assert not (tmp_path / "search.journal.lock").exists()  # Optuna's lock released


def test_lit_search_refuses_a_damaged_journal_before_the_run_starts(tmp_path, capsys):
    journal = tmp_path / "elsewhere.journal"
    journal.write_bytes(b'{"op_code": 0}\nnot json\n{"op_code": 1}\n')
    assert lit_main(["search", "--out", str(tmp_path), "--run-name", "r", "--storage",
                     str(journal), "--data", "digits", "--set", "data.limit=300"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 2 is not a JSON record" in err[0], err
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- seeds


def test_a_worker_joining_with_the_same_seed_draws_new_trials(tmp_path):
    journal = tmp_path / "search.journal"
    run_search(quadratic, "s", journal, stages=stage(3), seed=7)
    first = alphas(journal)
    run_search(quadratic, "s", journal, stages=stage(6), seed=7)  # a second worker, same --seed
    later = alphas(journal)[3:]
    assert len(later) == 3 and not set(first) & set(later)


def test_one_worker_with_a_seed_is_reproducible(tmp_path):
    run_search(quadratic, "s", tmp_path / "a.journal", stages=stage(4), seed=3)
    run_search(quadratic, "s", tmp_path / "b.journal", stages=stage(4), seed=3)
    run_search(quadratic, "s", tmp_path / "c.journal", stages=stage(4), seed=4)
    assert alphas(tmp_path / "a.journal") == alphas(tmp_path / "b.journal")
    assert alphas(tmp_path / "a.journal") != alphas(tmp_path / "c.journal")


def same_seed_worker(journal: str) -> None:
    """One ``lit search`` worker process (module level, so ``spawn`` can start it)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run_search(slow_quadratic, "w", journal, stages=stage(8), seed=11, poll_s=0.05,
               wait_timeout_s=120)


def test_two_workers_started_together_with_the_same_seed_draw_different_trials(tmp_path):
    journal = str(tmp_path / "search.journal")
    ctx = mp.get_context("spawn")
    workers = [ctx.Process(target=same_seed_worker, args=(journal,)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0]
    trials = optuna.load_study(study_name="w.0-alpha", storage=make_storage(journal)).get_trials()
    assert len(trials) >= 8
    values = [t.params["train.alpha"] for t in trials]
    assert len(set(values)) == len(values)  # no setting trained twice


# --------------------------------------------------------------------------- reproduce


GOOD = {"command": ["run", "--data", "digits"], "tolerance": 0.0,
        "numbers": {"teacher": {"val_acc": 0.9, "test_acc": 0.8}}}


@pytest.mark.parametrize(("change", "needle"), [
    ({"tolerance": float("nan")}, "tolerance nan is not a finite number >= 0"),
    ({"tolerance": -1}, "tolerance -1 is not a finite number >= 0"),
    ({"tolerance": "0"}, "tolerance '0' is not a finite number >= 0"),
    ({"numbers": {}}, "numbers holds no model"),
    ({"numbers": {"teacher": {}, "lit": {"val_acc": 0.9}}},
     "teacher lacks val_acc, test_acc; lit lacks test_acc"),
    ({"numbers": {"teacher": {"val_acc": float("nan"), "test_acc": 0.8}}},
     "teacher val_acc not a finite number"),
    ({"command": []}, "command is not a non-empty list"),
])
def test_reproduce_refuses_a_reference_that_cannot_fail(tmp_path, capsys, change, needle):
    ref = tmp_path / "reference.json"
    ref.write_text(json.dumps({**GOOD, **change}))  # json writes NaN as NaN, as a hand edit might
    before = ref.read_bytes()
    assert reproduce_main(["--reference", str(ref)]) == 2  # before the reference run starts
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("reproduce: error: ") and needle in err[0], err
    assert ref.read_bytes() == before


def test_a_nan_accuracy_in_the_fresh_run_is_a_difference():
    stored = {"t": {"val_acc": 0.9, "test_acc": 0.8}}
    assert compare_numbers(stored, {"t": {"val_acc": math.nan, "test_acc": 0.8}}, 0.5) == [
        "t val_acc: reference 0.9, now nan"]
