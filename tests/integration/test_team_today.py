"""Today's team figures summed by the minute job (app/team/live.py): the same figures as the source tables, read from
its rows while they are fresh (a change after the run shows after the next run), the sources again once the job has
stopped, and 截至 HH:MM said alike on the page, in the export and by the API."""
from datetime import timedelta

from sqlalchemy import select, update

from app.contacts.models import Customer, FollowRelation
from app.core import tokens
from app.core.db import utcnow
from app.extensions import db
from app.rfm.models import Order
from app.tasks.models import Task
from app.team import live, report, rollup
from app.team.models import LiveDay
from app.web import localtime
from tests.integration.test_team_rollup import ADMIN, ALICE, everything
from tests.web.test_team_pages import D1, _xlsx, at, team  # noqa: F401  (the fixture)


def _today_events() -> None:
    """Today: bob adds a customer who pays; alice's follow-up task due this morning was done in time."""
    today = report.today()
    db.session.add(Customer(external_userid="wm-today", name="今天的客户"))
    db.session.add_all([
        FollowRelation(userid="bob", external_userid="wm-today", added_at=at(today, 0)),
        Order(order_id="SO-T", external_userid="wm-today", amount_fen=700, status="paid", paid_at=at(today, 0),
              source="csv"),
        Task(assignee="alice", title="跟进", due_at=at(today, 0), state="done", done_at=at(today, 0)),
    ])
    db.session.commit()


def test_todays_rows_give_the_figures_of_the_source_tables_and_are_what_is_read(app, team):  # noqa: F811
    _today_events()
    today = report.today()
    period = report.Period(today - timedelta(days=9), today)
    rollup.build(today)  # the complete days from the nightly roll-up, today from the sources
    from_sources = everything(period)
    company = from_sources[0][0][0]
    assert company["adds"] == 6 and company["gmv_fen"] == 12345 + 99900 + 700 and company["sla_due"] == 1

    live.refresh()
    assert everything(period) == from_sources
    # the figures of today now come from the rows: a source row of today added after the run shows after the next
    db.session.add(FollowRelation(userid="alice", external_userid="wm-today", added_at=at(today, 0)))
    db.session.commit()
    assert everything(period) == from_sources
    live.refresh()
    assert report.overview(ADMIN, 2, period).totals["adds"] == from_sources[0][1][0]["adds"] + 1
    assert report.overview(ADMIN, 2, period).totals["gmv_fen"] == 12345 + 700  # the order still counts once
    # a supervisor's overview of today is still only of the departments they lead
    assert {s.userid for s, _f in report.overview(ALICE, None, period).rows} == {"alice", "bob"}
    assert report.overview(ALICE, None, period).totals["gmv_fen"] == 12345 + 700  # not carol's ¥999


def test_rows_of_a_stopped_job_give_way_to_the_source_tables(app, team):  # noqa: F811
    today = report.today()
    period = report.Period(today, today)
    live.refresh()
    db.session.add(FollowRelation(userid="bob", external_userid="wm-a2", added_at=at(today, 0)))
    db.session.commit()
    summed = db.session.scalar(select(LiveDay.built_at))
    fresh = report.overview(ADMIN, None, period)
    assert fresh.totals["adds"] == 0 and fresh.as_of == summed  # the run before the add

    db.session.execute(update(LiveDay).values(built_at=utcnow() - rollup.LIVE_FRESH - timedelta(minutes=1)))
    db.session.commit()
    stale = report.overview(ADMIN, None, period)
    assert stale.totals["adds"] == 1 and stale.as_of > summed  # counted now from the sources


def test_a_period_without_today_has_no_as_of(app, team):  # noqa: F811
    live.refresh()
    assert report.overview(ADMIN, None, report.Period(D1, D1)).as_of is None


def test_page_export_and_api_say_the_same_time_and_figures(app, client, signed_in_as, team):  # noqa: F811
    from app.team.report import COLUMNS, show

    _today_events()
    live.refresh()
    summed = db.session.scalar(select(LiveDay.built_at))
    today = report.today().isoformat()
    span = f"start={today}&end={today}"
    signed_in_as("admin")
    html = client.get(f"/team/?{span}").get_data(as_text=True)
    with app.test_request_context():
        shown = localtime(summed, "%H:%M"), localtime(summed)
    assert f"含今天的数据截至 {shown[0]}" in html
    sheet = _xlsx(client.get(f"/team/export?{span}"))
    assert sheet[-1][:2] == ["含今天的数据截至", shown[1]] and sheet[-2][0] == "合计"
    keys = [key for key, _l, _k in COLUMNS]
    header = {"Authorization": f"Bearer {tokens.issue('bi', 'admin', created_by='test')[1]}"}
    api = client.get(f"/api/v1/team/overview?{span}", headers=header).get_json()
    assert api["as_of"][:19] == summed.isoformat()[:19]
    assert [show(k, api["totals"][k]) for k in keys] == sheet[-2][2:]
    assert api["totals"]["sla_rate"] == 1.0 and api["totals"]["net_new"] == 1
