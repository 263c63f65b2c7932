"""群SOP pages as a community manager uses them: start an SOP from a template, see it in the month calendar (coloured
by tier, keyboard focusable) and the list with its Excel export, refuse a bad item with the field named and nothing
changed, pause and resume; other roles are refused."""
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.community.sop.models import GroupSop, SopItem
from app.community.sop.service import today
from app.extensions import db
from tests.conftest import csrf_token


@pytest.fixture
def manager(client, signed_in_as):
    return signed_in_as("community_manager")


def start(client, template="checkin", tier="newcomer", name="新人 21 天打卡"):
    return client.post("/community/sop/new", data={"template": template, "tier": tier, "name": name,
                                                    "csrf_token": csrf_token(client, "/community/sop/new")})


def test_an_sop_from_a_template_shows_in_the_calendar_and_the_list(client, manager):
    gallery = client.get("/community/sop").get_data(as_text=True)
    assert gallery.count("/community/sop/new?template=") == 10  # ten built-in templates
    made = start(client)
    assert made.status_code == 302
    sop = db.session.scalar(select(GroupSop))
    assert (sop.name, sop.tier, sop.template_key) == ("新人 21 天打卡", "newcomer", "checkin")
    first = db.session.scalar(select(SopItem.start_on).where(SopItem.title == "每日打卡提醒"))
    month = first.strftime("%Y-%m")  # today, or tomorrow when 08:00 has passed
    calendar = client.get(f"/community/sop?month={month}").get_data(as_text=True)
    assert "每日打卡提醒" in calendar and "text-bg-success" in calendar  # newcomer groups' colour
    assert 'tabindex="0"' in calendar and "sop_calendar.js" in calendar
    listed = client.get(f"/community/sop/list?month={month}").get_data(as_text=True)
    assert "每日打卡提醒" in listed and "待执行" in listed
    sheet = client.get(f"/community/sop/list?month={month}&format=xlsx")
    rows = list(load_workbook(io.BytesIO(sheet.data)).active.values)
    assert rows[0][:5] == ("日期", "时间", "分层", "SOP", "事项")
    assert any(r[4] == "每日打卡提醒" and r[2] == "新人群" for r in rows[1:])
    cells = list(load_workbook(io.BytesIO(sheet.data)).active.iter_rows())[1:]
    assert {(c[0].number_format, type(c[0].value)) for c in cells} == {("yyyy-mm-dd", datetime)}  # days Excel sorts
    upcoming = next(c for c in cells if c[4].value == "每日打卡提醒" and c[0].value.date() == first)
    assert [c.value for c in upcoming[7:14]] == [None] * 7  # nothing run yet: empty, not "—"
    assert f">{first.isoformat()}<" in listed  # the page still shows the day as YYYY-MM-DD


def test_a_bad_item_is_refused_with_the_field_named_and_nothing_changed(client, manager):
    start(client)
    sop = db.session.scalar(select(GroupSop))
    url = f"/community/sop/{sop.id}/items/new"
    page = client.post(url, data={"title": "直播预告", "kind": "push", "text": "今晚 8 点直播", "time_of_day": "20:00",
                                  "recurrence": "weekly", "start_on": today().isoformat(),
                                  "csrf_token": csrf_token(client, url)})
    assert page.status_code == 200 and "每周重复：请至少选择一个星期几" in page.get_data(as_text=True)
    assert db.session.scalar(select(SopItem).where(SopItem.title == "直播预告")) is None
    saved = client.post(url, data={"title": "直播预告", "kind": "push", "text": "今晚 8 点直播", "time_of_day": "20:00",
                                   "recurrence": "weekly", "weekdays": ["1", "3"], "start_on": today().isoformat(),
                                   "csrf_token": csrf_token(client, url)})
    assert saved.status_code == 302
    item = db.session.scalar(select(SopItem).where(SopItem.title == "直播预告"))
    assert item.weekdays == [1, 3]
    assert "每周 周二、周四 20:00" in client.get(f"/community/sop/{sop.id}").get_data(as_text=True)


def test_pause_and_resume(client, manager):
    start(client)
    sop = db.session.scalar(select(GroupSop))
    url = f"/community/sop/{sop.id}"
    client.post(f"{url}/pause", data={"paused": "1", "csrf_token": csrf_token(client, url)})
    db.session.expire_all()
    assert db.session.get(GroupSop, sop.id).paused
    assert "data-paused" in client.get(url).get_data(as_text=True)
    client.post(f"{url}/pause", data={"paused": "0", "csrf_token": csrf_token(client, url)})
    db.session.expire_all()
    assert not db.session.get(GroupSop, sop.id).paused


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_other_roles_are_refused(client, signed_in_as, role):
    signed_in_as(role)
    assert client.get("/community/sop").status_code == 403
    assert client.get("/community/sop/list").status_code == 403
