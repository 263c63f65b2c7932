"""The follow-up SLA on the team pages (跟进SLA达成率): tasks done on time out of the tasks due, the same on the
overview, the scorecard, their exports and the API, before and after the nightly roll-up; red/amber/green against a
department's or a member's target; a member who follows up in time ranks above one who does not."""
from datetime import timedelta

from app.core import tokens
from app.extensions import db
from app.tasks.models import Task
from app.team import ranking, report, rollup
from app.team.models import Target
from tests.web.test_team_pages import D1, D2, PERIOD, _page_cells, _xlsx, at, team  # noqa: F401  (the fixture)


def _tasks() -> None:
    """alice: due D1 done in time, due D1 done late, due D2 still open (overdue), one cancelled, one due next week."""
    future = report.today() + timedelta(days=7)
    db.session.add_all([
        Task(assignee="alice", title="回访", due_at=at(D1, 18), state="done", done_at=at(D1, 10)),
        Task(assignee="alice", title="回访", due_at=at(D1, 18), state="done", done_at=at(D2, 9)),
        Task(assignee="alice", title="回访", due_at=at(D2, 18), state="open"),
        Task(assignee="alice", title="回访", due_at=at(D2, 18), state="cancelled"),
        Task(assignee="alice", title="回访", due_at=at(future, 18), state="open"),
        Task(assignee="bob", title="回访", due_at=at(D2, 18), state="done", done_at=at(D2, 17)),
        Task(assignee="carol", title="回访", due_at=at(D2, 18), state="open"),
    ])
    db.session.commit()


def _figures(client, header) -> tuple:
    html = client.get(f"/team/?dept=2&{PERIOD}").get_data(as_text=True)
    rows, total = _page_cells(html, "data-userid"), _page_cells(html, "data-total-row")[""]
    sheet = _xlsx(client.get(f"/team/export?dept=2&{PERIOD}"))
    api = client.get(f"/api/v1/team/overview?dept=2&{PERIOD}", headers=header).get_json()
    card = client.get(f"/team/staff/alice?{PERIOD}").get_data(as_text=True)
    return html, rows, total, sheet, api, card, _page_cells(card, "data-day")


def test_the_sla_tile_and_column_agree_on_pages_exports_and_api(client, signed_in_as, team):  # noqa: F811
    from app.team.report import COLUMNS

    _tasks()
    signed_in_as("admin")
    header = {"Authorization": f"Bearer {tokens.issue('bi', 'admin', created_by='test')[1]}"}
    before = _figures(client, header)
    html, rows, total, sheet, api, card, days = before
    assert (rows["alice"]["sla_due"], rows["alice"]["sla_on_time"], rows["alice"]["sla_rate"]) == ("3", "1", "33.3%")
    assert rows["bob"]["sla_rate"] == "100.0%" and total["sla_rate"] == "50.0%"  # 2 of 4; carol is not in 销售部
    assert 'data-tile="sla_rate">50.0%' in html and "按时 2 / 到期 4 个跟进任务" in html
    keys = [key for key, _l, _k in COLUMNS]
    assert {r[1]: dict(zip(keys, r[2:])) for r in sheet[1:-1]}["alice"]["sla_rate"] == "33.3%"
    alice = next(s for s in api["staff"] if s["userid"] == "alice")["figures"]
    assert (alice["sla_due"], alice["sla_on_time"], alice["sla_rate"]) == (3, 1, 0.3333)
    assert api["totals"]["sla_rate"] == 0.5
    assert days[D1.isoformat()]["sla_rate"] == "50.0%" and days[D2.isoformat()]["sla_rate"] == "0.0%"
    assert 'data-tile="sla_rate">33.3%' in card

    rollup.build(report.today())  # the nightly roll-up gives the same
    after = _figures(client, header)
    assert after[1:5] == before[1:5] and after[6] == before[6]


def test_the_sla_tile_turns_red_against_a_target_on_the_overview_and_the_scorecard(client, signed_in_as,
                                                                                   team):  # noqa: F811
    today = report.today()
    yesterday = today - timedelta(days=1)  # always in the month the tiles measure (on the 1st: last month)
    db.session.add_all([
        Task(assignee="alice", title="回访", due_at=at(yesterday, 18), state="open"),
        Task(assignee="bob", title="回访", due_at=at(yesterday, 18), state="done", done_at=at(yesterday, 17)),
        Target(month=yesterday.strftime("%Y-%m"), scope_kind="department", scope_value="2", figure="sla_rate",
               value=0.9),
        Target(month=yesterday.strftime("%Y-%m"), scope_kind="staff", scope_value="bob", figure="sla_rate", value=0.9),
    ])
    db.session.commit()
    signed_in_as("supervisor", wecom_userid="alice")
    overview = client.get("/team/").get_data(as_text=True)  # the department alice leads: 1 of 2 in time
    assert 'data-goal="red"' in overview and 'data-goal-badge="sla_rate"' in overview
    bob = client.get("/team/staff/bob").get_data(as_text=True)  # bob: 1 of 1 against 90 %
    assert 'data-goal="green"' in bob and 'data-goal-badge="sla_rate"' in bob
    assert 'data-goal-badge' not in client.get("/team/staff/alice").get_data(as_text=True)  # no target of hers
    # a supervisor still sees no department they do not lead, nor its members' scorecards
    assert client.get("/team/staff/carol").status_code == 404
    assert client.get("/team/?dept=4").status_code == 404


def test_a_member_who_follows_up_in_time_ranks_higher(app, team):  # noqa: F811
    from types import SimpleNamespace

    punctual, late = (SimpleNamespace(userid=u, name=u, position="销售") for u in ("p", "l"))
    same = {"net_new": 1, "gmv_fen": 0, "push_rate": None, "reply_rate": None, "welcome_rate": None,
            "reply_minutes": None, "group_activity": None, "lost_by_staff": 0}
    ranked = ranking.rank_role([(late, {**same, "sla_rate": 0.2}), (punctual, {**same, "sla_rate": 1.0})],
                               ranking.DEFAULT_WEIGHTS)
    assert [r.staff.userid for r in ranked] == ["p", "l"] and ranked[0].classes["process"] == 100.0
