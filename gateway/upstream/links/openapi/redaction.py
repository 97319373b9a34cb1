"""Secret values taken out of text an API sent back (its error bodies), before a client sees it.

APIs echo what they were sent, and not always verbatim: upper-cased, or cut short
(`invalid token "shop-token-5e..."`). `Redactor` replaces, ignoring case,

- every whole secret value (a credential header's value, the token of `Bearer <token>`), and
- every run of `PARTIAL_ECHO_CHARS` (8) or more consecutive characters of one of its words,

with `***`, and leaves the rest of the text as it was. A shorter fragment is left alone: it
would give too little away, and would blank out ordinary words. Everything is prepared once per
backend (a compiled pattern, a set of 8-character windows); redacting is one pass over the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "***"
PARTIAL_ECHO_CHARS = 8
MIN_SECRET_CHARS = 4
"""Shorter values are not redacted at all (they would match ordinary text)."""


def _fold(text: str) -> str:
    """`text` in lower case, character for character (positions stay the same)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


class Redactor:
    """Takes a backend's secret values out of text (see the module's docstring)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)
        self._whole = re.compile("|".join(map(re.escape, values)), re.IGNORECASE) if values else None
        self._windows = frozenset(
            word[i : i + PARTIAL_ECHO_CHARS]
            for value in values
            for word in _fold(value).split()
            for i in range(len(word) - PARTIAL_ECHO_CHARS + 1)
        )

    def __repr__(self) -> str:
        return f"<Redactor {len(self._windows)} windows>"  # never the values

    def __call__(self, text: str) -> str:
        """`text` with every secret value, and every 8+ character piece of one, as `***`."""
        if self._whole is not None:
            text = self._whole.sub(REDACTED, text)
        return self._partial(text) if self._windows else text

    def _partial(self, text: str) -> str:
        """Each run of text covered by secret windows becomes one `***`."""
        folded = _fold(text)
        out: list[str] = []
        kept = 0  # text[:kept] is decided
        start = end = -1  # the run of secret characters being covered
        for i in range(len(text) - PARTIAL_ECHO_CHARS + 1):
            if folded[i : i + PARTIAL_ECHO_CHARS] not in self._windows:
                continue
            if i > end:  # a new run: close the previous one
                if end > start:
                    out += [text[kept:start], REDACTED]
                    kept = end
                start = i
            end = i + PARTIAL_ECHO_CHARS
        if end > start:
            out += [text[kept:start], REDACTED]
            kept = end
        out.append(text[kept:])
        return "".join(out)
