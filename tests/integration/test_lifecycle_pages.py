"""The 沉睡唤醒 › 生命周期 pages: counts per stage, movements since yesterday, members with export, settings."""
import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select

from app.core.db import transaction
from app.extensions import db
from app.lifecycle import config
from app.lifecycle.models import CustomerStage
from tests.integration.test_lifecycle_stages import customer, local, order, recompute_as_of

ZONE = ZoneInfo("Asia/Shanghai")


def staged() -> None:
    today = datetime.now(ZONE).date()
    with transaction():
        for i in range(6):
            customer(f"wmp{i}")
            order(f"wmp{i}", local(today - timedelta(days=(2, 10, 22, 40, 100, 3)[i]), time(12)))
        customer("wmlost", lost=True)
    recompute_as_of(today - timedelta(days=3))
    recompute_as_of(today)  # wmp2 crosses 21 days: a movement today


def test_the_page_counts_stages_and_links_movements_to_their_members(client, signed_in_as):
    staged()
    signed_in_as("operator")
    page = client.get("/lifecycle/").get_data(as_text=True)
    assert 'data-stage="dormant"' in page and "lifecycle-chart" in page
    counts = dict(db.session.execute(select(CustomerStage.stage, db.func.count()).group_by(CustomerStage.stage)).all())
    assert counts == {"active": 3, "warning": 1, "dormant": 1, "deep_dormant": 1, "lost": 1}
    assert 'data-from="active" data-to="warning"' in page  # wmp2: 21 days silent after 3 days
    members = client.get("/lifecycle/customers?stage=dormant").get_data(as_text=True)
    assert 'data-customer="wmp3"' in members and 'data-customer="wmp0"' not in members
    moved = client.get(f"/lifecycle/customers?stage=warning&from=active&since={datetime.now(ZONE).date() - timedelta(days=1)}")
    assert 'data-customer="wmp2"' in moved.get_data(as_text=True)
    export = client.get("/lifecycle/customers?stage=deep_dormant&format=csv")
    assert export.status_code == 200 and "wmp4" in export.get_data(as_text=True) and "深度沉睡" in export.get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(client.get("/lifecycle/customers?stage=deep_dormant&format=xlsx").data)).active
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "wmp4")
    stage = db.session.get(CustomerStage, "wmp4")
    assert (row[3].value.date(), row[3].number_format) == (stage.since, "yyyy-mm-dd")  # a day Excel can filter by
    assert (row[4].value, row[4].number_format) == (
        stage.last_interaction_at.astimezone(ZONE).replace(tzinfo=None, microsecond=0), "yyyy-mm-dd hh:mm")


def test_viewers_and_supervisors_do_not_see_the_page(client, signed_in_as):
    signed_in_as("viewer")
    assert client.get("/lifecycle/").status_code == 403


def test_settings_save_validated_values_and_queue_a_recompute(client, signed_in_as):
    from app.jobs.models import Job
    from tests.conftest import csrf_token

    signed_in_as("operator")
    token = csrf_token(client, "/lifecycle/settings")
    bad = client.post("/lifecycle/settings", data={"csrf_token": token, "signals": ["order"], "days_warning": "30",
                                                    "days_dormant": "30", "days_deep_dormant": "90"},
                      follow_redirects=True)
    assert "天数需逐级增加" in bad.get_data(as_text=True)
    assert config.current() == config.DEFAULTS
    good = client.post("/lifecycle/settings", data={
        "csrf_token": token, "signals": ["order", "event"], "days_warning": "14", "days_dormant": "30",
        "days_deep_dormant": "90", "filter_dormant": "segment", "values_dormant_segment": ["hibernating"],
        "values_dormant_class8": ["general_value"]})
    assert good.status_code == 302
    saved = config.current()
    assert saved["thresholds"]["warning"] == 14 and not saved["signals"]["group_join"]
    assert saved["filters"]["dormant"] == {"kind": "segment", "values": ["hibernating"]}
    assert db.session.scalars(select(Job.kind)).all() == ["lifecycle.recompute"]
