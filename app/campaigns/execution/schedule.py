"""Pure schedule arithmetic of a campaign: its due times (once, daily, weekly in the corp timezone) and misfires."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MISFIRE_MINUTES = 30  # a due time missed by more than this (scheduler down) becomes a visible missed run
MAX_LOOKAHEAD_DAYS = 400


@dataclass(frozen=True)
class Schedule:
    kind: str                     # now, at, daily, weekly
    run_at: datetime | None = None  # "at" (and "now": the moment it was approved)
    time_of_day: time | None = None
    weekdays: tuple[int, ...] = ()  # 0 Monday .. 6 Sunday
    ends_on: date | None = None     # last corp-local day a recurring run may be due (inclusive)

    @property
    def recurring(self) -> bool:
        return self.kind in ("daily", "weekly")

    def due_times(self, after: datetime | None, until: datetime, tz: ZoneInfo) -> list[datetime]:
        """Due times strictly after `after` (None: from the start) up to `until` included, oldest first."""
        if not self.recurring:
            due = self.run_at
            return [due] if due is not None and due <= until and (after is None or due > after) else []
        found = []
        day = (after or until - timedelta(days=1)).astimezone(tz).date()
        while day <= until.astimezone(tz).date():
            if self.ends_on is not None and day > self.ends_on:
                break
            if self.kind == "daily" or day.weekday() in self.weekdays:
                due = datetime.combine(day, self.time_of_day, tzinfo=tz).astimezone(until.tzinfo)
                if (after is None or due > after) and due <= until:
                    found.append(due)
            day += timedelta(days=1)
        return found

    def next_time(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """The first due time after `after`, or None when the schedule has no more."""
        if not self.recurring:
            return self.run_at if self.run_at is not None and self.run_at > after else None
        times = self.due_times(after, after + timedelta(days=8), tz)
        return times[0] if times else None

    def over(self, after: datetime, tz: ZoneInfo) -> bool:
        """Whether no due time is left after `after` (a one-off that ran, a recurrence past its end)."""
        if not self.recurring:
            return self.run_at is None or self.run_at <= after
        return self.ends_on is not None and self.next_time(after, tz) is None


def misfired(due: datetime, now: datetime, grace_minutes: int = MISFIRE_MINUTES) -> bool:
    """A due time the scheduler noticed too late: recorded as missed, never sent late and never twice."""
    return now - due > timedelta(minutes=grace_minutes)
