"""Sensitive words of a push's text: finding them and marking them for the editor (pure)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

DEFAULT_SENSITIVE_WORDS = ("最低价", "国家级", "全网第一", "绝对有效", "稳赚", "保本", "百分百", "根治")


@dataclass(frozen=True)
class WordHit:
    word: str
    start: int
    end: int


def find_sensitive(text: str, words: Iterable[str]) -> list[WordHit]:
    """Every occurrence of a listed word (case-insensitive), by position; overlapping hits are merged away
    in favour of the earlier, longer one so that highlighting stays well-formed."""
    lowered = (text or "").lower()
    hits = []
    for word in {w.strip() for w in words if w and w.strip()}:
        needle, at = word.lower(), 0
        while (at := lowered.find(needle, at)) != -1:
            hits.append(WordHit(word, at, at + len(needle)))
            at += 1
    hits.sort(key=lambda h: (h.start, -h.end))
    kept: list[WordHit] = []
    for hit in hits:
        if not kept or hit.start >= kept[-1].end:
            kept.append(hit)
    return kept


def highlighted(text: str, hits: Sequence[WordHit]) -> list[tuple[str, bool]]:
    """The text in pieces, each marked whether it is a sensitive word (for the editor's highlighting)."""
    pieces, at = [], 0
    for hit in hits:
        if hit.start > at:
            pieces.append((text[at:hit.start], False))
        pieces.append((text[hit.start:hit.end], True))
        at = hit.end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces
