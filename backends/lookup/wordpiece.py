"""BERT's uncased WordPiece tokenizer, read from the model's own `tokenizer.json`.

all-MiniLM-L6-v2 declares `BertNormalizer` (clean text, pad CJK ideographs, strip accents,
lowercase), `BertPreTokenizer` (split on whitespace and punctuation), a `WordPiece` model
(greedy longest match, `##` continuations, `[UNK]` for a word it cannot cover or longer than
100 characters) and `[CLS] ... [SEP]` around every text; its special tokens are matched in the raw
text before normalisation. This module does exactly that, in the order the `tokenizers` library
does it (a test compares both on every seed document and on adversarial and random text).

Why not the `tokenizers` library itself: it declares `huggingface_hub` (a hub client with its own
download stack, `hf_xet`, `fsspec`, `tqdm`...) that this backend never runs, and a few dozen lines
of well-specified code keep the run install light (issue: a light install).
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Unicode's White_Space property (what Rust's `char::is_whitespace` tests).
WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
ASCII_PUNCTUATION = frozenset(string.punctuation)
OTHER_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


@dataclass(frozen=True, slots=True)
class Encoding:
    """One text as the model reads it: token ids, [CLS] first and [SEP] last."""

    ids: tuple[int, ...]


def _is_cjk(code: int) -> bool:
    return any(low <= code <= high for low, high in CJK_RANGES)


def _is_punctuation(char: str) -> bool:
    return char in ASCII_PUNCTUATION or unicodedata.category(char).startswith("P")


def normalize(text: str) -> str:
    """BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase)."""
    cleaned: list[str] = []
    for char in text:
        code = ord(char)
        if char in "\t\n\r":
            cleaned.append(" ")
        elif code in (0, 0xFFFD) or unicodedata.category(char) in OTHER_CATEGORIES:
            continue
        elif char in WHITESPACE:
            cleaned.append(" ")
        elif _is_cjk(code):
            cleaned.append(f" {char} ")
        else:
            cleaned.append(char)
    decomposed = unicodedata.normalize("NFD", "".join(cleaned))
    # character by character, as `tokenizers` does: no final-sigma rule (str.lower has one)
    return "".join(c.lower() for c in decomposed if unicodedata.category(c) != "Mn")


def pre_tokenize(text: str) -> list[str]:
    """BertPreTokenizer: words split on whitespace, each punctuation mark a word of its own."""
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if char in WHITESPACE:
            if current:
                words.append("".join(current))
                current = []
        elif _is_punctuation(char):
            if current:
                words.append("".join(current))
                current = []
            words.append(char)
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


class WordPieceTokenizer:
    """Encodes texts to the ids all-MiniLM-L6-v2 was trained on."""

    def __init__(self, vocab: dict[str, int], special: Sequence[str], *, max_word_chars: int = 100) -> None:
        self._vocab = vocab
        self._unk = vocab["[UNK]"]
        self._cls = vocab["[CLS]"]
        self._sep = vocab["[SEP]"]
        self._max_word_chars = max_word_chars
        self._special = {token: vocab[token] for token in special}
        self._special_pattern = re.compile("|".join(re.escape(t) for t in sorted(special, key=len)[::-1]))

    @classmethod
    def from_file(cls, path: Path) -> WordPieceTokenizer:
        """Read a `tokenizers` JSON file holding a WordPiece model."""
        data = json.loads(path.read_text(encoding="utf-8"))
        model = data["model"]
        if model.get("type") != "WordPiece" or data["normalizer"].get("type") != "BertNormalizer":
            raise ValueError(f"{path}: not a BERT WordPiece tokenizer")
        special = [t["content"] for t in data.get("added_tokens", []) if t.get("special")]
        return cls(model["vocab"], special, max_word_chars=model.get("max_input_chars_per_word", 100))

    def encode(self, text: str, *, max_length: int) -> Encoding:
        """[CLS] + WordPiece ids of the text, cut to `max_length` tokens in all, + [SEP]."""
        ids: list[int] = []
        position = 0
        for match in self._special_pattern.finditer(text):
            ids.extend(self._encode_plain(text[position : match.start()]))
            ids.append(self._special[match.group()])
            position = match.end()
        ids.extend(self._encode_plain(text[position:]))
        return Encoding((self._cls, *ids[: max(max_length - 2, 0)], self._sep))

    def _encode_plain(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in pre_tokenize(normalize(text)):
            ids.extend(self._word_ids(word))
        return ids

    def _word_ids(self, word: str) -> list[int]:
        if len(word) > self._max_word_chars:
            return [self._unk]
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found: int | None = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self._vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self._unk]
            pieces.append(found)
            start = end
        return pieces
