"""The order import page: upload, preview with automatic column mapping, validation report, all or nothing."""
import io
import zipfile

import pytest

from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.extensions import db
from app.rfm import order_import
from app.rfm.models import Order, OrderImport
from tests.conftest import csrf_token, run_jobs

CHINESE_HEADERS = "订单号,客户ID,金额,支付时间,状态\nD1,wmA,12.50,2026-04-01 10:00,已支付\nD2,wmB,8,2026-04-02,paid\n"


def _upload(client, content: str, name: str = "orders.csv"):
    return _upload_bytes(client, content.encode("utf-8"), name)


def wait_for_imports() -> None:
    """Run the queued imports as the worker would; then none is left reading, checking or storing."""
    run_jobs()
    assert not db.session.scalar(select(func.count()).select_from(OrderImport)
                                 .where(OrderImport.status.in_(order_import.RUNNING))), "the import did not finish"


def _page(client, location: str) -> str:
    wait_for_imports()
    return client.get(location).get_data(as_text=True)


def _post(client, location: str, form: dict) -> str:
    client.post(location, data=form)
    return _page(client, location)


def _count():
    return db.session.scalar(select(func.count()).select_from(Order))


def test_upload_previews_and_maps_chinese_column_names(client, signed_in_as):
    signed_in_as("operator")
    response = _upload(client, CHINESE_HEADERS)
    assert response.status_code == 302
    page = _page(client, response.headers["Location"])
    assert "共 2 行数据" in page and "wmA" in page
    assert '<option value="订单号" selected>' in page and '<option value="金额" selected>' in page
    assert _count() == 0


def test_confirming_imports_everything_and_is_audited(client, signed_in_as):
    signed_in_as("operator")
    location = _upload(client, CHINESE_HEADERS).headers["Location"]
    wait_for_imports()
    form = {"csrf_token": csrf_token(client, location), "order_id": "订单号", "external_userid": "客户ID",
            "amount": "金额", "paid_at": "支付时间", "status": "状态"}
    assert "导入完成：新增 2" in _post(client, location, form)
    assert _count() == 2
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == "orders.imported"


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(client, signed_in_as):
    signed_in_as("operator")
    bad = CHINESE_HEADERS + "D3,wmC,abc,2026-04-03,paid\nD1,wmD,1,2026-04-03,paid\n"
    location = _upload(client, bad).headers["Location"]
    wait_for_imports()
    form = {"csrf_token": csrf_token(client, location), "order_id": "订单号", "external_userid": "客户ID",
            "amount": "金额", "paid_at": "支付时间", "status": "状态"}
    page = _post(client, location, form)
    assert "有 2 处错误，没有导入任何订单" in page
    report = page.split('id="error-report"')[1]
    assert "<td class=\"mono\">4</td>" in report and "abc" in report
    assert "<td class=\"mono\">5</td>" in report and "与第 2 行重复" in report
    assert _count() == 0


def test_wrong_file_type_is_refused(client, signed_in_as):
    signed_in_as("operator")
    page = _upload(client, "whatever", name="orders.txt").get_data(as_text=True)
    assert "只支持 .csv" in page


def test_someone_elses_upload_cannot_be_opened(client, signed_in_as, make_user):
    signed_in_as("operator")
    location = _upload(client, CHINESE_HEADERS).headers["Location"]
    wait_for_imports()
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    make_user("admin", username="other-admin")
    from tests.conftest import sign_in
    sign_in(client, "other-admin")
    page = client.get(location, follow_redirects=True).get_data(as_text=True)
    assert "已过期或不存在" in page


def test_community_manager_cannot_import_orders(client, signed_in_as):
    signed_in_as("community_manager")
    assert client.get("/rfm/orders/import").status_code == 403


# As Excel in China saves a shop's export: GBK, Chinese headers, slashes and 年月日 in dates, ￥ and thousands
# separators in amounts, the shop's own status words.
EXCEL_GBK = ('订单编号,手机号,实付金额,付款时间,订单状态\r\n'
             'G1,13800000001,￥36.80,2026/12/4 10:00,交易成功\r\n'
             'G2,13800000002,"1,280.00",2026年12月4日,已付款\r\n'
             'G3,13800000003,12,2026-12-04,退款成功\r\n'
             'G4,13800000004,￥5,2026年12月4日 21:30,交易关闭\r\n')


def _upload_bytes(client, data: bytes, name: str = "订单.csv"):
    return client.post("/rfm/orders/import", data={
        "csrf_token": csrf_token(client, "/rfm/orders/import"),
        "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _confirm(client, location: str):
    page = _page(client, location)
    form = {"csrf_token": csrf_token(client, location)}
    for field in ("order_id", "mobile", "amount", "paid_at", "status"):  # what the page chose, as a browser sends it
        select = page.split(f'name="{field}"')[1].split("</select>")[0]
        form[field] = select.split('" selected>')[0].rsplit('value="', 1)[1]
    return _post(client, location, form)


def test_an_excel_gbk_file_with_chinese_dates_amounts_and_statuses_imports(client, signed_in_as):
    signed_in_as("operator")
    location = _upload_bytes(client, EXCEL_GBK.encode("gbk")).headers["Location"]
    page = _page(client, location)
    assert "共 4 行数据" in page and "交易成功" in page  # decoded, not mojibake
    assert '<label class="form-label small" for="paid_at">支付时间' in page  # the fields are named in Chinese
    assert "导入完成：新增 4" in _confirm(client, location)
    orders = {o.order_id: o for o in db.session.scalars(select(Order))}
    assert {k: (o.amount_fen, o.status) for k, o in orders.items()} == {
        "G1": (3680, "paid"), "G2": (128000, "paid"), "G3": (1200, "refunded"), "G4": (500, "cancelled")}
    assert orders["G1"].paid_at.isoformat() == "2026-12-04T02:00:00+00:00"  # 10:00 in Asia/Shanghai
    assert orders["G4"].paid_at.isoformat() == "2026-12-04T13:30:00+00:00"


def test_a_bad_row_in_a_gbk_file_is_named_in_chinese_and_nothing_is_imported(client, signed_in_as):
    signed_in_as("operator")
    bad = EXCEL_GBK + "G5,13800000005,￥9.90,2026年13月4日,已支付\r\n"
    location = _upload_bytes(client, bad.encode("gbk")).headers["Location"]
    page = _confirm(client, location)
    assert "有 1 处错误，没有导入任何订单" in page
    report = page.split('id="error-report"')[1].split("</table>")[0]
    assert '<td class="mono">6</td>' in report and "支付时间无法识别：「2026年13月4日」" in report
    assert "ISO" not in page
    assert _count() == 0


def test_the_mapping_page_shows_what_was_read_once_and_never_reads_the_file_again(client, signed_in_as):
    signed_in_as("operator")
    location = _upload(client, CHINESE_HEADERS).headers["Location"]
    wait_for_imports()
    job = db.session.scalars(select(OrderImport)).one()
    with open(job.path, "wb") as fh:  # whatever the uploaded file holds now, the page and the import do not see it
        fh.write("订单号,客户ID,金额,支付时间,状态\nZZ,wmZ,1,2026-04-01,paid\n".encode())
    page = client.get(location).get_data(as_text=True)
    assert "共 2 行数据" in page and "wmA" in page and "wmZ" not in page
    form = {"csrf_token": csrf_token(client, location), "order_id": "订单号", "external_userid": "客户ID",
            "amount": "金额", "paid_at": "支付时间", "status": "状态"}
    assert "导入完成：新增 2" in _post(client, location, form)
    assert set(db.session.scalars(select(Order.order_id))) == {"D1", "D2"}
    assert "导入完成：新增 2，更新 0，未变 0" in _post(client, location, form)  # a second confirmation starts nothing


def test_a_running_import_shows_its_jobs_progress_and_cancel_and_its_uploader_may_cancel_it(client, signed_in_as,
                                                                                                make_user):
    user = signed_in_as("operator")
    location = _upload(client, CHINESE_HEADERS).headers["Location"]
    work = order_import.job_of(db.session.scalars(select(OrderImport)).one().id)
    page = client.get(location).get_data(as_text=True)
    assert f'data-progress-url="/jobs/{work.id}/progress"' in page and f"/jobs/{work.id}/cancel" in page
    assert "/orders/import/" not in page.split('data-progress-url="')[1][:40]  # the one progress API, no twin
    progress = client.get(f"/jobs/{work.id}/progress").get_json()
    assert progress["state"] == "queued" and progress["active"]
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    make_user("viewer", username="a-viewer")
    from tests.conftest import sign_in
    sign_in(client, "a-viewer")
    assert client.get(f"/jobs/{work.id}/progress").status_code == 403  # orders are not a viewer's to watch
    assert client.post(f"/jobs/{work.id}/cancel", data={"csrf_token": csrf_token(client, "/")}).status_code == 403
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    sign_in(client, user.username)
    client.post(f"/jobs/{work.id}/cancel", data={"csrf_token": csrf_token(client, location), "next": location})
    page = _page(client, location)
    assert "导入已取消" in page and "没有写入任何订单" in page and _count() == 0


def test_a_row_beyond_a_column_is_named_by_line_and_field_in_the_report(client, signed_in_as):
    signed_in_as("operator")
    bad = CHINESE_HEADERS + "D3," + "w" * 65 + ",1,2026-04-03,paid\nD4,wmD,1e20,0001-01-01,paid\n"
    location = _upload(client, bad).headers["Location"]
    wait_for_imports()
    form = {"csrf_token": csrf_token(client, location), "order_id": "订单号", "external_userid": "客户ID",
            "amount": "金额", "paid_at": "支付时间", "status": "状态"}
    report = _post(client, location, form).split('id="error-report"')[1].split("</table>")[0]
    assert '<td class="mono">4</td><td>客户 ID（external_userid）超过 64 个字符' in report
    assert '<td class="mono">5</td>' in report and "超过上限" in report and "支付时间需在" in report
    assert _count() == 0


@pytest.mark.parametrize("data, problem", [
    (CHINESE_HEADERS.encode(), "不是 Excel 文件"),
    (None, "压缩比异常"),
])
def test_an_xlsx_that_is_no_excel_file_or_a_zip_bomb_is_refused_at_upload(client, signed_in_as, data, problem):
    if data is None:
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/worksheets/sheet1.xml", b"0" * (64 << 20))
        data = packed.getvalue()
    signed_in_as("operator")
    page = _upload_bytes(client, data, "订单.xlsx").get_data(as_text=True)
    assert problem in page and db.session.scalar(select(func.count()).select_from(OrderImport)) == 0


def test_a_file_past_the_size_cap_is_refused_with_the_cap_named(client, signed_in_as, app):
    app.config["ORDER_FILE_MAX_MB"] = 1
    signed_in_as("operator")
    page = _upload_bytes(client, (CHINESE_HEADERS * 15_000).encode()).get_data(as_text=True)  # 1.4 MB
    assert "文件太大（上限 1 MB）" in page
    far_past = _upload_bytes(client, (CHINESE_HEADERS * 40_000).encode())  # not even read: the request is too large
    assert far_past.status_code == 413 and "文件太大" in far_past.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OrderImport)) == 0
