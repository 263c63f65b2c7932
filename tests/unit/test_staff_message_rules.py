"""The dispatcher keeps clear of the minutes around the top and the half of the hour."""
from datetime import datetime
from zoneinfo import ZoneInfo

from app.staffmsg.dispatch import busy_until

CST = ZoneInfo("Asia/Shanghai")


def _at(h, m, s=0):
    return datetime(2026, 12, 5, h, m, s, tzinfo=CST)


def test_busy_minutes_wait_for_one_past():
    assert busy_until(_at(9, 59, 30)) == _at(10, 1)
    assert busy_until(_at(10, 0, 5)) == _at(10, 1)
    assert busy_until(_at(10, 29)) == _at(10, 31)
    assert busy_until(_at(10, 30, 59)) == _at(10, 31)
    assert busy_until(_at(23, 59)) == datetime(2026, 12, 6, 0, 1, tzinfo=CST)


def test_other_minutes_send_at_once():
    assert all(busy_until(_at(10, m)) is None for m in (1, 15, 28, 31, 45, 58))
