"""The arithmetic behind the community pages: seats left and the nearly-full alert, retention after 7 days."""
from datetime import datetime, timedelta, timezone

from app.community.figures import Retention, fill

NOW = datetime(2026, 12, 5, tzinfo=timezone.utc)


def test_nearly_full_only_when_every_group_is_at_ninety_percent():
    assert not fill([180, 100], 200).nearly_full  # one group still has room
    nearly = fill([180, 199], 200)
    assert nearly.nearly_full and not nearly.full and nearly.seats_left == 21
    assert fill([200, 205], 200) == fill([200, 205], 200) and fill([200, 205], 200).seats_left == 0
    assert fill([200, 205], 200).full
    assert fill([], 200).full  # no live group: nobody can join


def test_retention_counts_only_members_who_joined_a_week_ago():
    r = Retention()
    r.add(NOW - timedelta(days=8), None, NOW)                             # stayed
    r.add(NOW - timedelta(days=8), NOW - timedelta(days=7, hours=12), NOW)  # left on day 1: not kept
    r.add(NOW - timedelta(days=10), NOW - timedelta(days=1), NOW)         # left after 9 days: kept a week
    r.add(NOW - timedelta(days=2), NOW - timedelta(days=1), NOW)          # too recent to judge, but a leave
    assert (r.joins, r.leaves, r.eligible, r.kept) == (4, 3, 3, 2)
    assert abs(r.rate - 2 / 3) < 1e-9
    assert Retention().rate is None
