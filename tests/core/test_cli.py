"""The ``lit`` CLI: bad input is one stderr line and a non-zero exit; a tiny run end to end."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch
from cli_helpers import one_line_error

from lit_core.cli import main
from lit_core.io.checkpoint import save_atomic
from lit_core.models import build_model

# digits, a few hundred images, the smallest models: every case stays at a few seconds
TINY = ["--data", "digits", "--set", "data.limit=300", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400"]


@pytest.fixture
def teacher_ckpt(tmp_path):
    """A (untrained) resnet14 teacher checkpoint for digits, with the meta lit writes."""
    model = build_model("resnet14", num_classes=10, in_chans=1, width=2)
    path = tmp_path / "teacher.pt"
    save_atomic({"model": model.state_dict(),
                 "meta": {"model": "resnet14", "model_kwargs": {"num_classes": 10, "in_chans": 1,
                                                                "width": 2}}}, path)
    return path


def test_compress_misaligned_stages_names_the_stage(tmp_path, capsys, teacher_ckpt):
    # a width-2 teacher has 32/64/128 channels per stage, the student 16/32/64
    rc = main(["compress", "--method", "lit", "--teacher-ckpt", str(teacher_ckpt),
               "--student", "resnet8", "--out", str(tmp_path / "out"), *TINY])
    assert rc != 0
    line = one_line_error(capsys)
    assert re.search(r"stem|stages?[. ]0", line)
    assert "(32, 8, 8)" in line and "(16, 8, 8)" in line  # both shapes are named
    assert not (tmp_path / "out").exists()  # checked before anything was written


def test_run_checks_alignment_before_training_the_teacher(tmp_path, capsys):
    rc = main(["run", "--out", str(tmp_path), "--run-name", "r", "--teacher", "resnet14",
               "--set", "models.teacher_kwargs.width=2", "--set", "models.teacher_kwargs.stem_chs=16",
               *TINY])
    assert rc == 2
    line = one_line_error(capsys)
    assert re.search(r"stages?[. ]0", line) and "(32, 8, 8)" in line and "(16, 8, 8)" in line
    assert not (tmp_path / "r").exists()


def test_misaligned_via_subprocess_exits_nonzero_with_one_line(tmp_path, teacher_ckpt):
    proc = subprocess.run(
        [sys.executable, "-m", "lit_core", "compress", "--method", "lit", "--teacher-ckpt",
         str(teacher_ckpt), "--out", str(tmp_path / "out"), *TINY],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lit: error: ") and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("setting", "needle"), [
    ("train.lit.alpha=1.5", "alpha must be in [0, 1]"),
    ("train.kd.beta=-0.1", "beta must be in [0, 1]"),
    ("train.temperature=0", "temperature"),
])
def test_out_of_range_hyperparameters_are_one_line_and_write_nothing(tmp_path, capsys, setting, needle):
    rc = main(["run", "--out", str(tmp_path), "--run-name", "r", "--set", setting, *TINY])
    assert rc == 2
    assert needle in one_line_error(capsys)
    assert not (tmp_path / "r").exists()


def test_existing_run_dir_is_not_touched_without_overwrite(tmp_path, capsys):
    run = tmp_path / "r"
    run.mkdir()
    (run / "summary.md").write_text("precious")
    rc = main(["train-teacher", "--out", str(tmp_path), "--run-name", "r", *TINY])
    assert rc == 2
    assert "--overwrite" in one_line_error(capsys)
    assert [p.name for p in run.iterdir()] == ["summary.md"]
    assert (run / "summary.md").read_text() == "precious"


def test_missing_data_says_where_it_looked(tmp_path, capsys):
    rc = main(["train-teacher", "--data", "cifar10", "--data-dir", str(tmp_path / "nowhere"),
               "--out", str(tmp_path)])
    assert rc == 2
    line = one_line_error(capsys)
    assert "nowhere" in line and "cifar-10-batches-py" in line


def test_teacher_checkpoint_of_another_architecture_names_the_tensor(tmp_path, capsys, teacher_ckpt):
    rc = main(["compress", "--method", "kd", "--teacher-ckpt", str(teacher_ckpt), "--teacher",
               "resnet8", "--out", str(tmp_path / "out"), *TINY])
    assert rc == 2
    line = one_line_error(capsys)
    assert "does not fit resnet8" in line and "tensor 'stem.0.weight'" in line


def test_unknown_setting_and_method_are_one_line(tmp_path, capsys):
    assert main(["run", "--set", "train.learning_rate=1", *TINY]) == 2
    assert "learning_rate" in one_line_error(capsys)
    assert main(["compress", "--method", "distill"]) == 2
    assert "distill" in one_line_error(capsys)


def test_nan_loss_stops_with_one_line(tmp_path, capsys):
    rc = main(["compress", "--method", "scratch", "--student", "resnet8", "--out", str(tmp_path),
               "--run-name", "r", "--set", "train.scratch.lr=1e30", "--set", "train.scratch.epochs=1",
               *TINY])
    assert rc == 2
    assert "non-finite loss" in one_line_error(capsys)


def test_tiny_run_end_to_end_writes_table_and_summaries(tmp_path, capsys):
    rc = main(["run", "--out", str(tmp_path), "--run-name", "tiny", "--teacher", "resnet14",
               "--student", "resnet8", "--set", "train.teacher.epochs=1", "--set", "train.lit.ir_epochs=1",
               "--set", "train.lit.epochs=1", "--set", "train.kd.epochs=1",
               "--set", "train.scratch.epochs=1", *TINY])
    assert rc == 0
    out = capsys.readouterr().out
    run = tmp_path / "tiny"
    for name in ("summary.md", "summary.json", "summary.png", "config.json"):
        assert (run / name).is_file()
    rows = json.loads((run / "summary.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["teacher", "lit", "kd", "scratch"]
    assert [r["depth"] for r in rows] == [14, 8, 8, 8]
    table = [line for line in out.splitlines() if line.startswith("| ")]
    budget = table[5:]  # then each method's budget per phase (teacher, lit ir + finetune + all, kd, scratch)
    table = table[:5]
    assert "lit" in table[2] and "phase" in budget[0] and len(budget) == 7
    assert any(line.startswith("| lit | ir | ") for line in budget)

    # the LIT student really starts from the teacher's stem and head: after an IR phase alone
    # (frozen copies, no fine-tuning) they are the teacher's tensors, bit for bit
    teacher = torch.load(run / "teacher" / "best.pt", weights_only=True)["model"]
    assert main(["compress", "--method", "lit", "--teacher-ckpt", str(run / "teacher" / "best.pt"),
                 "--student", "resnet8", "--out", str(tmp_path), "--run-name", "ir-only",
                 "--set", "train.lit.ir_epochs=1", "--set", "train.lit.epochs=0", *TINY]) == 0
    student = torch.load(tmp_path / "ir-only" / "lit" / "best.pt", weights_only=True)["model"]
    record = json.loads((tmp_path / "ir-only" / "teacher.json").read_text())  # the run names its teacher
    assert record["checkpoint"] == str((run / "teacher" / "best.pt").resolve())
    assert record["row"]["model"] == "resnet14" and 0 < record["row"]["test_acc"] <= 1
    copied = [k for k in student if k.startswith(("stem.", "head."))]
    assert copied and all(torch.equal(student[k], teacher[k]) for k in copied)
    trained = [k for k in student if k.startswith("stages.") and k.endswith("weight")]
    fresh = build_model("resnet8", num_classes=10, in_chans=1).state_dict()
    assert all(student[k].shape == fresh[k].shape for k in trained)
    assert any(not torch.equal(student[k], fresh[k]) for k in trained)  # the stages did train
    capsys.readouterr()

    # evaluate reads the checkpoint's model from its meta and reproduces the table's accuracies
    assert main(["evaluate", str(run / "lit" / "best.pt"), *TINY]) == 0
    printed = re.search(r"val ([\d.]+)% \(\d+\), test ([\d.]+)%", capsys.readouterr().out)
    assert printed is not None
    assert float(printed.group(1)) == pytest.approx(100 * rows[1]["val_acc"], abs=0.006)
    assert float(printed.group(2)) == pytest.approx(100 * rows[1]["test_acc"], abs=0.006)

    # the same run name again is refused; --resume reuses every finished model
    assert main(["run", "--out", str(tmp_path), "--run-name", "tiny", *TINY]) == 2
    capsys.readouterr()
    assert main(["run", "--out", str(tmp_path), "--run-name", "tiny", "--resume", "--teacher",
                 "resnet14", "--student", "resnet8", *TINY]) == 0
    assert capsys.readouterr().out.count("finished earlier") == 4
