"""examples/compress_custom_cnn.py and examples/compress_torchvision_resnet.py run on tiny data,
through ``lit_core.compress``, and their students load into the user's own classes."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def _run(name: str, out: Path, monkeypatch) -> dict:
    monkeypatch.setattr(sys, "argv", [name, "--tiny", str(out)])
    return runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")


def test_custom_cnn_example_compresses_and_saves_the_users_keys(tmp_path, capsys, monkeypatch):
    out = tmp_path / "student.pt"
    ns = _run("compress_custom_cnn.py", out, monkeypatch)
    printed = capsys.readouterr().out
    assert "teacher val acc" in printed and "student (1/3 of the convs) val acc" in printed
    state = torch.load(out, weights_only=True)
    assert "group1.0.0.weight" in state and not any(k.startswith("stages.") for k in state)
    fresh = ns["DigitsCNN"](blocks=1)
    fresh.load_state_dict(state)  # strict: the original class's keys, nothing missing
    assert sum(k.endswith(".weight") and v.dim() == 4 for k, v in state.items()) == 4  # 1 conv/stage + stem


def test_torchvision_resnet_example_student_loads_into_plain_resnet18(tmp_path, capsys, monkeypatch):
    from torchvision.models import resnet18

    out = tmp_path / "student.pt"
    _run("compress_torchvision_resnet.py", out, monkeypatch)
    assert "resnet34 teacher val acc" in capsys.readouterr().out
    state = torch.load(out, weights_only=True)
    plain = resnet18(num_classes=10)
    assert state.keys() == plain.state_dict().keys()  # torchvision's own names, nothing renamed
    before = plain.layer1[0].conv1.weight.clone()
    plain.load_state_dict(state)
    assert not torch.equal(before, plain.layer1[0].conv1.weight)  # the trained weights, loaded
