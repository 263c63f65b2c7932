"""Random bytes as an order file, through the upload, the background import and its page: never a 500, never a
failed import (an unforeseen error), and nothing stored from a file that is not imported."""
import io

from hypothesis import HealthCheck, given, settings, strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.rfm import order_import
from app.rfm.models import Order, OrderImport
from app.rfm.order_files import auto_mapping
from tests.conftest import csrf_token
from tests.web.test_order_import_page import wait_for_imports

HEADER = b"order_id,external_userid,amount,paid_at,status\n"


def _workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["order_id", "external_userid", "amount", "paid_at", "status"])
    sheet.append(["F1", "wmA", 12.5, "2026-02-01 12:00", "paid"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


WORKBOOK = _workbook()


def _mutated(changes: list[tuple[int, int]]) -> bytes:
    data = bytearray(WORKBOOK)
    for position, value in changes:
        data[position % len(data)] = value
    return bytes(data)


FILES = st.one_of(
    st.tuples(st.binary(max_size=600), st.just("订单.csv")),
    st.tuples(st.binary(max_size=600).map(lambda tail: HEADER + tail), st.just("订单.csv")),
    st.tuples(st.text(max_size=300).map(lambda tail: HEADER + tail.encode("utf-8")), st.just("订单.csv")),
    st.tuples(st.binary(max_size=600), st.just("订单.xlsx")),
    st.tuples(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6).map(_mutated),
              st.just("订单.xlsx")),
)


def test_random_bytes_as_an_order_file_never_give_a_500_or_store_anything_unimported(client, signed_in_as):
    signed_in_as("operator")
    token = csrf_token(client, "/rfm/orders/import")

    @settings(max_examples=40, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(FILES)
    def upload(file):
        data, name = file
        before = db.session.scalar(select(func.count()).select_from(Order))
        response = client.post("/rfm/orders/import", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
        assert response.status_code in (200, 302)
        if response.status_code == 200:  # refused at upload, named on the page
            assert "alert" in response.get_data(as_text=True)
            return
        wait_for_imports()
        page = client.get(response.headers["Location"])
        assert page.status_code == 200
        job = db.session.scalars(select(OrderImport).order_by(OrderImport.id.desc())).first()
        if job.status == order_import.MAPPING:  # read: confirm the mapping the page proposes
            form = {"csrf_token": token, **auto_mapping(job.header)}
            assert client.post(response.headers["Location"], data=form).status_code == 302
            wait_for_imports()
            assert client.get(response.headers["Location"]).status_code == 200
            db.session.refresh(job)
        assert job.status in (order_import.INVALID, order_import.DONE), job.message
        stored = db.session.scalar(select(func.count()).select_from(Order)) - before
        assert stored == (job.added if job.status == order_import.DONE else 0)

    upload()
