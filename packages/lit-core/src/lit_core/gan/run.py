"""One GAN compression run: the teacher, the LIT / L2 / scratch students, the reference rows.

Contract (what ``lit run --preset gan-cpu`` calls)::

    run(config, run_dir, *, resume=False, overwrite=False, teacher_ckpt=None) -> list[dict]

``config`` is the preset's TOML tables as a plain dict (see ``config.py``); ``teacher_ckpt``
overrides ``config["teacher_ckpt"]`` and may be an official StarGAN ``*-G.ckpt``. Everything is
checked before any training (sections, checkpoint keys, data domains); a bad input raises one
``ValueError``/``FileNotFoundError``/``DataError`` whose message says what to fix. Writes into
``run_dir``: ``<method>/generator.pt`` (each student, reused by ``resume``), ``<method>/history.jsonl``,
``table.md`` / ``table.json`` (the Table 3 analogue), ``grid.png`` (the Fig. 5 analogue) and
``run.json`` (command, device, date, git commit, wall time). Returns the table rows, one dict per
generator: method, generator, blocks, params, conv_layers, train_seconds, scores.

Rows: ``teacher``; ``lit`` (β = 0 IR on the sections, then fine-tuning of G with the StarGAN
objective against the teacher's **fixed** discriminator, as the paper's text says; setting
``finetune = "trained_d"`` trains a copy of D alongside) and ``lit (IR only)`` before fine-tuning —
the paper's code sets ``requires_grad = False`` on every G parameter before its fine-tuning (only D
trains), so its released student is this one (``finetune = "frozen_g"`` skips the fine-tune); ``l2`` and ``l2 (output only)`` likewise; ``scratch``; ``rand-init``
generators of both depths (Table 3's random-initialisation reference).
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import ConfigError, RunDirExistsError
from ..io.atomic import write_text_atomic
from ..io.checkpoint import load_checkpoint, load_state_into, save_atomic
from ..io.runlock import hold_run_lock
from .classifier import load_classifier, save_classifier, train_classifier
from .compress import copy_uncompressed, parse_sections, train_section
from .config import job_settings, resolve_weights, validate
from .data import DomainData, load_domain_data
from .grid import save_grid
from .metrics import evaluate_generator, require_torchmetrics
from .models import build_discriminator, build_generator, conv_layers, param_count
from .report import write_report
from .teacher import environment
from .teacher_files import load_teacher
from .train import GanSchedule, train_gan

__all__ = ["run"]


def _log_to(path: Path, tag: str):
    def log(rec) -> None:
        with path.open("a") as f:
            f.write((json.dumps(rec) if isinstance(rec, dict) else str(rec)) + "\n")
        print(f"{tag} {rec}", flush=True)
    return log


def _classifier(cfg: dict, data: DomainData, run_dir: Path) -> tuple[nn.Module, dict]:
    ev = cfg.get("eval", {})
    path = resolve_weights(ev.get("classifier_ckpt")) or run_dir / "classifier.ckpt"
    if path.is_file():
        return load_classifier(path, data)
    model, record = train_classifier(data, model_name=ev.get("classifier_model", "resnet8"),
                                     epochs=int(ev.get("classifier_epochs", 4)))
    save_classifier(model, path, model_name=ev.get("classifier_model", "resnet8"), data=data, record=record)
    return model, record


def _student(cfg: dict, data: DomainData, teacher: nn.Module, sections: list[int]) -> nn.Module:
    student = build_generator(cfg["models"], data, list(cfg["models"].get("student_blocks", [2])))
    copy_uncompressed(teacher, student, sections)
    return student


def _compress(method: str, cfg: dict, data: DomainData, teacher: nn.Module, d: nn.Module,
              sections: list[int], out: Path) -> tuple[nn.Module, nn.Module | None, float]:
    """lit / l2: section phase then fine-tuning; scratch: StarGAN objective from random init.

    Returns (final student, student after the section phase or None, train seconds)."""
    sched, weights, rest = job_settings(cfg, method)
    seed, device = int(rest.get("seed", 0)), rest.get("device", "cpu")
    log = _log_to(out / "history.jsonl", method)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    if method == "scratch":
        g = build_generator(cfg["models"], data, list(cfg["models"].get("student_blocks", [2])))
        train_gan(g, build_discriminator(cfg["models"], data), data, sched, weights, seed=seed,
                  device=device, log=log)
        return g, None, time.perf_counter() - t0
    g = _student(cfg, data, teacher, sections)
    train_section(method, teacher, g, sections, data, steps=int(rest.get("section_steps", 1000)),
                  lr=float(rest.get("section_lr", sched.g_lr)), betas=(sched.beta1, sched.beta2),
                  batch_size=sched.batch_size, seed=seed, device=device, log=log, log_every=sched.log_every)
    section_only = copy.deepcopy(g)
    iters = int(rest.get("finetune_iters", 0))
    mode = rest.get("finetune", "fixed_d")
    # "fixed_d": the paper's text, G fine-tuned against the teacher's fixed discriminator;
    # "trained_d": a copy of the teacher's D trains alongside G (lit before this setting existed);
    # "frozen_g": the authors' code, every G parameter frozen so only D would train: G stays the
    # section-phase student, which the "(IR only)" / "(output only)" rows already report
    if iters > 0 and mode != "frozen_g":
        ft = GanSchedule(**{**sched.__dict__, "iters": iters, "decay_iters": min(sched.decay_iters, iters)})
        train_gan(g, copy.deepcopy(d), data, ft, weights, seed=seed, device=device, log=log,
                  train_d=mode == "trained_d")
    return g, section_only, time.perf_counter() - t0


def _row(method: str, g: nn.Module, scores, seconds: float | None) -> dict:
    return {"method": method, "generator": f"{g.num_blocks}-block", "blocks": list(g.stage_blocks),
            "params": param_count(g), "conv_layers": conv_layers(g),
            "train_seconds": round(seconds, 1) if seconds else None, "scores": scores.as_dict()}


def run(config: dict, run_dir: Path, *, resume: bool = False, overwrite: bool = False,
        teacher_ckpt: Path | None = None) -> list[dict]:
    """Compress the teacher with every method in ``eval.methods``; write and return the table."""
    t_start, cfg = time.perf_counter(), validate(copy.deepcopy(config))
    run_dir = Path(run_dir)
    ev = cfg.get("eval", {})
    methods = list(ev.get("methods", ["teacher", "lit", "l2", "scratch", "rand_init"]))
    # --- every check before any training ---
    require_torchmetrics()
    data = load_domain_data(cfg.get("data", {}))
    models = cfg.setdefault("models", {})
    teacher = build_generator(models, data, list(models.get("teacher_blocks", [6])))
    d = build_discriminator(models, data)
    sections = parse_sections(teacher, list(models.get("sections", ["stages.0"])), "generator")
    _student(cfg, data, teacher, sections)  # structure check: copied stages must match
    path = Path(teacher_ckpt) if teacher_ckpt else resolve_weights(cfg.get("teacher_ckpt"))
    if path is None:
        raise ConfigError("no teacher: set teacher_ckpt in the config or pass teacher_ckpt=")
    t_meta = load_teacher(path, teacher, d)
    for job in ("lit", "l2", "scratch"):
        job_settings(cfg, job)
    done = [m for m in ("lit", "l2", "scratch") if (run_dir / m / "generator.pt").is_file()]
    if done and not (resume or overwrite):
        raise RunDirExistsError(f"{run_dir} already holds trained students ({', '.join(done)}); "
                              "pass resume=True to reuse them or overwrite=True to retrain")
    run_dir.mkdir(parents=True, exist_ok=True)
    hold_run_lock(run_dir)  # one writer, as every lit run: a second command stops here
    if overwrite:
        for m in ("lit", "l2", "scratch"):
            shutil.rmtree(run_dir / m, ignore_errors=True)
    classifier, c_record = _classifier(cfg, data, run_dir)
    print(f"gan: {data.describe()}; teacher {path}; classifier test accuracy "
          f"{100 * c_record['test_accuracy']:.2f}%", flush=True)

    rows, grid_models = [], {}
    score = lambda g: evaluate_generator(g, data, classifier, kid_subset_size=int(ev.get("kid_subset_size", 100)),  # noqa: E731
                                         inception_weights=ev.get("inception_weights") or None)
    if "teacher" in methods:
        rows.append(_row("teacher", teacher, score(teacher), None))
        grid_models["teacher (6 blk)" if teacher.num_blocks == 6 else "teacher"] = teacher
    for method in ("lit", "l2", "scratch"):
        if method not in methods:
            continue
        out = run_dir / method
        out.mkdir(parents=True, exist_ok=True)
        g = build_generator(models, data, list(models.get("student_blocks", [2])))
        saved = out / "generator.pt"
        if resume and saved.is_file():
            ck = load_checkpoint(saved)
            load_state_into(g, ck["g"])
            first, seconds = None, ck["seconds"]
            if ck.get("section_only") is not None:
                first = copy.deepcopy(g)
                load_state_into(first, ck["section_only"])
        else:
            g, first, seconds = _compress(method, cfg, data, teacher, d, sections, out)
            save_atomic({"g": g.state_dict(), "seconds": seconds,
                         "section_only": first.state_dict() if first is not None else None}, saved)
        if first is not None:
            label = {"lit": "lit (IR only)", "l2": "l2 (output only)"}[method]
            rows.append(_row(label, first, score(first), None))
        rows.append(_row(method, g, score(g), seconds))
        grid_models[method] = g
    if "rand_init" in methods:
        for blocks in (models.get("teacher_blocks", [6]), models.get("student_blocks", [2])):
            torch.manual_seed(0)
            g = build_generator(models, data, list(blocks))
            rows.append(_row("rand init", g, score(g), None))
    save_grid(grid_models, data, run_dir / "grid.png", n_inputs=int(ev.get("grid_inputs", 4)))
    meta = {**environment(), "description": cfg.get("description"), "data": data.describe(),
            "teacher": f"{path.name}: {t_meta.get('meta', {}).get('iters', '?')} iterations"
                       + ("" if t_meta.get("has_d") else " (no discriminator in the file: a fresh D)"),
            "classifier": f"{c_record['model']}, test accuracy {100 * c_record['test_accuracy']:.2f}% on "
                          f"{c_record['test_images']} images",
            "kid_subset_size": int(ev.get("kid_subset_size", 100)), "methods": methods,
            "sections": [f"stages.{i}" for i in sections],
            "wall_seconds": round(time.perf_counter() - t_start, 1)}
    write_report(rows, run_dir, meta=meta)
    write_text_atomic(run_dir / "run.json", json.dumps({**meta, "config": cfg}, indent=2, default=str) + "\n")
    print((run_dir / "table.md").read_text(), flush=True)
    return rows
