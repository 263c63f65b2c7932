"""The marking service's pure rules: one call per relation, and one meaning per WeCom answer for every caller."""
import pytest

from app.tags.marking import Change, Outcome, merged, outcome_of
from app.wecom.errors import RateBudgetExhausted, WeComNetworkError, WeComTimeout, error_for


def test_changes_of_one_relation_become_one_call_in_first_seen_order():
    changes = [Change("u1", "e1", ("a",)), Change("u2", "e2", (), ("b",)), Change("u1", "e1", ("c", "a"), ("d",)),
               Change("u3", "e3")]
    assert merged(changes) == [Change("u1", "e1", ("a", "c"), ("d",)), Change("u2", "e2", (), ("b",))]


def test_a_tag_added_and_removed_on_one_relation_is_refused():
    with pytest.raises(ValueError, match="both added and removed"):
        merged([Change("u1", "e1", ("a",)), Change("u1", "e1", (), ("a",))])


@pytest.mark.parametrize("error, outcome", [
    (error_for(45009), Outcome.DEFERRED),                       # WeCom blocked mark_tag for the window: stop
    (RateBudgetExhausted("externalcontact/mark_tag", "hour", 600.0, bulk=True), Outcome.DEFERRED),
    (error_for(42001), Outcome.DEFERRED),                       # credentials: every further call would fail
    (error_for(84061), Outcome.GONE),                           # the relation is gone in WeCom
    (error_for(-1), Outcome.RETRY),                             # busy after the gateway's retries
    (WeComTimeout(None, "ReadTimeout", "x"), Outcome.RETRY),
    (WeComNetworkError(None, "HTTP 502", "x"), Outcome.RETRY),
    (error_for(60020), Outcome.FAILED),                         # no permission: WeCom's code is reported
    (error_for(40068), Outcome.FAILED),                         # a tag deleted in WeCom
])
def test_each_wecom_answer_has_one_meaning(error, outcome):
    assert outcome_of(error) is outcome
