"""Text data sets for ``load_data``: the offline ``fortunes`` task and Zhang et al.'s CSVs."""

from __future__ import annotations

import os
from pathlib import Path

from .csv_reader import read_csv_split
from .errors import DataError
from .fortunes import fortune_snippets
from .splits import DataSplits, finalise_text_splits
from .text import Quantizer

__all__ = ["TEXT_DATASETS", "is_text_dir", "load_text"]

TEXT_DATASETS = ("fortunes", "amazon-polarity", "amazon-full", "csv")
#: name → (folder name in Zhang et al.'s archives, number of classes)
_CSV_SETS = {"amazon-polarity": ("amazon_review_polarity_csv", 2),
             "amazon-full": ("amazon_review_full_csv", 5), "csv": (None, None)}
FORTUNES_SEQ_LEN = 64  # the snippets are 32-64 characters
CSV_SEQ_LEN = 1024  # Conneau et al.


def is_text_dir(path: Path) -> bool:
    """Whether ``path`` holds ``train.csv`` and ``test.csv``."""
    return (path / "train.csv").is_file() and (path / "test.csv").is_file()


def _csv_dir(name: str, data_dir: str | os.PathLike | None) -> Path:
    folder, _ = _CSV_SETS[name]
    if data_dir is not None:
        candidates = [Path(data_dir)] + ([Path(data_dir) / folder] if folder else [])
    else:
        env = os.environ.get("LIT_DATA_DIR")
        candidates = [Path(env) / folder] if env and folder else []
    for c in candidates:
        if is_text_dir(c):
            return c
    where = ", ".join(map(str, candidates)) or "nowhere (no --data-dir and no LIT_DATA_DIR)"
    how = (f"download {folder}.tar.gz (Zhang et al. 2015, linked from the README), unpack it and "
           f"pass --data-dir DIR/{folder} (or set LIT_DATA_DIR=DIR)") if folder else (
           "pass --data-dir DIR with DIR/train.csv and DIR/test.csv")
    raise DataError(f"{name}: no train.csv and test.csv in {where}; {how}")


def load_text(
    name: str, data_dir: str | os.PathLike | None, *, val_fraction: float, seed: int,
    limit: int | None, test_limit: int | None, seq_len: int | None,
) -> DataSplits:
    """A text ``DataSplits``: quantized character ids, validated labels, a seeded val split."""
    if name == "fortunes":
        q = Quantizer(seq_len=seq_len or FORTUNES_SEQ_LEN)
        tr_x, tr_y, te_x, te_y, source = fortune_snippets(data_dir, seed=0)  # fixed test set
        train_ids, test_ids, num_classes = q.encode(tr_x), q.encode(te_x), None
    elif name in _CSV_SETS:
        q = Quantizer(seq_len=seq_len or CSV_SEQ_LEN)
        folder = _csv_dir(name, data_dir)
        num_classes = _CSV_SETS[name][1]
        train_ids, tr_y, _ = read_csv_split(folder / "train.csv", q, num_classes)
        test_ids, te_y, _ = read_csv_split(folder / "test.csv", q, num_classes)
        source = str(folder)
    else:
        raise DataError(f"unknown text data set {name!r}; choose one of {', '.join(TEXT_DATASETS)}")
    return finalise_text_splits(
        name=name, train_ids=train_ids, train_labels=tr_y, test_ids=test_ids, test_labels=te_y,
        source=source, vocab_size=q.vocab_size, num_classes=num_classes,
        val_fraction=val_fraction, seed=seed, limit=limit, test_limit=test_limit,
    )
