"""DDP on CPU (gloo, 2 processes) gives the same student as one process on the global batch.

The models are BN-free (``TinyStaged``): with BatchNorm each rank would normalise with its own
half-batch statistics, which legitimately differs from one process (SyncBatchNorm needs CUDA).
"""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from lit_tiny import TinyStaged, batches

from lit_core import DistInfo, RankSlice, TrainConfig, fit, init_distributed

CFG = dict(device="cpu", ir_epochs=2, epochs=1, lr=0.05, finetune_lr=0.05, progress=False, deterministic=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(run_dir, train, val):
    student = TinyStaged(seed=1)
    fit(student, TinyStaged(depth=2, seed=0), train, val, method="lit",
        config=TrainConfig(**CFG), run_dir=run_dir)
    return {k: v.detach().clone() for k, v in student.state_dict().items()}


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(  # what torchrun sets
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    info = init_distributed(backend="gloo")
    try:
        assert (info.rank, info.world_size) == (rank, world)
        state = _train(f"{out_dir}/ddp", RankSlice(batches(3, batch=8), info),
                       RankSlice(batches(1, batch=8, seed=5), info))
        if rank == 0:
            torch.save(state, f"{out_dir}/ddp_state.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.distributed
def test_two_gloo_processes_match_one_process_on_the_global_batch(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ddp = torch.load(tmp_path / "ddp_state.pt", weights_only=True)
    single = _train(tmp_path / "single", batches(3, batch=8), batches(1, batch=8, seed=5))
    moved = TinyStaged(seed=1).state_dict()
    assert any(not torch.equal(moved[k], single[k]) for k in single)  # training did something
    for name, value in single.items():
        torch.testing.assert_close(ddp[name], value, rtol=1e-5, atol=1e-6, msg=name)


def test_rank_slice_yields_this_ranks_contiguous_part_of_each_global_batch():
    data = batches(2, batch=8)
    second = list(RankSlice(data, DistInfo(rank=1, world_size=2)))
    assert [len(x) for x, _ in second] == [4, 4]
    assert torch.equal(second[0][0], data[0][0][4:]) and torch.equal(second[1][1], data[1][1][4:])
    with pytest.raises(ValueError, match="global batch of 6 does not split evenly over 4 processes"):
        list(RankSlice(batches(1, batch=6), DistInfo(rank=0, world_size=4)))


def test_an_explicit_gpu_index_under_torchrun_is_refused(monkeypatch):
    from lit_core.errors import ConfigError
    from lit_core.training.runtime import resolve_device

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(ConfigError, match="every process on one GPU"):
        resolve_device("cuda:0")
    assert resolve_device("cuda") == torch.device("cuda", 1)  # this rank's GPU (not touched)
    assert resolve_device("cpu") == torch.device("cpu")


def test_cudnn_autotuning_is_on_unless_deterministic():
    from lit_core.training.runtime import deterministic_mode

    before = torch.backends.cudnn.benchmark
    with deterministic_mode(False):
        assert torch.backends.cudnn.benchmark is True
    with deterministic_mode(True):
        assert torch.backends.cudnn.benchmark is False
        assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.benchmark == before
