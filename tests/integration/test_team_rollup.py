"""The roll-up the team pages read: the same figures as the source tables for every selection (company, department,
a supervisor's team, one member), today still live, and a department whose members changed not read from stale rows."""
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import func, select

from app.contacts.models import FollowRelation, Staff
from app.extensions import db
from app.team import report, rollup
from app.team.models import StaffDay
from tests.web.test_team_pages import D2, TODAY, at, team  # noqa: F401  (the fixture)

ADMIN = SimpleNamespace(role="admin", wecom_userid=None)
ALICE = SimpleNamespace(role="supervisor", wecom_userid="alice")
PERIOD = report.Period(TODAY - timedelta(days=9), TODAY)  # today is never in the roll-up


def everything(period=PERIOD):
    """The figures of every selection and scorecard over `period` (what the pages, exports and API show)."""
    views = [report.overview(ADMIN, None, period), report.overview(ADMIN, 2, period),
             report.overview(ADMIN, 3, period), report.overview(ALICE, None, period)]
    cards = [report.scorecard(ADMIN, userid, period) for userid in ("alice", "bob", "carol")]
    return ([(v.totals, v.series, [(s.userid, f) for s, f in v.rows]) for v in views],
            [(c.totals, c.series) for c in cards])


def test_the_roll_up_gives_the_figures_of_the_source_tables(app, team):  # noqa: F811
    db.session.add(FollowRelation(userid="bob", external_userid="wm-c1", added_at=at(TODAY, 0)))  # today: live
    db.session.commit()
    live = everything()
    assert live[0][0][0]["adds"] == 6  # bob's add of today among them

    outcome = rollup.build(TODAY)
    assert outcome["staff_days"] > 0 and db.session.scalar(select(func.count()).select_from(StaffDay)) > 0
    assert everything() == live
    # the figures really come from the roll-up: a source row changed after the build shows only after the next one
    relation = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == "wm-a2"))
    relation.added_at = at(D2 - timedelta(days=1))
    db.session.commit()
    assert everything() == live
    rollup.build(TODAY)
    assert everything()[0][0][1] != live[0][0][1]  # the adds moved a day


def test_a_department_whose_members_changed_is_not_read_from_its_old_rows(app, team):  # noqa: F811
    rollup.build(TODAY)
    carol = db.session.scalar(select(Staff).where(Staff.userid == "carol"))
    carol.department_ids = [3]  # carol moves into 华北组 (under 销售部) after the build
    db.session.commit()
    sales = report.overview(ADMIN, 2, PERIOD)
    assert {s.userid for s, _f in sales.rows} == {"alice", "bob", "carol"}
    assert sales.totals["gmv_fen"] == 12345 + 99900  # carol's customer's order counts now, once
    assert sales.totals["losses"] == 3
