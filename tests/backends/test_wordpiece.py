"""The lookup backend's WordPiece tokenizer gives the ids the `tokenizers` library gives.

`tokenizers` is a test dependency only: it is the reference, run on the same `tokenizer.json`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from backends.lookup.embeddings import MAX_SEQUENCE, _bundled_model
from backends.lookup.seed import DOCUMENTS
from backends.lookup.wordpiece import WordPieceTokenizer, normalize, pre_tokenize

FIXTURES = Path(__file__).parent / "fixtures"

ADVERSARIAL = [
    "",
    "   ",
    "Hello, World!",
    "naïve café RÉSUMÉ Ångström Øresund straße",
    "ΟΔΟΣ ΣΟΦΟΣ",  # final sigma: lowered character by character, as the reference does
    "İstanbul DİYARBAKIR",  # a capital I with a dot lowers to two code points
    "中文字符和日本語のテキスト 한국어",
    "emoji 🚲🍞📈 and symbols ©®™ ½ ∑ √ ≤ → €$£¥",
    "tab\tnew\nline\rcarriage\x0bvertical\x0cform\x85next\u2028sep\u00a0nbsp\u3000ideo",
    "zero\x00width\u200bspace\u200djoiner\ufeffbom\ufffdreplacement\ue000private",
    "[CLS] [SEP] [MASK] [PAD] [UNK] inside a [MASK]ed sentence, [cls] lower-case is plain text",
    "x" * 101,
    "x" * 100,
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
    "e-mail: someone@example.com; url: https://example.org/a_b?c=d&e=f#g",
    "don't won't it's o'clock rock'n'roll",
    "1,234.56 3.14159 -42 +7 1e10 0x1F 2026-11-28T02:11:07Z",
    "SELECT * FROM users WHERE id = 1; DROP TABLE users; --",
    "combining: e\u0301 a\u0300 n\u0303 o\u0308 and precomposed: é à ñ ö",
    "fullwidth ＡＢＣ１２３ and ligature ﬁ ﬂ and roman Ⅻ",  # noqa: RUF001 - look-alikes are the point
    "word " * 400,
]

ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789     .,;:!?'\"()[]{}<>-_/\\@#$%^&*+=~`|"
    "éèêëàâäôöûüçñÉÈÀÖÜßøåæœ中文日本語한국어ΑΒΓαβγσςΣабвгдАБВГД«»‘’“”…—–·•¶§°±×÷"  # noqa: RUF001
    "\t\n\r\x00\x07\x1f\u200b\u200d\u2028\u00a0\u3000\ufeff\u0301\u0308🙂🚀"
)


def _random_texts(count: int, seed: int = 20261128) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        length = rng.randint(0, 80)
        text = "".join(rng.choice(ALPHABET) for _ in range(length))
        if rng.random() < 0.2:
            text = text.replace(" ", rng.choice(["[CLS]", "[SEP]", "[MASK]", " [UNK] "]), 1)
        yield text


@pytest.fixture(scope="module")
def ours() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_file(_bundled_model() / "tokenizer.json")


@pytest.fixture(scope="module")
def reference() -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(_bundled_model() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_SEQUENCE)
    tokenizer.no_padding()
    return tokenizer


def _corpus() -> list[str]:
    pairs = json.loads((FIXTURES / "semantic_pairs.json").read_text())["pairs"]
    return [
        *ADVERSARIAL,
        *(doc.text for doc in DOCUMENTS),
        *(pair["query"] for pair in pairs),
        *_random_texts(1500),
    ]


def test_every_text_gets_the_reference_ids(ours: WordPieceTokenizer, reference: Tokenizer) -> None:
    """Seed documents, labelled queries, adversarial and 1,500 random texts: identical ids."""
    mismatches = []
    for text in _corpus():
        expected = reference.encode(text).ids
        got = list(ours.encode(text, max_length=MAX_SEQUENCE).ids)
        if got != expected:
            mismatches.append((text, got, expected))
    assert not mismatches, f"{len(mismatches)} texts differ; first: {mismatches[0]!r}"


def test_long_texts_are_cut_to_the_model_length(ours: WordPieceTokenizer) -> None:
    """[CLS], 254 word pieces, [SEP]."""
    ids = ours.encode("word " * 1000, max_length=MAX_SEQUENCE).ids
    assert len(ids) == MAX_SEQUENCE
    assert (ids[0], ids[-1]) == (101, 102)


def test_normalisation_and_splitting_follow_bert() -> None:
    """Accents stripped, lower-cased, CJK and punctuation split off, controls dropped."""
    assert normalize("Café\x00 中x") == "cafe  中 x"
    assert pre_tokenize("a,b  c!") == ["a", ",", "b", "c", "!"]


def test_a_file_that_is_not_wordpiece_is_refused(tmp_path: Path) -> None:
    """A clear error naming the file, not a wrong embedding."""
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({"model": {"type": "BPE", "vocab": {}}, "normalizer": {"type": "NFC"}}))
    with pytest.raises(ValueError, match="not a BERT WordPiece tokenizer"):
        WordPieceTokenizer.from_file(path)
