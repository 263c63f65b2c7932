"""Pure guards of every send: cap windows and scope, receive quota windows, quiet hours, holdout and A/B. Counting\nearlier sends against them is the planner's (tests/integration/test_sending_engine.py, test_campaign_plan.py)."""
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from app.sending import guards
from app.sending.guards import DEFAULT_CAP_RULES, CapRule, QuietHours

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A corp-local (Shanghai) time, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SH).astimezone(timezone.utc)


DAILY, WEEKLY = DEFAULT_CAP_RULES


def test_one_promotion_a_day_counts_calendar_days_in_the_corp_timezone():
    # A promotion at 00:30 corp time (16:30 UTC the day before) is in today's window until corp midnight.
    assert DAILY.window_start(at("2026-11-23 23:50"), SH) == at("2026-11-23 00:00") <= at("2026-11-23 00:30")
    assert DAILY.window_start(at("2026-11-24 00:10"), SH) == at("2026-11-24 00:00") > at("2026-11-23 00:30")


def test_content_push_is_not_limited_by_the_promotion_rule_but_counts_toward_the_weekly_one():
    assert not DAILY.applies_to("single", "content")
    assert DAILY.applies_to("single", "promotion")
    assert all(WEEKLY.applies_to("single", category) for category in ("promotion", "content", "service"))


def test_weekly_window_is_seven_calendar_days_today_included():
    assert WEEKLY.window_start(at("2026-11-22 23:00"), SH) == at("2026-11-16 00:00")
    assert WEEKLY.window_start(at("2026-11-23 00:01"), SH) == at("2026-11-17 00:00")


def test_a_customer_capped_by_two_rules_shows_the_stricter_one():
    # Both "1 promotion today" and "3 in 7 days" may be broken; 3 in 7 blocks longer (lower rate): it comes first.
    assert [r.key for r in guards.by_strictness(DEFAULT_CAP_RULES)] == ["weekly", "promotion_daily"]


def test_rules_are_per_channel():
    assert not any(rule.applies_to("group", "promotion") for rule in DEFAULT_CAP_RULES)
    group_rule = CapRule("group_daily", 1, 1, "group", None)
    assert group_rule.applies_to("group", "content") and not group_rule.applies_to("single", "content")


def test_rules_from_the_settings_page_are_checked_with_chinese_errors():
    assert guards.cap_rules_from([r.as_dict() for r in DEFAULT_CAP_RULES]) == list(DEFAULT_CAP_RULES)
    with pytest.raises(ValueError, match="天数须在"):
        guards.cap_rules_from([{"key": "x", "max_sends": 1, "days": 0}])
    with pytest.raises(ValueError, match="不能重复"):
        guards.cap_rules_from([{"key": "x", "max_sends": 1, "days": 1}] * 2)


def test_receive_quota_month_has_as_many_as_the_month_has_days():
    assert guards.quota_window("month", at("2026-02-10 12:00"), SH) == (at("2026-02-01 00:00"), 28)
    assert guards.quota_window("month", at("2026-03-01 00:10"), SH) == (at("2026-03-01 00:00"), 31)


def test_receive_quota_day_and_week():
    assert guards.quota_window("day", at("2026-11-23 00:01"), SH) == (at("2026-11-23 00:00"), 1)
    assert guards.quota_window("week", at("2026-11-23 12:00"), SH) == (at("2026-11-17 00:00"), 7)


def test_quiet_hours_defer_across_midnight():
    quiet = QuietHours()
    assert quiet.next_allowed(at("2026-11-23 20:59"), SH) is None
    assert quiet.next_allowed(at("2026-11-23 21:00"), SH) == at("2026-11-24 09:00")
    assert quiet.next_allowed(at("2026-11-23 23:59"), SH) == at("2026-11-24 09:00")
    assert quiet.next_allowed(at("2026-11-24 00:30"), SH) == at("2026-11-24 09:00")
    assert quiet.next_allowed(at("2026-11-24 09:00"), SH) is None


def test_quiet_hours_within_a_day_and_none():
    lunch = QuietHours(time(12), time(13, 30))
    assert lunch.next_allowed(at("2026-11-23 12:10"), SH) == at("2026-11-23 13:30")
    assert lunch.next_allowed(at("2026-11-23 23:00"), SH) is None
    assert QuietHours(time(9), time(9)).next_allowed(at("2026-11-23 03:00"), SH) is None
    with pytest.raises(ValueError, match="HH:MM"):
        guards.parse_hhmm("25:00")


def test_holdout_is_stable_and_near_the_percentage():
    ids = [f"wm{i:06d}" for i in range(20_000)]
    first = [guards.in_holdout(7, x, 10) for x in ids]
    assert first == [guards.in_holdout(7, x, 10) for x in ids]
    assert 0.09 < sum(first) / len(ids) < 0.11
    # another campaign draws another holdout; 0 % holds nobody out, 100 % everybody
    assert first != [guards.in_holdout(8, x, 10) for x in ids]
    assert not any(guards.in_holdout(7, x, 0) for x in ids[:500])
    assert all(guards.in_holdout(7, x, 100) for x in ids[:500])


def test_ab_split_is_stable_follows_the_percentages_and_is_independent_of_the_holdout():
    ids = [f"wm{i:06d}" for i in range(20_000)]
    splits = [("A", 70), ("B", 30)]
    variants = [guards.variant_for(3, x, splits) for x in ids]
    assert variants == [guards.variant_for(3, x, splits) for x in ids]
    assert 0.68 < variants.count("A") / len(ids) < 0.72
    held = [v for x, v in zip(ids, variants) if guards.in_holdout(3, x, 10)]
    assert 0.65 < held.count("A") / len(held) < 0.75
    with pytest.raises(ValueError, match="100%"):
        guards.variant_ranges([("A", 60), ("B", 30)])
