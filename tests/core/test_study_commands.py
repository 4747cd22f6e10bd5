"""``lit compare --seeds``, ``lit sweep``, ``lit search`` and ``lit prune`` end to end (tiny)."""

from __future__ import annotations

import json

import pytest

from lit_core.app.runconfig import resolve_run_config
from lit_core.cli import main

TINY = ["--data", "digits", "--set", "data.limit=300", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400", "--teacher", "resnet8", "--student", "resnet8",
        "--set", "train.teacher.epochs=1", "--set", "train.lit.ir_epochs=1",
        "--set", "train.lit.epochs=1", "--set", "train.kd.epochs=1", "--set", "train.scratch.epochs=1"]


def test_seeds_give_the_paired_test_and_resume_trains_nothing(tmp_path, capsys):
    args = ["compare", "--methods", "lit,kd", "--seeds", "0,1", "--out", str(tmp_path),
            "--run-name", "s", *TINY]
    assert main(args) == 0
    report = json.loads((tmp_path / "s" / "seeds.json").read_text())
    rows = report["rows"] if "rows" in report else report["seeds"]
    assert sorted((r["method"], r["seed"]) for r in rows) == [("kd", 0), ("kd", 1), ("lit", 0), ("lit", 1)]
    assert "lit − kd" in (tmp_path / "s" / "seeds.md").read_text()
    assert (tmp_path / "s" / "seeds.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["compare", "--methods", "lit,kd", "--seeds", "0,1", "--out", str(tmp_path),
                 "--run-name", "s", "--resume"]) == 0
    assert "epoch 1/1" not in capsys.readouterr().out  # every job (and the teacher) reused


def test_sweep_and_search_overlay(tmp_path, capsys):
    assert main(["sweep", "--grid", "train.beta=0.25,0.75", "--out", str(tmp_path),
                 "--run-name", "sw", *TINY]) == 0
    table = (tmp_path / "sw" / "sweep.md").read_text()
    assert "| 0.25 |" in table and "| 0.75 |" in table
    assert main(["search", "--trials", "1", "--seed", "0", "--out", str(tmp_path),
                 "--run-name", "se", *TINY]) == 0
    overlay = tmp_path / "se" / "search.toml"
    cfg = resolve_run_config("cpu", str(overlay))  # the overlay is a valid --config
    best = json.loads((tmp_path / "se" / "search.json").read_text())["best"]
    assert cfg.job("lit").temperature == pytest.approx(best["train.temperature"])
    assert cfg.job("lit").beta == pytest.approx(best["train.beta"])
    assert not list((tmp_path / "se" / "jobs").glob("*/job.json")) or all(
        json.loads(p.read_text())["row"]["test_acc"] is None
        for p in (tmp_path / "se" / "jobs").glob("*/job.json"))  # validation only


def test_prune_curve_and_bad_arguments(tmp_path, capsys):
    assert main(["prune", "--sparsities", "0.5,0.9", "--retrain-epochs", "1", "--out",
                 str(tmp_path), "--run-name", "p", *TINY]) == 0
    rows = json.loads((tmp_path / "p" / "prune.json").read_text())["rows"]
    assert [(r["model"], r["target_sparsity"]) for r in rows] == [
        ("lit", 0.0), ("lit", 0.5), ("lit", 0.9), ("scratch", 0.0), ("scratch", 0.5), ("scratch", 0.9)]
    dense = rows[0]["nonzero_params"]
    assert rows[2]["nonzero_params"] < rows[1]["nonzero_params"] < dense
    capsys.readouterr()
    assert main(["prune", "--sparsities", "0.5,1.5", "--out", str(tmp_path), "--run-name", "q",
                 *TINY]) == 2
    assert "--sparsities must lie in (0, 1)" in capsys.readouterr().err
    assert main(["sweep", "--grid", "data.limit=100,200", "--out", str(tmp_path), "--run-name", "q",
                 *TINY]) == 2
    assert "cannot vary the data" in capsys.readouterr().err
    assert not (tmp_path / "q").exists()


def test_new_methods_run_with_seeds_and_a_teacher_cache_and_report_their_budgets(tmp_path):
    """The settings a study uses: --seeds, a teacher-output cache without augmentation, per-method
    lr; seeds.md lists every method's epochs, steps and summed lr per phase."""
    args = ["compare", "--methods", "depth_prune,kd_copied,dkd,dist,lit_single_ir", "--seeds", "0",
            "--out", str(tmp_path), "--run-name", "b", *TINY, "--teacher", "resnet14",
            "--set", "data.augment=false", "--set", "train.teacher_cache=fp32",
            "--set", "train.kd_copied.ir_epochs=1", "--set", "train.kd_copied.epochs=2",
            "--set", "train.kd_copied.finetune_lr=0.05", "--set", "train.dkd.epochs=1",
            "--set", "train.dist.epochs=1", "--set", "train.depth_prune.epochs=1",
            "--set", "train.dkd.lr=0.05", "--set", "train.lit_single_ir.ir_epochs=1",
            "--set", "train.lit_single_ir.epochs=1"]
    assert main(args) == 0
    md = (tmp_path / "b" / "seeds.md").read_text()
    steps = 5  # 270 training images, batch 64
    assert f"| kd_copied | frozen | 1 | {steps} | 0.1 → 0.1 | 0.1 |" in md
    # the cpu preset's milestones [0.67, 0.9]: a 2-epoch phase decays ×0.1 after its first epoch
    assert f"| kd_copied | finetune | 2 | {2 * steps} | 0.05 → 0.005 | 0.055 |" in md
    assert f"| kd_copied | all | 3 | {3 * steps} | | 0.155 |" in md
    assert f"| dkd | train | 1 | {steps} | 0.05 → 0.05 | 0.05 |" in md
    for m in ("depth_prune", "dist", "lit_single_ir"):
        assert f"| {m} | " in md.split("Training budget")[1]
    rows = json.loads((tmp_path / "b" / "seeds.json").read_text())["rows"]
    assert {r["method"] for r in rows} == {"depth_prune", "kd_copied", "dkd", "dist", "lit_single_ir"}
    assert all(r["test_acc"] is not None for r in rows)
