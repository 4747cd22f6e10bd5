"""Text classification CSVs in the format of Zhang, Zhao & LeCun (2015), encoded once and cached.

The archives (Amazon Review Full/Polarity, Yelp, AG News, DBPedia, Yahoo Answers) hold
``train.csv`` and ``test.csv``: one record per line, every field quoted (``""`` inside a field is
a quote), the first field the 1-based class, then one or more text fields (``"label","title",
"body"``, or ``"label","text"``), line breaks inside a text written as the two characters
``\\n``. Text fields are joined with a space (as the LIT code does), then quantized.

Reading Amazon Full (3M reviews) takes minutes, so the encoded rows are cached as a raw uint8
file plus labels, keyed by the CSV's identity (path, size, mtime) and the quantizer settings, in
``$LIT_CACHE_DIR`` (default ``~/.cache/lit/text``). A cached file is memory-mapped: a later run
reads only the rows it uses and never parses the CSV again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write, write_text_atomic
from .errors import DataError
from .text import Quantizer

__all__ = ["cache_dir", "iter_records", "read_csv_split"]

_FORMAT = 1  # bump when the cache layout or the parsing changes
_CHUNK = 65536


def cache_dir() -> Path:
    """Where encoded CSVs are cached: ``$LIT_CACHE_DIR`` or ``~/.cache/lit/text``."""
    root = os.environ.get("LIT_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "lit" / "text"


def _lines(path: Path) -> Iterator[str]:
    """Decoded lines of ``path``; invalid UTF-8 is a DataError naming the line."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}, line {number}: invalid UTF-8 ({e.reason} at byte {e.start})") from None


def iter_records(path: Path, num_classes: int | None = None) -> Iterator[tuple[int, str]]:
    """``(0-based label, text)`` per record of a Zhang-format CSV; one DataError per bad line."""
    reader = csv.reader(_lines(path), strict=True)
    width = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise DataError(f"{path}, line {reader.line_num}: unparsable CSV ({e})") from None
        where = f"{path}, line {reader.line_num}"
        if width is None:
            width = len(row)
            if width < 2:
                raise DataError(
                    f"{where}: {width} column; expected \"label\",\"text\" or \"label\",\"title\",\"body\""
                )
        if len(row) != width:
            raise DataError(f"{where}: {len(row)} columns where line 1 has {width} (a missing or extra column)")
        try:
            label = int(row[0].strip())
        except ValueError:
            raise DataError(f"{where}: label {row[0]!r} is not an integer") from None
        if label < 1 or (num_classes is not None and label > num_classes):
            top = num_classes if num_classes is not None else "K"
            raise DataError(f"{where}: label {label} out of range; labels are 1..{top} (1-based)")
        text = " ".join(f.replace("\\n", "\n") for f in row[1:])
        if not text.strip():
            raise DataError(f"{where}: empty text")
        yield label - 1, text


def _cache_key(path: Path, quantizer: Quantizer, num_classes: int | None) -> str:
    st = path.stat()
    ident = {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
             "quantizer": quantizer.settings(), "num_classes": num_classes, "format": _FORMAT}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:24]


def _encode_to_cache(path: Path, quantizer: Quantizer, num_classes: int | None, stem: Path) -> None:
    """Parse and encode ``path`` chunk by chunk into ``stem``.u8 / .labels.npy / .json."""
    labels: list[int] = []
    buf = np.zeros((_CHUNK, quantizer.seq_len), dtype=np.uint8)

    def encode(out) -> None:
        n = 0
        for label, text in iter_records(path, num_classes):
            quantizer.encode_one(text, buf[n % _CHUNK])
            labels.append(label)
            n += 1
            if n % _CHUNK == 0:
                out.write(buf.tobytes())
        out.write(buf[: n % _CHUNK].tobytes())
        if n == 0:
            raise DataError(f"{path}: no records (an empty CSV)")

    atomic_write(stem.with_suffix(".u8"), encode)  # an empty CSV raises inside: nothing stays
    n = len(labels)
    atomic_write(stem.with_suffix(".labels.npy"),
                 lambda f: np.save(f, np.asarray(labels, dtype=np.int64)))
    meta = {"csv": str(path), "rows": n, "seq_len": quantizer.seq_len, **quantizer.settings()}
    write_text_atomic(stem.with_suffix(".json"), json.dumps(meta) + "\n")  # last: complete


def read_csv_split(
    path: str | os.PathLike, quantizer: Quantizer, num_classes: int | None = None,
    cache: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(ids, labels, from_cache)``: memory-mapped uint8 ids ``(N, seq_len)`` and 0-based labels.

    Encodes and caches on the first call; later calls (same file, size, mtime and settings)
    only map the cache.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p} not found")
    stem = Path(cache or cache_dir()) / f"{p.stem}-{_cache_key(p, quantizer, num_classes)}"
    hit = stem.with_suffix(".json").is_file()
    if not hit:
        _encode_to_cache(p, quantizer, num_classes, stem)
    rows = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))["rows"]
    ids = np.memmap(stem.with_suffix(".u8"), dtype=np.uint8, mode="r", shape=(rows, quantizer.seq_len))
    labels = np.load(stem.with_suffix(".labels.npy"))
    return ids, labels, hit
