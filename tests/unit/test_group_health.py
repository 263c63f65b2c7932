"""The group health score and the silence rule (app/community/health.py): parts, reweighting, bands, and what WeCom's
per-owner figures can and cannot tell about one group."""
from app.community import health


def test_the_score_is_the_weighted_mean_of_the_parts_that_have_data():
    full = health.Parts(activity=100, growth=50, retention=80, leave=100)
    assert full.score() == round((100 * 40 + 50 * 20 + 80 * 20 + 100 * 20) / 100)  # 86
    no_retention = health.Parts(activity=100, growth=50, retention=None, leave=100)
    assert no_retention.score() == round((100 * 40 + 50 * 20 + 100 * 20) / 80)  # the others reweighted: 88
    assert health.Parts(None, None, None, None).score() is None


def test_each_part_scales_as_the_page_says():
    assert health.activity_part(30, 100) == 100 and health.activity_part(15, 100) == 50
    assert health.activity_part(0, 0) is None
    assert health.growth_part(0, 0, 100) == 50  # no change
    assert health.growth_part(10, 0, 100) == 100 and health.growth_part(0, 10, 100) == 0
    assert health.growth_part(0, 0, 0) is None
    assert health.retention_part(3, 4) == 75 and health.retention_part(0, 0) is None
    assert health.leave_part(0, 100) == 100 and health.leave_part(5, 100) == 50 and health.leave_part(20, 100) == 0
    assert [health.band(s) for s in (70, 69, 40, 39, None)] == ["healthy", "fair", "fair", "watch", ""]


def test_silence_is_flagged_only_when_every_group_of_the_owner_was_quiet():
    quiet = [(0, 3)] * 7
    assert health.silence(quiet, old_enough=True) == health.SILENT
    assert health.silence(quiet, old_enough=False) is None  # younger than 7 days: not judged
    assert health.silence(quiet[:6], old_enough=True) is None  # a day of statistics missing
    some = [(1, 3)] + [(0, 3)] * 6
    assert health.silence(some, old_enough=True) is None  # which of the three spoke is not known
    assert health.silent_at_least(some) == 2
    assert health.silence([(3, 3)] + [(0, 3)] * 6, old_enough=True) == health.NOT_SILENT  # all spoke that day
    assert health.silence([(0, 1)] * 6 + [(1, 1)], old_enough=True) == health.NOT_SILENT  # the only group spoke
