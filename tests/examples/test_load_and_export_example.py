"""examples/load_and_export.py and ``lit export`` on a tiny trained checkpoint: the recorded
preprocessing, each format checked and written, bad input as one line with nothing written."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lit_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--data", "digits", "--set", "data.limit=200", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """best.pt of a 1-epoch resnet8 on digits, as `lit train-teacher` writes it."""
    out = tmp_path_factory.mktemp("run")
    assert main(["train-teacher", "--out", str(out), "--run-name", "r", "--teacher", "resnet8",
                 "--set", "train.teacher.epochs=1", *TINY]) == 0
    return out / "r" / "teacher" / "best.pt"


def test_checkpoint_records_the_preprocessing(trained):
    pre = torch.load(trained, weights_only=True)["meta"]["preprocessing"]
    assert pre["dataset"] == "digits" and pre["input_shape"] == [1, 8, 8] and pre["channels"] == 1
    assert pre["class_names"] == [str(i) for i in range(10)] and pre["scale"] == 16.0
    assert len(pre["mean"]) == len(pre["std"]) == 1 and pre["std"][0] > 0


def test_example_loads_predicts_and_exports(trained, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["load_and_export.py", str(trained), str(tmp_path)])
    runpy.run_path(str(ROOT / "examples" / "load_and_export.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "digits: predicted class" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.onnx", "student.pt2", "student.safetensors"]
    ckpt = torch.load(trained, weights_only=True)
    assert load_file(tmp_path / "student.safetensors").keys() == ckpt["model"].keys()


@pytest.mark.parametrize(("fmt", "suffix"), [("onnx", ".onnx"), ("torch-export", ".pt2"),
                                             ("safetensors", ".safetensors")])
def test_lit_export_writes_beside_the_checkpoint_and_refuses_to_overwrite(trained, tmp_path, capsys, fmt, suffix):
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(trained.read_bytes())
    assert main(["export", str(ckpt), "--format", fmt]) == 0
    out = ckpt.with_suffix(suffix)
    written = out.read_bytes()
    assert written
    capsys.readouterr()
    assert main(["export", str(ckpt), "--format", fmt]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lit: error: ") and "--overwrite" in err[0]
    assert out.read_bytes() == written
    assert main(["export", str(ckpt), "--format", fmt, "--overwrite"]) == 0


def test_torch_export_runs_any_batch_size_and_carries_the_preprocessing(trained, tmp_path):
    out = tmp_path / "m.pt2"
    assert main(["export", str(trained), "--format", "torch-export", "--out", str(out)]) == 0
    extra = {"lit_preprocessing.json": ""}
    program = torch.export.load(out, extra_files=extra)
    assert json.loads(extra["lit_preprocessing.json"])["dataset"] == "digits"
    assert program.module()(torch.randn(5, 1, 8, 8)).shape == (5, 10)


def test_bad_export_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    not_model = tmp_path / "x.pt"
    torch.save({"weights": torch.zeros(2)}, not_model)
    cases = [
        ["export", str(not_model), "--format", "onnx"],
        ["export", str(not_model), "--format", "tflite"],
        ["export", str(tmp_path / "missing.pt"), "--format", "safetensors"],
    ]
    for argv in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("lit: error: "), err
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]
