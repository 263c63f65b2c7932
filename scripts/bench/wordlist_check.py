"""Sensitive-word check benchmark: one push text against a large library, and the build of the matcher.

Target (issue 14 item 12): with 50,000 words, checking a longest push text (4,000 bytes: about 1,330 Chinese
characters) takes under 20 ms at p95, so the editor's live check and every save stay instant; building the matcher
(once per library change, per process) takes under 1 s.

    .venv/bin/python -m scripts.bench.wordlist_check --words 50000 --repeat 200

Words are 2 to 8 random common Chinese characters; the text is random characters from the same alphabet with a few
library words planted in it (the worst case for the matcher: every position starts some word).
"""
from __future__ import annotations

import argparse
import random
import time

from app.wordlist.matcher import Matcher
from scripts.bench.common import summary

ALPHABET = [chr(c) for c in range(0x4E00, 0x4E00 + 1500)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(14)
    words = {"".join(rng.choices(ALPHABET, k=rng.randint(2, 8))) for _ in range(args.words)}
    entries = [(w, "自定义") for w in words]
    started = time.perf_counter()
    matcher = Matcher(entries)
    build_ms = (time.perf_counter() - started) * 1000
    planted = rng.sample(sorted(words), 5)
    text = "".join(rng.choices(ALPHABET, k=1330 - sum(map(len, planted))))
    for word in planted:
        at = rng.randrange(len(text))
        text = text[:at] + word + text[at:]
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        hits = matcher.find(text)
        timings.append((time.perf_counter() - started) * 1000)
    assert {h.word for h in hits} >= set(planted)
    print(f"library {len(matcher):,} words; build {build_ms:.0f} ms")
    print(f"check of {len(text)} characters ({len(text.encode())} bytes), ms: {summary(timings)}")


if __name__ == "__main__":
    main()
