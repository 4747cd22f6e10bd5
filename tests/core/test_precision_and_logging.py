"""Mixed precision, channels_last, TensorBoard and the run directory's files."""

from __future__ import annotations

import json
import math

import pytest
import torch
from lit_tiny import batches, resnet

from lit_core import TrainConfig, evaluate, fit
from lit_core.errors import ConfigError


def test_bf16_autocast_trains_on_cpu(tmp_path):
    cfg = TrainConfig(ir_epochs=1, epochs=1, precision="bf16", device="cpu", progress=False)
    student = resnet(8)
    dtypes = []  # what the student's convolutions really computed in, while training
    student.stages[0].register_forward_hook(
        lambda m, i, o: dtypes.append(o.dtype) if m.training else None)
    result = fit(student, resnet(14), batches(2), batches(1), method="lit", config=cfg,
                 run_dir=tmp_path / "r")
    assert all(math.isfinite(r["train_loss"]) for r in result.history)
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in student.parameters())  # fp32 master weights


def test_fp16_on_cpu_is_refused_with_advice(tmp_path):
    cfg = TrainConfig(precision="fp16", device="cpu")
    with pytest.raises(ValueError, match=r"precision fp16 needs a CUDA device .* use bf16 on CPU"):
        fit(resnet(8), None, batches(1), batches(1), method="scratch", config=cfg,
            run_dir=tmp_path / "r")


@pytest.mark.parametrize(("device", "precision"), [
    ("cpu", "bf16"),  # fp16 on CPU is refused (test above)
    pytest.param("cuda", "fp16", marks=pytest.mark.cuda),
    pytest.param("cuda", "bf16", marks=pytest.mark.cuda),
])
def test_mixed_precision_and_channels_last(tmp_path, device, precision):
    cfg = TrainConfig(ir_epochs=1, epochs=1, precision=precision, channels_last=True,
                      device=device, progress=False)
    result = fit(resnet(8), resnet(14), batches(2), batches(1), method="lit", config=cfg,
                 run_dir=tmp_path / "r")
    assert all(math.isfinite(r["train_loss"]) for r in result.history)


def test_run_directory_holds_metrics_and_checkpoints(tmp_path):
    cfg = TrainConfig(device="cpu", ir_epochs=1, epochs=2, progress=False)
    student = resnet(8)
    result = fit(student, resnet(14), batches(2), batches(1), method="lit", config=cfg,
                 run_dir=tmp_path / "r", test_loader=batches(1, seed=9), meta={"teacher": "resnet14"})
    names = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert names == ["best.pt", "last.pt", "metrics.jsonl"]
    records = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["phase"], r["epoch"]) for r in records] == [("ir", 1), ("finetune", 1), ("finetune", 2)]
    assert {"train_loss", "train_kd", "train_ir", "train_acc", "val_loss", "val_acc", "lr"} <= records[0].keys()
    assert records[1]["lr"] == pytest.approx(0.01)  # fine-tune learning rate
    saved = json.loads(json.dumps(result.to_dict()))
    assert saved["best_val_acc"] == result.best_val_acc == max(r["val_acc"] for r in records[1:])
    # the test accuracy is that of the selected (best) weights the student now holds
    assert result.test_acc == evaluate(student, batches(1, seed=9)).accuracy
    best = torch.load(tmp_path / "r" / "best.pt", weights_only=True)
    assert best["meta"] == {"teacher": "resnet14"} and best["epoch"] == result.best_epoch


def test_tensorboard_without_the_package_says_how_to_install(tmp_path):
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"pip install 'lit-core\[tensorboard\]'"):
            fit(resnet(8), None, batches(1), batches(1), method="scratch", run_dir=tmp_path / "r",
                config=TrainConfig(device="cpu", epochs=1, tensorboard=True, progress=False))
    else:
        fit(resnet(8), None, batches(1), batches(1), method="scratch", run_dir=tmp_path / "r",
            config=TrainConfig(device="cpu", epochs=1, tensorboard=True, progress=False))
        assert any((tmp_path / "r" / "tb").iterdir())
