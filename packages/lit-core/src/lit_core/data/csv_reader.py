"""Text classification CSVs in the format of Zhang, Zhao & LeCun (2015), encoded once and cached.

The archives (Amazon Review Full/Polarity, Yelp, AG News, DBPedia, Yahoo Answers) hold
``train.csv`` and ``test.csv``: one record per line, every field quoted (``""`` inside a field is
a quote), the first field the 1-based class, then one or more text fields (``"label","title",
"body"``, or ``"label","text"``), line breaks inside a text written as the two characters
``\\n``. Text fields are joined with a space (as the LIT code does), then quantized. A UTF-8
byte-order mark at the start of the file is dropped; a field may be up to 256 MiB long.

Reading Amazon Full (3M reviews) takes minutes, so the encoded rows are cached as a raw uint8
file plus labels, keyed by the CSV's *content* (its SHA-256, a few seconds for Amazon Full: an
edit that keeps size and mtime is still seen), the quantizer settings and the class count, in
``$LIT_CACHE_DIR`` (default ``~/.cache/lit/text``). Each cache file is written atomically, the
``.json`` last; a cache entry that is incomplete or damaged (a torn ``.json``, a short ``.u8``)
is rebuilt with a one-line note. A cached file is memory-mapped: a later run reads only the rows
it uses and never parses the CSV again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write, write_text_atomic
from .errors import DataError
from .text import Quantizer

__all__ = ["cache_dir", "iter_records", "read_csv_split"]

_FORMAT = 2  # bump when the cache layout, the parsing or the key changes
_CHUNK = 65536
_FIELD_LIMIT = 256 * 2**20  # csv's default (128 KiB) refuses long reviews


def cache_dir() -> Path:
    """Where encoded CSVs are cached: ``$LIT_CACHE_DIR`` or ``~/.cache/lit/text``."""
    root = os.environ.get("LIT_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "lit" / "text"


def _lines(path: Path) -> Iterator[str]:
    """Decoded lines of ``path``; invalid UTF-8 is a DataError naming the line."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")  # a BOM is no text
            except UnicodeDecodeError as e:
                raise DataError(f"{path}, line {number}: invalid UTF-8 ({e.reason} at byte {e.start})") from None


def iter_records(path: Path, num_classes: int | None = None) -> Iterator[tuple[int, str]]:
    """``(0-based label, text)`` per record of a Zhang-format CSV; one DataError per bad line."""
    previous = csv.field_size_limit(_FIELD_LIMIT)  # csv's limit is process-wide: restored below
    try:
        yield from _records(path, num_classes)
    finally:
        csv.field_size_limit(previous)


def _records(path: Path, num_classes: int | None) -> Iterator[tuple[int, str]]:
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
    """The cache entry's name: a hash of the CSV's bytes and of everything that shapes the rows."""
    try:
        with open(path, "rb") as f:
            content = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None
    ident = {"sha256": content, "quantizer": quantizer.settings(), "num_classes": num_classes,
             "format": _FORMAT}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:24]


def _map_cache(stem: Path, quantizer: Quantizer) -> tuple[np.ndarray, np.ndarray] | str:
    """The cached ``(ids, labels)`` of ``stem``, or why they cannot be used (missing, torn, short)."""
    meta_path = stem.with_suffix(".json")
    if not meta_path.is_file():
        return "missing"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        rows = meta["rows"] if isinstance(meta, dict) else None
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
            return f"{meta_path.name} records no row count"
        size = stem.with_suffix(".u8").stat().st_size
        if size != rows * quantizer.seq_len:
            return f"{stem.with_suffix('.u8').name} holds {size} bytes, not {rows} rows"
        labels = np.load(stem.with_suffix(".labels.npy"), allow_pickle=False)
        if labels.shape != (rows,) or labels.dtype != np.int64:
            return f"{stem.with_suffix('.labels.npy').name} holds {labels.dtype} {labels.shape}, not {rows} labels"
        ids = np.memmap(stem.with_suffix(".u8"), dtype=np.uint8, mode="r", shape=(rows, quantizer.seq_len))
    except (OSError, ValueError, EOFError, UnicodeDecodeError, KeyError) as e:
        return f"{type(e).__name__}: {e}"
    return ids, labels


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

    Encodes and caches on the first call; later calls (same content and settings) only map the
    cache. A damaged cache entry is rebuilt (with a note on stderr), never trusted.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p} not found")
    stem = Path(cache or cache_dir()) / f"{p.stem}-{_cache_key(p, quantizer, num_classes)}"
    found = _map_cache(stem, quantizer)
    if not isinstance(found, str):
        return *found, True
    if found != "missing":
        print(f"lit: the text cache {stem}.* of {p} is damaged ({found}); rebuilding it",
              file=sys.stderr)
        stem.with_suffix(".json").unlink(missing_ok=True)  # incomplete until rewritten last
    _encode_to_cache(p, quantizer, num_classes, stem)
    found = _map_cache(stem, quantizer)
    if isinstance(found, str):
        raise DataError(f"the text cache {stem}.* of {p} cannot be read back ({found}); "
                        f"delete it or set LIT_CACHE_DIR to another folder")
    return *found, False
