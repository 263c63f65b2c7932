"""The RFM page: empty state, grid / segments / classes / movements with links to their customers, recompute rights."""
import re
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.core.permissions import Permission, Role, role_allows
from app.extensions import db
from app.rfm import ingest, recompute
from app.rfm.models import CustomerRfmScore, RfmRun
from app.jobs import enqueue
from app.jobs.models import Job
from app.rfm.scoring import PaidOrder
from tests.conftest import csrf_token, run_jobs
from tests.rfm_oracle import rfm_of

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the corp's today, as the job sees it


def add_orders(*orders) -> None:
    """(order_id, external_userid, yuan, days ago)."""
    raw = [{"order_id": oid, "external_userid": who, "amount": amount, "status": "paid",
            "paid_at": (datetime.combine(TODAY - timedelta(days=days), datetime.min.time()).replace(hour=12)).isoformat()}
           for oid, who, amount, days in orders]
    ingest.store_orders(ingest.validate_orders(raw), source="test")


ORDERS = [("o1", "wmA", "100.00", 1), ("o2", "wmA", "50.00", 8), ("o3", "wmA", "20.00", 30),
          ("o4", "wmB", "10.00", 300), ("o5", "wmC", "500.00", 2), ("o6", "wmD", "30.00", 60),
          ("o7", "wmD", "30.00", 61), ("o8", "wmE", "5.00", 400)]


def expected():
    from decimal import Decimal
    return rfm_of([PaidOrder(o, w, Decimal(a), TODAY - timedelta(days=d)) for o, w, a, d in ORDERS], TODAY)


def recompute_now(client):
    """Press 立即重算; a worker then runs the queued job."""
    response = client.post("/rfm/recompute", data={"csrf_token": csrf_token(client, "/rfm/")})
    run_jobs()
    return response


def test_empty_state_tells_to_import_orders_first(client, signed_in_as):
    signed_in_as("operator")
    page = client.get("/rfm/").get_data(as_text=True)
    assert "还没有订单" in page and "请先导入订单" in page and 'href="/rfm/orders/import"' in page
    assert "立即重算" not in page  # nothing to compute yet


def test_navigation_links_the_rfm_page(client, signed_in_as):
    signed_in_as("viewer")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/rfm/"' in page


def test_page_shows_counts_revenue_and_links_after_a_recompute(client, signed_in_as, app):
    signed_in_as("operator")
    add_orders(*ORDERS)
    assert recompute_now(client).status_code == 302
    page = client.get("/rfm/").get_data(as_text=True)
    scores = expected()
    segments, classes = Counter(s.segment for s in scores), Counter(s.class8 for s in scores)
    for key, n in segments.items():
        row = re.search(rf'<tr data-segment="{key}">.*?</tr>', page, re.S).group(0)
        assert f'href="/rfm/customers?segment={key}" data-count>{n}</a>' in row
    for key, n in classes.items():
        assert f'href="/rfm/customers?class8={key}" data-count>{n}</a>' in page
    a = next(s for s in scores if s.external_userid == "wmA")
    cell = re.search(rf'<td data-cell="{a.r_score}{a.f_score}">.*?</td>', page, re.S).group(0)
    assert f"r={a.r_score}" in cell and f"f={a.f_score}" in cell and "¥170.00" in cell
    champions = re.search(r'<tr data-segment="champions">.*?</tr>', page, re.S).group(0)
    assert "¥" in champions
    assert "echarts-6.1.0/echarts.min.js" in page and 'id="rfm-heatmap"' in page
    # no WeCom configured in this test: the scores are there, the tags wait and the page says so
    assert "完成，部分标签未写入" in page and "标签未写入企业微信" in page
    assert 'href="/rfm/customers?mark_state=pending"' in page

    listed = client.get(f"/rfm/customers?segment={a.segment}").get_data(as_text=True)
    assert 'data-customer="wmA"' in listed
    assert set(re.findall(r'data-customer="(\w+)"', listed)) == {s.external_userid for s in scores
                                                               if s.segment == a.segment}


def test_movements_since_the_last_run_link_to_the_customers_who_moved(client, signed_in_as, app, monkeypatch):
    monkeypatch.setattr(recompute, "COPY_ABOVE", 0)  # on PostgreSQL: the COPY path, with movements
    signed_in_as("operator")
    add_orders(*ORDERS)
    recompute_now(client)
    page = client.get("/rfm/").get_data(as_text=True)
    assert "没有客户换分层" in page
    add_orders(("n1", "wmB", "80.00", 0), ("n2", "wmB", "80.00", 1), ("n3", "wmB", "80.00", 2))
    recompute_now(client)
    rows = {r.external_userid: r for r in db.session.scalars(select(CustomerRfmScore))}
    moved = {w: (r.previous_segment, r.segment) for w, r in rows.items() if r.previous_segment != r.segment}
    assert "wmB" in moved
    assert db.session.get(RfmRun, 2).counts["movements"] == {f"{a}>{b}": n for (a, b), n in Counter(moved.values()).items()}
    before, after = moved["wmB"]
    page = client.get("/rfm/").get_data(as_text=True)
    assert f'data-from="{before}" data-to="{after}"' in page
    link = f"/rfm/customers?from={before}&amp;segment={after}"
    assert link in page
    listed = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert set(re.findall(r'data-customer="(\w+)"', listed)) == {w for w, m in moved.items() if m == (before, after)}

@pytest.mark.parametrize("role", [r.value for r in Role])
def test_who_sees_the_page_and_who_may_recompute(client, signed_in_as, role, app):
    add_orders(("x1", "wmA", "10.00", 1))
    signed_in_as(role)
    view = client.get("/rfm/")
    assert view.status_code == (200 if role_allows(role, Permission.RFM_VIEW) else 403)
    assert client.get("/rfm/customers").status_code == view.status_code
    if view.status_code == 200:
        assert ('action="/rfm/recompute"' in view.get_data(as_text=True)) == role_allows(role, Permission.ORDERS_IMPORT)
    token = csrf_token(client, "/")
    started = client.post("/rfm/recompute", data={"csrf_token": token})
    run_jobs()
    assert started.status_code == (302 if role_allows(role, Permission.ORDERS_IMPORT) else 403)
    assert (db.session.query(RfmRun).count() == 1) == role_allows(role, Permission.ORDERS_IMPORT)


def test_button_runs_in_the_background_and_progress_is_polled(client, signed_in_as):
    signed_in_as("admin")
    add_orders(*ORDERS)
    response = client.post("/rfm/recompute", data={"csrf_token": csrf_token(client, "/rfm/")}, follow_redirects=True)
    page = response.get_data(as_text=True)  # the request only queued it: nothing is computed yet
    job = db.session.scalars(select(Job)).one()
    assert "「RFM 重算」已排队" in page and f'data-progress-url="/jobs/{job.id}/progress"' in page
    assert db.session.scalar(select(func.count()).select_from(RfmRun)) == 0
    assert client.get(f"/jobs/{job.id}/progress").get_json()["state"] == "queued"
    run_jobs()
    progress = client.get(f"/jobs/{job.id}/progress").get_json()
    assert progress["state"] == "succeeded" and not progress["active"] and progress["percent"] == 100
    assert db.session.scalars(select(RfmRun)).one().status == recompute.PARTIAL  # WeCom not configured here
    assert client.get("/jobs/99/progress").status_code == 404


def test_a_second_recompute_while_one_runs_is_refused(client, signed_in_as):
    signed_in_as("operator")
    add_orders(*ORDERS)
    enqueue("rfm.recompute", {"started_by": "someone"}, requested_by="someone")  # waiting for a worker
    page = client.post("/rfm/recompute", data={"csrf_token": csrf_token(client, "/rfm/")}, follow_redirects=True)
    assert "正在进行中" in page.get_data(as_text=True)
    assert db.session.query(Job).count() == 1
    run_jobs()
    assert db.session.query(RfmRun).count() == 1
