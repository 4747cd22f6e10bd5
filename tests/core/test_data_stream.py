"""The streaming image-folder path on a generated folder of mixed-size JPEGs and PNGs."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lit_core.data.errors import DataError
from lit_core.data.stream import StreamConfig, stream_image_folder


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
