"""The rule that carries customers to a new version of a journey, by step identity (pure)."""
from app.journeys import spec as specs
from app.journeys.versions import carried


def steps(*ids: str) -> dict:
    return {"steps": [{"id": i, "kind": "wait", "days": 1} for i in ids]}


def test_a_kept_step_is_found_wherever_it_moved_and_a_removed_one_leads_to_the_next_kept():
    assert carried(steps("a", "w", "m", "b"), steps("m", "a", "c", "b")) == {0: 1, 1: 0, 2: 0, 3: 3, 4: 4}


def test_nothing_kept_after_a_customer_means_the_end_of_the_new_version():
    assert carried(steps("a", "b", "c"), steps("a", "x")) == {0: 0, 1: 2, 2: 2, 3: 2}


def test_steps_saved_before_identities_are_known_by_position_and_fresh_ones_get_their_own():
    legacy = {"steps": [{"kind": "wait", "days": 1}, {"kind": "wait", "days": 2}]}
    assert specs.step_ids(legacy) == ["s1", "s2"]
    checked = specs.check({"trigger": {"kind": "first_order"},
                           "steps": [{"id": "s2", "kind": "wait", "days": 2}, {"id": "s2", "kind": "wait", "days": 3},
                                     {"kind": "wait", "days": 1}, {"id": "Bad id!", "kind": "wait", "days": 1}]})
    ids = specs.step_ids(checked)
    assert ids[0] == "s2" and len(set(ids)) == 4  # a repeated or malformed identity is replaced, never shared
