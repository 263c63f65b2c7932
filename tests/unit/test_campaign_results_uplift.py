"""Treated vs holdout: rates, difference and the 95 % interval on a hand-computed example; too-small samples."""
import pytest

from app.campaigns.reporting.uplift import MeanUplift, Uplift


def test_hand_computed_interval():
    # 120/1000 treated vs 40/500 holdout: diff 0.04, se = sqrt(.12*.88/1000 + .08*.92/500) = sqrt(.0002528)
    u = Uplift(treated_n=1000, treated_converted=120, holdout_n=500, holdout_converted=40)
    assert u.treated_rate == pytest.approx(0.12) and u.holdout_rate == pytest.approx(0.08)
    assert u.difference == pytest.approx(0.04)
    low, high = u.interval
    assert low == pytest.approx(0.04 - 1.959964 * 0.0158997, abs=1e-6)
    assert high == pytest.approx(0.04 + 1.959964 * 0.0158997, abs=1e-6)
    assert (round(low, 4), round(high, 4)) == (0.0088, 0.0712)
    assert u.significant


def test_interval_spanning_zero_is_not_significant():
    u = Uplift(treated_n=200, treated_converted=20, holdout_n=200, holdout_converted=18)
    assert u.interval[0] < 0 < u.interval[1] and not u.significant


@pytest.mark.parametrize("counts", [(20, 5, 500, 40), (1000, 120, 500, 3), (1000, 998, 500, 40), (1000, 10, 0, 0)])
def test_too_small_gives_no_interval(counts):
    u = Uplift(*counts)
    assert not u.enough and u.interval is None and not u.significant


def test_no_holdout_has_no_difference():
    u = Uplift(treated_n=100, treated_converted=10, holdout_n=0, holdout_converted=0)
    assert u.holdout_rate is None and u.difference is None


def test_mean_uplift_hand_computed_welch_interval():
    # treated: 40 people, 20 bring 2 and 20 bring 0 (mean 1, sample variance 40/39); control: 40 people, 10 bring 1
    # (mean .25, sample variance 7.5/39); se = sqrt((40/39)/40 + (7.5/39)/40) = sqrt(0.0304487)
    treated, control = (2,) * 20 + (0,) * 20, (1,) * 10 + (0,) * 30
    u = MeanUplift(treated, control)
    assert (u.treated_mean, u.control_mean, u.difference) == (1.0, 0.25, 0.75)
    low, high = u.interval
    assert low == pytest.approx(0.75 - 1.959964 * 0.1744957, abs=1e-6)
    assert high == pytest.approx(0.75 + 1.959964 * 0.1744957, abs=1e-6)
    assert u.significant


@pytest.mark.parametrize("treated, control", [((1,) * 29, (0, 1) * 20), ((1,) * 40, (1,) * 40), ((), (1,) * 40)])
def test_mean_uplift_gives_no_interval_when_small_or_without_spread(treated, control):
    u = MeanUplift(treated, control)
    assert u.interval is None and not u.significant
