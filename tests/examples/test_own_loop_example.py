"""examples/lit_in_your_own_loop.py runs on tiny data and its student loads into the user's class."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def test_own_loop_example_trains_saves_and_loads_with_plain_torch(tmp_path, capsys, monkeypatch):
    out = tmp_path / "student.pt"
    monkeypatch.setattr(sys, "argv", ["lit_in_your_own_loop.py", "--tiny", str(out)])
    ns = runpy.run_path(str(ROOT / "examples" / "lit_in_your_own_loop.py"), run_name="__main__")
    assert "student predicts" in capsys.readouterr().out
    state = torch.load(out, weights_only=True)
    assert "conv_in.0.weight" in state and not any(k.startswith("stages.") for k in state)
    fresh = ns["MyCNN"](blocks=1)
    fresh.load_state_dict(state)  # strict: the original class's keys, nothing missing
