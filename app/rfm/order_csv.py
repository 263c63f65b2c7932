"""An order CSV for `scrm rfm-score` cut and checked at numpy speed, with the import's rules for every odd row.

Rows in the plain shape (printable ASCII ids, amounts like 12 / 12.3 / 12.34, times like 2026-03-01,
2026-03-01T14:30[:00] or with a space, optionally Z or ±HH:MM, status paid / refunded / cancelled) are parsed
here with masks over the whole file; every other row goes through `order_rows.normalize`, the per-row rules of
the import, so the same rows are accepted with the same values. A file this reader does not cut (quoted fields,
a lone carriage return, NUL bytes) raises NotPlain and is left to the reference reader.
"""
from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from datetime import date, tzinfo
from pathlib import Path

import numpy as np
import pandas as pd

from app.rfm.order_files import OrderFileError, RowError
from app.rfm.order_rows import MAX_ID, normalize

COLUMNS = ("order_id", "external_userid", "amount", "paid_at", "status")
STATUS_CODES = {"paid": 0, "refunded": 1, "cancelled": 2}
MAX_EXTERNAL_USERID = 128  # longer ones are odd rows: the per-row rules take them
_LF, _CR, _COMMA, _QUOTE = 10, 13, 44, 34
_P, _K = np.uint64(1099511628211), np.uint64(0x9E3779B97F4A7C15)
_EPOCH = date(1970, 1, 1)
_PAD = 128  # zero bytes after the body, so every field's bytes and words can be read without bounds checks
_CHUNK_BYTES = 1 << 23


class NotPlain(Exception):
    """The file has quoting or line breaks this reader does not cut: read it with the reference reader."""


@dataclass(frozen=True)
class PaidTotals:
    """Per customer with a paid order on or before the as-of date, sorted by external_userid."""

    customers: list[str]
    recency_days: np.ndarray
    frequency: np.ndarray
    monetary_fen: np.ndarray
    orders: int  # valid orders in the file, of any status


def hash_bytes(data: bytes) -> int:
    """The 64-bit key `_hash_fields` gives the same bytes (for the odd rows)."""
    h = (len(data) * int(_K)) & 0xFFFFFFFFFFFFFFFF
    for k in range(0, len(data), 8):
        h = ((h ^ int.from_bytes(data[k:k + 8], "little")) * int(_P)) & 0xFFFFFFFFFFFFFFFF
    return h


class _Fields:
    """One column's field on each plain line of a chunk: start and length, its bytes and 8-byte words."""

    def __init__(self, body: np.ndarray, words: np.ndarray, start: np.ndarray, end: np.ndarray):
        self.body, self.words, self.start, self.length = body, words, start, end - start
        self._raw: dict[int, np.ndarray] = {}

    def byte(self, j: int) -> np.ndarray:
        """Byte j of each field as int64 (past its end: whatever follows; the callers check the length)."""
        k, r = divmod(j, 8)
        if k not in self._raw:
            self._raw[k] = self.words[self.start + 8 * k]
        return ((self._raw[k] >> np.uint64(8 * r)) & np.uint64(0xFF)).view(np.int64)

    def word(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(bytes 8k .. 8k+7 of each field as a little-endian word with the bytes past the end zeroed, the mask)."""
        mask = _MASKS[np.clip(self.length - 8 * k, 0, 8)]
        if k not in self._raw:
            self._raw[k] = self.words[self.start + 8 * k]
        return self._raw[k] & mask, mask


_MASKS = np.array([(1 << (8 * i)) - 1 for i in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_ONES, _HIGH = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)


def _hash_fields(f: _Fields, max_length: int) -> tuple[np.ndarray, np.ndarray]:
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


def _amounts(f: _Fields) -> tuple[np.ndarray, np.ndarray]:
    """(fen, plain) for amounts written as digits with an optional point and one or two decimals."""
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
    plain &= (f.length - seen_point - digits_after) >= 1  # at least one digit before the point
    return whole * 100 + np.where(digits_after == 1, frac * 10, frac), plain


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _local_days(f: _Fields, zone_table: ZoneTable) -> tuple[np.ndarray, np.ndarray]:
    """(corp-local day since 1970-01-01, plain) for ISO times in the plain shapes; a local time without an offset
    that does not exist or is ambiguous in the corp zone (a clock change) is left to the per-row rules."""
    length = f.length
    raw = {j: f.byte(j) for j in range(25)}

    def num(*positions: int) -> tuple[np.ndarray, np.ndarray]:
        value, ok = np.zeros(len(length), np.int64), np.ones(len(length), bool)
        for j in positions:
            ok &= (raw[j] >= 48) & (raw[j] <= 57)
            value = value * 10 + (raw[j] - 48)
        return value, ok

    base = np.select([length == 10, np.isin(length, (16, 17, 22)), np.isin(length, (19, 20, 25))], [10, 16, 19], 0)
    suffix = length - base
    year, ok_y = num(0, 1, 2, 3)
    month, ok_m = num(5, 6)
    day, ok_d = num(8, 9)
    hour, ok_h = num(11, 12)
    minute, ok_mi = num(14, 15)
    second, ok_s = num(17, 18)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)] + (leap & (month == 2))
    plain = (base > 0) & ok_y & ok_m & ok_d & (raw[4] == 45) & (raw[7] == 45) & (year >= 1) & (month >= 1) \
        & (month <= 12) & (day >= 1) & (day <= month_days)
    timed = base >= 16
    plain &= ~timed | (((raw[10] == 84) | (raw[10] == 32)) & ok_h & ok_mi & (raw[13] == 58) & (hour <= 23) & (minute <= 59))
    plain &= (base != 19) | (ok_s & (raw[16] == 58) & (second <= 59))
    second = np.where(base == 19, second, 0)
    hour, minute = np.where(timed, hour, 0), np.where(timed, minute, 0)
    # the offset starts where the time ends: gather its bytes at base .. base + 5
    at = [np.select([base == 16, base == 19], [raw[16 + k], raw[19 + k]], 0) for k in range(6)]
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


def _statuses(f: _Fields) -> np.ndarray:
    """The status code of each field, -1 where it is not exactly paid, refunded or cancelled."""
    code = np.full(len(f.length), -1, np.int8)
    raw = [f.byte(j) for j in range(9)]
    for word, value in STATUS_CODES.items():
        match = f.length == len(word)
        for j, ch in enumerate(word.encode()):
            match &= raw[j] == ch
        code[match] = value
    return code


def _cut(path: Path) -> tuple[list[str], np.ndarray, int]:
    """(header, body bytes ending in a line feed and padded with zeros, body length); NotPlain for a file this
    reader does not cut."""
    buf = np.fromfile(path, dtype=np.uint8)
    if buf[:3].tobytes() == b"\xef\xbb\xbf":
        buf = buf[3:]
    if (buf == _QUOTE).any() or (buf == 0).any():
        raise NotPlain
    cr = np.flatnonzero(buf == _CR)
    if len(cr):
        if cr[-1] + 1 >= len(buf) or (buf[cr + 1] != _LF).any():
            raise NotPlain
        buf = np.delete(buf, cr)
    if (buf >= 0x80).any():  # not only ASCII: must be UTF-8 (checked a piece at a time)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for begin in range(0, len(buf), _CHUNK_BYTES):
                decoder.decode(buf[begin:begin + _CHUNK_BYTES].tobytes())
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise NotPlain from None
    newlines = np.flatnonzero(buf[:1 << 20] == _LF)
    first = int(newlines[0]) if len(newlines) else (int(np.argmax(buf == _LF)) if (buf == _LF).any() else len(buf))
    header = [h.strip() for h in next(csv.reader([buf[:first].tobytes().decode("utf-8")]), [])]
    body = buf[first + 1:]
    size = len(body) + (len(body) > 0 and body[-1] != _LF)
    padded = np.zeros(size + _PAD, dtype=np.uint8)
    padded[:len(body)] = body
    padded[size - 1:size] = _LF if size else padded[:0]
    return header, padded, size


@dataclass
class _Chunk:
    """The plain lines of one piece of the file, parsed, and the line numbers of the others."""

    line: np.ndarray
    oid: np.ndarray
    ext: np.ndarray
    ext_start: np.ndarray  # -1 for a row read by the per-row rules
    ext_length: np.ndarray
    line_start: np.ndarray
    line_end: np.ndarray
    fen: np.ndarray
    day: np.ndarray
    status: np.ndarray
    odd: list[tuple[int, int, int]]  # (line number, start, end)


def _chunk(body: np.ndarray, words: np.ndarray, begin: int, end: int, first_line: int, column: dict[str, int],
           ncols: int, zone_table: ZoneTable) -> tuple[_Chunk, int]:
    """Parse the lines in body[begin:end] (whole lines); returns the chunk and its number of lines."""
    piece = body[begin:end]
    seps = np.flatnonzero((piece == _COMMA) | (piece == _LF)) + begin
    newline_at = np.flatnonzero(body[seps] == _LF)
    line_end = seps[newline_at]
    line_start = np.concatenate(([begin], line_end[:-1] + 1))
    per_line = np.diff(np.concatenate(([-1], newline_at)))
    shaped = (per_line == ncols) & (line_end - line_start > ncols - 1)  # right field count, not all empty
    lines = np.flatnonzero(shaped)
    fields = {}
    for name in COLUMNS:
        j = column[name]
        field_end = seps[newline_at[lines] - (ncols - 1) + j]
        start = line_start[lines] if j == 0 else seps[newline_at[lines] - (ncols - 1) + j - 1] + 1
        fields[name] = _Fields(body, words, start, field_end)
    oid, oid_plain = _hash_fields(fields["order_id"], MAX_ID)
    ext, ext_plain = _hash_fields(fields["external_userid"], MAX_EXTERNAL_USERID)
    fen, amount_plain = _amounts(fields["amount"])
    day, day_plain = _local_days(fields["paid_at"], zone_table)
    status = _statuses(fields["status"])
    plain = oid_plain & ext_plain & amount_plain & day_plain & (status >= 0)
    odd = np.union1d(np.flatnonzero(per_line != ncols), lines[~plain])  # blank lines too: the csv rules skip them
    e = fields["external_userid"]
    chunk = _Chunk(lines[plain] + first_line, oid[plain], ext[plain], e.start[plain], e.length[plain],
                   line_start[lines][plain], line_end[lines][plain], fen[plain], day[plain], status[plain],
                   [(int(k) + first_line, int(line_start[k]), int(line_end[k])) for k in odd.tolist()])
    return chunk, len(newline_at)


def _odd_rows(body: np.ndarray, odd: list[tuple[int, int, int]], header: list[str], zone: tzinfo,
              errors: dict[int, str]) -> tuple[_Chunk, list[tuple[str, str]]]:
    """The other lines by the import's per-row rules (errors into `errors`); their ids as text."""
    rows, ids = [], []
    for line, start, end in odd:
        cells = next(csv.reader([body[start:end].tobytes().decode("utf-8")]), [])
        if not any(cells):
            continue
        row = dict(zip(header, cells))
        try:
            record = normalize({c: row.get(c, "") for c in COLUMNS}, zone)
        except ValueError as exc:
            errors[line] = str(exc)
            continue
        rows.append((line, hash_bytes(record.order_id.encode("utf-8")), hash_bytes(record.external_userid.encode("utf-8")),
                     -1, -1, -1, -1, record.amount_fen, (record.paid_at.astimezone(zone).date() - _EPOCH).days,
                     STATUS_CODES[record.status]))
        ids.append((record.order_id, record.external_userid))
    types = (np.int64, np.uint64, np.uint64, np.int64, np.int64, np.int64, np.int64, np.int64, np.int64, np.int8)
    columns = [np.array(values, dtype=t) for values, t in zip(zip(*rows), types)] if rows else \
        [np.zeros(0, dtype=t) for t in types]
    return _Chunk(*columns, odd=[]), ids


def read_paid_totals(path: Path, zone: tzinfo, as_of: date) -> PaidTotals:
    """Validate the whole file (OrderFileError naming every bad line) and total each customer's paid orders."""
    header, body, size = _cut(path)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise OrderFileError([RowError(1, "缺少列: " + ", ".join(missing))])
    column = {name: i for i, name in enumerate(header)}  # the last of equal names, like dict(zip(header, cells))
    words = np.ndarray(shape=(len(body) - 7,), dtype="<u8", buffer=body, strides=(1,))
    chunks, begin, line, zone_table = [], 0, 2, ZoneTable(zone)
    while begin < size:
        end = min(size, begin + _CHUNK_BYTES)
        end = begin + int(np.flatnonzero(body[begin:end] == _LF)[-1]) + 1 if (body[begin:end] == _LF).any() else size
        chunk, lines = _chunk(body, words, begin, end, line, column, len(header), zone_table)
        chunks.append(chunk)
        begin, line = end, line + lines
    errors: dict[int, str] = {}
    odd, odd_ids = _odd_rows(body, [o for c in chunks for o in c.odd], header, zone, errors)
    orders = _Chunk(*(np.concatenate([getattr(c, name) for c in (*chunks, odd)]) for name in _ARRAYS), odd=[])
    if len(odd.line):  # odd rows in line order among the plain ones
        order = np.argsort(orders.line, kind="stable")
        orders = _Chunk(*(getattr(orders, name)[order] for name in _ARRAYS), odd=[])

    def ids(i: int) -> tuple[str, str]:
        if orders.ext_start[i] < 0:
            return odd_ids[int(np.searchsorted(odd.line, orders.line[i]))]
        cells = body[orders.line_start[i]:orders.line_end[i]].tobytes().decode().split(",")  # a plain line
        return cells[column["order_id"]], cells[column["external_userid"]]

    seen: dict[str, int] = {}
    for i in np.flatnonzero(pd.Series(orders.oid).duplicated(keep=False).to_numpy()).tolist():  # compare the ids
        order_id = ids(i)[0]
        if order_id in seen:
            errors[int(orders.line[i])] = f"order_id {order_id} 与第 {seen[order_id]} 行重复"
        else:
            seen[order_id] = int(orders.line[i])
    if errors:
        raise OrderFileError([RowError(line, errors[line]) for line in sorted(errors)])
    return _totals(orders, body, words, (as_of - _EPOCH).days, ids)


_ARRAYS = ("line", "oid", "ext", "ext_start", "ext_length", "line_start", "line_end", "fen", "day", "status")


def _totals(orders: _Chunk, body: np.ndarray, words: np.ndarray, as_of_day: int, ids) -> PaidTotals:
    """Per customer: last paid day, number and sum of paid orders up to the as-of day; sorted by external_userid."""
    counted = (orders.status == 0) & (orders.day <= as_of_day)
    codes, keys = pd.factorize(orders.ext[counted])
    frame = pd.DataFrame({"code": codes, "day": orders.day[counted], "fen": orders.fen[counted]})
    totals = frame.groupby("code", sort=True).agg(last=("day", "max"), frequency=("day", "size"), fen=("fen", "sum"))
    rows = np.flatnonzero(counted)
    first = np.full(len(keys), -1, np.int64)
    first[codes[::-1]] = rows[::-1]  # the first order of each customer
    start, length = orders.ext_start, orders.ext_length
    # every order under a customer carries exactly that customer's id (the keys are hashes): compare word by word
    mine, theirs = rows, first[codes]
    plain = (start[mine] >= 0) & (start[theirs] >= 0)
    same = ~plain | (length[mine] == length[theirs])
    for k in range(-(-int(length.max(initial=0)) // 8)):
        mask = _MASKS[np.clip(length[mine] - 8 * k, 0, 8)]
        same &= ~plain | ((words[np.maximum(start[mine], 0) + 8 * k] & mask)
                          == (words[np.maximum(start[theirs], 0) + 8 * k] & mask))
    if not same.all() or any(ids(int(a))[1] != ids(int(b))[1] for a, b in zip(mine[~plain], theirs[~plain])):
        raise NotPlain  # two ids with one key: practically never; the reference reader is exact
    plain_first = first[start[first] >= 0]
    width = 8 * max(1, -(-int(length[plain_first].max(initial=0)) // 8))
    packed = np.zeros((len(first), width // 8), dtype=np.uint64)
    for k in range(width // 8):
        packed[:, k] = words[np.maximum(start[first], 0) + 8 * k] & _MASKS[np.clip(length[first] - 8 * k, 0, 8)]
    names = packed.view(f"S{width}").ravel().astype(f"U{width}")
    odd_first = np.flatnonzero(start[first] < 0)
    if len(odd_first):  # customers whose first order was an odd row: their id as that row gave it
        names = names.astype(object)
        names[odd_first] = [ids(int(i))[1] for i in first[odd_first].tolist()]
        names = np.array(names.tolist())
    by_name = np.argsort(names, kind="stable")
    customers = names[by_name].tolist()
    return PaidTotals(customers, as_of_day - totals["last"].to_numpy()[by_name],
                      totals["frequency"].to_numpy()[by_name], totals["fen"].to_numpy()[by_name], len(orders.line))
