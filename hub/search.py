"""Words for the message search: what a text is indexed by, what a query asks for, and the
snippet that shows where a message matched. Pure: no I/O.

SecantusDB has no text index, so the hub keeps its own (``hub/storage/words.py``): every word
of a message, case-folded, with ``ё`` read as the plain letter (U+0451 as U+0435), found by
prefix. A query matches a message that has a word starting with each of the query's words
("заказ дост" finds "Заказ доставлен").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Letters and digits, in any script; an apostrophe or hyphen inside a word splits it.
_WORD = re.compile(r"\w+")
# Words kept per message and letters kept per word: a long text is indexed by its first words.
MAX_WORDS = 300
MAX_WORD_LEN = 40
# A query is at most this many words (the rest are ignored).
MAX_QUERY_WORDS = 5
# Letters around the first match in a snippet.
SNIPPET_AROUND = 60


def normalize(word: str) -> str:
    """The form words are compared in: case-folded, ``ё`` as the plain letter, at most
    ``MAX_WORD_LEN`` letters."""
    return word.casefold().replace("\u0451", "\u0435")[:MAX_WORD_LEN]


def words(text: str) -> list[str]:
    """The distinct words ``text`` is found by, in order of first appearance. One-letter
    words are left out (too common to search by), digits are kept (order numbers)."""
    found: dict[str, None] = {}
    for match in _WORD.finditer(text):
        word = normalize(match.group())
        if len(word) > 1 or word.isdigit():
            found.setdefault(word)
            if len(found) == MAX_WORDS:
                break
    return list(found)


def query_words(q: str) -> list[str]:
    """The prefixes a query asks for (each must start a word of the message)."""
    found: dict[str, None] = {}
    for match in _WORD.finditer(q):
        found.setdefault(normalize(match.group()))
    return list(found)[:MAX_QUERY_WORDS]


@dataclass(frozen=True)
class Snippet:
    """A piece of a message around its first match; ``highlights`` are ``(start, end)``
    offsets into ``text`` of each word that matched."""

    text: str
    highlights: list[tuple[int, int]]


def snippet(text: str, prefixes: Iterable[str]) -> Snippet:
    """The part of ``text`` around the first word that starts with one of ``prefixes``, the
    matching words marked; the start of ``text`` when none does."""
    asked = [p for p in prefixes if p]
    spans = [
        (m.start(), m.end())
        for m in _WORD.finditer(text)
        if any(normalize(m.group()).startswith(p) for p in asked)
    ]
    if not spans:
        return Snippet(text[: 2 * SNIPPET_AROUND], [])
    first = spans[0][0]
    start = max(0, first - SNIPPET_AROUND)
    if start:  # begin at a word
        space = text.find(" ", start, first)
        start = space + 1 if space != -1 else start
    end = min(len(text), spans[0][1] + SNIPPET_AROUND)
    if end < len(text):
        space = text.rfind(" ", spans[0][1], end)
        end = space if space != -1 else end
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - start
    inside = [(s + shift, e + shift) for s, e in spans if s >= start and e <= end]
    return Snippet(prefix + text[start:end] + suffix, inside)
