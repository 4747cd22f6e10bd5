"""A lit run directory as bench rows: its teacher and students with the accuracies the run measured,
and pruned baselines of its teacher, fine-tuned on the run's own data with a stated budget.

``read_run(path)`` reads what ``lit run / compare / sweep`` (and ``--seeds``) leave behind:

- ``config.json``: the run's resolved configuration (its data, so baselines train on the same
  training split and are tested on the same test split);
- the teacher: ``teacher/job.json`` + ``teacher/best.pt`` when the run trained it, or
  ``teacher.json`` (the checkpoint it loaded, ``--teacher-ckpt``; a relative path there is taken
  relative to the run directory, so a copied run can carry its teacher along);
- the students: with ``seeds.json`` (``--seeds``) one entry per method, its accuracy the mean ±
  sample std over the seeds (the seeds' models share one architecture, so one of them is timed);
  otherwise one entry per finished job (``<job>/job.json``, ``jobs/<job>/job.json``), labelled
  by its job name (``lit``, ``kd``, ``train.beta=0.5`` …). Only the jobs of the run itself count:
  ``config.json`` records the run's id (``run_id``) and each ``job.json`` / ``teacher.json`` the
  id of the run that wrote it, so a folder another run left behind is never read as a student.

Rows are keyed ``model/label``: a run's ``lit``, ``kd`` and ``scratch`` students of one
architecture are separate rows (``resnet8/lit``, ``resnet8/kd``, …); the teacher is
``<teacher>/dense`` and its pruned baselines ``<teacher>/<variant>``. Checkpoints are read with
``weights_only=True`` and only registered lit-models names are built: a run directory cannot
make the bench run code.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lit_core.app import RESULT_FILE, TEACHER_RECORD
from lit_core.io import write_json_atomic

from .catalog import (
    STRUCTURED,
    Candidate,
    InputSpec,
    Skipped,
    create_base_model,
    describe,
    input_of,
    load_weights,
    make_variant,
)
from .prune import LI2017_CONFIGS

__all__ = ["FinetuneBudget", "LitRun", "RunModel", "default_variants", "read_run", "run_candidates"]

FINETUNE_RECORD = "finetune.json"


@dataclass(frozen=True)
class RunModel:
    """One trained model of a run: what it is, where its weights are, how accurate it was."""

    label: str  # "dense" for the teacher, else the method or job name
    model: str  # registered lit-models name
    checkpoint: Path
    accuracy: float | None  # test accuracy as the run measured it (mean over seeds)
    accuracy_std: float | None = None  # sample std over seeds (None: one model)
    n: int = 1


@dataclass(frozen=True)
class LitRun:
    """A finished (or partly finished) lit run directory."""

    path: Path
    config: dict[str, Any]  # the run's resolved configuration (config.json's "config")
    preset: str
    teacher: RunModel
    students: tuple[RunModel, ...]


@dataclass(frozen=True)
class FinetuneBudget:
    """How the pruned baselines are fine-tuned: cross-entropy, SGD (lit-core's trainer), the best
    validation epoch kept. ``epochs == 0``: pruned from the trained teacher, not fine-tuned."""

    epochs: int = 2
    lr: float = 0.01
    batch_size: int = 64

    def describe(self) -> str:
        if self.epochs == 0:
            return "pruned baselines are not fine-tuned (--finetune-epochs 0)"
        return (f"pruned baselines fine-tuned {self.epochs} epoch(s) with cross-entropy on the run's "
                f"training split, with its augmentation setting (SGD lr {self.lr}, momentum 0.9, batch "
                f"{self.batch_size}; best "
                "validation epoch kept), then tested on the run's test split")


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable JSON record ({type(exc).__name__}); is this a lit run "
                         "directory?") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a lit record (expected a JSON object)")
    return data


def _job(path: Path, label: str, run_id: str | None = None) -> RunModel | None:
    """The model a finished job directory holds (None if it has no best.pt, or if ``run_id`` is
    given and the job was written by another run: a folder an older run left behind)."""
    record = _json(path / RESULT_FILE)
    if run_id is not None and record.get("run_id") != run_id:
        return None
    row = record.get("row") or {}
    if not isinstance(row.get("model"), str) or not (path / "best.pt").is_file():
        return None
    acc = row.get("test_acc")
    return RunModel(label, row["model"], path / "best.pt", None if acc is None else float(acc))


def _belongs(record: Path, run_id: str | None) -> bool:
    """Whether a job record was written by the run ``run_id`` (any run when None)."""
    return run_id is None or _json(record).get("run_id") == run_id


def _teacher(path: Path, run_id: str | None = None) -> RunModel:
    if (path / "teacher" / RESULT_FILE).is_file() and _belongs(path / "teacher" / RESULT_FILE, run_id):
        found = _job(path / "teacher", "dense")
        if found is not None:
            return found
        if not (path / "teacher" / "best.pt").is_file():
            raise ValueError(f"{path / 'teacher' / 'best.pt'} is missing (the teacher's checkpoint); restore "
                             "it or retrain the teacher with --resume")
    if (path / TEACHER_RECORD).is_file() and _belongs(path / TEACHER_RECORD, run_id):
        record = _json(path / TEACHER_RECORD)
        row, ckpt = record.get("row") or {}, record.get("checkpoint")
        if isinstance(ckpt, str) and isinstance(row.get("model"), str):
            where = path / ckpt  # relative: to the run directory (a copied run); absolute as written
            if not where.is_file():
                raise ValueError(f"{path / TEACHER_RECORD} names teacher checkpoint {ckpt}, which does not "
                                 "exist; restore it or point the record's \"checkpoint\" at it")
            acc = row.get("test_acc")
            return RunModel("dense", row["model"], where, None if acc is None else float(acc))
    raise ValueError(f"{path} records no teacher (no teacher/job.json or teacher.json); run the bench on "
                     "a lit run/compare/sweep directory, or use --models with --checkpoint")


def _seed_students(path: Path, run_id: str | None = None) -> list[RunModel]:
    rows = _json(path / "seeds.json").get("rows") or []
    if not isinstance(rows, list):
        raise ValueError(f"{path / 'seeds.json'}: \"rows\" is not a list; is this a lit --seeds run?")
    by_method: dict[str, list[dict]] = {}
    for i, r in enumerate(rows):
        missing = [k for k in ("method", "job") if not isinstance(r, dict) or k not in r]
        if missing:
            raise ValueError(f"{path / 'seeds.json'}: row {i} lacks {', '.join(missing)}; the record is "
                             "damaged: rerun the study with --resume (finished seeds are kept)")
        by_method.setdefault(str(r["method"]), []).append(r)
    out = []
    for method, rs in by_method.items():
        # one seed's model is timed: the first whose checkpoint is there
        timed = next(filter(None, (_job(path / "jobs" / str(r["job"]), method, run_id) for r in rs)),
                     None)
        accs = [float(r["test_acc"]) for r in rs if r.get("test_acc") is not None]
        if timed is None:
            continue
        mean = statistics.fmean(accs) if accs else None
        std = statistics.stdev(accs) if len(accs) > 1 else None
        out.append(RunModel(method, timed.model, timed.checkpoint, mean, std, len(accs) or 1))
    return out


def _job_students(path: Path, run_id: str | None = None) -> list[RunModel]:
    out = []
    for record in sorted([*path.glob(f"*/{RESULT_FILE}"), *path.glob(f"jobs/*/{RESULT_FILE}")]):
        if record.parent == path / "teacher":
            continue
        found = _job(record.parent, record.parent.name, run_id)
        if found is not None:
            out.append(found)
    return out


def read_run(path: str | os.PathLike) -> LitRun:
    """The teacher and students of a lit run directory (``ValueError``, one line, if it is not one)."""
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"--run {path}: no such directory (pass a lit run directory, e.g. results/<run-name>)")
    if not (path / "config.json").is_file():
        raise ValueError(f"--run {path}: no config.json; not a lit run directory")
    stored = _json(path / "config.json")
    config = stored.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"{path / 'config.json'} holds no configuration")
    run_id = stored.get("run_id") if isinstance(stored.get("run_id"), str) else None
    teacher = _teacher(path, run_id)
    students = (_seed_students(path, run_id) if (path / "seeds.json").is_file()
                else _job_students(path, run_id))
    if not students:
        raise ValueError(f"--run {path}: no finished student (no job.json with a best.pt); finish the run first")
    return LitRun(path, config, str(stored.get("preset", "")), teacher, tuple(students))


def load_run_splits(run: LitRun):
    """The run's data, split exactly as the run split it (lit-core's ``DataSplits``)."""
    from lit_core.app import build_run_config, load_run_data

    return load_run_data(build_run_config(run.config, run.preset, "config.json"), quiet=True)


def default_variants(run: LitRun) -> tuple[str, ...]:
    """The teacher's baselines for ``--run``: Han et al. (to the student's parameters), DepGraph 2×
    and DepGraph at the student's MACs; Li et al. A/B where published for the teacher."""
    li = ("l1-A", "l1-B") if run.teacher.model in LI2017_CONFIGS else ()
    return ("dense", "unstructured", *li, "depgraph", "depgraph-matched")


def _candidate(m: RunModel, spec: InputSpec, role: str) -> Candidate:
    module = load_weights(create_base_model(m.model, spec), m.checkpoint)
    cand = describe(m.model, m.label, module, spec, role=role)
    cand.accuracy, cand.accuracy_std, cand.accuracy_n = m.accuracy, m.accuracy_std, m.n
    cand.trained = True
    if m.n > 1:
        cand.note = f"accuracy: mean ± std of {m.n} seeds (one seed's model timed)"
    return cand


def _finetuned(cand: Candidate, run: LitRun, splits, budget: FinetuneBudget, out: Path, device: str,
               log: Callable[[str], None]) -> None:
    """Fine-tune a pruned candidate in place (or reuse an earlier identical fine-tune in ``out``)."""
    from .finetune import finetune_pruned

    job = out / cand.variant
    augment = bool(run.config.get("data", {}).get("augment", True))  # as the run's students trained
    want = {"teacher": str(run.teacher.checkpoint), "variant": cand.variant, "augment": augment,
            **budget.__dict__}
    record = job / FINETUNE_RECORD
    if record.is_file() and (job / "best.pt").is_file() and _json(record).get("budget") == want:
        load_weights(cand.module, job / "best.pt", resize=cand.variant in STRUCTURED)
        log(f"lit-bench: {cand.key}: reusing the fine-tune in {job}")
    else:
        log(f"lit-bench: {cand.key}: fine-tuning {budget.epochs} epoch(s) -> {job}")
        finetune_pruned(cand.module, cand.variant, job, splits=splits, augment=augment, epochs=budget.epochs,
                        lr=budget.lr,
                        batch_size=budget.batch_size, device=device, overwrite=True,
                        meta={"model": run.teacher.model, "variant": cand.variant})
        write_json_atomic(record, {"budget": want})
    cand.module.cpu().eval()
    cand.note = (cand.note + "; " if cand.note else "") + f"fine-tuned {budget.epochs} epoch(s)"


def run_candidates(
    run: LitRun,
    variants: tuple[str, ...],
    *,
    spec: InputSpec,
    splits=None,
    budget: FinetuneBudget = FinetuneBudget(),
    finetune_dir: Path | None = None,
    device: str = "cpu",
    log: Callable[[str], None] = print,
) -> tuple[list[Candidate], list[Skipped]]:
    """The run's teacher and students, and the teacher's pruned ``variants`` (fine-tuned with
    ``budget`` on ``splits`` into ``finetune_dir``; their accuracy is measured afterwards by
    ``accuracy.evaluate_candidates``). Never raises for one bad model: it becomes a ``Skipped``."""
    cands: list[Candidate] = []
    skipped: list[Skipped] = []

    def skip(model: str, variant: str, reason: str) -> None:
        log(f"lit-bench: skipping {model}/{variant}: {reason}")
        skipped.append(Skipped(model, variant, reason))

    teacher = None
    for m, role in ((run.teacher, "teacher"), *((s, "student") for s in run.students)):
        try:
            cand = _candidate(m, spec, role)
        except Exception as exc:  # a checkpoint that does not fit, an unknown name …
            skip(m.model, m.label, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            continue
        if role == "teacher":
            teacher = cand
        if role == "student" or "dense" in variants:
            cands.append(cand)
    if teacher is None:
        return cands, skipped
    target = next((c for c in cands if c.role == "student"), None)
    if target is None:
        return cands, skipped
    shape = input_of(target.model, spec)[0]
    target_params, target_macs = target.params, target.macs  # counted by ``describe``
    for variant in variants:
        if variant == "dense":
            continue
        try:
            module = make_variant(teacher.module, teacher.model, variant, unstructured_target=target_params,
                                  input_shape=shape, target_macs=target_macs)
            cand = describe(teacher.model, variant, module, spec, role="pruned")
            cand.trained = True
            cand.note = f"pruned to {target.model}'s {'parameters' if variant == 'unstructured' else 'MACs'}" \
                if variant in ("unstructured", "depgraph-matched") else ""
            if budget.epochs > 0 and splits is not None:
                _finetuned(cand, run, splits, budget, finetune_dir or run.path / "bench-finetune", device, log)
            else:
                cand.note = (cand.note + "; " if cand.note else "") + "not fine-tuned"
        except Exception as exc:
            skip(teacher.model, variant, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            continue
        cands.append(cand)
    return cands, skipped
