"""Character quantization, the offline fortunes task, and the modality-aware DataSplits contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lit_models
from lit_core.data import ArrayDataset, Augment, BatchLoader, DataError, load_data
from lit_core.data import fortunes as fortunes_mod
from lit_core.data.text import CONNEAU_ALPHABET, PAD_ID, UNKNOWN_ID, Quantizer

# --------------------------------------------------------------------------- quantizer


def test_conneau_alphabet_gives_69_token_ids():
    # Conneau et al.: 66 characters + space + padding + unknown = 69 tokens
    assert len(CONNEAU_ALPHABET) == 67 and len(set(CONNEAU_ALPHABET)) == 67
    assert Quantizer().vocab_size == 69 and Quantizer().seq_len == 1024


def test_quantizer_lowercases_maps_unknown_pads_and_truncates():
    q = Quantizer(seq_len=6)
    ids = q.encode(["Ab é", "abcdefgh"])
    a, b, space = (CONNEAU_ALPHABET.index(c) + 2 for c in "ab ")
    assert ids.dtype == np.uint8 and ids.shape == (2, 6)
    assert ids[0].tolist() == [a, b, space, UNKNOWN_ID, PAD_ID, PAD_ID]
    assert ids[1].tolist() == [CONNEAU_ALPHABET.index(c) + 2 for c in "abcdef"]


def test_quantizer_encodes_as_the_model_zoo_does():
    texts = ["Hello, World! Ünïcode & 42 {braces}", "x" * 2000]
    assert torch.equal(torch.from_numpy(Quantizer(seq_len=1014).encode(texts)).long(),
                       lit_models.encode_text(texts, seq_len=1014))
    assert lit_models.ALPHABET == CONNEAU_ALPHABET


def test_quantizer_settings_are_configurable():
    q = Quantizer(seq_len=4, alphabet="xyZ", lower=False)
    assert q.vocab_size == 5
    assert q.encode(["Zxz"])[0].tolist() == [4, 2, UNKNOWN_ID, PAD_ID]
    with pytest.raises(DataError, match="distinct"):
        Quantizer(alphabet="aa")
    with pytest.raises(DataError, match="seq_len must be a positive integer"):
        Quantizer(seq_len=0)


# --------------------------------------------------------------------------- fortunes


def write_fortunes(root, n=30):
    """A fortune tree in the Debian layout: '%'-separated quotes, '-- Author' attributions.

    Every word of fortune i ends in i, so a snippet tells which fortune it came from.
    """
    words = {"en": "the cat sat on the mat and then", "de": "der hund und die katze sind",
             "es": "el perro y el gato son muy", "it": "il cane e il gatto sono molto",
             "pt": "o cachorro e o gato são muito", "cs": "pes a kočka jsou velmi",
             "pl": "pies i kot są bardzo"}

    def body(lang, i):
        ws = [f"{w}{i}" for w in f"{words[lang]} {words[lang]} {words[lang]}".split()]
        lines = [" ".join(ws[k : k + 5]) for k in range(0, len(ws), 5)]
        return "\n".join([*lines, f"\t\t-- Someone {i}", ""])

    root.mkdir(parents=True)
    for sub in ("de", "es", "it", "cs", "pl"):
        (root / sub).mkdir()
    files = {"en": root / "art", "de": root / "de" / "tiere", "es": root / "es" / "animales.fortunes",
             "it": root / "it" / "animali", "pt": root / "brasil", "cs": root / "cs" / "zvirata",
             "pl": root / "pl" / "zwierzeta"}
    for lang, path in files.items():
        path.write_text("%\n".join(body(lang, i) for i in range(n)), encoding="utf-8")
    return root


def test_fortunes_builds_a_balanced_seeded_split_of_short_snippets(tmp_path):
    write_fortunes(tmp_path / "f")
    d = load_data("fortunes", tmp_path / "f", val_fraction=0.2)
    assert d.kind == "text" and d.num_classes == 7 and d.seq_len == 64
    counts = np.bincount(np.concatenate([d.train.labels.numpy(), d.val.labels.numpy()]))
    assert len(set(counts.tolist())) == 1 and len(set(np.bincount(d.test.labels.numpy()).tolist())) == 1
    q = Quantizer(64)
    texts = [q.decode(row.numpy()) for row in d.test.inputs]
    assert all(32 <= len(t) <= 64 and "someone" not in t for t in texts)  # attribution dropped
    again = load_data("fortunes", tmp_path / "f", val_fraction=0.2)
    assert torch.equal(again.test.inputs, d.test.inputs) and torch.equal(again.val.inputs, d.val.inputs)


def test_fortune_split_is_by_fortune_so_no_test_snippet_shares_a_fortune(tmp_path):
    write_fortunes(tmp_path / "f", n=40)
    tr, ytr, te, yte, _ = fortunes_mod.fortune_snippets(tmp_path / "f")

    def number(text):  # the fortune a snippet came from; all its words agree
        found = {w.lstrip("abcdefghijklmnopqrstuvwxyzãčą") for w in text.split()}
        assert len(found) == 1
        return int(found.pop())

    train = {(int(y), number(t)) for t, y in zip(tr, ytr, strict=True)}
    test = {(int(y), number(t)) for t, y in zip(te, yte, strict=True)}
    assert len(train) > len(test) > 0 and train.isdisjoint(test)


def test_missing_fortunes_names_the_apt_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(fortunes_mod, "FORTUNES_SYSTEM_DIR", tmp_path / "none")
    monkeypatch.delenv("LIT_DATA_DIR", raising=False)
    with pytest.raises(DataError) as e:
        load_data("fortunes")
    msg = str(e.value)
    assert "apt-get install fortunes fortunes-de" in msg and str(tmp_path / "none") in msg
    assert "\n" not in msg


def test_fortunes_found_via_lit_data_dir(tmp_path, monkeypatch):
    write_fortunes(tmp_path / "root" / "fortunes")
    monkeypatch.setattr(fortunes_mod, "FORTUNES_SYSTEM_DIR", tmp_path / "none")
    monkeypatch.setenv("LIT_DATA_DIR", str(tmp_path / "root"))
    assert load_data("fortunes").source.startswith(str(tmp_path / "root" / "fortunes"))


# --------------------------------------------------------------------------- the DataSplits contract


def test_image_and_text_splits_say_how_to_build_and_feed_a_model(tmp_path):
    np.savez(tmp_path / "i.npz", images=np.random.default_rng(0).random((20, 3, 8, 8)),
             labels=np.arange(20) % 2)
    img = load_data("npz", tmp_path / "i.npz")
    assert img.kind == "image" and img.input_shape == (3, 8, 8) and img.input_dtype == torch.float32
    assert img.model_kwargs() == {"num_classes": 2, "in_chans": 3}
    write_fortunes(tmp_path / "f")
    txt = load_data("fortunes", tmp_path / "f", seq_len=72)
    assert txt.kind == "text" and txt.input_shape == (72,) and txt.input_dtype == torch.int64
    assert txt.model_kwargs() == {"num_classes": 7, "vocab_size": 69, "seq_len": 72}
    assert "text, 72 characters, 69 token ids, 7 classes" in txt.describe()
    x, y = next(iter(BatchLoader(txt.train, 8, shuffle=True)))
    assert x.dtype == torch.int64 and x.shape == (8, 72) and y.dtype == torch.int64
    assert txt.train.images is txt.train.inputs  # the alias image code uses
    with pytest.raises(DataError, match="seq_len applies to text"):
        load_data("npz", tmp_path / "i.npz", seq_len=64)


def test_text_is_never_augmented():
    ds = ArrayDataset(torch.zeros(4, 64, dtype=torch.uint8), torch.arange(4))
    with pytest.raises(ValueError, match="only applies to images"):
        BatchLoader(ds, 2, shuffle=False, augment=Augment(pad=2))


def test_array_dataset_refuses_float_sequences_and_integer_images():
    with pytest.raises(DataError, match="N×C×H×W images or integer N×L"):
        ArrayDataset(torch.zeros(4, 64), torch.arange(4))
    with pytest.raises(DataError, match="N×C×H×W images or integer N×L"):
        ArrayDataset(torch.zeros(4, 1, 8, 8, dtype=torch.int64), torch.arange(4))
