"""Find library words in a text fast (pure): a table of words by first character, built once per library revision.

Each text position is tried only against the lengths of the words that start with its character, so a check costs
about (text length x a few lengths) dictionary look-ups whatever the size of the library.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Hit:
    word: str
    category: str
    start: int
    end: int


class Matcher:
    def __init__(self, entries: Iterable[tuple[str, str]]):
        """`entries`: (word, category) pairs; words are matched case-insensitively."""
        self._words: dict[str, tuple[str, str]] = {}
        lengths: dict[str, set[int]] = {}
        for word, category in entries:
            key = word.strip().lower()
            if key:
                self._words[key] = (word.strip(), category)
                lengths.setdefault(key[0], set()).add(len(key))
        self._lengths = {first: sorted(found, reverse=True) for first, found in lengths.items()}

    def __len__(self) -> int:
        return len(self._words)

    def find(self, text: str) -> list[Hit]:
        """Every occurrence by position; where hits overlap the earlier, longer one is kept (highlighting stays
        well-formed)."""
        lowered, hits, end = _lower(text or ""), [], 0
        for at, char in enumerate(lowered):
            if at < end or char not in self._lengths:
                continue
            for length in self._lengths[char]:
                found = self._words.get(lowered[at:at + length])
                if found:
                    hits.append(Hit(found[0], found[1], at, at + length))
                    end = at + length
                    break
        return hits


def _lower(text: str) -> str:
    """Lower case without changing the length (a few characters lower to two), so positions stay those of `text`."""
    return "".join(low if len(low := char.lower()) == 1 else char for char in text)


def highlighted(text: str, hits: Sequence[Hit]) -> list[tuple[str, bool]]:
    """The text in pieces, each marked whether it is a library word (for an editor's highlighting)."""
    pieces, at = [], 0
    for hit in hits:
        if hit.start > at:
            pieces.append((text[at:hit.start], False))
        pieces.append((text[hit.start:hit.end], True))
        at = hit.end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces
