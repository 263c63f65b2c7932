"""Targets, alerts, rankings and names on the team pages, as a supervisor meets them: an alert fires once per breach
(one app message to the department's leader) and again only after it ended; a supervisor never sees or sets targets
of departments they do not lead; same-named members told apart; the ranking and the targets equal their exports."""
import io
import re
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from app.contacts.models import Customer, Department, FollowRelation, Staff
from app.core import settings, tokens
from app.extensions import db
from app.staffmsg.models import StaffMessage
from app.team import alerts, report
from app.team.models import Alert, Target, Weights
from app.welcome.models import Channel
from tests.conftest import csrf_token

T = date(2026, 11, 16)   # the alert runs' "today": November has 15 complete days, half the month
MONTH = "2026-11"


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=settings.corp_timezone())


def _xlsx(response) -> list[list]:
    return [[c.value for c in row] for row in load_workbook(io.BytesIO(response.data)).active.iter_rows()]


@pytest.fixture
def company(app):
    """公司 (1) > 销售部 (2, led by alice: alice, bob) and 客服部 (4, led by dave: carol, dave); two 蔡杰."""
    db.session.add_all([
        Department(id=1, name="公司", parent_id=0), Department(id=2, name="销售部", parent_id=1, leader_userids=["alice"]),
        Department(id=4, name="客服部", parent_id=1, leader_userids=["dave"]),
        Staff(userid="alice", name="王丽", position="销售主管", department_ids=[2], is_follow_user=True),
        Staff(userid="bob", name="蔡杰", position="销售", department_ids=[2], is_follow_user=True),
        Staff(userid="bob2", name="蔡杰", position="销售", department_ids=[2], is_follow_user=True),
        Staff(userid="carol", name="陈卡", position="客服", department_ids=[4], is_follow_user=True),
        Staff(userid="dave", name="戴维", position="客服主管", department_ids=[4], is_follow_user=True),
        Channel(name="直播间", config_id="cfg-live", state="live"),
    ])
    db.session.commit()


def _adds(userid: str, day: date, n: int, state: str = "") -> None:
    for i in range(n):
        ext = f"wm-{userid}-{day.isoformat()}-{state}-{i}"
        db.session.add(Customer(external_userid=ext, name=ext))
        db.session.flush()
        db.session.add(FollowRelation(userid=userid, external_userid=ext, added_at=at(day), state=state))
    db.session.commit()


def _messages() -> list[tuple[str, str]]:
    return list(db.session.execute(select(StaffMessage.userid, StaffMessage.title).order_by(StaffMessage.id)))


def test_an_alert_fires_once_per_breach_and_tells_the_departments_leader_once(app, company):
    # 销售部 should add 100 customers in November: 50 by half the month; bob added 10 (20 %): red
    db.session.add(Target(month=MONTH, scope_kind="department", scope_value="2", figure="adds", value=100))
    db.session.commit()
    _adds("bob", date(2026, 11, 3), 10)
    assert alerts.evaluate(T)["opened"] == 1
    alert = db.session.scalar(select(Alert))
    assert (alert.rule, alert.level, alert.scope_value, alert.closed_at) == ("under_target", "red", "2", None)
    assert alert.details["actual"] == 10 and alert.details["expected"] == 50
    assert [row["userid"] for row in alert.details["breakdown"]["staff"]][:1] == ["alice"]  # furthest behind first
    assert _messages() == [("alice", "预警：销售部 新增客户低于目标")]  # the leader of 销售部, not dave

    for _run in range(2):  # the breach goes on: the same alert, no second message
        assert alerts.evaluate(T) == {"breaches": 1, "opened": 0, "closed": 0}
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 1 and len(_messages()) == 1

    _adds("bob2", date(2026, 11, 10), 40)  # 50 of the 50 expected: the breach ends, the alert closes
    assert alerts.evaluate(T)["closed"] == 1
    assert db.session.scalar(select(Alert)).closed_at is not None

    db.session.execute(delete(FollowRelation).where(FollowRelation.userid == "bob2"))  # under again: a new breach
    db.session.commit()
    assert alerts.evaluate(T)["opened"] == 1
    assert db.session.scalar(select(func.count()).select_from(Alert).where(Alert.closed_at.is_(None))) == 1
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 2 and len(_messages()) == 2


def test_a_drop_in_adds_is_explained_by_channel_and_member(app, company):
    before, yesterday = T - timedelta(days=2), T - timedelta(days=1)
    _adds("bob", before, 10, "live")
    _adds("bob2", before, 4)
    _adds("bob2", yesterday, 5)   # 14 -> 5: the live-stream channel (bob) dried up
    outcome = alerts.evaluate(T)
    assert outcome["opened"] == 1
    alert = db.session.scalar(select(Alert))
    assert (alert.rule, alert.scope_value, alert.period, alert.details["adds"]) == \
        ("adds_drop", "2", yesterday.isoformat(), [14, 5])
    channels = alert.details["breakdown"]["channels"]
    assert channels[0] == {"channel": "直播间", "state": "live", "days": [10, 0], "change": -10}
    assert alert.details["breakdown"]["staff"][0]["userid"] == "bob"
    assert alert.details["breakdown"]["staff"][0]["name"] == "蔡杰（销售部 · bob）"
    assert alerts.evaluate(T)["opened"] == 0 and len(_messages()) == 1


def test_a_supervisor_sees_and_sets_targets_only_of_the_departments_they_lead(client, signed_in_as, company):
    month = report.today().strftime("%Y-%m")
    db.session.add_all([Target(month=month, scope_kind="department", scope_value="4", figure="adds", value=30),
                        Target(month=month, scope_kind="department", scope_value="2", figure="adds", value=60),
                        Target(month=month, scope_kind="staff", scope_value="carol", figure="reply_rate", value=0.9)])
    db.session.add(Alert(key="x", rule="under_target", level="red", scope_kind="department", scope_value="4",
                         figure="adds", period=month, details={"actual": 1, "expected": 10, "ratio": 0.1, "days": 3}))
    db.session.commit()
    signed_in_as("supervisor", wecom_userid="alice")
    page = client.get(f"/team/goals?month={month}").get_data(as_text=True)
    assert 'data-scope="department:2"' in page and 'data-scope="department:4"' not in page
    assert "data-scope=\"staff:carol\"" not in page and "客服部" not in page and 'data-alert="' not in page
    assert "客服部" not in client.get("/").get_data(as_text=True)  # nor on the home page
    assert _xlsx(client.get("/team/alerts/export"))[1:] == []  # 客服部's alert is not exported to them either
    token = tokens.issue("boss", "admin", created_by="test")[1]
    assert [a["scope_value"] for a in client.get("/api/v1/team/alerts",
                                                  headers={"Authorization": f"Bearer {token}"}).get_json()] == ["4"]
    sheet = _xlsx(client.get(f"/team/goals/export?month={month}"))
    assert [row[2] for row in sheet[1:]] == ["销售部"]

    for scope_kind, scope_value in (("department", "4"), ("staff", "carol"), ("role", "客服"), ("department", "1")):
        client.post("/team/goals", data={"csrf_token": csrf_token(client, "/team/goals"), "month": month, "scope_kind": scope_kind,
                                         "scope_value": scope_value, "figure": "adds", "value": "5"})
    assert db.session.scalar(select(func.count()).select_from(Target)) == 3  # every one refused
    refused = client.post("/team/goals", data={"csrf_token": csrf_token(client, "/team/goals"), "month": month, "scope_kind": "department",
                                               "scope_value": "4", "figure": "adds", "value": "5"},
                          follow_redirects=True).get_data(as_text=True)
    assert "不在您负责的部门之内" in refused
    target_4 = db.session.scalar(select(Target.id).where(Target.scope_value == "4"))
    assert client.post(f"/team/goals/{target_4}/delete", data={"csrf_token": csrf_token(client, "/team/goals")}).status_code == 404

    client.post("/team/goals", data={"csrf_token": csrf_token(client, "/team/goals"), "month": month, "scope_kind": "staff",
                                     "scope_value": "bob", "figure": "reply_rate", "value": "85"})
    saved = db.session.scalar(select(Target).where(Target.scope_value == "bob"))
    assert float(saved.value) == 0.85 and saved.created_by


def test_bad_targets_are_refused_naming_the_field(client, signed_in_as, company):
    signed_in_as("admin")
    for fields, words in (({"month": "2026-13"}, "YYYY-MM"), ({"value": "abc"}, "数字"), ({"value": "-1"}, "不小于 0"),
                          ({"figure": "push_rate", "value": "120"}, "最大 100"), ({"value": "2.5"}, "整数"),
                          ({"figure": "nope"}, "没有这个指标")):
        data = {"csrf_token": csrf_token(client, "/team/goals"), "month": "2026-12", "scope_kind": "department", "scope_value": "2",
                "figure": "adds", "value": "5", **fields}
        page = client.post("/team/goals", data=data, follow_redirects=True).get_data(as_text=True)
        assert words in page, fields
    assert db.session.scalar(select(func.count()).select_from(Target)) == 0


def test_same_named_members_are_told_apart_on_page_export_and_api(client, signed_in_as, company):
    signed_in_as("admin")
    page = client.get("/team/?dept=2").get_data(as_text=True)
    assert "蔡杰（销售部 · bob）" in page and "蔡杰（销售部 · bob2）" in page
    names = {row[1]: row[0] for row in _xlsx(client.get("/team/export?dept=2"))[1:-1]}
    assert names["bob"] == "蔡杰（销售部 · bob）" and names["alice"] == "王丽"
    header = {"Authorization": f"Bearer {tokens.issue('bi', 'admin', created_by='test')[1]}"}
    api = client.get("/api/v1/team/overview?dept=2", headers=header).get_json()
    assert {s["userid"]: s["label"] for s in api["staff"]}["bob2"] == "蔡杰（销售部 · bob2）"
    card = client.get("/team/staff/bob2").get_data(as_text=True)
    assert "蔡杰（销售部 · bob2）" in card
    assert "蔡杰（销售部 · bob）" in client.get("/team/ranking?dept=2").get_data(as_text=True)
    assert client.get("/team/?page=abc").status_code == 400  # the member table's page: a positive number


def test_rankings_per_role_with_weights_the_admin_edits_and_the_star(client, signed_in_as, company):
    last = report.today().replace(day=1) - timedelta(days=1)  # last month: the star's month
    _adds("bob", last, 6)
    _adds("bob2", last, 2)
    signed_in_as("admin")
    period = f"start={last.isoformat()}&end={last.isoformat()}"
    page = client.get(f"/team/ranking?dept=2&{period}").get_data(as_text=True)
    assert 'data-role="销售"' in page and "60/30/10" in page
    sheet = _xlsx(client.get(f"/team/ranking/export?dept=2&{period}"))
    sales = [row for row in sheet[1:] if row[0] == "销售"]
    assert [(row[2], row[4]) for row in sales] == [(1, "bob"), (2, "bob2")]  # ranks are numbers Excel can sort
    assert float(sales[0][5]) > float(sales[1][5])
    for row in sales:  # the page shows the export's scores
        assert re.search(rf'data-userid="{row[4]}">.*?data-col="score">{row[5]:.1f}<', page, re.S)  # a number in Excel
    overview = client.get("/team/?dept=2").get_data(as_text=True)
    assert 'data-star="bob"' in overview  # 「私域运营之星」 of last month among 销售

    bad = client.post("/team/ranking/weights", data={"csrf_token": csrf_token(client, "/team/goals"), "role": "销售", "core": "50",
                                                      "process": "30", "behavior": "10"}, follow_redirects=True)
    assert "必须等于 100" in bad.get_data(as_text=True) and db.session.get(Weights, "销售") is None
    client.post("/team/ranking/weights", data={"csrf_token": csrf_token(client, "/team/goals"), "role": "销售", "core": "20",
                                               "process": "40", "behavior": "40"})
    assert "20/40/40" in client.get(f"/team/ranking?dept=2&{period}").get_data(as_text=True)


def test_supervisors_may_not_change_the_company_wide_weights(client, signed_in_as, company):
    signed_in_as("supervisor", wecom_userid="alice")
    response = client.post("/team/ranking/weights", data={"csrf_token": csrf_token(client, "/team/goals"), "role": "", "core": "20",
                                                          "process": "40", "behavior": "40"})
    assert response.status_code == 403 and db.session.get(Weights, "") is None


def test_tiles_turn_red_amber_green_against_the_departments_target(client, signed_in_as, company):
    today = report.today()
    month = today.strftime("%Y-%m") if today.day > 1 else (today - timedelta(days=1)).strftime("%Y-%m")
    db.session.add_all([Target(month=month, scope_kind="department", scope_value="2", figure="net_new", value=10**6),
                        Target(month=month, scope_kind="department", scope_value="2", figure="losses", value=1000)])
    db.session.commit()
    signed_in_as("admin")
    page = client.get("/team/?dept=2").get_data(as_text=True)
    assert 'data-goal="red"' in page and 'data-goal-badge="net_new"' in page  # nothing added against a million
    assert 'data-goal-badge="losses"' in page and page.count('data-goal="green"') == 1  # no losses: on target
    goals_page = client.get(f"/team/goals?month={month}").get_data(as_text=True)
    assert goals_page.count('data-figure="net_new"') == 1 and "低于目标 20%" in goals_page
    # the page, the export and the API give the same attainment
    from app.team.scoreboard import percent
    sheet = load_workbook(io.BytesIO(client.get(f"/team/goals/export?month={month}").data)).active
    exported = {row[3].value: percent(row[7].value) for row in list(sheet.iter_rows())[1:]}  # a fraction, as 0.0%
    header = {"Authorization": f"Bearer {tokens.issue('bi', 'admin', created_by='test')[1]}"}
    api = client.get(f"/api/v1/team/goals?month={month}", headers=header).get_json()
    by_figure = {line["figure"]: line for line in api["targets"]}
    assert exported == {"净增客户": percent(by_figure["net_new"]["attainment"]),
                        "流失客户": percent(by_figure["losses"]["attainment"])}
    assert by_figure["net_new"]["colour"] == "red" and by_figure["losses"]["colour"] == "green"
    for figure, line in by_figure.items():
        assert re.search(rf'data-figure="{figure}">.*?data-col="ratio">{re.escape(percent(line["attainment"]))}<',
                         goals_page, re.S)


def test_the_goals_ranking_and_alerts_exports_hold_numbers_and_times_excel_can_use(client, signed_in_as, company):
    """Each target's figures as numbers shown as the figure is (counts whole, GMV in yuan, rates as percentages), the
    attainment as a fraction; ranks and scores as numbers; an alert's times as Excel times in the corp's timezone."""
    today = report.today()
    month = today.strftime("%Y-%m") if today.day > 1 else (today - timedelta(days=1)).strftime("%Y-%m")
    db.session.add_all([Target(month=month, scope_kind="staff", scope_value="alice", figure="gmv_fen", value=1234550),
                        Target(month=month, scope_kind="staff", scope_value="alice", figure="reply_rate", value=0.9),
                        Target(month=month, scope_kind="staff", scope_value="bob", figure="adds", value=1200),
                        Target(month=month, scope_kind="staff", scope_value="bob2", figure="adds", value=30)])
    opened = datetime(2026, 11, 16, 1, 30, tzinfo=settings.corp_timezone())
    db.session.add(Alert(key="y", rule="under_target", level="red", scope_kind="department", scope_value="2",
                         figure="adds", period=month, details={"actual": 1, "expected": 10, "ratio": 0.1, "days": 3},
                         opened_at=opened))
    db.session.commit()
    signed_in_as("admin")
    rows = list(load_workbook(io.BytesIO(client.get(f"/team/goals/export?month={month}").data)).active.iter_rows())
    by_figure = {row[3].value: row for row in rows[1:]}
    gmv, rate = by_figure["客户成交额 GMV"], by_figure["回复率"]
    assert (gmv[4].value, gmv[4].number_format) == (12345.5, '"¥"#,##0.00')  # yuan, not 1234550 fen nor "¥12,345.50"
    assert (rate[4].value, rate[4].number_format) == (0.9, "0.0%")
    adds = [row for row in rows[1:] if row[3].value == "新增客户"]
    assert [(row[4].value, row[4].number_format) for row in adds] == [(1200, "#,##0"), (30, "#,##0")]
    assert sum(row[4].value for row in adds) == 1230  # Excel's SUM over the filtered rows
    assert all(isinstance(row[6].value, (int, float)) and row[7].number_format == "0.0%" for row in adds)

    period = f"start={today.replace(day=1).isoformat()}&end={today.isoformat()}" if today.day > 1 else ""
    ranking = list(load_workbook(io.BytesIO(client.get(f"/team/ranking/export?dept=2&{period}").data)).active
                   .iter_rows())[1:]
    assert ranking and all(isinstance(row[2].value, int) and isinstance(row[5].value, (int, float)) for row in ranking)
    assert ranking[0][5].number_format == "0.0"

    alert = next(row for row in list(load_workbook(io.BytesIO(client.get("/team/alerts/export").data)).active
                                     .iter_rows())[1:] if row[0].value is not None)
    assert alert[7].value == datetime(2026, 11, 16, 1, 30) and alert[7].number_format == "yyyy-mm-dd hh:mm"  # local
    assert alert[8].value is None  # still open: an empty cell
    csv = client.get("/team/alerts/export?format=csv").get_data(as_text=True)
    assert "2026-11-16 01:30" in csv
