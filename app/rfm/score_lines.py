"""The lines of `scrm rfm-score`'s output for whole arrays of customers at once, as UTF-8 bytes built with numpy."""
from __future__ import annotations

import numpy as np

from app.rfm.fast_score import CLASS_KEYS, ScoredArrays
from app.rfm.segments import segment_for


def _padded(texts: list[bytes]) -> np.ndarray:
    """The texts as rows of bytes, zero padded to the longest."""
    return np.array(texts, dtype=f"S{max(map(len, texts))}").view(np.uint8).reshape(len(texts), -1)


# the end of an output line for each (r, f, m, class): ",r,f,m,segment,class8\n"
_TAILS = _padded([f",{r},{f},{m},{segment_for(r, f)},{CLASS_KEYS[c]}\n".encode() for r in range(1, 6)
                  for f in range(1, 6) for m in range(1, 6) for c in range(len(CLASS_KEYS))])
_COMMA, _POINT = np.array([[ord(",")]], np.uint8), np.array([[ord(".")]], np.uint8)


def _digits(values: np.ndarray, at_least: int = 1) -> np.ndarray:
    """Each non-negative integer's decimal digits as a row of bytes, right aligned, zeros (nothing) before."""
    width = max(at_least, len(str(int(values.max(initial=0)))))
    digits = np.empty((len(values), width), np.uint8)
    rest = values
    for column in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        digits[:, column] = digit + 48
        power = width - 1 - column
        if power >= at_least:  # a leading zero is no digit
            digits[values < 10 ** power, column] = 0
    return digits


def score_lines(names: np.ndarray, recency_days: np.ndarray, frequency: np.ndarray, monetary_fen: np.ndarray,
                scored: ScoredArrays) -> bytes:
    """`external_userid,recency_days,frequency,monetary,r_score,f_score,m_score,segment,class8` lines, monetary in
    yuan with two decimals; the names are numpy bytes (S) with no comma, quote, line break or zero byte."""
    n = len(names)
    if not n:
        return b""
    comma = np.broadcast_to(_COMMA, (n, 1))
    tail = _TAILS[(((scored.r_score - 1) * 5 + scored.f_score - 1) * 5 + scored.m_score - 1) * len(CLASS_KEYS)
                  + scored.class8]
    table = np.concatenate([names.view(np.uint8).reshape(n, -1), comma, _digits(recency_days), comma,
                            _digits(frequency), comma, _digits(monetary_fen // 100),
                            np.broadcast_to(_POINT, (n, 1)), _digits(monetary_fen % 100, at_least=2), tail], axis=1)
    return table[table != 0].tobytes()
