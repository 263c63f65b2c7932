"""`scrm import-orders FILE`: CSV and Excel, all or nothing, every bad line named, re-import idempotent."""
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.rfm.commands import import_orders
from app.rfm.models import Order

CSV = """order_id,external_userid,unionid,amount,paid_at,status,category
S1,wmA,,10.00,2026-01-02 10:00,paid,茶叶
S2,,oUNION2,25.5,2026-01-03,paid,
S3,wmA,,8,2026-01-04T09:00:00+08:00,refunded,茶具
"""


def _count():
    return db.session.scalar(select(func.count()).select_from(Order))


def _import(app, path):
    return app.test_cli_runner().invoke(import_orders, [str(path)])


def test_csv_import_and_reimport(app, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("\ufeff" + CSV, encoding="utf-8")
    first = _import(app, path)
    assert first.exit_code == 0, first.output
    assert "新增 3" in first.output and _count() == 3
    again = _import(app, path)
    assert "新增 0，更新 0，未变 3" in again.output


def test_bad_lines_are_named_and_nothing_is_imported(app, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(CSV + "S4,wmB,,-1,2026-01-05,paid,\nS5,,,3,2026-01-05,paid,\nS6,wmB,,3,2026-01-05,shipped,\n",
                    encoding="utf-8")
    result = _import(app, path)
    assert result.exit_code != 0
    assert "3 处错误" in result.output
    for line in ("第 5 行", "第 6 行", "第 7 行"):
        assert line in result.output
    assert _count() == 0


def test_excel_file_is_imported(app, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["order_id", "mobile", "amount", "paid_at", "status"])
    sheet.append(["X1", "13800000000", 199, "2026-02-01T12:00:00", "paid"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    result = _import(app, path)
    assert result.exit_code == 0, result.output
    order = db.session.scalars(select(Order)).one()
    assert (order.mobile, order.amount_fen) == ("13800000000", 19900)


def test_non_utf8_csv_is_refused_clearly(app, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(CSV.encode("gbk"))
    result = _import(app, path)
    assert result.exit_code != 0 and "UTF-8" in result.output and _count() == 0
