"""``fortunes``: language identification on short snippets of real text, offline.

Source: Debian's fortune-cookie packages, human-written quotations, jokes and proverbs:
``fortunes`` (English), ``fortunes-de``, ``fortunes-es``, ``fortunes-it``, ``fortunes-br``
(Brazilian Portuguese), ``fortunes-cs`` (Czech, some Slovak) and ``fortunes-pl``, installed
under ``/usr/share/games/fortunes``.

Task: which of the seven languages a 32–64 character snippet is in. Each fortune (attribution
lines "-- Author" dropped, white space collapsed) is cut at word boundaries into consecutive
snippets of 32 to 64 characters. The split is made per fortune, not per snippet, so no test
snippet shares a fortune with a training one: per language, a permutation seeded with ``seed``
sends 20 % of the fortunes to the test split
(``load_data`` always uses seed 0 here, so the test set never changes; ``data.seed`` seeds the
validation split). Each language then keeps the same number of
snippets per split (the smallest language's count; a seeded choice), so the classes are
balanced and chance is 1/7.

Why this task: Spanish, Italian and Portuguese share many short words and letter patterns, as do
Czech and Polish, and the Conneau alphabet has no accented letters (they all become the unknown
id), so a short snippet is often ambiguous. With five languages (en, de, es, it, pt) a small
scratch VDCNN reached 95 % validation accuracy in three epochs, too close to the ceiling to rank
methods; the two Slavic languages were added to make the task harder (measured numbers:
``results/text-cpu/README.md``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["FORTUNES_SYSTEM_DIR", "LANGUAGES", "find_fortunes", "fortune_snippets"]

FORTUNES_SYSTEM_DIR = Path("/usr/share/games/fortunes")
#: label order: class id → language; the package providing it
LANGUAGES = {"en": "fortunes", "de": "fortunes-de", "es": "fortunes-es", "it": "fortunes-it",
             "pt": "fortunes-br", "cs": "fortunes-cs", "pl": "fortunes-pl"}
APT_LINE = "sudo apt-get install " + " ".join(LANGUAGES.values())
_ENGLISH = (
    "art", "computers", "cookie", "debian", "definitions", "disclaimer", "drugs", "education",
    "ethnic", "food", "goedel", "humorists", "kids", "knghtbrd", "law", "linux", "linuxcookie",
    "love", "magic", "medicine", "men-women", "miscellaneous", "news", "paradoxum", "people",
    "perl", "pets", "platitudes", "politics", "science", "songs-poems", "sports", "startrek",
    "tao", "wisdom", "work", "zippy",
)
_SKIP = {"asciiart", "ascii-art", "banner"}  # pictures, not language
MIN_CHARS, MAX_CHARS = 32, 64
_WORDS = re.compile(r"\S+")


def fortunes_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    """Where the fortune files are looked for: data_dir (only it, when given), else
    ``$LIT_DATA_DIR/fortunes``, ``$LIT_DATA_DIR`` and the system directory."""
    if data_dir is not None:
        return [Path(data_dir), Path(data_dir) / "fortunes"]
    env = os.environ.get("LIT_DATA_DIR")
    return ([Path(env) / "fortunes", Path(env)] if env else []) + [FORTUNES_SYSTEM_DIR]


def _language_files(root: Path) -> dict[str, list[Path]]:
    def listed(folder: Path) -> list[Path]:
        return sorted(p for p in folder.glob("*") if p.is_file() and not p.suffix
                      and p.name not in _SKIP) if folder.is_dir() else []

    return {
        "en": [root / n for n in _ENGLISH if (root / n).is_file()],
        "de": listed(root / "de"),
        "es": sorted(p for p in (root / "es").glob("*.fortunes") if p.is_file()),
        "it": listed(root / "it"),
        "pt": [root / "brasil"] if (root / "brasil").is_file() else [],
        "cs": listed(root / "cs"),
        "pl": listed(root / "pl"),
    }


def find_fortunes(data_dir: str | os.PathLike | None) -> tuple[Path, dict[str, list[Path]]]:
    """The first searched directory holding every language; DataError naming the apt line."""
    looked = fortunes_dirs(data_dir)
    for root in looked:
        files = _language_files(root)
        if all(files.values()):
            return root, files
    missing = [LANGUAGES[lang] for lang, fs in _language_files(FORTUNES_SYSTEM_DIR).items() if not fs]
    raise DataError(
        f"fortunes: no complete set of fortune files in {', '.join(map(str, looked))}"
        f"{' (missing: ' + ', '.join(missing) + ')' if missing and data_dir is None else ''}; "
        f"install them with `{APT_LINE}` or point --data-dir/LIT_DATA_DIR at a copy of "
        f"{FORTUNES_SYSTEM_DIR}"
    )


def _fortunes(path: Path) -> list[str]:
    """The fortunes in one file: '%'-separated, attributions dropped, white space collapsed."""
    try:
        raw = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as e:
        raise DataError(f"fortunes: cannot read {path}: {e.strerror}") from None
    out = []
    for block in re.split(r"^%\s*$", raw, flags=re.MULTILINE):
        lines = [ln for ln in block.splitlines() if not ln.strip().startswith("--")]
        text = " ".join(_WORDS.findall(" ".join(lines)))
        if len(text) >= MIN_CHARS:
            out.append(text)
    return out


def _snippets(text: str) -> list[str]:
    """Consecutive word-aligned pieces of ``MIN_CHARS``..``MAX_CHARS`` characters."""
    pieces, cur = [], ""
    for word in text.split(" "):
        if len(word) > MAX_CHARS:
            continue
        cand = f"{cur} {word}" if cur else word
        if len(cand) > MAX_CHARS:
            if len(cur) >= MIN_CHARS:
                pieces.append(cur)
            cur = word
        else:
            cur = cand
    if len(cur) >= MIN_CHARS:
        pieces.append(cur)
    return pieces


def fortune_snippets(
    data_dir: str | os.PathLike | None, seed: int = 0, test_fraction: float = 0.2
) -> tuple[list[str], np.ndarray, list[str], np.ndarray, str]:
    """``(train_texts, train_labels, test_texts, test_labels, source)``, balanced, seeded."""
    root, files = find_fortunes(data_dir)
    rng = np.random.default_rng(seed)
    per_lang: dict[str, tuple[list[str], list[str]]] = {}
    for lang, paths in files.items():
        fortunes = sorted({f for p in paths for f in _fortunes(p)})  # de-duplicated, ordered
        order = rng.permutation(len(fortunes))
        n_test = round(len(fortunes) * test_fraction)
        test = [s for i in order[:n_test] for s in _snippets(fortunes[i])]
        train = [s for i in order[n_test:] for s in _snippets(fortunes[i])]
        per_lang[lang] = (train, test)
    n_train = min(len(tr) for tr, _ in per_lang.values())
    n_test = min(len(te) for _, te in per_lang.values())
    if n_train == 0 or n_test == 0:
        raise DataError(f"fortunes: too little text in {root} to build both splits")
    out: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    for label, (train, test) in enumerate(per_lang.values()):
        for split, texts, n in (("train", train, n_train), ("test", test, n_test)):
            pick = np.sort(rng.choice(len(texts), n, replace=False))
            out[split][0].extend(texts[i] for i in pick)
            out[split][1].extend([label] * n)
    source = f"{root} (fortunes {', '.join(LANGUAGES)}; {MIN_CHARS}-{MAX_CHARS} char snippets)"
    return (out["train"][0], np.array(out["train"][1]), out["test"][0], np.array(out["test"][1]),
            source)
