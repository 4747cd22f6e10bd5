"""What ``lit compare --seeds``, ``lit sweep``, ``lit search`` and ``lit prune`` do.

Each opens one study session (run directory, one shared teacher; ``runner.open_study``), then
hands its train function to the study in ``seeds``, ``sweep``, ``search`` or ``lit_core.models.pruning``.
Every study resumes job by job with ``--resume``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..app.jobs import job_loggers
from ..app.presets import apply_override
from ..app.runconfig import RunConfig
from ..app.session import loaders
from ..app.specs import model_spec
from ..errors import ConfigError
from ..io.atomic import write_json_atomic, write_text_atomic
from ..io.checkpoint import load_model_weights
from ..method.methods import get_method
from ..training.rundir import run_dir_path
from .runner import open_study

__all__ = ["parse_grid", "parse_list", "parse_seeds", "run_prune", "run_search_cmd", "run_seeds_cmd", "run_sweep_cmd"]


def parse_list(text: str, kind: type, what: str) -> list[Any]:
    """``"0,1,2"`` → ``[0, 1, 2]`` (``kind`` each); one clear error naming ``what``."""
    try:
        values = [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{what} must be a comma-separated list of {kind.__name__}s; got {text!r}") from None
    if not values:
        raise ConfigError(f"{what} needs at least one value; got {text!r}")
    return values


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["train.alpha=0.5,0.9", "models.student=resnet8,resnet14"]`` → axes (values parsed as TOML)."""
    axes: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ConfigError(f"--grid expects KEY=V1,V2,... (e.g. train.beta=0.25,0.75); got {item!r}")
        parsed = []
        for v in values.split(","):
            tree = apply_override({}, f"{key.strip()}={v.strip()}")
            for part in key.strip().split("."):
                tree = tree[part]
            parsed.append(tree)
        if len({repr(v) for v in parsed}) != len(parsed):
            raise ConfigError(f"--grid {key.strip()} repeats a value: {values.strip()}; give each "
                              "value once")
        axes[key.strip()] = parsed
    return axes


def parse_seeds(text: str) -> list[int]:
    """``--seeds 0,1,2``: distinct integers in 0..2**63-1 (torch's seed range)."""
    seeds = parse_list(text, int, "--seeds")
    bad = [s for s in seeds if not 0 <= s < 2**63]
    if bad:
        raise ConfigError(f"--seeds must be integers in 0..2**63-1; got {bad[0]}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds must be distinct; got {text}")
    return seeds


def _check_grid_points(cfg: RunConfig, method: str, axes: Mapping[str, Sequence[Any]]) -> None:
    """Every grid value must be a valid setting on its own, before anything trains."""
    for key, values in axes.items():
        for value in values:
            try:
                cfg.replace(**{key: value}).job(method)
            except ConfigError as e:
                raise ConfigError(f"--grid {key}={value!r}: {e}") from None


def _resumed_run_dir(kw: Mapping[str, Any]) -> Path | None:
    """The run directory ``--resume`` continues (None: not a resume, or no ``--run-name``), so
    that a study's own records are checked before the teacher trains."""
    if not kw.get("resume") or kw.get("run_name") is None:
        return None
    return run_dir_path(kw["out"], kw["run_name"])


def run_seeds_cmd(cfg: RunConfig, methods: Sequence[str], seeds: Sequence[int], **kw: Any) -> int:
    """Every method × seed against one teacher; mean ± std and the paired LIT-vs-KD test."""
    from .seeds import run_seeds, seeds_ledger

    if (resumed := _resumed_run_dir(kw)) is not None:
        seeds_ledger(resumed)  # a corrupt or foreign state.json: one line, nothing trained
    session, train_fn, _ = open_study(cfg, methods, **kw)
    run_seeds(train_fn, methods, seeds, session.run_dir)
    session.say(f"wrote {session.run_dir / 'seeds.md'}, seeds.json, seeds.png")
    print((session.run_dir / "seeds.md").read_text(encoding="utf-8"))
    return 0


def run_sweep_cmd(cfg: RunConfig, method: str, axes: Mapping[str, Sequence[Any]], *,
                  test: bool, **kw: Any) -> int:
    """A grid over config keys (one shared teacher); table and one plot per swept key."""
    from .sweep import run_sweep, sweep_ledger

    _check_keys(axes)
    _check_grid_points(cfg, method, axes)
    if (resumed := _resumed_run_dir(kw)) is not None:
        sweep_ledger(resumed, {"method": method})  # a corrupt or foreign state.json: nothing trained
    session, train_fn, _ = open_study(cfg, [method], **kw)
    run_sweep(train_fn, axes, session.run_dir, base={"method": method}, test=test)
    print((session.run_dir / "sweep.md").read_text(encoding="utf-8"))
    return 0


def run_search_cmd(cfg: RunConfig, method: str, *, study_name: str | None, storage: str | None,
                   trials: int | None, seed: int | None, final_test: bool, **kw: Any) -> int:
    """The paper's τ → α → β search on the validation split; a TOML overlay for ``--config``."""
    from .journal import repair_journal
    from .search import PAPER_STAGES, check_storage, run_search, to_toml

    if trials is not None and trials < 1:
        raise ConfigError(f"--trials must be >= 1; got {trials}")
    if storage:
        check_storage(storage)
    journal = storage if storage and "://" not in str(storage) else None
    if storage is None and kw.get("run_name") is not None:
        journal = run_dir_path(kw["out"], kw["run_name"]) / "search.journal"
    if journal is not None:  # a torn last record repaired, a damaged one refused, before the run
        note = repair_journal(journal)
        if note:
            print(f"lit: {note}", file=sys.stderr)
    stages = PAPER_STAGES if trials is None else tuple(replace(s, n_trials=trials) for s in PAPER_STAGES)
    session, train_fn, _ = open_study(cfg, [method], **kw)
    name = study_name or session.run_dir.name
    result = run_search(train_fn, name, storage or session.run_dir / "search.journal",
                        stages=stages, base={"method": method}, seed=seed, final_test=final_test)
    overlay = session.run_dir / "search.toml"
    write_text_atomic(overlay, to_toml({k: v for k, v in result.best.items()},
                                       header=f"lit search {name}: best on the validation split"))
    write_json_atomic(session.run_dir / "search.json",
                      {"best": result.best, "stages": result.stages,
                       "test_acc": getattr(result, "test_acc", None)})
    for s in result.stages:
        session.say(f"{s['key']} = {s['best']} (val {100 * s['best_val_acc']:.2f}%, "
                    f"{s['trials']} trials)")
    session.say(f"wrote {overlay}: use it with --config {overlay}")
    return 0


def run_prune(cfg: RunConfig, methods: Sequence[str], sparsities: Sequence[float], *,
              retrain_epochs: int, **kw: Any) -> int:
    """Fig. 6: each method's student, then iterative magnitude pruning with the same retraining
    budget (``retrain_epochs`` of cross-entropy at ``finetune_lr`` per sparsity step)."""
    from .pruning import fit_retrain, format_prune_table, plot_prune_curve, prune_study

    if any(not 0 < s < 1 for s in sparsities):
        raise ConfigError(f"--sparsities must lie in (0, 1); got {list(sparsities)}")
    if len(set(sparsities)) != len(sparsities):
        raise ConfigError(f"--sparsities must be distinct; got {list(sparsities)}")
    if retrain_epochs < 1:
        raise ConfigError(f"--retrain-epochs must be >= 1; got {retrain_epochs}")
    session, train_fn, _ = open_study(cfg, methods, **kw)
    students = {}
    for m in methods:
        train_fn({"method": m}, m, test=True)
        role = "teacher" if get_method(m).same_architecture else "student"  # born-again: the teacher's
        model = model_spec(session, role).build(0)
        load_model_weights(model, session.run_dir / "jobs" / m / "best.pt")
        students[m] = model.to(session.device)
    base = cfg.job("scratch")
    retrain_cfg = base.replace(epochs=retrain_epochs, lr=base.finetune_lr, milestones=[])
    train, val, test = loaders(session, retrain_cfg.batch_size, retrain_cfg.seed)
    retrain = fit_retrain(train, val, session.run_dir / "prune",
                          config=retrain_cfg.replace(tensorboard=False), method="scratch",
                          test_loader=test, loggers=job_loggers(session.loggers, retrain_cfg))
    rows = prune_study(students, sorted(sparsities), retrain,
                       evaluate=lambda model, name: _accuracies(session, model))
    table = format_prune_table(rows)
    write_text_atomic(session.run_dir / "prune.md", f"# {', '.join(methods)} under pruning\n\n{table}")
    write_json_atomic(session.run_dir / "prune.json", {"rows": rows, "retrain": retrain_cfg.to_dict()})
    plot_prune_curve(rows, session.run_dir / "prune.png")
    print(table)
    return 0


def _accuracies(session, model) -> dict[str, float]:
    from ..training.evaluation import evaluate

    _, val, test = loaders(session, 64, 0)
    return {"val_acc": evaluate(model, val, session.device).accuracy,
            "test_acc": evaluate(model, test, session.device).accuracy}


def _check_keys(axes: Mapping[str, Any]) -> None:
    for key in axes:
        if key.startswith("data."):
            raise ConfigError(f"a sweep cannot vary the data ({key}); one data set per study")
    if not axes:
        raise ConfigError("lit sweep needs at least one --grid KEY=V1,V2")

