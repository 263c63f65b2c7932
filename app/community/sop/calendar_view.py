"""The 群日历: a month of SOP entries — what happened (occurrences, with their execution) and what is still to come
(due times of running SOPs from today on) — for the month grid, the list view and its Excel export."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from app.community.sop import execution
from app.community.sop.models import GroupSop, OccurrenceStatus as O, SopItem, SopOccurrence
from app.community.sop.service import schedule_of
from app.core import settings
from app.core.db import utcnow
from app.extensions import db


@dataclass
class Entry:
    day: date
    at: str
    sop: GroupSop
    item: SopItem
    occurrence: SopOccurrence | None = None
    run: execution.Execution | None = None

    @property
    def upcoming(self) -> bool:
        return self.occurrence is None


def month_of(text: str | None) -> date:
    """The first day of the month asked for ("YYYY-MM"), this month (corp time) otherwise."""
    try:
        year, month = (int(p) for p in (text or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return utcnow().astimezone(settings.corp_timezone()).date().replace(day=1)


def weeks(first: date) -> list[list[date | None]]:
    """The month as weeks Monday..Sunday (None outside the month)."""
    return [[d if d.month == first.month else None for d in week]
            for week in calendar.Calendar().monthdatescalendar(first.year, first.month)]


def entries(first: date, tier: str | None = None, with_execution: bool = False) -> list[Entry]:
    """The month's entries, by day and time: occurrences as recorded, then due times still to come."""
    tz = settings.corp_timezone()
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    query = select(SopItem, GroupSop).join(GroupSop, GroupSop.id == SopItem.sop_id)
    if tier:
        query = query.where(GroupSop.tier == tier)
    items = {item.id: (item, sop) for item, sop in db.session.execute(query).all()}
    found: list[Entry] = []
    seen: set[tuple[int, date]] = set()
    recorded = select(SopOccurrence).where(SopOccurrence.item_id.in_(list(items)), SopOccurrence.due_at >= start,
                                           SopOccurrence.due_at < end)
    for occ in db.session.scalars(recorded):
        item, sop = items[occ.item_id]
        local = occ.due_at.astimezone(tz)
        seen.add((item.id, local.date()))
        run = execution.of(occ) if with_execution and occ.status == O.PLANNED else None
        found.append(Entry(local.date(), local.strftime("%H:%M"), sop, item, occ, run))
    now = utcnow()
    for item, sop in items.values():
        if sop.paused:
            continue
        after = max(now, sop.active_since, item.plan_from)
        window = (max(after, start - timedelta(seconds=1)), end - timedelta(seconds=1))
        for due in schedule_of(item).due_times(*window, tz):
            local = due.astimezone(tz)
            if (item.id, local.date()) not in seen:
                found.append(Entry(local.date(), local.strftime("%H:%M"), sop, item))
    return sorted(found, key=lambda e: (e.day, e.at, e.sop.tier, e.item.id))
