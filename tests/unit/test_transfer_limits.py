"""WeCom's transfer rules as the console checks them before any call (app/transfer/limits.py, pure)."""
from datetime import datetime, timedelta, timezone

from app.transfer import limits
from app.transfer.limits import CustomerHistory, GroupState

NOW = datetime(2026, 12, 5, 12, tzinfo=timezone.utc)


def refusal(history, handover="a", takeover="b"):
    found = limits.customer_refusal(history, handover, takeover, NOW)
    return found.message if found else None


def test_a_fresh_customer_may_go():
    assert refusal(CustomerHistory()) is None


def test_each_rule_refuses_with_its_own_reason():
    assert refusal(CustomerHistory(), "a", "a") == limits.SAME_MEMBER
    assert refusal(CustomerHistory(follows=False)) == limits.NOT_THEIRS
    assert refusal(CustomerHistory(open=True)) == limits.IN_TRANSFER
    assert refusal(CustomerHistory(accepted=2, last_success=NOW - timedelta(days=400))) == limits.TWICE
    assert refusal(CustomerHistory(accepted=1, last_success=NOW - timedelta(days=89, hours=23))) == limits.PROTECTED


def test_the_protection_ends_after_exactly_90_days():
    assert refusal(CustomerHistory(accepted=1, last_success=NOW - timedelta(days=90))) is None
    found = limits.customer_refusal(CustomerHistory(accepted=1, last_success=NOW - timedelta(days=10)), "a", "b", NOW)
    assert found.params == {"date": "2026-11-25", "until": "2027-02-23"}


def test_groups_stop_at_300_a_day_counting_the_earlier_ones_and_this_batch():
    groups = [GroupState(f"wr{i}", "a") for i in range(10)]
    out = limits.group_refusals(groups, "a", "b", moved_today=296, onjob=False)
    assert [c for c, r in out.items() if r is None] == ["wr0", "wr1", "wr2", "wr3"]
    assert all(out[f"wr{i}"].message == limits.GROUP_DAILY for i in range(4, 10))
    assert out["wr9"].params == {"before": 296, "room": 4}


def test_an_onjob_group_moves_twice_in_90_days_and_a_dismissed_or_given_away_group_not_at_all():
    out = limits.group_refusals([GroupState("x", "a", 2), GroupState("y", None), GroupState("z", "c"),
                                 GroupState("w", "a", 2)], "a", "b", 0, onjob=True)
    assert [out[k].message for k in "xyz"] == [limits.GROUP_TWICE, limits.GROUP_GONE, limits.OWNER_CHANGED]
    assert limits.group_refusals([GroupState("w", "a", 2)], "a", "b", 0, onjob=False)["w"] is None


def test_calls_hold_at_most_100():
    assert [len(c) for c in limits.chunks(list(range(250)))] == [100, 100, 50]
