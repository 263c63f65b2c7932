"""Spreadsheet-friendly exports: Excel (.xlsx) or CSV with a BOM for Excel, cells guarded against formula injection."""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any, Iterable, Sequence

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("xlsx", "csv")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?%?")  # "-1", "-2.5", "-3.0%": a value, never a formula


def excel_safe(value: Any) -> str:
    """The cell text, with a leading apostrophe where Excel would otherwise run it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def excel_cell(value: Any) -> Any:
    """A number stays a number (so Excel can sum it); anything else is guarded text."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    return excel_safe(value)


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([excel_safe(v) for v in row])
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


def _formatted(table, value: Any, number_format: str | None) -> Any:
    """The cell: a number shown by `number_format` (Excel's codes, e.g. "0.0%"), anything else as excel_cell."""
    value = excel_cell(value)
    if number_format is None or isinstance(value, str):
        return value
    cell = WriteOnlyCell(table, value=value)
    cell.number_format = number_format
    return cell


def xlsx_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str, sheet: str,
                  number_formats: Sequence[str | None] = ()) -> Response:
    """One sheet named `sheet` (streamed row by row by openpyxl's write-only mode): numbers as numbers, shown by the
    column's number format where `number_formats` gives one, the rest text."""
    book = Workbook(write_only=True)
    table = book.create_sheet(re.sub(r"[][:*?/\\]", " ", sheet)[:31] or "Sheet1")  # Excel's rules for sheet names
    table.append(list(header))
    for row in rows:
        table.append([_formatted(table, v, number_formats[i] if i < len(number_formats) else None)
                      for i, v in enumerate(row)])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename={filename}"})


def table_response(fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]], stem: str, sheet: str,
                   number_formats: Sequence[str | None] = ()) -> Response:
    """The table as `stem`.xlsx or `stem`.csv; `fmt` is one of FORMATS. `number_formats` (Excel's codes, per column,
    None for none) says how Excel shows the column's numbers; a CSV has plain numbers."""
    if fmt == "csv":
        return csv_response(header, rows, f"{stem}.csv")
    return xlsx_response(header, rows, f"{stem}.xlsx", sheet, number_formats)


def requested_format(value: str | None) -> str:
    """The export format a link asked for (?format=csv), Excel otherwise."""
    return value if value in FORMATS else "xlsx"
