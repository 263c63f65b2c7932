"""Pure recurrence of an SOP item: once, daily, weekly on chosen weekdays, monthly on a day, every N days M times."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo

from app.core.permissions import N_

ONCE, DAILY, WEEKLY, MONTHLY, EVERY = "once", "daily", "weekly", "monthly", "every"
LABELS = {ONCE: N_("一次"), DAILY: N_("每天"), WEEKLY: N_("每周"), MONTHLY: N_("每月"), EVERY: N_("每隔 N 天，共 M 次")}
WEEKDAY_LABELS = (N_("周一"), N_("周二"), N_("周三"), N_("周四"), N_("周五"), N_("周六"), N_("周日"))
EVERY_WORDS = N_("每隔 %(n)s 天，共 %(m)s 次 %(at)s（自 %(start)s）")
WEEKLY_WORDS, MONTHLY_WORDS, DAILY_WORDS, TIMES_WORDS = (N_("每周 %(days)s"), N_("每月 %(day)s 日"), N_("每天"),
                                                         N_("，共 %(m)s 次"))
MAX_TIMES = 366
MAX_EVERY_DAYS = 90


@dataclass(frozen=True)
class Recurrence:
    """When an item is due, in corp time. `times` ends any repeating kind after that many occurrences (required for
    "every": a 21-day check-in is every 1 day, 21 times); a monthly day past the month's end falls on its last day."""

    kind: str
    start_on: date
    at: time
    weekdays: tuple[int, ...] = ()
    month_day: int | None = None
    every_days: int | None = None
    times: int | None = None

    def _days(self, last: date) -> Iterator[date]:
        """Every due day from `start_on` to `last`, in order."""
        count, day = 0, self.start_on
        while day <= last and (self.times is None or count < self.times):
            if self.kind == ONCE:
                yield day
                return
            if self.kind == EVERY:
                yield day
                day += timedelta(days=self.every_days or 1)
                count += 1
                continue
            if self._matches(day):
                yield day
                count += 1
            day += timedelta(days=1)

    def _matches(self, day: date) -> bool:
        if self.kind == DAILY:
            return True
        if self.kind == WEEKLY:
            return day.weekday() in self.weekdays
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(self.month_day or 1, last)

    def dates(self, first: date, last: date) -> list[date]:
        """Due days from `first` to `last` included."""
        return [day for day in self._days(last) if day >= first]

    def due_times(self, after: datetime, until: datetime, tz: ZoneInfo) -> list[datetime]:
        """Due instants (in `until`'s timezone) strictly after `after` and up to `until` included, oldest first."""
        first, last = after.astimezone(tz).date(), until.astimezone(tz).date()
        moments = (datetime.combine(day, self.at, tzinfo=tz).astimezone(until.tzinfo)
                   for day in self.dates(first, last))
        return [m for m in moments if after < m <= until]

    def describe(self, gettext) -> str:
        """In words, e.g. 「每周 周二、周四 20:00」, 「每隔 1 天，共 21 次 08:00」."""
        at = self.at.strftime("%H:%M")
        if self.kind == ONCE:
            return f"{self.start_on.isoformat()} {at}"
        if self.kind == WEEKLY:
            days = "、".join(gettext(WEEKDAY_LABELS[d]) for d in self.weekdays)
            base = gettext(WEEKLY_WORDS, days=days)
        elif self.kind == MONTHLY:
            base = gettext(MONTHLY_WORDS, day=self.month_day)
        elif self.kind == EVERY:
            return gettext(EVERY_WORDS, n=self.every_days, m=self.times, at=at, start=self.start_on.isoformat())
        else:
            base = gettext(DAILY_WORDS)
        limit = gettext(TIMES_WORDS, m=self.times) if self.times else ""
        return f"{base} {at}{limit}"
