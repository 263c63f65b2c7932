"""WeCom's tag limits, moving in a list ordered by WeCom's `order`, and the rule forms (no database)."""
import pytest

from app.tags.limits import TagLimitError, clean_name, new_tag_names, renumbered, split_names
from app.tags.presets import CATEGORY, CUSTOM, SPENT, STATE, PresetError, build, read


def shown(orders: list[int]) -> list[int]:
    """Item indexes in display order: larger order first, ties by age (index)."""
    return sorted(range(len(orders)), key=lambda i: (-orders[i], i))


@pytest.mark.parametrize("orders", [[5, 3, 1], [3, 3, 3], [9, 2, 2, 0], [0, 0]])
@pytest.mark.parametrize("step", [-1, 1])
def test_a_move_swaps_exactly_two_neighbours_on_screen(orders, step):
    for index in range(len(orders)):
        new = renumbered(orders, index, step)
        if not 0 <= index + step < len(orders):
            assert new is None
            continue
        expected = list(range(len(orders)))
        expected[index], expected[index + step] = expected[index + step], expected[index]
        assert shown(new) == expected
        assert all(0 <= o < 2**32 for o in new)


def test_distinct_orders_swap_only_the_two_values():
    assert renumbered([50, 40, 30], 0, 1) == [40, 50, 30]


def test_names():
    assert clean_name("  高意向 ") == "高意向"
    assert clean_name("字" * 30) == "字" * 30
    with pytest.raises(TagLimitError, match="31 个字"):
        clean_name("字" * 31)
    with pytest.raises(TagLimitError, match="请填写标签组名称"):
        clean_name(" ", group=True)
    assert split_names("甲，乙, 丙\n丁\n\n") == ["甲", "乙", "丙", "丁"]


def test_new_tags_are_distinct_new_and_within_3000():
    assert new_tag_names(["甲", "乙"], {"丙"}, "组", 2998) == ["甲", "乙"]
    for raw, taken, total, message in ((["甲", "甲"], set(), 0, "填写了两次"), (["丙"], {"丙"}, 0, "已有标签「丙」"),
                                       ([], set(), 0, "至少填写一个"), (["甲", "乙"], set(), 2999, "还能添加 1 个")):
        with pytest.raises(TagLimitError, match=message):
            new_tag_names(raw, taken, "组", total)


@pytest.mark.parametrize("kind,form", [
    (SPENT, {"spent_days": "90", "spent_yuan": "1000"}),
    (SPENT, {"spent_days": "30", "spent_yuan": "99.5"}),
    (CATEGORY, {"category_days": "365", "categories": "茶叶, 茶具"}),
    (STATE, {"state": "live-0618", "state_match": "starts_with"}),
])
def test_forms_read_back_what_they_built(kind, form):
    rule = build(kind, form)
    assert build(*read(rule)) == rule
    assert read(rule)[0] == kind


def test_spent_form_is_in_fen_and_other_shapes_are_json():
    assert build(SPENT, {"spent_days": "90", "spent_yuan": "1,000"})["rules"][0]["value"] == {"days": 90, "min": 100000}
    nested = {"op": "or", "rules": [{"field": "lost", "operator": "is", "value": False}]}
    kind, values = read(nested)
    assert kind == CUSTOM and build(kind, values) == nested
    for kind, form in ((SPENT, {"spent_days": "90", "spent_yuan": "0.001"}), (SPENT, {"spent_days": "x"}),
                       (CUSTOM, {"rule_json": "[1]"}), ("nope", {})):
        with pytest.raises(PresetError):
            build(kind, form)
