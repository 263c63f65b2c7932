"""Today's team figures, summed every minute by a job the same way the nightly roll-up sums a complete day: the team
pages, their exports and the API read these rows (saying 截至 HH:MM) instead of each adding up today's source rows
again, so they agree and answer fast. Rows older than rollup.LIVE_FRESH are not read (the sources are, as before)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, func, select

from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.team import rollup
from app.team.figures import Collector, Period
from app.team.models import LiveDay, LiveSelectionDay, LiveStaffDay


def refresh(today: date | None = None) -> dict:
    """Replace the live rows with today's sums (per member, and per selection as SelectionMember holds them), in one
    transaction: a page never reads half of them."""
    today = today or datetime.now(settings.corp_timezone()).date()
    c = Collector(None, Period(today, today))
    started = utcnow()  # the figures are of the source rows as they stood from here
    with transaction():
        for model in (LiveStaffDay, LiveSelectionDay, LiveDay):
            db.session.execute(delete(model))
        db.session.execute(rollup.staff_days(c, into=LiveStaffDay))
        db.session.execute(rollup.selection_days(c, staff=LiveStaffDay, into=LiveSelectionDay))
        db.session.add(LiveDay(day=today, built_at=started))
    members = db.session.scalar(select(func.count()).select_from(LiveStaffDay))
    return {"day": today.isoformat(), "staff": members}


def run_job() -> dict:
    """The job kind's entry (后台任务 «今日团队绩效»), every minute."""
    return refresh()
