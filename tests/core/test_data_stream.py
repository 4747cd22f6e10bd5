"""The streaming image-folder path on a generated folder of mixed-size JPEGs and PNGs."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from stream_tiny import make_image_folder
from torch.utils.data import TensorDataset

from lit_core.data.errors import DataError
from lit_core.data.stream import StreamConfig, StreamLoader, stream_image_folder


def _make(root: Path, per_class: int = 5) -> None:
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in ("cat", "dog"):
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(per_class):
                h, w = int(rng.integers(20, 60)), int(rng.integers(20, 60))
                im = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
                im.save(d / (f"{i}.jpg" if i % 2 else f"{i}.png"))


@pytest.mark.parametrize("workers", [0, 2])
def test_stream_mixed_sizes(tmp_path, workers):
    _make(tmp_path)
    data = stream_image_folder(tmp_path, StreamConfig(image_size=16, batch_size=4, workers=workers, augment=True))
    assert data.classes == ["cat", "dog"] and data.num_classes == 2
    n = {k: sum(len(y) for _, y in getattr(data, k)) for k in ("train", "val", "test")}
    assert n == {"train": 9, "val": 1, "test": 10}
    x, _ = next(iter(data.test))
    assert tuple(x.shape[1:]) == (3, 16, 16)


def test_stream_bad_input(tmp_path):
    _make(tmp_path)
    (tmp_path / "train" / "bird").mkdir()
    (tmp_path / "test" / "bird").mkdir()
    with pytest.raises(DataError, match="at least one image"):
        stream_image_folder(tmp_path)


def test_stream_unreadable_image(tmp_path):
    _make(tmp_path)
    (tmp_path / "test" / "cat" / "bad.png").write_bytes(b"not an image")
    data = stream_image_folder(tmp_path, StreamConfig(image_size=16, workers=0))
    with pytest.raises(DataError, match=r"cannot read .*bad\.png"):
        list(data.test)


def test_python_api_fits_on_streamed_loaders_and_records_the_pipeline(tmp_path):
    from lit_core import TrainConfig, fit, load_checkpoint
    from lit_models import create_model

    data = stream_image_folder(make_image_folder(tmp_path / "imgs"),
                               StreamConfig(image_size=16, channels=1, batch_size=8, workers=0))
    assert (data.in_chans, data.num_classes) == (1, 2)
    x, y = next(iter(data.train))
    assert x.shape == (8, 1, 16, 16) and y.dtype == torch.int64
    cfg = TrainConfig(epochs=1, ir_epochs=1, batch_size=8)
    teacher = create_model("resnet8", num_classes=2, in_chans=1)
    fit(teacher, None, data.train, data.val, method="scratch", config=cfg, run_dir=tmp_path / "t",
        quiet=True)
    student = create_model("resnet8", num_classes=2, in_chans=1)
    result = fit(student, teacher, data.train, data.val, method="lit", config=cfg,
                 run_dir=tmp_path / "s", test_loader=data.test, quiet=True,
                 meta={"preprocessing": data.preprocessing()})
    assert result.test_acc is not None and len(result.history) == 2
    pre = load_checkpoint(result.best_checkpoint)["meta"]["preprocessing"]
    assert (pre["input_shape"], pre["class_names"], pre["color_mode"]) == ([1, 16, 16], ["cat", "dog"], "L")
    assert pre["mean"] == pytest.approx(list(data.mean)) and len(pre["std"]) == 1


def _labels(loader):
    return [int(v) for _, y in loader for v in y]


def test_shards_cover_every_example_and_epochs_are_reproducible():
    ds = TensorDataset(torch.zeros(10, 1), torch.arange(10))
    evals = [_labels(StreamLoader(ds, 3, shuffle=False, rank=r, world_size=3)) for r in range(3)]
    assert sorted(y for e in evals for y in e) == list(range(10))  # evaluation: each example exactly once
    trains = [StreamLoader(ds, 3, shuffle=True, seed=5, rank=r, world_size=3) for r in range(3)]
    epoch0 = [_labels(t) for t in trains]
    assert {len(e) for e in epoch0} == {4}  # training: padded to the same length per rank
    assert {y for e in epoch0 for y in e} == set(range(10))
    for t in trains:
        t.set_epoch(1)
    epoch1 = [_labels(t) for t in trains]
    assert epoch1 != epoch0
    for t in trains:
        t.set_epoch(0)
    assert [_labels(t) for t in trains] == epoch0  # an epoch's order does not depend on history


def test_bad_stream_config_is_one_clear_error():
    with pytest.raises(DataError, match="channels must be 3"):
        StreamConfig(channels=4)
    with pytest.raises(DataError, match=r"resize \(16\) must be at least image_size"):
        StreamConfig(image_size=32, resize=16)


@pytest.mark.parametrize("workers, refused_at", [(0, "0.05"), (2, "0.1")])
def test_a_streamed_image_over_the_per_image_cap_is_one_error_naming_it(tmp_path, monkeypatch,
                                                                         workers, refused_at):
    """A one-colour 2000×2000 PNG (a few kB) takes up to 16 bytes a pixel while it is read, in
    each of the processes that read at once: 64 MB in one, 128 MB in two workers."""
    _make(tmp_path)
    Image.new("L", (2000, 2000)).save(tmp_path / "test" / "cat" / "huge.png")
    cfg = StreamConfig(image_size=16, batch_size=4, workers=workers, channels=1)
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", refused_at)
    data = stream_image_folder(tmp_path, cfg)
    with pytest.raises(DataError, match=rf"^streamed image .*huge\.png \(2000×2000 pixels\b.*needs "
                                        rf"{64 * max(workers, 1)} MB of memory, more than the data "
                                        rf"memory budget of {float(refused_at) * 1000:.0f} MB"):
        list(data.test)
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "0.2")  # raised: the same image is read
    assert sum(len(y) for _, y in stream_image_folder(tmp_path, cfg).test) == 11


def test_a_streamed_image_above_pils_warning_threshold_reads_without_the_warning(tmp_path,
                                                                                 monkeypatch):
    """A 90-megapixel PNG (PIL warns above 89.5 MP) within the per-image cap is read, and PIL's
    DecompressionBombWarning is not printed: our cap decides."""
    import warnings

    _make(tmp_path, per_class=2)
    Image.new("L", (10_000, 9_000), 200).save(tmp_path / "test" / "dog" / "big.png")
    assert Image.MAX_IMAGE_PIXELS < 10_000 * 9_000 < 2 * Image.MAX_IMAGE_PIXELS
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "2")
    data = stream_image_folder(tmp_path, StreamConfig(image_size=8, workers=0, channels=1,
                                                      mean=(0.0,), std=(1.0,)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = list(data.test)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    x = torch.cat([x for x, _ in batches])
    assert len(x) == 5 and torch.allclose(x[-1], torch.full((1, 8, 8), 200 / 255))


def test_a_bad_memory_budget_is_refused_when_the_folder_is_opened(tmp_path, monkeypatch):
    """Not at the first batch: with mean/std given nothing else reads an image before training."""
    _make(tmp_path)
    monkeypatch.setenv("LIT_DATA_MEMORY_GB", "lots")
    with pytest.raises(DataError, match=r"LIT_DATA_MEMORY_GB must be a positive number .* got 'lots'"):
        stream_image_folder(tmp_path, StreamConfig(image_size=16, mean=(0.5,) * 3, std=(0.2,) * 3))
