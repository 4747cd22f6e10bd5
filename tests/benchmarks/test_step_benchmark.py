"""One training step of resnet110 → resnet20 at batch 128: LIT vs KD vs scratch.

The LIT step adds one student forward/backward over a KD step (the IR segments on the teacher's
inputs); the target is LIT/KD ≤ 1.4. Run with
``pytest tests/benchmarks --benchmark-enable --benchmark-json=out.json``; ``LIT_BENCH_ROUNDS``
(default 5), ``LIT_BENCH_DEVICE`` (default ``auto``) and ``LIT_BENCH_PRECISION`` (``fp32``).
"""

from __future__ import annotations

import os

import pytest
import torch

from lit_core import TrainConfig, make_train_step
from lit_models import create_model

BATCH = 128
ROUNDS = int(os.environ.get("LIT_BENCH_ROUNDS", "5"))


@pytest.mark.parametrize("method", ["lit", "kd", "scratch"])
def test_training_step(benchmark, method):
    cfg = TrainConfig(
        device=os.environ.get("LIT_BENCH_DEVICE", "auto"),
        precision=os.environ.get("LIT_BENCH_PRECISION", "fp32"),
        channels_last=True,  # only applied on CUDA
        progress=False,
    )
    torch.manual_seed(0)
    teacher, student = create_model("resnet110"), create_model("resnet20")
    step = make_train_step(student, teacher, method, cfg, phase="first")  # LIT: the LIT phase
    x, y = torch.randn(BATCH, 3, 32, 32), torch.randint(0, 10, (BATCH,))
    device = step.device

    def one_step():
        parts, _ = step(x, y)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return parts.total.item()

    benchmark.extra_info.update(
        method=method, teacher="resnet110", student="resnet20", batch_size=BATCH,
        device=str(device), precision=cfg.precision, torch=torch.__version__,
        threads=torch.get_num_threads(),
    )
    loss = benchmark.pedantic(one_step, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert torch.isfinite(torch.tensor(loss))
