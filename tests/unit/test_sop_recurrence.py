"""The recurrence of a 群SOP item: weekly on chosen days, monthly on a day (the last day of a short month), every N
days M times, once; due instants in corp time, strictly after the last planned one."""
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from app.community.sop.recurrence import Recurrence

TZ = ZoneInfo("Asia/Shanghai")


def test_weekly_on_chosen_days():
    r = Recurrence("weekly", date(2026, 12, 1), time(20, 0), weekdays=(1, 3))  # Tuesdays and Thursdays
    assert r.dates(date(2026, 12, 1), date(2026, 12, 14)) == [date(2026, 12, 1), date(2026, 12, 3),
                                                              date(2026, 12, 8), date(2026, 12, 10)]


def test_monthly_on_the_31st_falls_on_the_last_day_of_a_short_month():
    r = Recurrence("monthly", date(2026, 1, 1), time(10, 0), month_day=31)
    assert r.dates(date(2026, 1, 1), date(2026, 4, 30)) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31),
                                                            date(2026, 4, 30)]


def test_a_21_day_check_in_ends_after_21_days_and_every_3_days_5_times():
    checkin = Recurrence("every", date(2026, 12, 6), time(8, 0), every_days=1, times=21)
    days = checkin.dates(date(2026, 12, 1), date(2027, 2, 1))
    assert len(days) == 21 and days[0] == date(2026, 12, 6) and days[-1] == date(2026, 12, 26)
    topics = Recurrence("every", date(2026, 12, 6), time(20, 0), every_days=3, times=5)
    assert topics.dates(date(2026, 12, 10), date(2027, 1, 31)) == [date(2026, 12, 12), date(2026, 12, 15),
                                                                   date(2026, 12, 18)]


def test_weekly_without_days_and_once():
    assert Recurrence("weekly", date(2026, 12, 1), time(9, 0)).dates(date(2026, 12, 1), date(2027, 12, 1)) == []
    once = Recurrence("once", date(2026, 12, 24), time(9, 30))
    assert once.dates(date(2026, 12, 1), date(2026, 12, 31)) == [date(2026, 12, 24)]
    assert once.dates(date(2026, 12, 25), date(2026, 12, 31)) == []


def test_due_times_are_corp_time_and_strictly_after():
    r = Recurrence("daily", date(2026, 12, 1), time(8, 30), times=3)
    utc = timezone.utc
    due = r.due_times(datetime(2026, 12, 1, 0, 30, tzinfo=utc), datetime(2026, 12, 31, tzinfo=utc), TZ)
    assert due == [datetime(2026, 12, 2, 0, 30, tzinfo=utc), datetime(2026, 12, 3, 0, 30, tzinfo=utc)]  # 08:30 +08
