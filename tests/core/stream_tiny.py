"""A generated image folder for the streaming tests (not a test module): mixed-size, non-square
JPEGs and PNGs, every third image greyscale, one class darker than the other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("cat", "dog")


def make_image_folder(root: Path, train_per_class: int = 10, test_per_class: int = 4) -> Path:
    """``root/{train,test}/{cat,dog}/*.{png,jpg}``, sizes 20..59 × 20..59 (seeded)."""
    rng = np.random.default_rng(0)
    for split, n in (("train", train_per_class), ("test", test_per_class)):
        for c, name in enumerate(CLASSES):
            d = root / split / name
            d.mkdir(parents=True)
            for i in range(n):
                h, w = int(rng.integers(20, 60)), int(rng.integers(20, 60))
                pixels = rng.integers(0, 128, (h, w, 3)) + 127 * c
                im = Image.fromarray(pixels.astype(np.uint8))
                if i % 3 == 0:
                    im = im.convert("L")
                im.save(d / (f"{i}.jpg" if i % 2 else f"{i}.png"))
    return root
