"""``python -m lit_bench --run DIR``: a real (tiny) lit run's models become bench rows with the
accuracies the run measured; the teacher's pruned baselines are fine-tuned and tested on the run's
own data; a seeds run gives one row per method with its mean ± std; bad directories are one line."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import pytest
import torch

pytest.importorskip("lit_core")
pytest.importorskip("lit_models")

from lit_bench.cli import main as bench
from lit_core.cli import main as lit

TINY = ["--data", "digits", "--set", "data.limit=300", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400", "--teacher", "resnet14", "--student", "resnet8",
        "--set", "train.teacher.epochs=2", "--set", "train.lit.ir_epochs=1", "--set", "train.lit.epochs=1",
        "--set", "train.kd.epochs=1", "--set", "train.scratch.epochs=1"]
TIMING = ["--device", "cpu", "--backends", "eager", "--batch-sizes", "1,4", "--runs", "3",
          "--throughput-runs", "2", "--warmup", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert lit(["compare", "--methods", "lit,kd,scratch", "--out", str(root), "--run-name", "cmp", *TINY]) == 0
    return root / "cmp"


def _rows(out):
    return [r for r in json.loads((out / "results.json").read_text())["rows"] if r["status"] == "ok"]


def test_a_run_becomes_rows_with_its_accuracies_and_fine_tuned_baselines(run, tmp_path, capsys):
    out = tmp_path / "bench"
    assert bench(["--run", str(run), *TIMING, "--finetune-epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = {r["method"]: r for r in json.loads((run / "summary.json").read_text())["rows"]}
    rows = {(r["model"], r["variant"]): r for r in _rows(out) if r["batch_size"] == 1}
    assert set(rows) == {("resnet14", "dense"), ("resnet8", "lit"), ("resnet8", "kd"), ("resnet8", "scratch"),
                         ("resnet14", "unstructured"), ("resnet14", "depgraph"), ("resnet14", "depgraph-matched")}
    # the run's own numbers, one row per job although the students share an architecture
    for method in ("lit", "kd", "scratch"):
        assert rows[("resnet8", method)]["accuracy"] == summary[method]["test_acc"]
        assert rows[("resnet8", method)]["role"] == "student"
    assert rows[("resnet14", "dense")]["accuracy"] == summary["teacher"]["test_acc"]
    # baselines at the student's cost: Han et al. at its parameters, DepGraph at (or below) its MACs
    student = rows[("resnet8", "lit")]
    assert rows[("resnet14", "unstructured")]["params"] == student["params"]
    matched = rows[("resnet14", "depgraph-matched")]["macs"]
    assert matched <= student["macs"] < rows[("resnet14", "depgraph")]["macs"] < rows[("resnet14", "dense")]["macs"]
    # fine-tuned on the run's data, then tested: the accuracy is the fine-tuned checkpoint's
    from lit_bench.accuracy import evaluate_candidates
    from lit_bench.litrun import FinetuneBudget, load_run_splits, read_run, run_candidates

    for variant in ("unstructured", "depgraph-matched"):
        r = rows[("resnet14", variant)]
        assert r["role"] == "pruned" and "fine-tuned 1 epoch" in r["note"]
        fit_row = json.loads((out / "finetune" / variant / "metrics.jsonl").read_text().splitlines()[-1])
        assert fit_row["epoch"] == 1
    lit_run = read_run(run)
    splits = load_run_splits(lit_run)
    from lit_bench.accuracy import spec_of

    said: list[str] = []
    cands, _ = run_candidates(lit_run, ("depgraph-matched",), spec=spec_of(splits), splits=splits,
                              budget=FinetuneBudget(epochs=1), finetune_dir=out / "finetune", log=said.append)
    assert "reusing" not in printed and any("reusing the fine-tune" in s for s in said)
    pruned = next(c for c in cands if c.variant == "depgraph-matched")
    evaluate_candidates([pruned], splits, log=lambda _: None)
    assert pruned.accuracy == rows[("resnet14", "depgraph-matched")]["accuracy"]
    unstructured = torch.load(out / "finetune" / "unstructured" / "best.pt", weights_only=True)["model"]
    nonzero = sum(int(torch.count_nonzero(v)) for k, v in unstructured.items() if "running_" not in k
                  and v.is_floating_point())  # parameters only: BN's running statistics are buffers
    assert nonzero <= student["params"]  # the zeros survived fine-tuning

    md = (out / "report.md").read_text()
    assert "most accurate student resnet8/" in md and "resnet14/depgraph-matched" in md
    assert "fine-tuned 1 epoch(s)" in md
    for name in ("latency_vs_accuracy", "throughput_vs_accuracy"):
        assert (out / f"{name}.png").stat().st_size > 1000


def test_a_seeds_run_gives_one_row_per_method_with_mean_and_std(run, tmp_path):
    root = tmp_path / "runs"
    assert lit(["compare", "--seeds", "0,1", "--methods", "lit,kd", "--teacher-ckpt",
                str(run / "teacher" / "best.pt"), "--out", str(root), "--run-name", "seeds", *TINY]) == 0
    seeds = json.loads((root / "seeds" / "seeds.json").read_text())["rows"]
    out = tmp_path / "bench"
    assert bench(["--run", str(root / "seeds"), *TIMING, "--finetune-epochs", "0", "--variants", "dense",
                  "--out", str(out)]) == 0
    rows = {r["variant"]: r for r in _rows(out) if r["batch_size"] == 1}
    assert set(rows) == {"dense", "lit", "kd"}
    for method in ("lit", "kd"):
        accs = [r["test_acc"] for r in seeds if r["method"] == method]
        assert rows[method]["accuracy"] == pytest.approx(statistics.fmean(accs), abs=1e-12)
        assert rows[method]["accuracy_std"] == pytest.approx(statistics.stdev(accs), abs=1e-12)
        assert rows[method]["accuracy_n"] == 2
    # the loaded teacher is found through the run's teacher.json
    assert rows["dense"]["model"] == "resnet14" and rows["dense"]["accuracy"] is not None
    assert f"± {100 * rows['lit']['accuracy_std']:.2f} (n=2)" in (out / "report.md").read_text()

    # a copied run: teacher.json may name its teacher relative to the run directory
    from lit_bench.litrun import read_run

    record_path = root / "seeds" / "teacher.json"
    record = json.loads(record_path.read_text())
    record["checkpoint"] = os.path.relpath(run / "teacher" / "best.pt", root / "seeds")
    assert not Path(record["checkpoint"]).is_absolute()
    record_path.write_text(json.dumps(record))
    assert read_run(root / "seeds").teacher.checkpoint.resolve() == (run / "teacher" / "best.pt").resolve()
    record["checkpoint"] = "gone/best.pt"
    record_path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"names teacher checkpoint gone/best\.pt, which does not exist"):
        read_run(root / "seeds")


@pytest.mark.parametrize("case", ["missing", "not-a-run", "with-models"])
def test_bad_run_directories_are_one_line_and_write_nothing(run, tmp_path, capsys, case):
    target = {"missing": tmp_path / "nope", "not-a-run": tmp_path, "with-models": run}[case]
    extra = ["--models", "resnet20"] if case == "with-models" else []
    out = tmp_path / "bench"
    assert bench(["--run", str(target), *extra, *TIMING, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lit-bench: error:")
    assert {"missing": "no such directory", "not-a-run": "no config.json",
            "with-models": "drop --models"}[case] in err[0]
    assert not out.exists()


@pytest.mark.parametrize("rows", [[{"job": "lit_s0", "test_acc": 0.5}], [5], {"method": "lit"}])
def test_a_seeds_record_without_methods_is_one_line(tmp_path, capsys, rows):
    run_dir = tmp_path / "r"
    (run_dir / "teacher").mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"config": {}}))
    (run_dir / "teacher" / "job.json").write_text(json.dumps({"row": {"model": "resnet8"}}))
    (run_dir / "teacher" / "best.pt").write_bytes(b"")  # never read: the record fails first
    (run_dir / "seeds.json").write_text(json.dumps({"rows": rows}))
    out = tmp_path / "bench"
    assert bench(["--run", str(run_dir), *TIMING, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lit-bench: error: ") and "seeds.json" in err[0], err
    assert not out.exists()
