"""The team pages a supervisor opens: the same figures on the page, in the Excel export and from the API; reply
figures missing on days without replies shown as —; only the departments the supervisor leads, everywhere."""
import io
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.campaigns.models import Campaign, CampaignRun
from app.sending.models import SendTask
from app.contacts.models import Customer, Department, FollowRelation, Staff
from app.core import settings, tokens
from app.extensions import db
from app.rfm.models import Order
from app.team.models import BehaviorDay, GroupDay
from app.welcome.models import WelcomeRecord

TODAY = date.today()
D1, D2 = TODAY - timedelta(days=3), TODAY - timedelta(days=2)
PERIOD = f"start={(TODAY - timedelta(days=6)).isoformat()}&end={(TODAY - timedelta(days=1)).isoformat()}"


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=settings.corp_timezone())


@pytest.fixture
def team(app):
    """Sales (2, led by alice) with a sub-team (3, bob); Support (4, carol, led by dave). Figures for alice and bob."""
    db.session.add_all([
        Department(id=1, name="公司", parent_id=0), Department(id=2, name="销售部", parent_id=1, leader_userids=["alice"]),
        Department(id=3, name="华北组", parent_id=2), Department(id=4, name="客服部", parent_id=1, leader_userids=["dave"]),
        Staff(userid="alice", name="王丽", department_ids=[2], is_follow_user=True),
        Staff(userid="bob", name="李博", department_ids=[3], is_follow_user=True),
        Staff(userid="carol", name="陈卡", department_ids=[4], is_follow_user=True),
    ])
    for ext in ("wm-a1", "wm-a2", "wm-a3", "wm-lost", "wm-gone", "wm-c1"):
        db.session.add(Customer(external_userid=ext, name={"wm-lost": "流失的赵六", "wm-c1": "客服的客户"}.get(ext, ext)))
    db.session.flush()
    db.session.add_all([
        FollowRelation(userid="alice", external_userid="wm-a1", added_at=at(D1)),
        FollowRelation(userid="alice", external_userid="wm-a2", added_at=at(D2)),
        FollowRelation(userid="alice", external_userid="wm-lost", added_at=at(D1 - timedelta(days=30)),
                       ended_at=at(D2, 15), ended_by="customer"),
        FollowRelation(userid="alice", external_userid="wm-gone", added_at=at(D1 - timedelta(days=30)),
                       ended_at=at(D2, 16), ended_by="staff"),
        FollowRelation(userid="bob", external_userid="wm-a3", added_at=at(D2)),
        FollowRelation(userid="bob", external_userid="wm-a1", added_at=at(D2)),  # a1 is followed by both
        FollowRelation(userid="carol", external_userid="wm-c1", added_at=at(D1), ended_at=at(D2), ended_by="customer"),
        # alice replied to 10 chats at 50 % on D1; on D2 she chatted 5 times and had nothing to reply to
        BehaviorDay(userid="alice", day=D1, chat_cnt=10, message_cnt=30, reply_percentage=Decimal("50.00"),
                    avg_reply_minutes=Decimal("12.00")),
        BehaviorDay(userid="alice", day=D2, chat_cnt=5, message_cnt=9),
        BehaviorDay(userid="bob", day=D1, chat_cnt=0, message_cnt=0),
        GroupDay(owner="alice", day=D1, member_total=40, member_has_msg=10, msg_total=25, chat_total=2),
        WelcomeRecord(inbox_id=1, userid="alice", external_userid="wm-a1", outcome="sent", received_at=at(D1)),
        WelcomeRecord(inbox_id=2, userid="alice", external_userid="wm-a2", outcome="missed", received_at=at(D2)),
        WelcomeRecord(inbox_id=3, userid="alice", external_userid="wm-x", outcome="skipped", received_at=at(D2)),
        Order(order_id="SO-1", external_userid="wm-a1", amount_fen=12345, status="paid", paid_at=at(D2), source="csv"),
        Order(order_id="SO-2", external_userid="wm-a2", amount_fen=5000, status="refunded", paid_at=at(D2),
              source="csv"),
        Order(order_id="SO-3", external_userid="wm-c1", amount_fen=99900, status="paid", paid_at=at(D1), source="csv"),
    ])
    campaign = Campaign(name="周末上新", content={"text": "新品"}, created_by="operator", status="running")
    db.session.add(campaign)
    db.session.flush()
    run = CampaignRun(campaign_id=campaign.id, scheduled_for=at(D1), campaign_version=1, status="polling",
                      created_by="operator")
    db.session.add(run)
    db.session.flush()
    db.session.add_all([
        SendTask(run_id=run.id, sender_userid="alice", variant_key="A", status="confirmed", submitted_at=at(D1, 9),
                 confirmed_at=at(D1, 10)),                                  # on time (before the 2 h reminder)
        SendTask(run_id=run.id, sender_userid="alice", variant_key="A", chunk_no=1, status="confirmed",
                 submitted_at=at(D1, 9), confirmed_at=at(D1, 15)),          # late
        SendTask(run_id=run.id, sender_userid="bob", variant_key="A", status="finished", submitted_at=at(D1, 9)),
    ])
    db.session.commit()


def _page_cells(html: str, attribute: str) -> dict[str, dict[str, str]]:
    """{row key: {column: text}} of the member table (data-userid) or the total row."""
    out = {}
    for key, row in re.findall(rf'<tr {attribute}(?:="([\w-]*)")?[^>]*>(.*?)</tr>', html, re.S):
        out[key] = dict(re.findall(r'data-col="(\w+)">([^<]*)</td>', row))
    return out


# Excel's display of the number formats the team exports use (a number cell without one fails the lookup)
SHOWN_BY = {"#,##0": "{:,.0f}".format, "0.0%": lambda v: f"{v * 100:.1f}%", "0.0": "{:.1f}".format,
            '"¥"#,##0.00': "¥{:,.2f}".format}


def _xlsx(response) -> list[list]:
    """The cells as the page shows them: numbers and times by their number format, an empty cell as —; text
    without the apostrophe the export helper puts before a leading "-" (formula guard)."""
    def text(cell):
        if cell.value is None:
            return "—"
        if isinstance(cell.value, datetime):  # a day or a time, as its number format shows it
            return cell.value.strftime("%Y-%m-%d" if cell.number_format == "yyyy-mm-dd" else "%Y-%m-%d %H:%M")
        if isinstance(cell.value, (int, float)):
            return SHOWN_BY[cell.number_format](cell.value)
        return cell.value[1:] if isinstance(cell.value, str) and cell.value.startswith("'-") else cell.value
    return [[text(c) for c in row] for row in load_workbook(io.BytesIO(response.data)).active.iter_rows()]


def test_overview_figures_are_equal_on_page_export_and_api(client, signed_in_as, team):
    from app.team.report import COLUMNS, show

    signed_in_as("admin")
    html = client.get(f"/team/?dept=2&{PERIOD}").get_data(as_text=True)
    rows = _page_cells(html, "data-userid")
    total = _page_cells(html, "data-total-row")[""]
    assert set(rows) == {"alice", "bob"}  # Sales and its sub-team; not Support
    alice = rows["alice"]
    assert (alice["adds"], alice["lost_by_customer"], alice["lost_by_staff"], alice["net_new"]) == ("2", "1", "1", "0")
    assert (alice["push_on_time"], alice["push_late"], alice["push_rate"]) == ("1", "1", "100.0%")
    assert rows["bob"]["push_never"] == "1" and rows["bob"]["push_rate"] == "0.0%"
    assert alice["reply_rate"] == "50.0%" and alice["reply_minutes"] == "12.0"  # D2 (no replies) weighs nothing
    assert rows["bob"]["reply_rate"] == "—" and rows["bob"]["reply_minutes"] == "—"
    assert alice["welcome_rate"] == "50.0%" and alice["group_activity"] == "25.0%"
    assert alice["gmv_fen"] == rows["bob"]["gmv_fen"] == "¥123.45"  # a1 follows both; refunded SO-2 not counted
    assert total["gmv_fen"] == "¥123.45" and total["orders"] == "1"  # once for the team
    assert total["net_new"] == "2" and total["push_rate"] == "66.7%"  # alice 2 - 2, bob 2; 2 of 3 confirmed
    assert 'data-tile="reply_rate">50.0%' in html

    sheet = _xlsx(client.get(f"/team/export?dept=2&{PERIOD}"))
    keys = [key for key, _l, _k in COLUMNS]
    exported = {r[1]: dict(zip(keys, r[2:])) for r in sheet[1:-1]}
    assert exported == rows and sheet[-1][0] == "合计" and dict(zip(keys, sheet[-1][2:])) == total

    header = {"Authorization": f"Bearer {tokens.issue('bi', 'admin', created_by='test')[1]}"}
    api = client.get(f"/api/v1/team/overview?dept=2&{PERIOD}", headers=header).get_json()
    assert {s["userid"]: {k: show(k, s["figures"][k]) for k in keys} for s in api["staff"]} == rows
    assert {k: show(k, api["totals"][k]) for k in keys} == total
    bob = next(s for s in api["staff"] if s["userid"] == "bob")
    assert bob["figures"]["reply_rate"] is None  # missing, not 0


def test_the_overview_export_holds_numbers_that_excel_can_sort_and_sum(client, signed_in_as, team):
    from app.team.report import COLUMNS

    signed_in_as("admin")
    keys = [key for key, _l, _k in COLUMNS]
    cells = [row for row in load_workbook(io.BytesIO(client.get(f"/team/export?dept=2&{PERIOD}").data)).active
             .iter_rows()]
    staff = {row[1].value: dict(zip(keys, row[2:])) for row in cells[1:-1]}
    total = dict(zip(keys, cells[-1][2:]))
    alice = staff["alice"]
    assert (alice["adds"].value, alice["adds"].number_format) == (2, "#,##0")
    assert (alice["push_rate"].value, alice["push_rate"].number_format) == (1, "0.0%")  # a fraction, shown as 100.0%
    assert total["push_rate"].value == 0.6667 and alice["reply_minutes"].value == 12  # as the API gives them
    assert (alice["gmv_fen"].value, alice["gmv_fen"].number_format) == (123.45, '"¥"#,##0.00')  # yuan
    assert staff["bob"]["reply_rate"].value is None  # nothing to measure: an empty cell, not 0 nor text
    assert sum(s["adds"].value for s in staff.values()) == total["adds"].value  # SUM() over the column works

    card = list(load_workbook(io.BytesIO(client.get(f"/team/staff/alice/export?{PERIOD}").data)).active.iter_rows())
    assert (card[1][0].value, card[1][0].number_format) == (datetime.combine(TODAY - timedelta(days=6), time()),
                                                            "yyyy-mm-dd")  # a day Excel can sort and filter by
    csv = client.get(f"/team/export?dept=2&format=csv&{PERIOD}").get_data(as_text=True).lstrip("\ufeff").splitlines()
    plain = dict(zip(keys, csv[-1].split(",")[2:]))
    assert (plain["adds"], plain["push_rate"], plain["gmv_fen"]) == (str(total["adds"].value), "0.6667", "123.45")


def test_scorecard_lists_the_lost_customers_and_matches_its_export_and_api(client, signed_in_as, team):
    from app.team.report import COLUMNS, show

    signed_in_as("admin")
    html = client.get(f"/team/staff/alice?{PERIOD}").get_data(as_text=True)
    assert "流失的赵六" in html and "/contacts/wm-lost" in html and "客户删除了员工" in html
    days = _page_cells(html, "data-day")
    assert days[D2.isoformat()]["reply_rate"] == "—" and days[D1.isoformat()]["reply_rate"] == "50.0%"
    sheet = _xlsx(client.get(f"/team/staff/alice/export?{PERIOD}"))
    keys = [key for key, _l, _k in COLUMNS]
    assert {r[0]: dict(zip(keys, r[1:])) for r in sheet[1:-1]} == days
    header = {"Authorization": f"Bearer {tokens.issue('bi', 'admin', created_by='test')[1]}"}
    api = client.get(f"/api/v1/team/staff/alice?{PERIOD}", headers=header).get_json()
    assert {d["day"]: {k: show(k, d["figures"][k]) for k in keys} for d in api["days"]} == days
    assert {(x["external_userid"], x["ended_by"]) for x in api["lost"]} == {("wm-lost", "customer"),
                                                                           ("wm-gone", "staff")}
    assert api["days"][-2]["figures"]["reply_rate"] is None


def test_a_supervisor_sees_only_the_departments_they_lead(client, signed_in_as, team):
    signed_in_as("supervisor", wecom_userid="alice")
    html = client.get(f"/team/?{PERIOD}").get_data(as_text=True)
    assert "销售部" in html and "华北组" in html and "客服部" not in html and "陈卡" not in html
    assert set(_page_cells(html, "data-userid")) == {"alice", "bob"}
    assert client.get(f"/team/?dept=4&{PERIOD}").status_code == 404
    assert client.get(f"/team/?dept=1&{PERIOD}").status_code == 404
    assert client.get(f"/team/export?dept=4&{PERIOD}").status_code == 404
    assert client.get(f"/team/staff/carol?{PERIOD}").status_code == 404
    assert client.get(f"/team/staff/carol/export?{PERIOD}").status_code == 404
    everyone = _xlsx(client.get(f"/team/export?{PERIOD}"))
    assert {r[1] for r in everyone[1:-1]} == {"alice", "bob"} and everyone[-1][-1] == "¥123.45"  # not carol's ¥999
    # an API token carries no WeCom member: a supervisor's token sees no department and no one
    header = {"Authorization": f"Bearer {tokens.issue('boss', 'supervisor', created_by='test')[1]}"}
    assert client.get(f"/api/v1/team/overview?dept=2&{PERIOD}", headers=header).status_code == 404
    assert client.get(f"/api/v1/team/staff/carol?{PERIOD}", headers=header).status_code == 404
    assert client.get(f"/api/v1/team/overview?{PERIOD}", headers=header).get_json()["staff"] == []


def test_bad_periods_are_refused_naming_the_field(client, signed_in_as, team):
    signed_in_as("admin")
    too_long = f"start={(TODAY - timedelta(days=200)).isoformat()}&end={(TODAY - timedelta(days=1)).isoformat()}"
    response = client.get(f"/team/?{too_long}")
    assert response.status_code == 400 and "180" in response.get_data(as_text=True)
    response = client.get("/team/?start=2026-13-01")
    assert response.status_code == 400 and "start" in response.get_data(as_text=True)
    assert client.get("/team/?dept=abc").status_code == 400
    header = {"Authorization": f"Bearer {tokens.issue('bi', 'admin', created_by='test')[1]}"}
    answer = client.get(f"/api/v1/team/overview?start={TODAY.isoformat()}&end={D1.isoformat()}", headers=header)
    assert answer.status_code == 400 and "start" in answer.get_json()["error"]["message"]


def test_navigation_leads_supervisors_and_admins_to_the_team_pages(client, signed_in_as, make_user):
    signed_in_as("supervisor", wecom_userid="alice")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/team/"' in home
    client.get("/auth/logout")
    operator = make_user("operator")
    from tests.conftest import sign_in
    sign_in(client, operator.username)
    assert 'href="/team/"' not in client.get("/").get_data(as_text=True)
    assert client.get("/team/").status_code == 403


def test_the_csv_export_writes_rates_to_4_places_and_minutes_to_1():
    from app.core.export import csv_response
    from app.team.report import exported

    cells = [exported("reply_rate", 14 / 31), exported("reply_minutes", 37 / 3), exported("adds", 3.0),
             exported("reply_rate", None)]
    line = csv_response(["a", "b", "c", "d"], [cells], "t.csv").get_data(as_text=True).splitlines()[-1]
    assert line == "0.4516,12.3,3,"  # nothing to measure: an empty cell
