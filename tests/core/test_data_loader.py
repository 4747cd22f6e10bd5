"""Validation split and ``BatchLoader``: disjoint, deterministic, sharded, augmented in place."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lit_core.data import ArrayDataset, Augment, BatchLoader, load_data, random_crop_flip


def indexed_npz(path, n=200, classes=4):
    """An npz whose image i is filled with the value i, so examples can be traced by content."""
    images = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, 1, 8, 8)).copy()
    np.savez(path, images=images, labels=np.arange(n) % classes,
             test_images=images[:10], test_labels=np.arange(10) % classes)
    return path


def example_ids(ds, splits) -> set[int]:
    return set(np.rint(ds.images[:, 0, 0, 0].numpy() * splits.std[0] + splits.mean[0]).astype(int))


def test_val_split_is_disjoint_complete_stratified_and_seeded(tmp_path):
    path = indexed_npz(tmp_path / "d.npz")
    d = load_data("npz", path, val_fraction=0.2, seed=3)
    train, val = example_ids(d.train, d), example_ids(d.val, d)
    assert not train & val and train | val == set(range(200))
    assert len(val) == 40 and np.bincount(d.val.labels.numpy()).tolist() == [10, 10, 10, 10]
    again = load_data("npz", path, val_fraction=0.2, seed=3)
    assert example_ids(again.val, again) == val
    other = load_data("npz", path, val_fraction=0.2, seed=4)
    assert example_ids(other.val, other) != val


def test_limit_keeps_a_stratified_subset(tmp_path):
    d = load_data("npz", indexed_npz(tmp_path / "d.npz"), val_fraction=0.1, limit=80, test_limit=8)
    assert len(d.train) + len(d.val) == 80 and len(d.test) == 8
    assert np.bincount(np.concatenate([d.train.labels.numpy(), d.val.labels.numpy()])).tolist() == [20] * 4


def dataset(n: int) -> ArrayDataset:
    return ArrayDataset(torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 4, 4).clone(),
                        torch.arange(n) % 3)


def ids(x: torch.Tensor) -> list[int]:
    return x[:, 0, 0, 0].long().tolist()


@pytest.mark.parametrize("n", [48, 50])
def test_shards_are_disjoint_complete_and_equal_length(n):
    world = 4
    shards = []
    for rank in range(world):
        loader = BatchLoader(dataset(n), 5, shuffle=True, seed=1, rank=rank, world_size=world)
        loader.set_epoch(2)
        shards.append([i for x, _ in loader for i in ids(x)])
    assert len({len(s) for s in shards}) == 1
    flat = [i for s in shards for i in s]
    assert set(flat) == set(range(n))
    assert len(flat) - len(set(flat)) == (-n) % world  # only the wrap-around padding repeats


def test_ranks_batch_k_together_equal_single_process_batch_k():
    single = BatchLoader(dataset(64), 16, shuffle=True, seed=7)
    ranks = [BatchLoader(dataset(64), 8, shuffle=True, seed=7, rank=r, world_size=2) for r in range(2)]
    for ld in [single, *ranks]:
        ld.set_epoch(5)
    for big, a, b in zip(single, *ranks, strict=True):
        assert sorted(ids(big[0])) == sorted(ids(a[0]) + ids(b[0]))


def test_order_is_reproducible_per_epoch_and_changes_between_epochs():
    ds = dataset(30)
    loader = BatchLoader(ds, 7, shuffle=True, augment=Augment(pad=1, flip=True), seed=0)
    loader.set_epoch(0)
    first = [x.clone() for x, _ in loader]
    fresh = BatchLoader(ds, 7, shuffle=True, augment=Augment(pad=1, flip=True), seed=0)
    fresh.set_epoch(0)
    assert all(torch.equal(a, b) for a, (b, _) in zip(first, fresh, strict=True))
    loader.set_epoch(1)
    assert [ids(x) for x in first] != [ids(x) for x, _ in loader]
    assert len(loader) == 5 and len(first) == 5


def test_drop_last_and_no_shuffle():
    loader = BatchLoader(dataset(30), 7, shuffle=False, drop_last=True)
    batches = [ids(x) for x, _ in loader]
    assert len(loader) == 4 and batches[0] == list(range(7)) and batches[-1] == list(range(21, 28))


def test_labels_travel_with_their_images():
    ds = dataset(40)
    for x, y in BatchLoader(ds, 8, shuffle=True, augment=Augment(pad=2, flip=True), seed=3):
        assert torch.equal(x.amax(dim=(1, 2, 3)).long() % 3, y)  # max: crops may show padding


def test_crop_flip_keeps_shape_and_yields_a_shifted_or_mirrored_view():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, 6, 6)
    aug = Augment(pad=2, flip=True)
    out = random_crop_flip(x, aug, gen)
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    changed = 0
    for i in range(16):
        views = [v for dy in range(5) for dx in range(5)
                 for v in (padded[i, :, dy:dy + 6, dx:dx + 6], padded[i, :, dy:dy + 6, dx:dx + 6].flip(2))]
        assert any(torch.equal(out[i], v) for v in views)
        changed += not torch.equal(out[i], x[i])
    assert changed > 8  # most samples are actually moved or mirrored


def test_unpadded_shards_cover_every_example_exactly_once():
    shards = [[i for x, _ in BatchLoader(dataset(50), 6, shuffle=False, rank=r, world_size=4,
                                          pad_shards=False) for i in ids(x)] for r in range(4)]
    assert sorted(i for s in shards for i in s) == list(range(50))


def test_epoch_draws_are_the_per_batch_draws_in_one_transfer():
    from lit_core.data.loader import _generator, draw_crop_flip, random_crop_flip

    ds = ArrayDataset(torch.randn(37, 1, 6, 6), torch.arange(37) % 3)
    aug = Augment(pad=2, flip=True)
    loader = BatchLoader(ds, 8, shuffle=True, augment=aug, seed=5)
    loader.set_epoch(3)
    draws = loader.epoch_draws()
    assert draws.shape == (3, 37)
    for k, (x, _) in enumerate(loader):
        n = x.shape[0]
        expected = draw_crop_flip(aug, n, _generator(5, 3, 0, k))
        assert torch.equal(draws[:, 8 * k : 8 * k + n], expected)
        # the batch is exactly what per-batch augmentation would give
        b = loader.indices()[8 * k : 8 * k + n]
        assert torch.equal(x, random_crop_flip(ds.inputs[b], aug, _generator(5, 3, 0, k)))


def test_augmented_batches_can_come_out_channels_last_with_the_same_values():
    ds = ArrayDataset(torch.randn(20, 3, 6, 6), torch.arange(20) % 2)
    aug = Augment(pad=2, flip=True)
    plain = list(BatchLoader(ds, 8, shuffle=True, augment=aug, seed=1))
    last = list(BatchLoader(ds, 8, shuffle=True, augment=aug, seed=1, channels_last=True))
    for (a, _), (b, _) in zip(plain, last, strict=True):
        assert a.is_contiguous() and b.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(a, b)
