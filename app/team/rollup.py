"""The team roll-up: every figure's sums per staff member and complete corp-local day, and per selection of staff
(the company, a department and below) and day, rebuilt nightly by a job; pages, exports and the API read it for the
days it holds and compute the rest (today, or days before the first build) from the source tables, the same way.

One build rewrites the whole window (the last 180 complete days) in one transaction, so late data (a snapshot
fetched again, orders imported for past days, a member who moved) is in after the next build, and a page never
reads half a build. A selection's rows are read only while it still holds the same members as when they were built.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Callable

from sqlalchemy import and_, case, delete, func, insert, literal, literal_column, or_, select, true, union_all

from app.contacts.models import Department, FollowRelation, Staff
from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.rfm.models import Order
from app.team.figures import SUMS, Collector, Period, local_date
from app.team.models import (LiveDay, LiveSelectionDay, LiveStaffDay, RollupDay, SelectionDay, SelectionMember,
                             StaffDay, StaffRunning)
from app.team.snapshot import runs

log = logging.getLogger("scrm.team.rollup")

WINDOW_DAYS = 180   # the longest period the pages offer
ALL = "all"         # the selection of every staff member (every relation, also of members who left)
ORDER_SUMS = ("orders", "gmv_fen")
LIVE_FRESH = timedelta(minutes=3)  # today's rows older than this (the minute job stopped) give way to the sources


def department_key(department_id: int) -> str:
    return f"dept:{department_id}"


def _row(key_column, day_column, sums: dict):
    """A select's columns in the roll-up's order; sums it does not have are 0."""
    return [key_column.label("key"), day_column.label("day"),
            *[(sums[name] if name in sums else literal_column("0")).label(name) for name in SUMS]]


def _summed(parts: list, model, key_name: str):
    rows = union_all(*parts).subquery()
    return insert(model).from_select([key_name, "day", *SUMS], select(
        rows.c.key, rows.c.day, *[func.sum(rows.c[name]) for name in SUMS]).group_by(rows.c.key, rows.c.day))


def staff_days(c: Collector, into=StaffDay):
    """Every source grouped by (staff member, day), orders of the customers each member follows or followed."""
    parts = [select(*_row(staff, day, sums)).where(*where).group_by(staff, day)
             for staff, day, sums, where in c.sources()]
    o, r = Order, FollowRelation
    paid_day = local_date(o.paid_at)
    parts.append(select(*_row(r.userid, paid_day, {"orders": func.count(), "gmv_fen": func.sum(o.amount_fen)}))
                 .select_from(o).join(r, r.external_userid == o.external_userid).where(*c.paid())
                 .group_by(r.userid, paid_day))
    return _summed(parts, into, "userid")


def _running():
    """StaffDay as running totals: every member with a staff day, on every day of the window (RollupDay)."""
    s = StaffDay
    users = select(s.userid).distinct().subquery()
    grid = select(users.c.userid, RollupDay.day).select_from(users.join(RollupDay, true())).subquery()
    totals = [func.sum(func.coalesce(getattr(s, name), 0)).over(partition_by=grid.c.userid, order_by=grid.c.day)
              for name in SUMS]
    return insert(StaffRunning).from_select(["userid", "day", *SUMS], select(grid.c.userid, grid.c.day, *totals)
                                            .select_from(grid.outerjoin(s, and_(s.userid == grid.c.userid,
                                                                                s.day == grid.c.day))))


def selections() -> dict[str, set[str]]:
    """Each department's selection as the overview makes it: members with customer contact, still in the directory,
    in the department or any below it (a member of two departments counts once)."""
    parents = dict(db.session.execute(select(Department.id, Department.parent_id)).all())
    members: dict[str, set[str]] = {}
    staff = db.session.execute(select(Staff.userid, Staff.department_ids)
                               .where(Staff.removed_at.is_(None), Staff.is_follow_user.is_(True)))
    for userid, departments in staff:
        for department in departments or []:
            seen = set()
            while department in parents and department not in seen:  # the department and every one above it
                seen.add(department)
                members.setdefault(department_key(department), set()).add(userid)
                department = parents[department]
    return members


def selection_days(c: Collector, staff=StaffDay, into=SelectionDay):
    """The selections' sums per day of the collector's period: the members' staff days (rows of `staff`) added up,
    and orders counted once per selection."""
    s, m, o, r = staff, SelectionMember, Order, FollowRelation
    first, last = c.period.first, c.period.last
    in_window = (s.day >= first, s.day <= last)
    others = {name: func.sum(getattr(s, name)) for name in SUMS if name not in ORDER_SUMS}
    parts = [select(*_row(literal(ALL), s.day, others)).where(*in_window).group_by(s.day),
             select(*_row(m.key, s.day, others)).join(m, m.userid == s.userid).where(*in_window)
             .group_by(m.key, s.day)]
    paid_day = local_date(o.paid_at)
    followed = select(r.external_userid)
    parts.append(select(*_row(literal(ALL), paid_day, {"orders": func.count(), "gmv_fen": func.sum(o.amount_fen)}))
                 .where(*c.paid(), o.external_userid.in_(followed)).group_by(paid_day))
    once = (select(m.key.label("key"), o.id.label("order_id"), paid_day.label("day"), o.amount_fen.label("amount"))
            .join(r, r.external_userid == o.external_userid).join(m, m.userid == r.userid)
            .where(*c.paid()).distinct().subquery())
    parts.append(select(*_row(once.c.key, once.c.day, {"orders": func.count(), "gmv_fen": func.sum(once.c.amount)}))
                 .group_by(once.c.key, once.c.day))
    return _summed(parts, into, "key")


def build(today: date | None = None, progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Rebuild the roll-up of the last WINDOW_DAYS complete days in one transaction."""
    progress = progress or (lambda done, total, message: None)
    today = today or datetime.now(settings.corp_timezone()).date()
    first, last = today - timedelta(days=WINDOW_DAYS), today - timedelta(days=1)
    c = Collector(None, Period(first, last))
    members = selections()
    with transaction():
        for model in (StaffDay, StaffRunning, SelectionDay, SelectionMember, RollupDay):
            db.session.execute(delete(model))
        progress(0, 3, "staff days")
        db.session.execute(staff_days(c))
        db.session.execute(insert(RollupDay), [{"day": day, "built_at": utcnow()} for day in c.period.days])
        db.session.execute(_running())
        progress(1, 3, "selections")
        member_rows = [{"key": key, "userid": userid} for key, userids in members.items() for userid in userids]
        if member_rows:
            db.session.execute(insert(SelectionMember), member_rows)
        db.session.execute(selection_days(c))
        progress(2, 3, "done")
    rows = db.session.scalar(select(func.count()).select_from(StaffDay))
    log.info("team roll-up %s..%s: %d staff days, %d selections", first, last, rows, len(members) + 1)
    progress(3, 3, "")
    return {"first": first.isoformat(), "last": last.isoformat(), "staff_days": rows,
            "selections": len(members) + 1}


def run_job(job) -> dict:
    """The job kind's entry (后台任务 «团队绩效汇总与预警»): the build, then the alert rules on the new figures."""
    from app.team import alerts

    return {**build(progress=job.progress), **alerts.evaluate()}


def built_at() -> datetime | None:
    return db.session.scalar(select(func.max(RollupDay.built_at)))


# -- reading ---------------------------------------------------------------------------------------------------


def _selection_holds(key: str | None, userids: list[str] | None) -> bool:
    if key is None:
        return False
    if key == ALL:
        return userids is None
    held = set(db.session.scalars(select(SelectionMember.userid).where(SelectionMember.key == key)))
    return userids is not None and held == set(userids)


def _in_runs(column, day_runs: list[tuple[date, date]]):
    return or_(*[column.between(a, b) for a, b in day_runs])


def _add(target, values: dict) -> None:
    if target is not None:
        target.add({name: float(value or 0) for name, value in values.items()})


def _live(period: Period, held: set[date]) -> tuple[date, datetime] | None:
    """(day, summed at) of today's rows (app/team/live.py) when they are of a day in `period` the nightly roll-up
    does not hold, and fresh (the minute job is running)."""
    row = db.session.execute(select(LiveDay.day, LiveDay.built_at).where(
        LiveDay.day.between(period.first, period.last), LiveDay.built_at >= utcnow() - LIVE_FRESH)).first()
    return None if row is None or row.day in held else (row.day, row.built_at)


def _per_day(out: Collector, day_runs: list[tuple[date, date]], holds: bool, staff=StaffDay,
             selection=SelectionDay) -> None:
    """Each day's sums of the collector's staff in `day_runs`: the selection's rows when it still holds the same
    members (`holds`), else the members' rows added up, with orders per day counted once from the source tables."""
    userids = out.userids
    if holds:
        d = selection
        per_day = select(d.day, *[getattr(d, n) for n in SUMS]).where(d.key == out.key, _in_runs(d.day, day_runs))
        for day, *values in db.session.execute(per_day):
            _add(out.day_sums.get(day), dict(zip(SUMS, values)))
        return
    s = staff
    one = userids is not None and len(userids) == 1  # one member's orders are already each order once
    names = [n for n in SUMS if one or n not in ORDER_SUMS]
    per_day = select(s.day, *[func.sum(getattr(s, n)) for n in names]).where(
        _in_runs(s.day, day_runs), *(() if userids is None else (s.userid.in_(userids),))).group_by(s.day)
    for day, *values in db.session.execute(per_day):
        _add(out.day_sums.get(day), dict(zip(names, values)))
    if not one:
        for a, b in day_runs:
            orders = Collector(userids, Period(a, b))
            orders.orders_per_day()
            for day, totals in orders.day_sums.items():
                out.day_sums[day].add(totals.sums)


def collect(userids: list[str] | None, period: Period, key: str | None = None) -> Collector:
    """The sums of `userids` (None: every staff member) over `period`: roll-up rows for the days it holds, today's
    rows (summed every minute) for today, the source tables for the others. `key` names the selection `userids` is
    (the company, a department), whose per-day rows count each order once; without it (or when it no longer holds
    them), orders per day are counted from the source tables. `as_of` says when today's figures were summed (None:
    today is not in the period)."""
    out = Collector(userids, period)
    out.key = key
    held = set(db.session.scalars(select(RollupDay.day).where(RollupDay.day.between(period.first, period.last))))
    live = _live(period, held)
    rest = set(period.days) - held - ({live[0]} if live else set())
    today = datetime.now(settings.corp_timezone()).date()
    for a, b in runs(rest, len(period.days)):  # days neither holds: from the source tables, now
        now = Collector(userids, Period(a, b)).collect()
        for userid, totals in now.staff_sums.items():
            out.staff_sums[userid].add(totals.sums)
        for day, totals in now.day_sums.items():
            out.day_sums[day].add(totals.sums)
        if a <= today <= b:
            out.as_of = utcnow()
    if not held and not live:
        return out
    holds = _selection_holds(key, userids)
    if live:
        day, out.as_of = live[0], min(live[1], out.as_of or live[1])
        s = LiveStaffDay
        per_staff = select(s.userid, *[getattr(s, n) for n in SUMS]).where(
            s.day == day, *(() if userids is None else (s.userid.in_(userids),)))
        for userid, *values in db.session.execute(per_staff):
            _add(out.staff_sums[userid], dict(zip(SUMS, values)))
        _per_day(out, [(day, day)], holds, LiveStaffDay, LiveSelectionDay)
    if not held:
        return out
    day_runs = list(runs(held, len(period.days)))
    window_first = db.session.scalar(select(func.min(RollupDay.day)))
    t = StaffRunning
    for a, b in day_runs:  # per member: the running totals of the run's last day minus those of the day before it
        before = a - timedelta(days=1)
        days = [b] if a == window_first else [before, b]
        signed = [func.sum(case((t.day == b, getattr(t, n)), else_=-getattr(t, n))) for n in SUMS]
        per_staff = select(t.userid, *signed).where(
            t.day.in_(days), *(() if userids is None else (t.userid.in_(userids),))).group_by(t.userid)
        for userid, *values in db.session.execute(per_staff):
            _add(out.staff_sums[userid], dict(zip(SUMS, values)))
    _per_day(out, day_runs, holds)
    return out
