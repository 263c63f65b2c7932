"""An order CSV for `scrm rfm-score` cut and checked at numpy speed, with the import's rules for every odd row.

Rows in the plain shape (printable ASCII ids, amounts like 12 / 12.3 / 12.34, times like 2026-03-01,
2026-03-01T14:30[:00] or with a space, optionally Z or ±HH:MM, status paid / refunded / cancelled) are parsed
with masks over pieces of the file, the pieces on every core; every other row goes through
`order_rows.normalize`, the per-row rules of the import, so the same rows are accepted with the same values. A file
this reader does not cut (quoted fields, a lone carriage return, NUL bytes, not UTF-8) raises NotPlain and is left
to the reference reader.
"""
from __future__ import annotations

import csv
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, tzinfo
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from app.rfm.order_csv_fields import (MASKS, STATUS_CODES, Fields, ZoneTable, amounts, hash_bytes, hash_fields,
                                      local_days, statuses)
from app.rfm.order_files import OrderFileError, RowError, missing_columns
from app.rfm.order_rows import MAX_ID, duplicate_message, normalize

COLUMNS = ("order_id", "external_userid", "amount", "paid_at", "status")
MAX_EXTERNAL_USERID = 128  # longer ones are odd rows: the per-row rules take them
_LF, _COMMA = 10, 44
_EPOCH = date(1970, 1, 1)
_PAD = 128  # zero bytes after the body, so every field's bytes and words can be read without bounds checks
_CHUNK_BYTES = 1 << 23
_WORKERS = min(4, os.cpu_count() or 1)
_MAX_RUNS = 1000  # runs of non-ASCII bytes in a piece checked one by one; more: the piece's span at once


class NotPlain(Exception):
    """The file has quoting or line breaks this reader does not cut: read it with the reference reader."""


@dataclass(frozen=True)
class PaidTotals:
    """Per customer with a paid order on or before the as-of date, sorted by external_userid (UTF-8 bytes)."""

    customers: np.ndarray
    recency_days: np.ndarray
    frequency: np.ndarray
    monetary_fen: np.ndarray
    orders: int  # valid orders in the file, of any status


@dataclass
class _Body:
    """The file after its header: bytes ending in a line feed, zero padded, and their unaligned 8-byte words."""

    header: list[str]
    raw: bytearray
    offset: int  # where the body starts in raw
    size: int
    column: dict[str, int]

    def __post_init__(self):
        self.bytes = np.frombuffer(self.raw, np.uint8)[self.offset:]
        self.words = np.ndarray(shape=(len(self.bytes) - 7,), dtype="<u8", buffer=self.raw, offset=self.offset,
                                strides=(1,))

    def line(self, start: int) -> str:
        """The text of the line starting at `start`, without its line feed."""
        end = self.raw.index(b"\n", self.offset + start)
        return self.raw[self.offset + start:end].decode("utf-8")


@dataclass
class _Orders:
    """Valid orders: each one's line and order_id key; and the ones counted (paid by the as-of day)."""

    line: np.ndarray
    oid: np.ndarray
    line_start: np.ndarray  # -1 - index into the odd rows for a row read by the per-row rules
    ext: np.ndarray
    ext_start: np.ndarray  # -1 - index into the odd rows for a row read by the per-row rules
    ext_length: np.ndarray
    fen: np.ndarray
    day: np.ndarray



class _Joined:
    """The orders of all pieces (the attributes of _Orders), each array joined when it is first used."""

    def __init__(self, parts: list[_Orders]):
        self._parts = parts
        self.count = sum(len(p.oid) for p in parts)  # valid orders

    def __getattr__(self, name: str) -> np.ndarray:
        value = np.concatenate([getattr(p, name) for p in self._parts])
        setattr(self, name, value)
        return value


def _read(path: Path) -> _Body:
    """The file's header and body; NotPlain for a file this reader does not cut."""
    with path.open("rb") as fh:
        total = os.fstat(fh.fileno()).st_size
        raw = bytearray(total + 1 + _PAD)
        view, got = memoryview(raw), 0
        while got < total and (n := fh.readinto(view[got:total])):
            got += n
    total = got
    start = 3 if raw[:3] == b"\xef\xbb\xbf" else 0
    if raw.find(b'"', start, total) >= 0 or raw.find(b"\0", start, total) >= 0:
        raise NotPlain
    if raw.find(b"\r", start, total) >= 0:
        if raw.count(b"\r", start, total) != raw.count(b"\r\n", start, total):
            raise NotPlain
        raw = bytearray(raw[:total].replace(b"\r\n", b"\n"))
        total = len(raw)
        raw.extend(bytes(1 + _PAD))
    first = raw.find(b"\n", start, total)  # the end of the header
    first = total if first < 0 else first
    if not raw[start:first].isascii():
        _check_utf8(raw, np.flatnonzero(np.frombuffer(raw, np.uint8)[start:first] >= 0x80) + start)
    header = [h.strip() for h in next(csv.reader([raw[start:first].decode("utf-8")]), [])]
    offset = first + 1
    size = max(0, total - offset)
    if size and raw[total - 1] != _LF:
        raw[total] = _LF
        size += 1
    return _Body(header, raw, offset, size, {name: i for i, name in enumerate(header)})


def _check_utf8(raw: bytearray, high: np.ndarray) -> None:
    """NotPlain unless the bytes at these positions (all the non-ASCII ones of whole lines) are UTF-8: run by run
    when they are few (a UTF-8 sequence is made of such bytes only), else from the first to the last at once."""
    if not len(high):
        return
    breaks = np.flatnonzero(np.diff(high) != 1)
    starts = np.concatenate((high[:1], high[breaks + 1])).tolist()
    ends = (np.concatenate((high[breaks], high[-1:])) + 1).tolist()
    runs = [(starts[0], ends[-1])] if len(starts) > _MAX_RUNS else zip(starts, ends)
    try:
        for a, b in runs:
            raw[a:b].decode("utf-8")
    except UnicodeDecodeError:
        raise NotPlain from None


def _chunk(body: _Body, begin: int, end: int, zone_table: ZoneTable,
           as_of_day: int) -> tuple[_Orders, list[tuple[int, int, int]], int]:
    """The plain lines in body[begin:end] (whole lines) parsed, the (line, start, end) of the others and the number
    of lines; lines counted from 0 at `begin`. NotPlain if the piece is not UTF-8."""
    ncols, piece = len(body.header), body.bytes[begin:end]
    _check_utf8(body.raw, np.flatnonzero(piece >= 0x80) + body.offset + begin)
    seps = np.flatnonzero((piece == _COMMA) | (piece == _LF)) + begin
    newline_at = np.flatnonzero(body.bytes[seps] == _LF)
    line_end = seps[newline_at]
    line_start = np.concatenate(([begin], line_end[:-1] + 1))
    per_line = np.diff(np.concatenate(([-1], newline_at)))
    shaped = (per_line == ncols) & (line_end - line_start > ncols - 1)  # right field count, not all empty
    lines = np.flatnonzero(shaped)
    first_sep = newline_at[lines] - (ncols - 1)  # where each shaped line's separators begin in seps
    fields = {}
    for name in COLUMNS:
        j = body.column[name]
        start = line_start[lines] if j == 0 else seps[first_sep + (j - 1)] + 1
        fields[name] = Fields(body.words, start, seps[first_sep + j])
    oid, oid_plain = hash_fields(fields["order_id"], MAX_ID)
    ext, ext_plain = hash_fields(fields["external_userid"], MAX_EXTERNAL_USERID)
    fen, amount_plain = amounts(fields["amount"])
    day, day_plain = local_days(fields["paid_at"], zone_table)
    status = statuses(fields["status"])
    plain = oid_plain & ext_plain & amount_plain & day_plain & (status >= 0)
    odd = np.union1d(np.flatnonzero(per_line != ncols), lines[~plain])  # blank lines too: the csv rules skip them
    counted = plain & (status == STATUS_CODES["paid"]) & (day <= as_of_day)
    e = fields["external_userid"]
    orders = _Orders(lines[plain], oid[plain], line_start[lines][plain], ext[counted],
                     e.start[counted], e.length[counted], fen[counted], day[counted])
    return orders, [(int(k), int(line_start[k]), int(line_end[k])) for k in odd.tolist()], len(newline_at)


def _odd_rows(body: _Body, odd: list[tuple[int, int, int]], zone: tzinfo, as_of_day: int,
              errors: dict[int, str]) -> tuple[_Orders, list[tuple[str, str]]]:
    """The other lines by the import's per-row rules (errors into `errors`); each valid one's ids as text."""
    valid, counted, ids = [], [], []
    for line, start, end in odd:
        cells = next(csv.reader([body.raw[body.offset + start:body.offset + end].decode("utf-8")]), [])
        if not any(cells):
            continue
        row = dict(zip(body.header, cells))
        try:
            record = normalize({c: row.get(c, "") for c in COLUMNS}, zone)
        except ValueError as exc:
            errors[line] = str(exc)
            continue
        index = len(ids)
        ids.append((record.order_id, record.external_userid))
        valid.append((line, hash_bytes(record.order_id.encode("utf-8")), -1 - index))
        day = (record.paid_at.astimezone(zone).date() - _EPOCH).days
        if record.amount_fen >= 1 << 62:
            raise NotPlain  # past 64 bits: the reference scorer's Decimals
        if record.status == "paid" and day <= as_of_day:
            counted.append((hash_bytes(record.external_userid.encode("utf-8")), -1 - index,
                            len(record.external_userid.encode("utf-8")), record.amount_fen, day))

    def columns(rows, types):
        return [np.array(values, dtype=t) for values, t in zip(zip(*rows), types)] if rows else \
            [np.zeros(0, dtype=t) for t in types]

    return _Orders(*columns(valid, (np.int64, np.uint64, np.int64)),
                   *columns(counted, (np.uint64, np.int64, np.int64, np.int64, np.int64))), ids


def read_paid_totals(path: Path, zone: tzinfo, as_of: date) -> PaidTotals:
    """Validate the whole file (OrderFileError naming every bad line) and total each customer's paid orders."""
    body = _read(path)
    missing = [c for c in COLUMNS if c not in body.header]
    if missing:
        raise missing_columns(missing)
    as_of_day, zone_table = (as_of - _EPOCH).days, ZoneTable(zone)
    pieces, begin = [], 0
    while begin < body.size:
        end = body.raw.find(b"\n", body.offset + min(body.size, begin + _CHUNK_BYTES) - 1) - body.offset + 1
        pieces.append((begin, end))
        begin = end
    with ThreadPoolExecutor(_WORKERS) as pool:  # numpy lets go of the GIL: a piece per core
        chunks = list(pool.map(lambda p: _chunk(body, p[0], p[1], zone_table, as_of_day), pieces))
    odd_lines, first_line = [], 2
    for orders, odd, lines in chunks:
        orders.line += first_line
        odd_lines += [(line + first_line, start, end) for line, start, end in odd]
        first_line += lines
    errors: dict[int, str] = {}
    odd, odd_ids = _odd_rows(body, odd_lines, zone, as_of_day, errors)
    orders = _Joined([c for c, _, _ in chunks] + [odd])

    def order_id(line_start: int) -> str:
        """The order_id of the row at `line_start` (or -1 - its index among the odd rows)."""
        if line_start < 0:
            return odd_ids[-1 - line_start][0]
        return body.line(line_start).split(",")[body.column["order_id"]]

    def external_userid(start: int, length: int) -> str:
        """The external_userid of the row whose field is at `start` (or -1 - its index among the odd rows)."""
        if start < 0:
            return odd_ids[-1 - start][1]
        return body.raw[body.offset + start:body.offset + start + length].decode()

    with ThreadPoolExecutor(1) as pool:  # the duplicates are looked for while the totals are summed
        repeated = pool.submit(_duplicates, orders, order_id)
        totals = None if errors else _totals(orders, body, as_of_day, external_userid)
        errors.update(repeated.result())
    if errors:
        raise OrderFileError([RowError(line, errors[line]) for line in sorted(errors)])
    return totals


def _duplicates(orders: _Joined, order_id: Callable[[int], str]) -> dict[int, str]:
    """Each repeated order_id's later lines, named as `normalize_all` names them (the keys are hashes: the ids of
    rows with a repeated key are compared as text)."""
    keys = np.sort(orders.oid)
    repeated = np.unique(keys[1:][keys[1:] == keys[:-1]])
    if not len(repeated):
        return {}
    rows = np.flatnonzero(np.isin(orders.oid, repeated))
    rows = rows[np.argsort(orders.line[rows], kind="stable")]
    first: dict[str, int] = {}
    errors = {}
    for line, start in zip(orders.line[rows].tolist(), orders.line_start[rows].tolist()):
        text = order_id(start)
        if text in first:
            errors[line] = duplicate_message(text, first[text], "行")
        else:
            first[text] = line
    return errors


def _totals(orders: _Joined, body: _Body, as_of_day: int, external_userid: Callable[[int, int], str]) -> PaidTotals:
    """Per customer: last paid day, number and sum of paid orders up to the as-of day; sorted by external_userid."""
    codes, keys = pd.factorize(orders.ext)
    frequency = np.bincount(codes, minlength=len(keys))
    total = orders.fen.sum(dtype=np.float64)
    if total >= 2 ** 62:  # sums past 64 bits: the reference scorer's Decimals
        raise NotPlain
    if total < 2 ** 52:  # every partial sum is exact in a double
        monetary = np.bincount(codes, weights=orders.fen, minlength=len(keys)).astype(np.int64)
    else:
        monetary = np.zeros(len(keys), np.int64)
        np.add.at(monetary, codes, orders.fen)
    last = np.full(len(keys), np.iinfo(np.int64).min)
    np.maximum.at(last, codes, orders.day)
    rows = np.arange(len(codes))
    first = np.full(len(keys), -1, np.int64)
    first[codes[::-1]] = rows[::-1]  # the first order of each customer
    names, words = _names(orders, body, first, codes, external_userid)
    by_name = np.lexsort(words.byteswap().T[::-1])  # big-endian words compare as the bytes do
    return PaidTotals(names[by_name], as_of_day - last[by_name], frequency[by_name], monetary[by_name],
                      orders.count)


def _names(orders: _Joined, body: _Body, first: np.ndarray, codes: np.ndarray,
           external_userid: Callable[[int, int], str]) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's external_userid as UTF-8 bytes (numpy S, zero padded) and as rows of 8-byte words, after
    checking that every order under a customer carries exactly that id (the keys are hashes)."""
    start, length, words = orders.ext_start, orders.ext_length, body.words
    odd_first = np.flatnonzero(start[first] < 0)
    odd_names = [external_userid(s, 0).encode("utf-8") for s in start[first[odd_first]].tolist()]
    plain_words = -(-int(length[start >= 0].max(initial=0)) // 8)  # no word read past the longest plain id
    width = 8 * max(1, plain_words, -(-max(map(len, odd_names), default=0) // 8))
    packed = np.zeros((len(first), width // 8), dtype=np.uint64)
    for k in range(plain_words):
        packed[:, k] = words[np.maximum(start[first], 0) + 8 * k] & MASKS[np.clip(length[first] - 8 * k, 0, 8)]
    names = packed.view(f"S{width}").ravel()
    names[odd_first] = odd_names
    # the words of the plain ids; past them both sides are zero or the lengths differ
    columns, customer_length = [np.ascontiguousarray(packed[:, k]) for k in range(plain_words)], length[first]
    bounds = np.linspace(0, len(codes), _WORKERS + 1).astype(int).tolist()
    with ThreadPoolExecutor(_WORKERS) as pool:
        same = pool.map(lambda a, b: _ids_match(words, start[a:b], length[a:b], codes[a:b], columns, customer_length),
                        bounds[:-1], bounds[1:])
        same = all(list(same))
    odd = np.flatnonzero(start < 0)
    if not same or any(external_userid(s, 0).encode("utf-8") != name for s, name in
                       zip(start[odd].tolist(), names[codes[odd]].tolist())):
        raise NotPlain  # two ids with one key: practically never; the reference reader is exact
    return names, packed


def _ids_match(words: np.ndarray, start: np.ndarray, length: np.ndarray, codes: np.ndarray, columns: list[np.ndarray],
               customer_length: np.ndarray) -> bool:
    """Whether each plain order's external_userid (its field's start and length) is its customer's, word by word."""
    plain = start >= 0
    same = ~plain | (length == customer_length[codes])
    for k, column in enumerate(columns):
        same &= ~plain | ((words[np.maximum(start, 0) + 8 * k] & MASKS[np.clip(length - 8 * k, 0, 8)]) == column[codes])
    return bool(same.all())
