"""Character quantization for VDCNN (Conneau et al. 2017, after Zhang, Zhao & LeCun 2015).

A text becomes a fixed-length row of character ids: lower-cased, truncated to ``seq_len``
characters, each character looked up in a fixed alphabet, padded at the end. Id 0 is padding
(VDCNN's embedding keeps it at zero), id 1 stands for any character outside the alphabet, and the
alphabet's characters take ids 2, 3, … With the paper's 67-character alphabet (letters, digits,
30 symbols and the space) that is 69 token ids, as in Conneau et al.; their maximum length is
1024 (the LIT code pads/truncates to 1014).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .errors import DataError

__all__ = ["CONNEAU_ALPHABET", "PAD_ID", "UNKNOWN_ID", "Quantizer"]

#: Conneau et al. (2017), Sec. 3: 26 letters, 10 digits, 30 symbols and the space.
CONNEAU_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/|_#$%^&*~`+=<>()[]{} "
PAD_ID = 0
UNKNOWN_ID = 1
_FIRST_ID = 2


@dataclass(frozen=True)
class Quantizer:
    """Texts → uint8 id rows ``(N, seq_len)``; ``vocab_size`` = alphabet + padding + unknown."""

    seq_len: int = 1024
    alphabet: str = CONNEAU_ALPHABET
    lower: bool = True
    _lut: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.seq_len, bool) or not isinstance(self.seq_len, int) or self.seq_len < 1:
            raise DataError(f"seq_len must be a positive integer; got {self.seq_len!r}")
        if not self.alphabet or len(set(self.alphabet)) != len(self.alphabet):
            raise DataError("the alphabet must be a non-empty string of distinct characters")
        if len(self.alphabet) + _FIRST_ID > 256:
            raise DataError(f"the alphabet has {len(self.alphabet)} characters; at most 254 fit uint8 ids")
        top = max(map(ord, self.alphabet)) + 1
        lut = np.full(max(top, 128), UNKNOWN_ID, dtype=np.uint8)
        for i, ch in enumerate(self.alphabet):
            lut[ord(ch)] = i + _FIRST_ID
        object.__setattr__(self, "_lut", lut)

    @property
    def vocab_size(self) -> int:
        """Number of token ids (embedding rows): padding, unknown and the alphabet."""
        return len(self.alphabet) + _FIRST_ID

    def settings(self) -> dict:
        """The settings that determine the encoding (a cache key part)."""
        return {"seq_len": self.seq_len, "alphabet": self.alphabet, "lower": self.lower,
                "pad_id": PAD_ID, "unknown_id": UNKNOWN_ID}

    def encode_one(self, text: str, out: np.ndarray) -> None:
        """Write ``text``'s ids into the row ``out`` (length ``seq_len``, zero = padding)."""
        if self.lower:
            text = text.lower()
        codes = np.frombuffer(text[: self.seq_len].encode("utf-32-le"), dtype=np.uint32)
        lut = self._lut
        ids = np.where(codes < len(lut), lut[np.minimum(codes, len(lut) - 1)], UNKNOWN_ID)
        out[: len(ids)] = ids
        out[len(ids):] = PAD_ID

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        """Ids ``(len(texts), seq_len)``, uint8."""
        texts = list(texts)
        out = np.zeros((len(texts), self.seq_len), dtype=np.uint8)
        for row, text in enumerate(texts):
            self.encode_one(text, out[row])
        return out

    def decode(self, ids: np.ndarray) -> str:
        """The text a row of ids stands for (unknown → ``\\ufffd``, padding dropped)."""
        chars = {i + _FIRST_ID: c for i, c in enumerate(self.alphabet)} | {UNKNOWN_ID: "\ufffd"}
        return "".join(chars[int(i)] for i in ids if int(i) != PAD_ID)
