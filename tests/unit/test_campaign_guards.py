"""Pure guards of a push: caps, receive quota, quiet hours, holdout and A/B."""
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from app.campaigns import guards
from app.campaigns.guards import DEFAULT_CAP_RULES, CapRule, QuietHours

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A corp-local (Shanghai) time, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SH).astimezone(timezone.utc)


def test_one_promotion_a_day_counts_calendar_days_in_the_corp_timezone():
    sent = [(at("2026-11-23 00:30"), "single", "promotion")]  # 16:30 UTC the day before
    now = at("2026-11-23 23:50")
    assert guards.capping_rule(DEFAULT_CAP_RULES, sent, now, SH, "single", "promotion").key == "promotion_daily"
    assert guards.capping_rule(DEFAULT_CAP_RULES, sent, at("2026-11-24 00:10"), SH, "single", "promotion") is None


def test_content_push_is_not_limited_by_the_promotion_rule_but_counts_toward_the_weekly_one():
    sent = [(at("2026-11-23 10:00"), "single", "promotion")]
    assert guards.capping_rule(DEFAULT_CAP_RULES, sent, at("2026-11-23 12:00"), SH, "single", "content") is None
    sent += [(at("2026-11-21 10:00"), "single", "content"), (at("2026-11-17 10:00"), "single", "service")]
    rule = guards.capping_rule(DEFAULT_CAP_RULES, sent, at("2026-11-23 12:00"), SH, "single", "content")
    assert rule.key == "weekly"


def test_weekly_window_is_seven_calendar_days_today_included():
    sent = [(at(f"2026-11-{d} 10:00"), "single", "content") for d in (16, 18, 20)]
    assert guards.capping_rule(DEFAULT_CAP_RULES, sent, at("2026-11-22 23:00"), SH, "single", "content").key == "weekly"
    assert guards.capping_rule(DEFAULT_CAP_RULES, sent, at("2026-11-23 00:01"), SH, "single", "content") is None


def test_a_customer_capped_by_two_rules_shows_the_stricter_one():
    sent = [(at("2026-11-23 09:30"), "single", "promotion"), (at("2026-11-21 10:00"), "single", "content"),
            (at("2026-11-19 10:00"), "single", "content")]
    # Both "1 promotion today" and "3 in 7 days" are broken; 3 in 7 blocks longer (lower rate): it is reported.
    rule = guards.capping_rule(DEFAULT_CAP_RULES, sent, at("2026-11-23 15:00"), SH, "single", "promotion")
    assert rule.key == "weekly"
    assert [r.key for r in guards.by_strictness(DEFAULT_CAP_RULES)] == ["weekly", "promotion_daily"]


def test_rules_are_per_channel():
    sent = [(at("2026-11-23 09:30"), "group", "promotion")]
    assert guards.capping_rule(DEFAULT_CAP_RULES, sent, at("2026-11-23 15:00"), SH, "single", "promotion") is None
    group_rule = CapRule("group_daily", 1, 1, "group", None)
    assert guards.capping_rule([group_rule], sent, at("2026-11-23 15:00"), SH, "group", "content") == group_rule


def test_rules_from_the_settings_page_are_checked_with_chinese_errors():
    assert guards.cap_rules_from([r.as_dict() for r in DEFAULT_CAP_RULES]) == list(DEFAULT_CAP_RULES)
    with pytest.raises(ValueError, match="天数须在"):
        guards.cap_rules_from([{"key": "x", "max_sends": 1, "days": 0}])
    with pytest.raises(ValueError, match="不能重复"):
        guards.cap_rules_from([{"key": "x", "max_sends": 1, "days": 1}] * 2)


def test_receive_quota_month_has_as_many_as_the_month_has_days():
    start, limit = guards.quota_window("month", at("2026-02-10 12:00"), SH)
    assert (start, limit) == (at("2026-02-01 00:00"), 28)
    received = [at(f"2026-02-{d:02d} 10:00") for d in range(1, 28)] + [at("2026-01-31 10:00")]
    assert guards.quota_left("month", received, at("2026-02-27 12:00"), SH) == 1
    assert guards.quota_left("month", received + [at("2026-02-27 11:00")], at("2026-02-27 12:00"), SH) == 0


def test_receive_quota_day_and_week():
    assert guards.quota_left("day", [at("2026-11-22 23:59")], at("2026-11-23 00:01"), SH) == 1
    assert guards.quota_left("day", [at("2026-11-23 00:00")], at("2026-11-23 23:59"), SH) == 0
    week = [at(f"2026-11-{d} 10:00") for d in range(17, 24)]
    assert guards.quota_left("week", week, at("2026-11-23 12:00"), SH) == 0
    assert guards.quota_left("week", week, at("2026-11-24 12:00"), SH) == 1


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
