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


def test_an_excel_gbk_csv_with_chinese_formats_is_imported(app, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(("订单号,客户ID,金额,支付时间,状态\r\n"
                      "C1,wmA,￥36.80,2026/12/4 10:00,已完成\r\n"
                      'C2,wmA,"1,280.00",2026年12月5日 9:05,已退款\r\n').encode("gbk"))
    result = _import(app, path)
    assert result.exit_code == 0, result.output
    orders = {o.order_id: o for o in db.session.scalars(select(Order))}
    assert (orders["C1"].amount_fen, orders["C1"].status) == (3680, "paid")
    assert (orders["C2"].amount_fen, orders["C2"].status) == (128000, "refunded")
    assert orders["C2"].paid_at.isoformat() == "2026-12-05T01:05:00+00:00"


def test_a_bad_gbk_row_is_named_in_chinese_and_nothing_is_imported(app, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(("订单号,客户ID,金额,支付时间,状态\n"
                      "C1,wmA,￥36.80,2026/12/4 10:00,已完成\n"
                      "C2,wmA,三十元,下周二,待付款\n").encode("gbk"))
    result = _import(app, path)
    assert result.exit_code != 0 and _count() == 0
    assert "第 3 行：" in result.output
    for problem in ("金额无法识别：「三十元」", "支付时间无法识别：「下周二」", "订单状态无法识别：「待付款」"):
        assert problem in result.output


def test_a_damaged_utf8_csv_is_refused_clearly(app, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(CSV.encode("utf-8") + "S9,wmA,,1,2026-01-05,paid,".encode() + "茶叶".encode("utf-8")[:-1] + b"\n")
    result = _import(app, path)
    assert result.exit_code != 0 and "第 5 行：" in result.output and "UTF-8" in result.output and _count() == 0


def test_the_command_runs_as_a_job_that_the_jobs_page_lists(app, tmp_path):
    from app.jobs.models import Job

    path = tmp_path / "orders.csv"
    path.write_text(CSV, encoding="utf-8")
    assert _import(app, path).exit_code == 0
    job = db.session.scalars(select(Job)).one()
    assert (job.kind, job.state, job.requested_by, job.result) == ("rfm.order_import", "succeeded", "cli",
                                                                    {"status": "done"})
