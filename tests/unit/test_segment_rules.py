"""Segment rule validation (every problem named with its path, in Chinese) and compilation, without a database."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from app.segments import rules

NOW = datetime(2026, 6, 15, 16, 30, tzinfo=timezone.utc)  # 00:30 on 16 June in Shanghai
CTX = rules.Context(now=NOW, tz=ZoneInfo("Asia/Shanghai"), department_staff={2: frozenset({"alice", "bob"})})


def problems(rule):
    return [(p.path, p.message) for p in rules.problems_of(rule)]


def test_a_good_nested_rule_has_no_problems():
    rule = {"op": "and", "rules": [
        {"field": "tags", "operator": "any", "value": ["et1"]},
        {"op": "or", "rules": [{"field": "rfm_segment", "operator": "in", "value": ["champions", "loyal"]},
                               {"field": "order_amount", "operator": "between", "value": {"days": 90, "min": 100000}},
                               {"field": "last_order", "operator": "never", "value": None}]}]}
    assert problems(rule) == []


def test_an_empty_root_means_everyone_but_an_empty_nested_group_is_an_error():
    assert problems({"op": "and", "rules": []}) == []
    assert problems({"op": "or", "rules": [{"op": "and", "rules": []}]}) == [
        ("$.rules[0]", "条件组为空：请添加条件或删除该组")]


@pytest.mark.parametrize("condition, message", [
    ({"field": "nope", "operator": "in", "value": []}, "未知的条件字段：'nope'"),
    ({"field": "tags", "operator": "in", "value": ["et1"]}, "「企业标签」不支持运算 'in'，可用：any、all、none"),
    ({"field": "tags", "operator": "any", "value": []}, "请至少选择一个标签"),
    ({"field": "rfm_segment", "operator": "in", "value": ["vip"]}, "未知的 RFM 分层：vip"),
    ({"field": "r_score", "operator": "between", "value": {"min": 4, "max": 2}}, "评分下限不能大于上限"),
    ({"field": "r_score", "operator": "between", "value": {"min": 0, "max": 2}}, "评分范围需要 min 和 max（1 到 5 的整数）"),
    ({"field": "order_amount", "operator": "between", "value": {"days": 90}}, "请填写下限或上限（至少一个）"),
    ({"field": "order_count", "operator": "between", "value": {"days": 0, "min": 1}}, "需要天数 days（1 到 3650 的整数）"),
    ({"field": "order_count", "operator": "between", "value": {"days": 30, "min": 5, "max": 2}}, "下限不能大于上限"),
    ({"field": "added", "operator": "between", "value": {"from": "2026-02-01", "to": "2026-01-01"}},
     "开始日期不能晚于结束日期"),
    ({"field": "last_order", "operator": "before", "value": {"date": "2026-13-01"}}, "需要日期 date（YYYY-MM-DD）"),
    ({"field": "state", "operator": "starts_with", "value": " "}, "请填写渠道 state"),
    ({"field": "department", "operator": "in", "value": ["sales"]}, "请至少选择一个部门"),
    ({"field": "lost", "operator": "is", "value": "yes"}, "请选择“已流失”或“未流失”"),
])
def test_each_bad_condition_is_named_with_its_path(condition, message):
    found = problems({"op": "and", "rules": [{"op": "or", "rules": [condition]}]})
    assert len(found) == 1
    path, text = found[0]
    assert path.startswith("$.rules[0].rules[0]")
    assert text == message


def test_every_problem_is_reported_at_once():
    rule = {"op": "xor", "rules": [{"field": "tags", "operator": "any", "value": []}, 5]}
    with pytest.raises(rules.RuleError) as caught:
        rules.validate(rule)
    assert [p.path for p in caught.value.problems] == ["$", "$.rules[0].value", "$.rules[1]"]


def test_depth_and_size_are_bounded():
    deep = {"field": "lost", "operator": "is", "value": True}
    for _ in range(rules.MAX_DEPTH + 1):
        deep = {"op": "and", "rules": [deep]}
    assert any("嵌套过深" in m for _p, m in problems(deep))
    wide = {"op": "or", "rules": [{"field": "lost", "operator": "is", "value": True}] * (rules.MAX_NODES + 1)}
    assert any("条件过多" in m for _p, m in problems(wide))


def sql(rule, dialect):
    return str(rules.member_select(rule, CTX).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def test_windows_start_at_a_corp_local_midnight_today_included():
    assert CTX.since(1) == datetime(2026, 6, 15, 16, 0, tzinfo=timezone.utc)  # 16 June 00:00 in Shanghai
    assert CTX.since(7) == datetime(2026, 6, 9, 16, 0, tzinfo=timezone.utc)
    assert CTX.day_start(datetime(2026, 1, 1).date()) == datetime(2025, 12, 31, 16, 0, tzinfo=timezone.utc)


def test_tags_use_the_gin_indexed_containment_on_postgresql_and_exact_json_text_elsewhere():
    rule = {"op": "and", "rules": [{"field": "tags", "operator": "all", "value": ["et1"]}]}
    assert """CAST(follow_relations.tag_ids AS JSONB) @> CAST('["et1"]' AS JSONB)""" in sql(rule, postgresql.dialect())
    assert """instr(follow_relations.tag_ids, '"et1"') > 0""" in sql(rule, sqlite.dialect())


def test_and_is_semi_and_anti_joins_or_is_a_union_of_member_sets():
    both = [{"field": "rfm_class8", "operator": "in", "value": ["important_value"]},
            {"field": "group", "operator": "none", "value": None}]
    text = " ".join(sql({"op": "and", "rules": both}, postgresql.dialect()).split())
    assert "customers.external_userid IN (SELECT customer_rfm_scores.external_userid" in text
    assert "NOT (EXISTS (SELECT * FROM (SELECT customer_group_members.userid AS userid" in text
    assert "WHERE anon_1.userid = customers.external_userid" in text
    either = " ".join(sql({"op": "or", "rules": both}, postgresql.dialect()).split())
    assert "WHERE customers.external_userid IN (SELECT customer_rfm_scores.external_userid" in either
    assert "UNION ALL SELECT customers.external_userid FROM customers WHERE NOT (EXISTS" in either


def test_departments_are_resolved_by_the_caller_and_unknown_ones_match_nobody():
    rule = {"op": "and", "rules": [{"field": "department", "operator": "in", "value": [2]}]}
    assert rules.departments_in(rule) == {2}
    assert "follow_relations.userid IN ('alice', 'bob')" in sql(rule, sqlite.dialect())
    nobody = {"op": "and", "rules": [{"field": "department", "operator": "in", "value": [9]}]}
    assert "false" in sql(nobody, postgresql.dialect()).lower()


def test_member_select_has_the_one_column_inserts_need():
    select = rules.member_select({"op": "and", "rules": []}, CTX)
    assert [c.name for c in select.selected_columns] == ["customer_id"]
