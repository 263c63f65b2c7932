"""The contact list, customer, group and staff pages as operators and supervisors see them."""
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, Department, FollowRelation, Staff

from app.core.db import utcnow
from app.extensions import db
from app.rfm.models import Order
from app.tags.models import CorpTag, CorpTagGroup

SHANGHAI_NOON = datetime(2026, 3, 1, 4, 0, tzinfo=timezone.utc)


@pytest.fixture
def company(app):
    """Sales (with North below it) and Support; alice leads Sales, bob works in North, carol in Support."""
    db.session.add_all([
        Department(id=1, name="公司", parent_id=0), Department(id=2, name="销售部", parent_id=1, leader_userids=["alice"]),
        Department(id=3, name="华北组", parent_id=2), Department(id=4, name="客服部", parent_id=1),
        Staff(userid="alice", name="王丽", department_ids=[2], is_follow_user=True),
        Staff(userid="bob", name="李波", department_ids=[3], is_follow_user=True),
        Staff(userid="carol", name="陈卡", department_ids=[4], is_follow_user=True, status=5),
        CorpTagGroup(group_id="g1", name="意向"), CorpTag(tag_id="t-hot", group_id="g1", name="高意向"),
        CorpTag(tag_id="t-cold", group_id="g1", name="低意向"),
    ])
    now = utcnow()
    people = [("wm-zhang", "张三", "星河科技", None), ("wm-li", "李四", "", None),
              ("wm-wang", "王五", "=cmd|' /C calc'!A0", now - timedelta(days=2))]
    db.session.add_all(Customer(external_userid=e, name=n, corp_name=c, lost_at=lost) for e, n, c, lost in people)
    db.session.flush()
    db.session.add_all([
        FollowRelation(userid="alice", external_userid="wm-zhang", remark="老客户张总", remark_mobiles=["13812345678"],
                       tag_ids=["t-hot"], state="spring-fair", add_way=1, added_at=SHANGHAI_NOON),
        FollowRelation(userid="bob", external_userid="wm-li", remark="", add_way=3, tag_ids=["t-cold"],
                       added_at=SHANGHAI_NOON + timedelta(days=10)),
        FollowRelation(userid="carol", external_userid="wm-wang", add_way=1, added_at=now - timedelta(days=20),
                       ended_at=now - timedelta(days=2), ended_by="customer"),
        CustomerGroup(chat_id="wr-1", name="春季活动群", owner="alice", created_at=SHANGHAI_NOON),
        CustomerGroup(chat_id="wr-2", name="客服群", owner="carol", created_at=SHANGHAI_NOON),
    ])
    db.session.flush()
    db.session.add_all([
        CustomerGroupMember(chat_id="wr-1", userid="alice", type=1, name="王丽", join_scene=1),
        CustomerGroupMember(chat_id="wr-1", userid="wm-zhang", type=2, name="张三", join_scene=3, invitor="alice",
                            join_time=SHANGHAI_NOON + timedelta(days=1)),
        CustomerGroupMember(chat_id="wr-2", userid="wm-li", type=2, name="李四", join_scene=1),
        Order(order_id="SO-1", external_userid="wm-zhang", amount_fen=12900, paid_at=SHANGHAI_NOON + timedelta(days=3),
              status="paid", source="csv"),
    ])
    db.session.commit()


def names_on(client, url: str) -> set[str]:
    html = client.get(url).get_data(as_text=True)
    return {n for n in ("张三", "李四", "王五") if f">{n}</a>" in html}


@pytest.mark.parametrize("query, expected", [
    ("", {"张三", "李四", "王五"}),
    ("q=张总", {"张三"}),          # remark
    ("q=星河", {"张三"}),          # corp name
    ("staff=bob", {"李四"}),
    ("department=2", {"张三", "李四"}),  # Sales and the North team below it
    ("tag=t-hot", {"张三"}),
    ("group=wr-2", {"李四"}),
    ("state=spring-fair", {"张三"}),
    ("add_way=3", {"李四"}),
    ("since=2026-03-05&until=2026-03-20", {"李四"}),
    ("since=2026-03-01&until=2026-03-01", {"张三"}),  # a whole day in the corp's timezone
    ("lost=yes", {"王五"}),
    ("lost=no", {"张三", "李四"}),
])
def test_filters_return_the_right_customers(client, signed_in_as, company, query, expected):
    signed_in_as("operator")
    assert names_on(client, f"/contacts/?{query}") == expected


@pytest.mark.parametrize("q, expected", [
    ("13812345678", {"张三"}),        # the remark mobile as the list shows it
    ("138 1234 5678", {"张三"}),      # as people write it
    ("+86 138-1234-5678", {"张三"}),
    ("5678", {"张三"}),               # its last four digits
    ("123", set()),                  # too few digits to be a phone number
    ("老客户", {"张三"}),              # the remark
    ("李四", {"李四"}),                # the name
])
def test_search_finds_customers_by_phone_number_remark_and_name(client, signed_in_as, company, q, expected):
    signed_in_as("operator")
    assert names_on(client, "/contacts/?" + urlencode({"q": q})) == expected


def test_an_account_that_sees_masked_mobiles_cannot_search_by_them(client, signed_in_as, company):
    signed_in_as("viewer")
    assert names_on(client, "/contacts/?q=13812345678") == set()
    assert names_on(client, "/contacts/?q=张总") == {"张三"}


def test_sorting_and_search_without_matches(client, signed_in_as, company):
    signed_in_as("operator")
    def order(sort: str) -> list[str]:
        html = client.get(f"/contacts/?sort={sort}").get_data(as_text=True)
        return sorted(("张三", "李四", "王五"), key=lambda n: html.index(f">{n}</a>"))

    assert order("newest") == ["王五", "李四", "张三"]
    assert order("oldest") == ["张三", "李四", "王五"]
    assert order("lost")[0] == "王五"
    empty = client.get("/contacts/?q=nobody").get_data(as_text=True)
    assert "没有符合条件的客户" in empty


def test_empty_list_tells_what_to_do_next(client, signed_in_as):
    signed_in_as("admin")
    html = client.get("/contacts/").get_data(as_text=True)
    assert "还没有客户" in html and "/contacts/sync" in html


def test_mobiles_are_masked_for_roles_without_the_permission(client, signed_in_as, company):
    signed_in_as("viewer")
    for url in ("/contacts/", "/contacts/wm-zhang"):
        html = client.get(url).get_data(as_text=True)
        assert "138****5678" in html and "13812345678" not in html


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_mobiles_are_shown_to_roles_with_the_permission(client, signed_in_as, company, role):
    signed_in_as(role)
    assert "13812345678" in client.get("/contacts/").get_data(as_text=True)


def test_supervisor_sees_only_the_departments_they_lead(client, signed_in_as, company):
    signed_in_as("supervisor", wecom_userid="alice")
    assert names_on(client, "/contacts/") == {"张三", "李四"}
    assert client.get("/contacts/wm-wang").status_code == 404
    staff = client.get("/contacts/staff").get_data(as_text=True)
    assert "王丽" in staff and "李波" in staff and "陈卡" not in staff
    groups = client.get("/contacts/groups").get_data(as_text=True)
    assert "春季活动群" in groups and "客服群" not in groups
    assert client.get("/contacts/groups/wr-2").status_code == 404


def test_supervisor_who_leads_no_department_sees_only_their_own_customers(client, signed_in_as, company):
    signed_in_as("supervisor", wecom_userid="bob")
    page = client.get("/contacts/").get_data(as_text=True)
    assert names_on(client, "/contacts/") == {"李四"}
    assert "不是任何部门的负责人" in page


def test_supervisor_without_a_wecom_link_sees_nothing_and_is_told_why(client, signed_in_as, company):
    signed_in_as("supervisor")
    html = client.get("/contacts/").get_data(as_text=True)
    assert "未关联企业微信成员" in html and "还没有客户" not in html
    assert names_on(client, "/contacts/") == set()
    assert "王丽" not in client.get("/contacts/staff").get_data(as_text=True)


def test_customer_page_shows_relations_groups_orders_and_timeline(client, signed_in_as, company):
    signed_in_as("operator")
    html = client.get("/contacts/wm-zhang").get_data(as_text=True)
    for text in ("老客户张总", "王丽", "高意向", "春季活动群", "spring-fair", "扫描二维码", "SO-1", "129.00",
                 "2026-03-01 12:00"):
        assert text in html, text
    lost = client.get("/contacts/wm-wang").get_data(as_text=True)
    assert "已流失" in lost and "客户删除了员工" in lost
    assert client.get("/contacts/wm-nobody").status_code == 404


def test_group_pages_show_owner_counts_members_join_scene_and_inviter(client, signed_in_as, company):
    signed_in_as("community_manager")
    html = client.get("/contacts/groups").get_data(as_text=True)
    row = html[html.index("春季活动群"):html.index("</tr>", html.index("春季活动群"))]
    assert "王丽" in row and '<td class="text-end">2</td><td class="text-end">1</td>' in row
    group = client.get("/contacts/groups/wr-1").get_data(as_text=True)
    assert "扫描群二维码" in group and "张三" in group and "成员直接邀请" in group


def test_staff_page_counts_customers_new_and_lost(client, signed_in_as, company):
    signed_in_as("operator")
    html = client.get("/contacts/staff").get_data(as_text=True)
    row = html[html.index("陈卡"):html.index("</tr>", html.index("陈卡"))]
    assert "已离职" in row and "客服部" in row
    assert row.count('<td class="text-end">0</td>') == 2  # no current customers, none new in 7 days (zeros plain)
    assert '<td class="text-end text-success">1</td>' in row and '<td class="text-end text-danger">1</td>' in row


@pytest.mark.parametrize("role", ["viewer", "supervisor", "community_manager"])
def test_export_needs_the_export_permission(client, signed_in_as, company, role):
    signed_in_as(role)
    assert client.get("/contacts/export?format=csv").status_code == 403


def test_tagging_needs_the_edit_permission(client, signed_in_as, company):
    from tests.conftest import csrf_token

    signed_in_as("viewer")
    token = csrf_token(client, "/contacts/")
    for url in ("/contacts/tags", "/contacts/wm-zhang/tags"):
        response = client.post(url, data={"csrf_token": token, "external_userid": "wm-zhang", "add": "t-cold"})
        assert response.status_code == 403


def test_customer_page_shows_the_rfm_segment_once_scored(client, signed_in_as, company):
    from app.rfm import recompute

    signed_in_as("operator")
    assert 'id="rfm-card"' not in client.get("/contacts/wm-zhang").get_data(as_text=True)
    recompute.execute(recompute.begin("test").id)  # no WeCom configured: scores are stored, tags wait
    html = client.get("/contacts/wm-zhang").get_data(as_text=True)
    card = html[html.index('id="rfm-card"'):]
    assert "沉睡客户" in card and "R1 F1 M1" in card and "¥129.00" in card
