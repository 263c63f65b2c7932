"""The fields of an order CSV's plain rows parsed with numpy, whole columns at a time: ids, amounts, times, statuses.

Each parser returns its values and a mask of the rows in the plain shape it reads exactly as `order_rows.normalize`
does; the other rows are left to those per-row rules.
"""
from __future__ import annotations

from datetime import tzinfo

import numpy as np
import pandas as pd

STATUS_CODES = {"paid": 0, "refunded": 1, "cancelled": 2}
_P, _K = np.uint64(1099511628211), np.uint64(0x9E3779B97F4A7C15)


def hash_bytes(data: bytes) -> int:
    """The 64-bit key `hash_fields` gives the same bytes (for the odd rows)."""
    h = (len(data) * int(_K)) & 0xFFFFFFFFFFFFFFFF
    for k in range(0, len(data), 8):
        h = ((h ^ int.from_bytes(data[k:k + 8], "little")) * int(_P)) & 0xFFFFFFFFFFFFFFFF
    return h


class Fields:
    """One column's field on each plain line of a chunk: start and length in the body, and its 8-byte words."""

    def __init__(self, words: np.ndarray, start: np.ndarray, end: np.ndarray):
        self.words, self.start, self.length = words, start, end - start
        self._raw: dict[int, np.ndarray] = {}
        self._bytes: dict[int, np.ndarray] = {}

    def _word(self, k: int) -> np.ndarray:
        if k not in self._raw:
            self._raw[k] = self.words[self.start + 8 * k]
        return self._raw[k]

    def byte(self, j: int) -> np.ndarray:
        """Byte j of each field as uint8 (past its end: whatever follows; the callers check the length)."""
        k, r = divmod(j, 8)
        if k not in self._bytes:  # the 8 bytes of word k, each one contiguous
            self._bytes[k] = np.ascontiguousarray(self._word(k).view(np.uint8).reshape(-1, 8).T)
        return self._bytes[k][r]

    def word(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(bytes 8k .. 8k+7 of each field as a little-endian word with the bytes past the end zeroed, the mask)."""
        mask = MASKS[np.clip(self.length - 8 * k, 0, 8)]
        return self._word(k) & mask, mask


MASKS = np.array([(1 << (8 * i)) - 1 for i in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_ONES, _HIGH = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)


def hash_fields(f: Fields, max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """(key, plain): a 64-bit key of each field and whether it is 1..max_length bytes of printable ASCII, no space."""
    plain = (f.length >= 1) & (f.length <= max_length)
    h = f.length.astype(np.uint64) * _K
    for k in range(-(-min(max_length, int(f.length.max(initial=0))) // 8)):
        w, mask = f.word(k)
        x = w | (np.uint64(0x4141414141414141) & ~mask)  # past the end: 'A', a plain byte
        below = (x - _ONES * np.uint64(0x21)) & ~x & _HIGH  # a byte < 0x21 (space, control)
        above = (x + _ONES) | x  # a byte > 0x7E (DEL, non-ASCII)
        plain &= ((below | above) & _HIGH) == 0
        h = np.where(8 * k < f.length, (h ^ w) * _P, h)
    return h, plain


def amounts(f: Fields) -> tuple[np.ndarray, np.ndarray]:
    """(fen, plain) for amounts written as 1..15 digits with an optional point and one or two decimals."""
    n = len(f.length)
    whole, frac, digits_after = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    seen_point, plain = np.zeros(n, bool), (f.length >= 1) & (f.length <= 18)
    for j in range(min(18, int(f.length.max(initial=0)))):
        b = f.byte(j)
        inside, digit, point = j < f.length, (b >= 48) & (b <= 57), b == 46
        plain &= ~inside | digit | (point & ~seen_point)
        whole = np.where(inside & digit & ~seen_point, whole * 10 + (b - 48), whole)
        frac = np.where(inside & digit & seen_point, frac * 10 + (b - 48), frac)
        digits_after += inside & digit & seen_point
        seen_point |= inside & point
    plain &= np.where(seen_point, (digits_after >= 1) & (digits_after <= 2), True)
    whole_digits = f.length - seen_point - digits_after
    plain &= (whole_digits >= 1) & (whole_digits <= 15)  # fen below 10**17: sums of many fit in 64 bits
    return whole * 100 + np.where(digits_after == 1, frac * 10, frac), plain


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def local_days(f: Fields, zone_table: ZoneTable) -> tuple[np.ndarray, np.ndarray]:
    """(corp-local day since 1970-01-01, plain) for ISO times in the plain shapes; a local time without an offset
    that does not exist or is ambiguous in the corp zone (a clock change) is left to the per-row rules."""
    length = f.length
    raw = {j: f.byte(j) for j in range(25)}

    def num(*positions: int) -> tuple[np.ndarray, np.ndarray]:
        value, ok = np.zeros(len(length), np.int64), np.ones(len(length), bool)
        for j in positions:
            digit = raw[j] - 48  # uint8: anything but a digit wraps to 10 or more
            ok &= digit < 10
            value = value * 10 + digit
        return value, ok

    base = np.select([length == 10, (length == 16) | (length == 17) | (length == 22),
                      (length == 19) | (length == 20) | (length == 25)], [10, 16, 19], 0)
    suffix = length - base
    year, ok_y = num(0, 1, 2, 3)
    month, ok_m = num(5, 6)
    day, ok_d = num(8, 9)
    hour, ok_h = num(11, 12)
    minute, ok_mi = num(14, 15)
    second, ok_s = num(17, 18)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    plain = (base > 0) & ok_y & ok_m & ok_d & (raw[4] == 45) & (raw[7] == 45) & (year >= 1) & (month >= 1) \
        & (month <= 12) & (day >= 1) & (day <= month_days)
    timed = base >= 16
    plain &= ~timed | (((raw[10] == 84) | (raw[10] == 32)) & ok_h & ok_mi & (raw[13] == 58) & (hour <= 23)
                       & (minute <= 59))
    plain &= (base != 19) | (ok_s & (raw[16] == 58) & (second <= 59))
    second = np.where(base == 19, second, 0)
    hour, minute = np.where(timed, hour, 0), np.where(timed, minute, 0)
    # the offset starts where the time ends: gather its bytes at base .. base + 5
    after_minutes, after_seconds = base == 16, base == 19
    at = [np.select([after_minutes, after_seconds], [raw[16 + k], raw[19 + k]], 0) for k in range(6)]
    zulu = (suffix == 1) & (at[0] == 90)
    signed = (suffix == 6) & ((at[0] == 43) | (at[0] == 45)) & (at[3] == 58)
    off_digits = [(at[k] >= 48) & (at[k] <= 57) for k in (1, 2, 4, 5)]
    off_h = (at[1] - 48).astype(np.int64) * 10 + (at[2] - 48)
    off_m = (at[4] - 48).astype(np.int64) * 10 + (at[5] - 48)
    signed &= off_digits[0] & off_digits[1] & off_digits[2] & off_digits[3] & (off_h <= 23) & (off_m <= 59)
    plain &= (suffix == 0) | zulu | signed
    plain &= (base != 10) | (suffix == 0)  # a bare date takes no offset
    wall_day = _days_from_civil(year, month, day)
    local = np.where(plain, wall_day, 0)
    plain &= (year >= 1970) & (year < 2100)  # the zone tables below span these years at most
    naive = plain & (suffix == 0)
    if naive.any():  # the wall time is the corp-local time unless the clock skipped or repeated it there
        wall = wall_day[naive] * 86400 + hour[naive] * 3600 + minute[naive] * 60 + second[naive]
        _offset, clean = zone_table.lookup(wall, naive=True)
        plain[np.flatnonzero(naive)[~clean]] = False
    offset = plain & (suffix > 0)
    if offset.any():
        sign = np.where(at[0][offset] == 45, -1, 1)
        offset_seconds = np.where(zulu[offset], 0, sign * (off_h[offset] * 3600 + off_m[offset] * 60))
        instant = wall_day[offset] * 86400 + hour[offset] * 3600 + minute[offset] * 60 + second[offset] - offset_seconds
        corp_offset, clean = zone_table.lookup(instant, naive=False)
        local[offset] = np.floor_divide(instant + corp_offset, 86400)
        plain[np.flatnonzero(offset)[~clean]] = False
    return local, plain


class ZoneTable:
    """The corp zone's UTC offset per quarter hour, computed once for the span of the file's times: a quarter is
    clean when the offset is the same at its first and last second (and, for wall times, the time exists once);
    times in other quarters (a clock change) are left to the per-row rules."""

    QUARTER = 900

    def __init__(self, zone: tzinfo):
        self.zone = zone
        self.tables: dict[bool, tuple[int, np.ndarray, np.ndarray]] = {}

    def lookup(self, seconds: np.ndarray, naive: bool) -> tuple[np.ndarray, np.ndarray]:
        """(offset in seconds, clean) for each time (wall seconds if naive, else UTC seconds since 1970)."""
        quarter = np.floor_divide(seconds, self.QUARTER)
        low, high = int(quarter.min()), int(quarter.max())
        first, offsets, clean = self.tables.get(naive, (0, np.zeros(0, np.int64), np.zeros(0, bool)))
        if low < first or high >= first + len(offsets):
            if len(offsets):
                low, high = min(low, first), max(high, first + len(offsets) - 1)
            first, (offsets, clean) = low, self._build(low, high, naive)
            self.tables[naive] = (first, offsets, clean)
        return offsets[quarter - first], clean[quarter - first]

    def _build(self, low: int, high: int, naive: bool) -> tuple[np.ndarray, np.ndarray]:
        starts = np.arange(low, high + 1, dtype=np.int64) * self.QUARTER
        (start_offset, start_ok), (end_offset, end_ok) = (self._offsets(starts, naive),
                                                          self._offsets(starts + self.QUARTER - 1, naive))
        return start_offset, start_ok & end_ok & (start_offset == end_offset)

    def _offsets(self, seconds: np.ndarray, naive: bool) -> tuple[np.ndarray, np.ndarray]:
        times = pd.DatetimeIndex(seconds.astype("datetime64[s]"))
        if naive:
            local = times.tz_localize(self.zone, ambiguous="NaT", nonexistent="NaT")
            ok = np.asarray(local.notna())
            utc = local.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)
            return np.where(ok, seconds - utc, 0), ok
        corp = times.tz_localize("UTC").tz_convert(self.zone).tz_localize(None)
        return corp.to_numpy().astype("datetime64[s]").astype(np.int64) - seconds, np.ones(len(seconds), bool)


def statuses(f: Fields) -> np.ndarray:
    """The status code of each field, -1 where it is not exactly paid, refunded or cancelled (compared 8 bytes at
    a time)."""
    code = np.full(len(f.length), -1, np.int8)
    words = [f.word(k)[0] for k in range(2)]
    for status, value in STATUS_CODES.items():
        match = f.length == len(status)
        for k in range(0, len(status), 8):
            match &= words[k // 8] == np.uint64(int.from_bytes(status[k:k + 8].encode(), "little"))
        code[match] = value
    return code
