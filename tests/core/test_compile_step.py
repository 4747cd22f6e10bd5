"""``train.compile`` (issue 15 item 5): compiled teacher / step give the eager run's numbers.

Compiling is slow on a small CPU (tens of seconds a graph), so these tests are marked ``slow``
and use the smallest staged nets (BN-free ``TinyStaged``, 8x8 images, batch 4, one thread).
The tolerance is float rounding: Inductor may reassociate sums, so fp32 results agree to ~1e-6,
not bit for bit.
"""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from lit_tiny import TinyStaged, batches
from torch.profiler import profile

from lit_core import RankSlice, TrainConfig, fit, init_distributed
from lit_core.errors import ConfigError
from lit_core.training.step import make_train_step

pytestmark = pytest.mark.slow

CFG = dict(device="cpu", lr=0.05, finetune_lr=0.05, progress=False, deterministic=True)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6, msg=k)


def _state(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _steps(mode: str, n: int = 3) -> tuple[list[float], dict, int]:
    """Losses of ``n`` steps, the student after them, and the compiled graphs the last one ran."""
    step = make_train_step(TinyStaged(seed=1), TinyStaged(depth=2, seed=2), "lit",
                           TrainConfig(compile=mode, **CFG))
    data = batches(n, batch=4)
    losses = [step(x, y)[0].total.item() for x, y in data[:-1]]
    with profile() as prof:
        losses.append(step(*data[-1])[0].total.item())
    graphs = sum("Call CompiledFxGraph" in e.name for e in prof.events())
    return losses, _state(step.student), graphs


def _fit(run_dir, mode: str, train=None, val=None, **kw) -> dict:
    student = TinyStaged(seed=1)
    cfg = TrainConfig(compile=mode, **{**CFG, "ir_epochs": 1, "epochs": 1, **kw.pop("cfg", {})})
    fit(student, TinyStaged(depth=2, seed=2), train or batches(2, batch=4),
        val or batches(1, batch=4, seed=5), method="lit", config=cfg, run_dir=run_dir, **kw)
    return _state(student)


def test_compiled_step_gives_the_losses_and_weights_of_the_eager_step():
    off_losses, off_state, off_graphs = _steps("off")
    losses, state, graphs = _steps("step")
    assert (off_graphs, graphs) == (0, 3)  # the objective, its backward, the SGD update
    assert losses == pytest.approx(off_losses, rel=1e-5)
    assert any(not torch.equal(off_state[k], TinyStaged(seed=1).state_dict()[k]) for k in off_state)
    _close(state, off_state)


def test_compiled_step_resumes_like_an_uninterrupted_run(tmp_path):
    cfg = {"ir_epochs": 2, "epochs": 0}
    whole = _fit(tmp_path / "whole", "step", cfg=cfg)
    _fit(tmp_path / "split", "step", cfg=cfg, stop_after_epochs=1)
    resumed = _fit(tmp_path / "split", "step", cfg=cfg, resume=True)
    _close(resumed, whole)
    _close(whole, _fit(tmp_path / "off", "off", cfg=cfg))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    info = init_distributed(backend="gloo")
    try:
        with pytest.raises(ConfigError, match="compile 'step' is not supported under torchrun"):
            make_train_step(TinyStaged(seed=1), TinyStaged(depth=2, seed=2), "lit",
                            TrainConfig(compile="step", **CFG))
        state = _fit(f"{out_dir}/ddp", "teacher", train=RankSlice(batches(2, batch=8), info),
                     val=RankSlice(batches(1, batch=8, seed=5), info))
        if rank == 0:
            torch.save(state, f"{out_dir}/ddp_state.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.distributed
def test_compiled_teacher_under_ddp_matches_one_eager_process_and_step_is_refused(tmp_path):
    # both phases: the IR phase runs the one-call teacher with a plan, the fine-tune phase without
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ddp = torch.load(tmp_path / "ddp_state.pt", weights_only=True)
    _close(ddp, _fit(tmp_path / "single", "off", train=batches(2, batch=8),
                     val=batches(1, batch=8, seed=5)))
