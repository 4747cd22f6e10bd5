"""No file ``lit`` reads may run code: the sources of the three packages never unpickle freely."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGES = Path(__file__).resolve().parents[1] / "packages"
# torch.load(..., weights_only=False) and pickle.load/loads run whatever the file names; a
# restricted ``pickle.Unpickler`` subclass with an allow-list (``find_class``) is the one exception
UNSAFE = re.compile(r"weights_only\s*=\s*False|\bpickle\s*\.\s*loads?\s*\(|\bcPickle\b|"
                    r"\bdill\b|\bjoblib\s*\.\s*load\b")


def _sources() -> list[Path]:
    files = [p for p in PACKAGES.glob("*/src/**/*.py")]
    assert len(files) > 50, f"found only {len(files)} source files under {PACKAGES}"
    return files


def test_no_source_file_loads_with_pickle_or_weights_only_false():
    hits = []
    for path in _sources():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if UNSAFE.search(line):
                hits.append(f"{path.relative_to(PACKAGES)}:{n}: {line.strip()}")
    assert not hits, "unsafe loads:\n" + "\n".join(hits)


def test_the_scan_sees_an_unsafe_load():
    assert UNSAFE.search('ckpt = torch.load(best, map_location="cpu", weights_only=False)')
    assert UNSAFE.search("obj = pickle.loads(blob)")
    assert UNSAFE.search("with open(p) as f: pickle.load(f)")
    assert not UNSAFE.search("torch.load(path, weights_only=True)")
