"""Export cells: formulas are disarmed, while negative numbers and percentages stay values Excel can sum."""
import io
from decimal import Decimal

from flask import Flask
from openpyxl import load_workbook

from app.core.export import excel_safe, xlsx_response


def test_formula_text_is_disarmed_but_signed_numbers_are_left_alone():
    assert excel_safe("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert excel_safe("-1+cmd|' /C calc'!A0") == "'-1+cmd|' /C calc'!A0"
    assert excel_safe("@SUM(A1)") == "'@SUM(A1)"
    assert excel_safe("-1") == "-1"
    assert excel_safe("-12.5") == "-12.5"
    assert excel_safe("-3.0%") == "-3.0%"
    assert excel_safe(-2) == "-2"
    assert excel_safe(None) == ""


def test_xlsx_keeps_numbers_numeric_and_text_guarded():
    with Flask(__name__).app_context():
        response = xlsx_response(["a", "b", "c", "d"], [[-1, Decimal("2.50"), "=1+1", True]], "x.xlsx", "S")
    row = [c.value for c in next(load_workbook(io.BytesIO(response.data)).active.iter_rows(min_row=2))]
    assert row[0] == -1 and row[1] == 2.5
    assert row[2] == "'=1+1" and row[3] == "True"
