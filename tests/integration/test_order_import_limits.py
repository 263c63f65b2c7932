"""Order files beyond what the database holds or a business means, files that are not what they say, caps on rows
and unpacked size, and a rerun after a crash: each is named by line and field, and nothing is half-written."""
import os
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.rfm import ingest, order_files, order_import
from app.rfm.commands import import_orders
from app.rfm.models import Order, OrderImport

HEADER = "order_id,external_userid,amount,paid_at,status,category\n"
GOOD = "S1,wmA,10.00,2026-01-02 10:00,paid,茶叶\n"


def _count():
    return db.session.scalar(select(func.count()).select_from(Order))


def _import(app, path):
    return app.test_cli_runner().invoke(import_orders, [str(path)])


@pytest.mark.parametrize("row, problem", [
    ("S2,wmB,1,2026-01-02,paid," + "茶" * 65, "品类（category）超过 64 个字符"),
    ("S2," + "w" * 65 + ",1,2026-01-02,paid,", "客户 ID（external_userid）超过 64 个字符"),
    ("S" + "2" * 64 + ",wmB,1,2026-01-02,paid,", "订单号超过 64 个字符"),
    ("S2,wm\x00B,1,2026-01-02,paid,", "客户 ID含有 NUL 字符"),
    ("S2,wmB,1e20,2026-01-02,paid,", "金额 100000000000000000000.00 超过上限"),
    ("S2,wmB,100000000000000000000,2026-01-02,paid,", "超过上限 1000000000 元"),
    ("S2,wmB,1,0001-01-01,paid,", "支付时间需在 1990-01-01 到 2099-12-31 之间"),
    ("S2,wmB,1,9999-12-31 23:59,paid,", "支付时间需在 1990-01-01 到 2099-12-31 之间"),
])
def test_a_field_beyond_its_column_or_range_is_named_by_line_and_nothing_is_imported(app, tmp_path, row, problem):
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + GOOD + row + "\n", encoding="utf-8")
    result = _import(app, path)
    assert result.exit_code != 0, result.output
    assert "第 3 行：" in result.output and problem in result.output
    assert _count() == 0


def test_the_same_rows_in_excel_are_named_alike(app, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["order_id", "mobile", "amount", "paid_at", "status"])
    sheet.append(["X1", "13800000000", 1e20, "2026-02-01T12:00:00", "paid"])
    sheet.append(["X2", "1" * 33, 5, "2026-02-01T12:00:00", "paid"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    result = _import(app, path)
    assert "第 2 行：金额" in result.output and "超过上限" in result.output
    assert "第 3 行：手机号（mobile）超过 32 个字符" in result.output and _count() == 0


def test_an_xlsx_that_is_really_a_csv_is_refused_clearly(app, tmp_path):
    path = tmp_path / "orders.xlsx"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    result = _import(app, path)
    assert result.exit_code != 0 and "不是 Excel 文件" in result.output and "改为 .csv" in result.output
    assert _count() == 0


def test_a_zip_bomb_is_refused_before_it_is_unpacked(app, tmp_path):
    path = tmp_path / "orders.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (64 << 20))  # 64 MB of one byte: ~65 KB packed
    result = _import(app, path)
    assert result.exit_code != 0 and "压缩比异常" in result.output and _count() == 0
    app.config["ORDER_IMPORT_MAX_UNPACKED_MB"] = 16
    result = _import(app, path)
    assert "解压后约 64 MB，超过上限 16 MB" in result.output


def test_a_text_table_too_large_to_hold_is_refused_before_it_is_read(app, tmp_path, monkeypatch):
    monkeypatch.setattr(order_import, "limits", lambda: order_files.Limits(shared_strings_bytes=1 << 20))
    path = tmp_path / "orders.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", os.urandom(3 << 20))  # does not pack: no ratio to see
    result = _import(app, path)
    assert result.exit_code != 0 and "文字表解压后约 3 MB，超过上限 1 MB" in result.output and _count() == 0


def test_rows_beyond_the_cap_are_refused_with_the_cap_named(app, tmp_path):
    app.config["ORDER_IMPORT_MAX_ROWS"] = 3
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "".join(f"S{i},wmA,1,2026-01-02,paid,\n" for i in range(4)), encoding="utf-8")
    result = _import(app, path)
    assert result.exit_code != 0 and "第 5 行：文件超过 3 行数据的上限" in result.output and _count() == 0


def test_a_rerun_after_a_crash_in_the_middle_continues_and_counts_each_order_once(app, tmp_path, monkeypatch):
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "".join(f"S{i},wmA,{i},2026-01-02,paid,\n" for i in range(10)), encoding="utf-8")
    job = order_import.create(path, path.name, "file", None, mapping={})
    monkeypatch.setattr(order_import, "BATCH", 3)
    real, calls = ingest.store_batch, []

    def crash_on_the_third_batch(records, source, mobiles):
        calls.append(len(records))
        if len(calls) == 3:
            raise KeyboardInterrupt  # the process dies here: this batch's transaction never commits
        return real(records, source, mobiles)

    monkeypatch.setattr(ingest, "store_batch", crash_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        order_import.run_import(job.id, lambda *_: None)
    db.session.rollback()
    assert _count() == 6
    monkeypatch.setattr(ingest, "store_batch", real)
    seen = []
    job = order_import.run_import(job.id, lambda done, total, message: seen.append((done, total)))
    assert job.status == order_import.DONE and (job.added, job.updated, job.unchanged) == (10, 0, 0)
    assert _count() == 10 and seen[-1] == (10, 10)
    assert db.session.get(OrderImport, job.id).done_rows == 10
