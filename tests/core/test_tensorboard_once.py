"""``TrainConfig(tensorboard=True)`` and a ``TensorBoardLogger`` on the same ``tb/``: one writer,
each epoch's scalar once."""

from __future__ import annotations

import pytest
from lit_tiny import batches, resnet

from lit_core import TrainConfig, fit


@pytest.mark.parametrize("with_logger", [False, True], ids=["config", "config+logger"])
def test_tensorboard_from_config_and_a_logger_write_each_epoch_once(tmp_path, with_logger):
    pytest.importorskip("tensorboard")  # optional: lit-core[tensorboard]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from lit_core.training.loggers import TensorBoardLogger

    cfg = TrainConfig(device="cpu", ir_epochs=1, epochs=2, progress=False, tensorboard=True)
    tb = tmp_path / "r" / "tb"
    fit(resnet(8), resnet(14), batches(2), batches(1), method="lit", config=cfg, run_dir=tmp_path / "r",
        callbacks=[TensorBoardLogger(tb)] if with_logger else None, quiet=True)
    assert len(list(tb.glob("events.out.tfevents.*"))) == 1
    acc = EventAccumulator(str(tb))
    acc.Reload()
    assert [e.step for e in acc.Scalars("finetune/val_acc")] == [2, 3]
    assert [e.step for e in acc.Scalars("ir/train_loss")] == [1]
