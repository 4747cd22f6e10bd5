"""``lit export`` read back the way a deployment would (onnxruntime, ``torch.export.load``,
safetensors into the registered model) gives the eager student's logits and its preprocessing."""

from __future__ import annotations

import json

import pytest
import torch

from lit_core.cli import main
from lit_models import create_model

TINY = ["--data", "digits", "--set", "data.limit=200", "--set", "train.batch_size=64",
        "--set", "data.eval_batch_size=400"]


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """A kd student's best.pt (resnet8 on digits, one epoch each), its eager model and its meta."""
    out = tmp_path_factory.mktemp("run")
    assert main(["compare", "--methods", "kd", "--out", str(out), "--run-name", "r", "--teacher", "resnet8",
                 "--student", "resnet8", "--set", "train.teacher.epochs=1", "--set", "train.kd.epochs=1",
                 *TINY]) == 0
    ckpt = next(p for p in (out / "r").rglob("best.pt") if p.parent.name != "teacher")
    state = torch.load(ckpt, weights_only=True)
    model = create_model(state["meta"]["model"], **state["meta"]["model_kwargs"]).eval()
    model.load_state_dict(state["model"])
    return ckpt, model, state["meta"]


def _eager(model, x):
    with torch.no_grad():
        return model(x)


def test_onnx_export_runs_in_onnxruntime_like_the_eager_student(student, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    ckpt, model, meta = student
    out = tmp_path / "s.onnx"
    assert main(["export", str(ckpt), "--format", "onnx", "--out", str(out)]) == 0
    x = torch.randn(3, *meta["preprocessing"]["input_shape"])
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
    torch.testing.assert_close(got, _eager(model, x), atol=1e-4, rtol=1e-4)
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(props["lit.preprocessing"]) == meta["preprocessing"]


def test_torch_export_program_matches_the_eager_student(student, tmp_path):
    ckpt, model, meta = student
    out = tmp_path / "s.pt2"
    assert main(["export", str(ckpt), "--format", "torch-export", "--out", str(out)]) == 0
    x = torch.randn(7, *meta["preprocessing"]["input_shape"])
    torch.testing.assert_close(torch.export.load(out).module()(x), _eager(model, x), atol=1e-5, rtol=1e-5)


def test_safetensors_export_loads_strictly_into_the_registered_model(student, tmp_path):
    safetensors = pytest.importorskip("safetensors")
    from safetensors.torch import load_file

    ckpt, model, meta = student
    out = tmp_path / "s.safetensors"
    assert main(["export", str(ckpt), "--format", "safetensors", "--out", str(out)]) == 0
    with safetensors.safe_open(str(out), "pt") as f:
        header = f.metadata()
    assert json.loads(header["lit.preprocessing"]) == meta["preprocessing"]
    fresh = create_model(header["lit.model"], **json.loads(header["lit.model_kwargs"])).eval()
    fresh.load_state_dict(load_file(out))  # strict
    x = torch.randn(2, *meta["preprocessing"]["input_shape"])
    torch.testing.assert_close(_eager(fresh, x), _eager(model, x))
