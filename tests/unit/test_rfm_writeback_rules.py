"""Which tags one relation gets and loses when a customer's segment or class changed; mobile matching keys."""
from app.rfm.models import CustomerRfmScore
from app.contacts.labels import normalize_mobile
from app.rfm.writeback import _changes

IDS = {"segment": {"loyal": "t-loyal", "at_risk": "t-risk", "champions": "t-champ"},
       "class8": {"important_value": "t-iv", "general_value": "t-gv"}}


def row(**values) -> CustomerRfmScore:
    base = {"external_userid": "wm1", "segment": "at_risk", "class8": "important_value",
            "tagged_segment": "loyal", "tagged_class8": "important_value", "mark_state": "pending"}
    return CustomerRfmScore(**{**base, **values})


def test_only_the_changed_dimension_is_touched():
    assert _changes(row(), ["t-loyal", "t-iv", "other"], IDS) == (["t-risk"], ["t-loyal"])


def test_a_stray_tag_of_the_group_is_removed_too_and_the_new_one_never():
    add, remove = _changes(row(), ["t-champ", "t-risk", "t-iv"], IDS)
    assert add == ["t-risk"] and remove == ["t-champ", "t-loyal"]


def test_a_relation_lacking_the_unchanged_tags_gets_them():
    done = row(segment="loyal", mark_state="done")
    assert _changes(done, ["t-loyal", "t-iv"], IDS) == ([], [])
    assert _changes(done, ["other"], IDS) == (["t-loyal", "t-iv"], [])


def test_first_marking_adds_both_and_removes_nothing_it_does_not_know():
    assert _changes(row(tagged_segment=None, tagged_class8=None), [], IDS) == (["t-risk", "t-iv"], [])


def test_customer_without_paid_orders_loses_both_tags():
    assert _changes(row(segment=None, class8=None), ["t-loyal", "t-iv"], IDS) == ([], ["t-loyal", "t-iv"])


def test_mobiles_compare_by_digits_without_the_country_code():
    assert normalize_mobile("+86 138-0000-0000") == normalize_mobile("13800000000") == "13800000000"
    assert normalize_mobile("") == "" and normalize_mobile(None) == ""
