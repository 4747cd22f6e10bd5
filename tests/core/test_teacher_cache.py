"""Teacher-output cache: same numbers as the teacher, bf16 within its bound, refusal on augment."""

from __future__ import annotations

import contextlib

import pytest
import torch
from studies_tiny import tiny_model
from torch.utils._python_dispatch import TorchDispatchMode

from lit_core.data import Augment, BatchLoader, load_data
from lit_core.method.lit import make_plan, teacher_forward
from lit_core.training.teacher_cache import BF16_REL_ERROR, TeacherCache


@pytest.fixture(scope="module")
def setup():
    data = load_data("digits", seed=0, limit=300, quiet=True)
    teacher, student = tiny_model("resnet14", 1), tiny_model("resnet8", 2)
    return data, teacher.eval(), make_plan(teacher, student, "all", True)


def _reference(teacher, data, plan, idx):
    with torch.no_grad():
        return teacher_forward(teacher, data.train.images[idx], plan)


def test_cached_outputs_equal_the_teachers_by_example_index(setup):
    data, teacher, plan = setup
    cache = TeacherCache.build(teacher, data.train, plan=plan, batch_size=100)
    assert len(cache) == len(data.train) and len(cache.cuts) == len(plan.teacher_pieces) + 1
    idx = torch.tensor([5, 0, 249, 17, 17])  # any order, repeats allowed
    cuts, logits = cache.lookup(idx)
    ref_cuts, ref_logits = _reference(teacher, data, plan, idx)
    torch.testing.assert_close(logits, ref_logits, rtol=1e-5, atol=1e-5)
    for c, r in zip(cuts, ref_cuts, strict=True):
        torch.testing.assert_close(c, r, rtol=1e-5, atol=1e-5)
    kd_only = TeacherCache.build(teacher, data.train)
    assert kd_only.cuts is None
    torch.testing.assert_close(kd_only.lookup(idx)[1], ref_logits, rtol=1e-5, atol=1e-5)
    with pytest.raises(IndexError, match="out of range"):
        cache.lookup(torch.tensor([len(data.train)]))


def test_bf16_cache_is_within_its_stated_bound_and_maps_from_disk(setup, tmp_path):
    data, teacher, plan = setup
    exact = TeacherCache.build(teacher, data.train, plan=plan)
    mapped = TeacherCache.build(teacher, data.train, plan=plan, dtype="bf16", path=tmp_path / "c")
    assert mapped.nbytes * 2 == exact.nbytes
    idx = torch.arange(len(data.train))
    for a, b in zip([exact.lookup(idx)[1], *exact.lookup(idx)[0]],
                    [mapped.lookup(idx)[1], *mapped.lookup(idx)[0]], strict=True):
        err = (b - a).abs()
        assert torch.all(err <= BF16_REL_ERROR * a.abs()), "bf16 rounding beyond 2^-8 relative"
        assert err.max() > 0  # bf16 really rounded something: the bound is not vacuous
    reopened = TeacherCache.open(tmp_path / "c")
    assert torch.equal(reopened.lookup(idx)[1], mapped.lookup(idx)[1])


def test_augmented_pipelines_are_refused_with_the_reason(setup):
    data, teacher, plan = setup
    loader = BatchLoader(data.train, 64, shuffle=True, augment=Augment(pad=2, flip=True))
    with pytest.raises(ValueError, match=r"augmentation is on \(random crop \(pad 2\), random flip\)"):
        TeacherCache.build(teacher, loader, plan=plan)
    with pytest.raises(ValueError, match="augmentation is on"):
        TeacherCache.build(teacher, data.train, augment=data.augment)  # digits: crop pad 1
    plain = BatchLoader(data.train, 64, shuffle=True)
    assert len(TeacherCache.build(teacher, plain)) == len(data.train)


def test_cached_and_uncached_runs_give_identical_students(tmp_path, capsys):
    """Through ``lit compare``: the fp32 cache changes nothing but the time."""
    import json as _json

    from lit_core.cli import main

    tiny = ["compare", "--methods", "lit,kd", "--out", str(tmp_path), "--data", "digits",
            "--set", "data.limit=300", "--set", "train.batch_size=64",
            "--set", "data.eval_batch_size=400", "--teacher", "resnet14", "--student", "resnet8",
            "--set", "train.teacher.epochs=1", "--set", "train.lit.ir_epochs=1",
            "--set", "train.lit.epochs=1", "--set", "train.kd.epochs=1",
            "--set", "data.augment=false"]
    assert main([*tiny, "--run-name", "plain"]) == 0
    assert main([*tiny, "--run-name", "cached", "--set", "train.teacher_cache=fp32"]) == 0
    assert "teacher outputs cached (fp32" in capsys.readouterr().out
    for job in ("lit", "kd"):
        a = torch.load(tmp_path / "plain" / job / "best.pt", weights_only=True)["model"]
        b = torch.load(tmp_path / "cached" / job / "best.pt", weights_only=True)["model"]
        assert all(torch.equal(a[k], b[k]) for k in a), job
    rows = [_json.loads((tmp_path / r / "summary.json").read_text())["rows"] for r in ("plain", "cached")]
    assert [r["test_acc"] for r in rows[0]] == [r["test_acc"] for r in rows[1]]
    # with augmentation on, the cache is refused before anything is trained
    assert main([*tiny[:-2], "--run-name", "aug", "--set", "train.teacher_cache=fp32"]) == 2
    assert "data.augment = false" in capsys.readouterr().err
    assert not (tmp_path / "aug").exists()


class _SyncCounter(TorchDispatchMode):
    """Counts host syncs (``.item()``-like reads) and copies across devices."""

    def __init__(self) -> None:
        super().__init__()
        self.syncs = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.ops.aten._local_scalar_dense.default:
            self.syncs += 1
        if func is torch.ops.aten._to_copy.default and isinstance(args[0], torch.Tensor):
            target = kwargs.get("device")
            if target is not None and torch.device(target) != args[0].device:
                self.syncs += 1
        return func(*args, **kwargs)


_PLACED_DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


@pytest.mark.parametrize("device", _PLACED_DEVICES)
def test_placed_cache_lookup_has_no_host_sync(device):
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no GPU")
    logits = torch.randn(50, 10)
    cuts = [torch.randn(50, 4, 3, 3)]
    cache = TeacherCache(logits, cuts, "fp32").place(device)
    assert cache.device.type == device
    index = torch.tensor([3, 0, 49, 7]).to(device)
    with _SyncCounter() as counter:
        got_cuts, got = cache.lookup(index, device)
    assert counter.syncs == 0
    assert torch.equal(got.cpu(), logits[[3, 0, 49, 7]])
    assert torch.equal(got_cuts[0].cpu(), cuts[0][[3, 0, 49, 7]])
    with pytest.raises(IndexError) if device == "cpu" else contextlib.nullcontext():
        if device == "cpu":
            cache.lookup(torch.tensor([50]), device)


def test_sync_counter_can_fail():
    # the counter sees a host read: the unplaced path's range check does two
    with _SyncCounter() as counter:
        int(torch.tensor([1, 2]).max())
    assert counter.syncs == 1
