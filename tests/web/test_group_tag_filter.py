"""The group list's filter by the tags of its customers (issue 19): any / all of the chosen tags, the minimum share of
the group's customers, only current customers counted, unknown tags refused, the account's scope, and the filter
kept in the pager and the bulk actions' way back."""
import re
from datetime import timedelta

import pytest

from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, Department, FollowRelation, Staff
from app.core.db import utcnow
from app.extensions import db
from app.tags.models import CorpTag, CorpTagGroup
from tests.conftest import csrf_token

NAMES = {"wr-a": "甲群", "wr-b": "乙群", "wr-c": "丙群", "wr-d": "丁群", "wr-e": "戊群", "wr-f": "己群"}


@pytest.fixture
def tagged(app):
    """alice leads 销售部 (alice, bob); carol is in 客服部. Who carries which tag, per group (current customers):
    甲 c1 (高意向+VIP), c3 (低意向), c9 left (untagged); staff alice and bob      -> 高意向 1 of 2 customers
    乙 c2 (高意向), c3 (低意向), c6 (no relation at all)                          -> 高意向 1 of 3
    丙 c3 (低意向), c5 left (高意向), c4 (高意向 on a relation that ended)          -> 高意向 none
    丁 (carol's) c1                                                              -> 高意向 1 of 1
    戊 c1 and three staff members                                                -> 高意向 1 of 1
    己 (bob's) c8: 高意向 from alice, VIP from bob                                -> 高意向 and VIP 1 of 1"""
    now = utcnow()
    db.session.add_all([
        Department(id=1, name="公司", parent_id=0), Department(id=2, name="销售部", parent_id=1, leader_userids=["alice"]),
        Department(id=4, name="客服部", parent_id=1),
        Staff(userid="alice", name="王丽", department_ids=[2], is_follow_user=True),
        Staff(userid="bob", name="李波", department_ids=[2], is_follow_user=True),
        Staff(userid="carol", name="陈卡", department_ids=[4], is_follow_user=True),
        CorpTagGroup(group_id="g1", name="意向"), CorpTag(tag_id="t-hot", group_id="g1", name="高意向"),
        CorpTag(tag_id="t-cold", group_id="g1", name="低意向"), CorpTag(tag_id="t-vip", group_id="g1", name="VIP"),
        CorpTag(tag_id="t-gone", group_id="g1", name="已删除", deleted_at=now),
    ])
    db.session.add_all(Customer(external_userid=f"c{i}", name=f"客户{i}") for i in range(1, 10))
    db.session.flush()
    db.session.add_all([
        FollowRelation(userid="alice", external_userid="c1", tag_ids=["t-hot", "t-vip"]),
        FollowRelation(userid="alice", external_userid="c2", tag_ids=["t-hot"]),
        FollowRelation(userid="bob", external_userid="c3", tag_ids=["t-cold"]),
        FollowRelation(userid="alice", external_userid="c4", tag_ids=["t-hot", "t-gone"], ended_at=now),
        FollowRelation(userid="carol", external_userid="c5", tag_ids=["t-hot"]),
        FollowRelation(userid="alice", external_userid="c8", tag_ids=["t-hot"]),
        FollowRelation(userid="bob", external_userid="c8", tag_ids=["t-vip"]),
        FollowRelation(userid="bob", external_userid="c9", tag_ids=[]),
    ])
    owners = {"wr-a": "alice", "wr-b": "alice", "wr-c": "bob", "wr-d": "carol", "wr-e": "alice", "wr-f": "bob"}
    db.session.add_all(CustomerGroup(chat_id=c, name=NAMES[c], owner=o, created_at=now) for c, o in owners.items())
    db.session.flush()
    members = {"wr-a": ["c1", "c3", "c9-", "alice*", "bob*"], "wr-b": ["c2", "c3", "c6"], "wr-c": ["c3", "c5-", "c4"],
               "wr-d": ["c1"], "wr-e": ["c1", "alice*", "bob*", "carol*"], "wr-f": ["c8"]}
    db.session.add_all(CustomerGroupMember(chat_id=chat, userid=m.strip("-*"), type=1 if m.endswith("*") else 2,
                                           join_time=now - timedelta(days=3),
                                           left_at=now - timedelta(days=1) if m.endswith("-") else None)
                       for chat, people in members.items() for m in people)
    db.session.commit()


def listed(client, query: str) -> set[str]:
    answer = client.get(f"/contacts/groups?{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return set(re.findall(r'<tr data-group="([^"]+)"', answer.get_data(as_text=True)))


def test_groups_with_customers_carrying_any_or_all_of_the_tags(client, signed_in_as, tagged):
    signed_in_as("community_manager")
    assert listed(client, "tag=t-hot") == {"wr-a", "wr-b", "wr-d", "wr-e", "wr-f"}
    assert listed(client, "tag=t-hot&tag=t-cold") == {"wr-a", "wr-b", "wr-c", "wr-d", "wr-e", "wr-f"}
    # all: the customer carries both, also when two staff members each put one of them on (己群)
    assert listed(client, "tag=t-hot&tag=t-vip&tag_mode=all") == {"wr-a", "wr-d", "wr-e", "wr-f"}
    assert listed(client, "tag=t-hot&tag=t-cold&tag_mode=all") == set()
    assert listed(client, "tag=t-hot&owner=bob") == {"wr-f"}  # with the other filters
    assert listed(client, "tag=t-cold&q=丙") == {"wr-c"}


def test_left_customers_ended_relations_and_staff_do_not_count(client, signed_in_as, tagged):
    signed_in_as("community_manager")
    assert "wr-c" not in listed(client, "tag=t-hot")  # c5 left, c4's tagged relation ended
    # share of the current customers: 甲 1 of 2 (c9 left, staff not counted), 乙 1 of 3, 戊 1 of 1 despite 3 staff
    assert listed(client, "tag=t-hot&tag_share=50") == {"wr-a", "wr-d", "wr-e", "wr-f"}
    assert listed(client, "tag=t-hot&tag_share=51") == {"wr-d", "wr-e", "wr-f"}
    assert listed(client, "tag=t-hot&tag_share=33") == {"wr-a", "wr-b", "wr-d", "wr-e", "wr-f"}
    assert listed(client, "tag=t-hot&tag=t-vip&tag_mode=all&tag_share=100") == {"wr-d", "wr-e", "wr-f"}


def test_the_list_says_how_many_customers_of_each_group_carry_the_tags(client, signed_in_as, tagged):
    signed_in_as("community_manager")
    html = client.get("/contacts/groups?tag=t-hot&tag=t-cold").get_data(as_text=True)
    cells = dict(re.findall(r'<tr data-group="([^"]+)".*?<td class="text-end" data-tagged>([^<]+)<', html, re.S))
    assert cells == {"wr-a": "2 ", "wr-b": "2 ", "wr-c": "1 ", "wr-d": "1 ", "wr-e": "1 ", "wr-f": "1 "}
    assert "带标签客户" in html and "（67%）" in html  # 乙: c2 and c3 of its 3 customers
    assert "data-tagged" not in client.get("/contacts/groups").get_data(as_text=True)  # only with a tag filter


def test_the_chosen_tags_show_as_chips_and_stay_in_the_links(client, signed_in_as, tagged):
    signed_in_as("community_manager")
    html = client.get("/contacts/groups?tag=t-hot&tag=t-vip&tag_mode=all&tag_share=50").get_data(as_text=True)
    assert '<option value="t-hot" selected>意向 / 高意向</option>' in html
    assert '<option value="t-vip" selected>意向 / VIP</option>' in html and "data-chips data-group-tags" in html
    assert '<option value="all" selected>' in html and 'name="tag_share" value="50"' in html
    assert "t-gone" not in html  # a deleted tag is not offered
    path = "/contacts/groups?tag=t-hot&tag=t-vip&tag_mode=all&tag_share=50"
    assert f'name="next" value="{path.replace("&", "&amp;")}"' in html  # the bulk actions come back to it
    back = client.post("/community/tiers/set", data={"csrf_token": csrf_token(client, "/contacts/groups"),
                                                      "tier": "vip", "chat_ids": ["wr-a"], "next": path})
    assert back.status_code == 302 and back.headers["Location"].endswith(path)


def test_the_pager_keeps_the_tag_filter(client, signed_in_as, tagged):
    now = utcnow()
    db.session.add_all(CustomerGroup(chat_id=f"wr-x{i}", name=f"批量群{i}", owner="alice", created_at=now)
                       for i in range(55))
    db.session.flush()
    db.session.add_all(CustomerGroupMember(chat_id=f"wr-x{i}", userid="c1", type=2) for i in range(55))
    db.session.commit()
    signed_in_as("community_manager")
    html = client.get("/contacts/groups?tag=t-vip&tag_share=100").get_data(as_text=True)
    assert "共 58 条" in html  # 55 + 丁 戊 己 (乙 has no VIP customer, 甲 is at 50 %)
    assert 'href="/contacts/groups?page=2&amp;tag=t-vip&amp;tag_share=100"' in html
    assert len(listed(client, "page=2&tag=t-vip&tag_share=100")) == 8
    assert listed(client, "page=3&tag=t-vip&tag_share=100") == set()  # past the end


@pytest.mark.parametrize("query,message", [
    ("tag=t-hot&tag=nope", "没有这些标签：nope"),
    ("tag=t-gone", "没有这些标签：t-gone"),
    ("tag=t-hot&tag_share=0", "1 到 100 之间的整数"),
    ("tag=t-hot&tag_share=abc", "1 到 100 之间的整数"),
    ("tag_share=30", "请先选择标签"),
    ("tag=t-hot&tag_mode=some", "「任一」或「全部」"),
])
def test_a_filter_that_cannot_be_applied_is_refused_with_a_reason(client, signed_in_as, tagged, query, message):
    signed_in_as("community_manager")
    answer = client.get(f"/contacts/groups?{query}")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and message in html and "data-tag-problem" in html
    assert "<tr data-group=" not in html  # not the list without the filter


def test_an_unknown_tag_stays_chosen_so_it_can_be_removed(client, signed_in_as, tagged):
    signed_in_as("community_manager")
    html = client.get("/contacts/groups?tag=nope&tag=t-hot").get_data(as_text=True)
    assert '<option value="nope" selected>未知标签：nope</option>' in html
    assert '<option value="t-hot" selected>' in html


def test_an_account_sees_only_its_groups(client, signed_in_as, tagged):
    signed_in_as("supervisor", wecom_userid="alice")  # leads 销售部: alice's and bob's groups, not carol's 丁群
    assert listed(client, "tag=t-hot") == {"wr-a", "wr-b", "wr-e", "wr-f"}
    assert listed(client, "tag=t-hot&tag_share=100") == {"wr-e", "wr-f"}
