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



@pytest.mark.parametrize("kwargs", [{"blocks": [200000, 1, 1]}, {"depth": 1_200_002},
                                    {"blocks": ["200000", 1, 1]}])
def test_recorded_block_counts_beyond_the_files_tensors_are_refused_before_building(
        tmp_path, capsys, kwargs):
    """``blocks=[200000, 1, 1]`` in a small file's metadata used to build 200 000 blocks (on the
    meta device: minutes, GBs of modules) before any weight was compared; a model with N
    blocks holds at least N tensors, so the file's own tensor count caps what it may ask for."""
    import time

    ckpt = tmp_path / "small.pt"
    save_atomic({"model": _state(), "meta": {"model": "resnet8", "model_kwargs": kwargs}}, ckpt)
    start = time.monotonic()
    assert main(["evaluate", str(ckpt), *TINY]) == 2
    assert time.monotonic() - start < 30
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lit: error: "), err
    key = next(iter(kwargs))
    assert str(ckpt) in err[0] and f"meta.model_kwargs {key}=" in err[0]
    assert f"holds only {len(_state())} tensors" in err[0]


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"blocks": [2000, 1, 1]}, "meta.model_kwargs blocks=[2000, 1, 1]"),
    ({"width": 1000}, "shape (16, 1, 3, 3) in the checkpoint but (16000, 1, 3, 3)"),
])
def test_export_checks_the_recorded_kwargs_before_building(tmp_path, kwargs, needle):
    """``lit export`` built the model a checkpoint's kwargs describe at full size (9 GB for
    width=1000) before comparing one weight."""
    from lit_core.app.export import load_trained_model
    from lit_core.errors import CheckpointError

    ckpt = tmp_path / "small.pt"
    kwargs = {"num_classes": 10, "in_chans": 1, **kwargs}  # as lit records them
    save_atomic({"model": _state(), "meta": {"model": "resnet8", "model_kwargs": kwargs}}, ckpt)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError) as err:
        load_trained_model(ckpt)
    assert needle in str(err.value) and str(ckpt) in str(err.value)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 < 2**30
