"""Pure referral rules: the state that names task and inviter within WeCom's 30 characters, bursts, levels."""
from datetime import datetime, timedelta, timezone

import pytest

from app.referral.rules import is_burst, k_factor, levels_reached, parse_state, state_for

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def test_state_round_trips_and_fits_thirty_characters():
    for task_id, participant_id in ((1, 1), (35, 36), (10**9, 10**12), (36**12 - 1, 36**12 - 1)):
        state = state_for(task_id, participant_id)
        assert len(state) <= 30 and parse_state(state) == (task_id, participant_id)
    with pytest.raises(ValueError):
        state_for(0, 1)


@pytest.mark.parametrize("state", [None, "", "live-0618", "rf1", "rf1-", "RF1-2", "rf1-2 ", "xrf1-2", "rf1-2-3"])
def test_other_states_are_not_referral_states(state):
    assert parse_state(state) is None


def test_a_burst_is_more_than_n_credits_within_the_window():
    five_before = [T0 - timedelta(minutes=m) for m in (1, 10, 20, 30, 59)]
    assert not is_burst(five_before[:4], T0, 5, 60)  # the 5th: not more than 5
    assert is_burst(five_before, T0, 5, 60)  # the 6th within 60 minutes
    assert not is_burst([T0 - timedelta(minutes=61)] * 9, T0, 5, 60)  # older ones do not count


def test_levels_and_k_factor():
    assert levels_reached(6, [3, 6, 10]) == [3, 6]
    assert levels_reached(2, [3, 6, 10]) == []
    assert k_factor(30, 12) == 2.5 and k_factor(0, 0) is None
