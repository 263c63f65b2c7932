"""The tags page: who may use it, what it says when WeCom is not set up, and the rule form's messages."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.tags.models import CorpTag, CorpTagGroup, TagRule
from tests.conftest import csrf_token


def local_tags(*groups):
    """Tag groups straight into the local copy (no WeCom needed for what these tests look at)."""
    for gi, (group, names) in enumerate(groups):
        db.session.add(CorpTagGroup(group_id=f"g{gi}", name=group, order=len(groups) - gi))
        db.session.add_all(CorpTag(tag_id=f"g{gi}t{ti}", group_id=f"g{gi}", name=n, order=len(names) - ti)
                           for ti, n in enumerate(names))
    db.session.commit()


@pytest.mark.parametrize("role,allowed", [("admin", True), ("operator", True), ("community_manager", False),
                                          ("supervisor", False), ("viewer", False)])
def test_only_tag_managers_may_open_or_change_tags(client, signed_in_as, role, allowed):
    signed_in_as(role)
    assert client.get("/tags/").status_code == (200 if allowed else 403)
    token = csrf_token(client, "/")
    response = client.post("/tags/groups", data={"csrf_token": token, "name": "x", "tags": "y"})
    assert (response.status_code == 403) is not allowed
    ran = client.post("/tags/rules/run", data={"csrf_token": token}, follow_redirects=True)
    assert ran.status_code == (200 if allowed else 403)
    assert ("没有启用的规则" in ran.get_data(as_text=True)) is allowed
    nav = client.get("/").get_data(as_text=True)
    assert ('href="/tags/"' in nav) is allowed


def test_empty_catalogue_says_where_tags_come_from(client, signed_in_as):
    signed_in_as("operator")
    html = client.get("/tags/").get_data(as_text=True)
    assert "还没有企业标签" in html and "还没有规则标签" in html


def test_without_wecom_nothing_changes_and_the_page_says_why(client, signed_in_as):
    local_tags(("客户等级", ["VIP", "普通"]))
    signed_in_as("operator")
    html = client.post("/tags/groups", data={"csrf_token": csrf_token(client, "/tags/"), "name": "新组", "tags": "甲"},
                       follow_redirects=True).get_data(as_text=True)
    assert "企业微信未配置" in html
    assert db.session.scalar(select(func.count()).select_from(CorpTagGroup)) == 1


def test_catalogue_lists_groups_and_tags_in_wecom_order_with_counts(client, signed_in_as):
    local_tags(("客户等级", ["VIP", "普通"]), ("来源", ["直播", "门店"]), ("RFM分层", ["冠军客户"]))
    signed_in_as("operator")
    html = client.get("/tags/").get_data(as_text=True)
    assert html.index('data-group="客户等级"') < html.index('data-group="来源"') < html.index('data-group="RFM分层"')
    assert html.index('data-tag="VIP"') < html.index('data-tag="普通"')
    assert "企业标签 5 / 3000 个" in html
    rfm = html.split('data-group="RFM分层"', 1)[1].split("</section>", 1)[0]
    assert "由 RFM 重算任务维护，只读" in rfm


def rule_form(client, **fields):
    data = {"csrf_token": csrf_token(client, "/tags/rules/new"), "name": "高价值", "tag_id": "g0t0", "kind": "spent",
            "spent_days": "90", "spent_yuan": "1000", "enabled": "on", **fields}
    return client.post("/tags/rules/new", data=data, follow_redirects=True).get_data(as_text=True)


@pytest.mark.parametrize("fields,message", [
    ({"name": " "}, "请填写规则名称"),
    ({"tag_id": ""}, "请选择一个标签"),
    ({"tag_id": "g2t0"}, "是 RFM 标签"),  # an RFM tag
    ({"spent_yuan": "一千"}, "金额需为数字"),
    ({"spent_days": "0"}, "天数需为 1 到 3650 的整数"),
    ({"kind": "category", "categories": ""}, "请填写品类"),
    ({"kind": "state", "state": ""}, "请填写渠道 state"),
    ({"kind": "json", "rule_json": "{oops"}, "规则 JSON 无法解析"),
    ({"kind": "json", "rule_json": '{"op": "and", "rules": [{"field": "shoe_size", "operator": "in", "value": [42]}]}'},
     "规则有误：$.rules[0]"),
])
def test_rule_form_refuses_with_a_specific_message_and_saves_nothing(client, signed_in_as, fields, message):
    local_tags(("客户等级", ["VIP", "普通"]), ("来源", ["直播"]), ("RFM分层", ["冠军客户"]))
    signed_in_as("operator")
    html = rule_form(client, **fields)
    assert message in html
    assert db.session.scalar(select(func.count()).select_from(TagRule)) == 0


def test_rule_is_saved_listed_switched_off_and_deleted(client, signed_in_as):
    local_tags(("客户等级", ["VIP", "普通"]), ("RFM分层", ["冠军客户"]))
    signed_in_as("operator")
    form = client.get("/tags/rules/new").get_data(as_text=True)
    assert "冠军客户" not in form and "客户等级 / VIP" in form
    html = rule_form(client)
    assert "规则「高价值」已保存" in html
    row = html.split('data-rule="高价值"', 1)[1].split("</tr>", 1)[0]
    assert "近 90 天消费满 1000 元" in row and "客户等级 / VIP" in row and "尚未执行" in row
    rule = db.session.scalars(select(TagRule)).one()
    assert rule.rule["rules"][0]["value"] == {"days": 90, "min": 100000}
    edit = client.get(f"/tags/rules/{rule.id}").get_data(as_text=True)
    assert 'value="1000"' in edit and 'id="kind-spent" value="spent" checked' in edit
    assert 'value="g0t0"' not in client.get("/tags/rules/new").get_data(as_text=True)  # one rule per tag
    html = client.post(f"/tags/rules/{rule.id}/enabled", data={"csrf_token": csrf_token(client, "/tags/"),
                                                               "enabled": "0"}, follow_redirects=True).get_data(as_text=True)
    assert "规则「高价值」已停用" in html
    db.session.expire_all()
    assert db.session.get(TagRule, rule.id).enabled is False
    deleting = client.get("/tags/items/g0t0/delete").get_data(as_text=True)
    assert "这些标签由规则维护，请先删除规则" in deleting and "确认删除" not in deleting
    html = client.post(f"/tags/rules/{rule.id}/delete", data={"csrf_token": csrf_token(client, "/tags/")},
                       follow_redirects=True).get_data(as_text=True)
    assert "规则「高价值」已删除" in html
    assert db.session.scalar(select(func.count()).select_from(TagRule)) == 0


def test_customer_counts_arrive_after_the_page_one_per_customer(client, signed_in_as):
    from app.contacts.models import Customer, FollowRelation

    local_tags(("客户等级", ["VIP", "普通"]))
    db.session.add_all([Customer(external_userid="wmA"), Customer(external_userid="wmB")])
    db.session.flush()
    db.session.add_all([FollowRelation(userid="u1", external_userid="wmA", tag_ids=["g0t0"]),
                        FollowRelation(userid="u2", external_userid="wmA", tag_ids=["g0t0", "g0t1"]),
                        FollowRelation(userid="u1", external_userid="wmB", tag_ids=["g0t1"])])
    db.session.commit()
    signed_in_as("operator")
    html = client.get("/tags/").get_data(as_text=True)
    assert 'data-customers="g0t0"' in html and "/tags/counts" in html
    assert client.get("/tags/counts").get_json() == {"g0t0": 1, "g0t1": 2}
