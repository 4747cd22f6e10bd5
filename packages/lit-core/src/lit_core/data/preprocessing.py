"""What a deployed model needs to reproduce its input pipeline, recorded in every checkpoint.

``preprocessing_record(data, data_dir)`` is a plain dict (JSON types only, so a checkpoint stays
``weights_only``-loadable and an export can carry it as metadata):

images: ``kind="image"``, ``dataset``, ``input_shape`` ``[C, H, W]``, ``channels``, ``input_dtype``
``"float32"``, ``scale`` (raw pixels are divided by it first: 255 for 8-bit images, 16 for digits; None for
an .npz, whose arrays lit takes as given), ``mean`` and
``std`` per channel (of the training split; the model sees ``(x / scale - mean) / std``),
``class_names`` (index order); streamed folders (``data.loader = "stream"``) add ``loader``
``"stream"``, ``resize`` (the shorter side), ``crop`` (the square side) and ``color_mode`` (the PIL
mode every image is converted to: ``"RGB"`` or ``"L"``).
text: ``kind="text"``, ``dataset``, ``input_shape`` ``[seq_len]``, ``input_dtype`` ``"int64"``,
``vocab_size``, ``class_names``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .splits import DataSplits

if TYPE_CHECKING:
    from .stream import StreamSplits

__all__ = ["KNOWN_CLASS_NAMES", "class_names_of", "preprocessing_record"]

_FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
            "Bag", "Ankle boot")
_CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_CIFAR100 = ["apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm"]

# what raw pixels are divided by to reach [0, 1]: 8-bit images 255, digits 16; an .npz's float
# images are taken as given (None: the record cannot know), its uint8 images / 255
_SCALE: dict[str, float | None] = {"digits": 16.0, "npz": None}

#: Class names (index order) of the data sets whose labels have fixed names.
KNOWN_CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "fashion-mnist": _FASHION,
    "cifar10": _CIFAR10,
    "cifar100": tuple(_CIFAR100),
    "digits": tuple(str(i) for i in range(10)),
}


def class_names_of(name: str, data_dir: str | os.PathLike | None, num_classes: int) -> list[str] | None:
    """The class names of data set ``name`` in index order, or None where the labels have none.

    Image folders name their classes by sub-directory (torchvision's ``ImageFolder`` order).
    """
    known = KNOWN_CLASS_NAMES.get(name)
    if known is not None and len(known) == num_classes:
        return list(known)
    if name in ("folder", "folder-stream") and data_dir is not None:
        from torchvision.datasets.folder import find_classes

        try:
            classes, _ = find_classes(str(Path(data_dir) / "train"))
        except (OSError, FileNotFoundError):
            return None
        return list(classes) if len(classes) == num_classes else None
    return None


def preprocessing_record(data: DataSplits | StreamSplits, data_dir: str | os.PathLike | None = None,
                         **extra: Any) -> dict[str, Any]:
    """The input pipeline of ``data`` as a JSON-safe dict (see the module docstring).

    Args:
        data: the loaded (or streamed) splits the model was trained on.
        data_dir: where the data came from (image folders name their classes by directory).
        **extra: more entries (a streamed folder adds its own: ``StreamSplits.pipeline()``).

    Returns:
        The record stored under ``meta["preprocessing"]`` of a checkpoint.
    """
    record: dict[str, Any] = {
        "kind": data.kind,
        "dataset": data.name,
        "input_shape": list(data.input_shape),
        "input_dtype": str(data.input_dtype).removeprefix("torch."),
        "num_classes": data.num_classes,
        "class_names": class_names_of(data.name, data_dir, data.num_classes),
    }
    if data.kind == "text":
        record["vocab_size"] = data.vocab_size
    else:
        record.update(channels=data.in_chans, scale=_SCALE.get(data.name, 255.0),
                      mean=[float(m) for m in data.mean], std=[float(s) for s in data.std])
    if hasattr(data, "pipeline"):  # streamed: its own class names, resize and crop
        record.update(data.pipeline())
    record.update(extra)
    return record
