"""Spreadsheet-friendly exports: Excel (.xlsx) or CSV with a BOM for Excel, cells guarded against formula injection."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Iterable, Sequence

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from app.core import settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("xlsx", "csv")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?%?")  # "-1", "-2.5", "-3.0%": a value, never a formula

# How Excel shows a column's numbers (its number format codes), as the pages show the figures: the one set every
# export uses. A rate is written as a fraction (0.452) and shown as 45.2%; money in yuan, shown as ¥1,234.50.
COUNT = "#,##0"
RATE = "0.0%"
DECIMAL = "0.0"
PRECISE = "0.000"
MONEY = '"¥"#,##0.00'
DATETIME = "yyyy-mm-dd hh:mm"
DATE = "yyyy-mm-dd"
CSV_DATETIME = "%Y-%m-%d %H:%M"  # a time in a CSV: corp-local, as Excel reads it when it opens the file


def yuan(fen: int | float | None) -> Decimal | None:
    """An amount in fen as yuan for a MONEY column (exact, two decimals); None stays None (an empty cell)."""
    return None if fen is None else Decimal(round(fen)).scaleb(-2)


def ratio(part: int | float, whole: int | float) -> float | None:
    """part/whole for a RATE column; None (an empty cell) without a whole."""
    return part / whole if whole else None


def excel_safe(value: Any) -> str:
    """The cell text, with a leading apostrophe where Excel would otherwise run it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _corp_local() -> Callable[[datetime], datetime]:
    """Aware datetime -> the corp's wall-clock time to the second, without a zone (Excel stores none); a naive one is
    taken as local. The zone is looked up once, at the first time written."""
    zone = []

    def local(value: datetime) -> datetime:
        if value.tzinfo is not None:
            if not zone:
                zone.append(settings.corp_timezone())
            value = value.astimezone(zone[0]).replace(tzinfo=None)
        return value.replace(microsecond=0)
    return local


def excel_cell(value: Any, local: Callable[[datetime], datetime] | None = None) -> Any:
    """A number stays a number (so Excel can sum it), a time a time (corp-local by `local`), None or "" an empty cell;
    anything else is guarded text."""
    if value == "":
        return None
    if value is None or isinstance(value, (int, float, Decimal, date)) and not isinstance(value, bool):
        return (local or _corp_local())(value) if isinstance(value, datetime) else value
    return excel_safe(value)


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """The rows as CSV: plain numbers, times corp-local as CSV_DATETIME, dates as YYYY-MM-DD."""
    local = _corp_local()
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([local(v).strftime(CSV_DATETIME) if isinstance(v, datetime) else excel_safe(v) for v in row])
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


def _formatted(table, value: Any, number_format: str | None, local: Callable[[datetime], datetime]) -> Any:
    """The cell: a number shown by `number_format` (Excel's codes, e.g. RATE), a time by DATETIME and a date by DATE
    unless the column says otherwise, anything else as excel_cell."""
    value = excel_cell(value, local)
    if number_format is None and isinstance(value, date):
        number_format = DATETIME if isinstance(value, datetime) else DATE
    if number_format is None or value is None or isinstance(value, str):
        return value
    cell = WriteOnlyCell(table, value=value)
    cell.number_format = number_format
    return cell


NumberFormat = str | None | Callable[[Sequence[Any]], str | None]  # a column's, or one picked for each row


def xlsx_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str, sheet: str,
                  number_formats: Sequence[NumberFormat] = ()) -> Response:
    """One sheet named `sheet` (streamed row by row by openpyxl's write-only mode): numbers as numbers, shown by the
    column's number format where `number_formats` gives one (a function of the row where a column's rows hold
    figures of different kinds), times as Excel times, None empty, the rest text."""
    local = _corp_local()
    book = Workbook(write_only=True)
    table = book.create_sheet(re.sub(r"[][:*?/\\]", " ", sheet)[:31] or "Sheet1")  # Excel's rules for sheet names
    table.append(list(header))
    for row in rows:
        formats = [f(row) if callable(f) else f for f in number_formats]
        table.append([_formatted(table, v, formats[i] if i < len(formats) else None, local) for i, v in enumerate(row)])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename={filename}"})


def table_response(fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]], stem: str, sheet: str,
                   number_formats: Sequence[NumberFormat] = ()) -> Response:
    """The table as `stem`.xlsx or `stem`.csv; `fmt` is one of FORMATS. `number_formats` (COUNT, RATE, ... per
    column, None for none) says how Excel shows the column's numbers; a CSV has plain numbers. Pass figures as numbers
    (a rate as a fraction, money as yuan), times as datetimes (written corp-local) and None for nothing."""
    if fmt == "csv":
        return csv_response(header, rows, f"{stem}.csv")
    return xlsx_response(header, rows, f"{stem}.xlsx", sheet, number_formats)


def requested_format(value: str | None) -> str:
    """The export format a link asked for (?format=csv), Excel otherwise."""
    return value if value in FORMATS else "xlsx"
