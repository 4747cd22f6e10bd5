"""A checkpoint's metadata cannot control memory: the model it records is built on the ``meta``
device and its shapes compared with the file's tensors before anything is allocated; the user's
own ``--model`` wins over the file's ``model_kwargs``. Rows of docs/bad-inputs.md."""

from __future__ import annotations

import resource

import pytest

from lit_core.cli import main
from lit_core.io.checkpoint import save_atomic
from lit_core.models import build_model

TINY = ["--data", "digits", "--set", "data.limit=300", "--set", "data.eval_batch_size=400"]


def _state():
    return build_model("resnet8", num_classes=10, in_chans=1).state_dict()


@pytest.mark.parametrize("kwargs", [{"width": 1000}, {"num_classes": 4_000_000_000}])
def test_huge_recorded_model_kwargs_are_refused_without_allocating(tmp_path, capsys, kwargs):
    ckpt = tmp_path / "small.pt"
    save_atomic({"model": _state(), "meta": {"model": "resnet8", "model_kwargs": kwargs}}, ckpt)
    assert ckpt.stat().st_size < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, the process's peak so far
    assert main(["evaluate", str(ckpt), *TINY]) == 2
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lit: error: "), err
    if "num_classes" in kwargs:  # refused from the metadata alone: it does not fit the data
        assert "num_classes=4000000000 (the data has 10)" in err[0]
    else:
        assert "does not fit resnet8" in err[0] and "shape" in err[0]
    # the real model (9 GB for width=1000, 1 TB of head for 4e9 classes) was never built
    assert grown < 1 * 2**30, f"peak RSS grew by {grown / 2**20:.0f} MiB"


def test_the_users_model_wins_over_the_checkpoints_kwargs(tmp_path, capsys):
    ckpt = tmp_path / "m.pt"
    save_atomic({"model": _state(), "meta": {"model": "resnet8", "model_kwargs": {"width": 1000}}},
                ckpt)
    assert main(["evaluate", str(ckpt), "--model", "resnet8", *TINY]) == 0
    assert "test" in capsys.readouterr().out

