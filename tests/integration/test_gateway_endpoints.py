"""Every WeCom endpoint the product uses, through the gateway and real wechatpy, against the emulator over HTTP."""
import time

import pytest

from app.wecom.errors import WeComInvalidArgument, WeComNotFriend
from app.wecom.gateway import WeComGateway
from app.wecom.ratelimit import WindowLimiter

DAY = 86400


@pytest.fixture
def gw(emulator):
    return WeComGateway(emulator.corp_id, emulator.secret, api_base=emulator.api_base, timeout=(2, 5),
                        rate_limiter=WindowLimiter(per_minute=600_000, per_hour=10_000_000), max_attempts=3, retry_base_delay=0.001)


@pytest.fixture
def staff(gw):
    """Members with customer contact who have customers, and the one member without permission."""
    follow = gw.get_follow_user_list()
    everyone = [u["userid"] for d in gw.list_departments() for u in gw.list_users_simple(d["id"])]
    return follow, [u for u in everyone if u not in follow]


def test_gettoken_is_cached(gw, emulator):
    token = gw.get_access_token()
    assert token and gw.get_access_token() == token
    assert WeComGateway(emulator.corp_id, emulator.secret, api_base=emulator.api_base).get_access_token() == token


def test_departments_and_members(gw):
    departments = gw.list_departments()
    assert 1 in {d["id"] for d in departments} and len(departments) > 1
    leaf = next(d for d in departments if d["parentid"] not in (0, 1))
    assert {d["id"] for d in gw.list_departments(leaf["id"])} == {leaf["id"]}
    members = [m for d in departments for m in gw.list_users(d["id"])]
    simple = [m for d in departments for m in gw.list_users_simple(d["id"])]
    assert members and {m["userid"] for m in members} == {s["userid"] for s in simple}
    assert {"userid", "name", "department"} <= set(simple[0]) and "position" in members[0]
    assert gw.list_users(1) == []  # WeCom lists a department's own members only; the root has none here
    assert gw.get_user(members[0]["userid"])["name"] == members[0]["name"]


def test_customers_list_get_and_batch(gw, staff):
    follow, others = staff
    ids = gw.list_external_contacts(follow[0])
    assert ids
    assert gw.list_external_contacts(others[0]) == []  # 84061 "no customers" is an empty list
    detail = gw.get_external_contact(ids[0])
    assert detail["external_contact"]["external_userid"] == ids[0]
    assert follow[0] in {f["userid"] for f in detail["follow_user"]}

    items, cursor = gw.batch_get_by_user_page(follow[:2], limit=7)
    assert len(items) == 7 and cursor
    every = list(gw.iter_contacts_by_users(follow[:2], limit=7))
    expected = {(u, e) for u in follow[:2] for e in gw.list_external_contacts(u)}
    assert {(i["follow_info"]["userid"], i["external_contact"]["external_userid"]) for i in every} == expected
    assert len(every) == len(expected)


def test_remark(gw, staff):
    userid = staff[0][0]
    ext = gw.list_external_contacts(userid)[0]
    gw.update_remark(userid, ext, remark="王总", description="季度回访")
    follow = next(f for f in gw.get_external_contact(ext)["follow_user"] if f["userid"] == userid)
    assert (follow["remark"], follow["description"]) == ("王总", "季度回访")
    with pytest.raises(WeComNotFriend):
        gw.update_remark(staff[1][0], ext, remark="x")


def test_corp_tags_and_marking(gw, staff):
    group = gw.add_corp_tag([{"name": "网关测试A"}, {"name": "网关测试B"}], group_name="网关测试组")
    ids = {t["name"]: t["id"] for t in group["tag"]}
    assert set(ids) == {"网关测试A", "网关测试B"}
    listed = gw.get_corp_tag_list(group_ids=[group["group_id"]])
    assert [g["group_name"] for g in listed] == ["网关测试组"]
    assert any(g["group_id"] == group["group_id"] for g in gw.get_corp_tag_list())
    gw.edit_corp_tag(ids["网关测试A"], name="网关测试A2")
    assert {t["name"] for t in gw.get_corp_tag_list(tag_ids=[ids["网关测试A"]])[0]["tag"]} >= {"网关测试A2"}

    userid = staff[0][0]
    ext = gw.list_external_contacts(userid)[0]
    gw.mark_tag(userid, ext, add_tag=[ids["网关测试A"], ids["网关测试B"]])
    tags = lambda: {t["tag_id"] for f in gw.get_external_contact(ext)["follow_user"]  # noqa: E731
                    if f["userid"] == userid for t in f["tags"]}
    assert {ids["网关测试A"], ids["网关测试B"]} <= tags()
    gw.mark_tag(userid, ext, remove_tag=[ids["网关测试B"]])
    assert ids["网关测试B"] not in tags()

    gw.del_corp_tag(group_ids=[group["group_id"]])
    assert all(g["group_id"] != group["group_id"] for g in gw.get_corp_tag_list())


def test_contact_ways(gw, staff):
    userid = staff[0][0]
    created = gw.add_contact_way(1, 2, state="gw_test", user=[userid], remark="网关测试")
    config_id = created["config_id"]
    assert created.get("qr_code")
    way = gw.get_contact_way(config_id)
    assert (way["state"], way["user"]) == ("gw_test", [userid])
    gw.update_contact_way(config_id, remark="改过的备注")
    way = gw.get_contact_way(config_id)
    assert way["remark"] == "改过的备注" and way["state"] == "gw_test"

    page, cursor = gw.list_contact_way_page(limit=2)
    assert len(page) == 2 and cursor
    listed = [w["config_id"] for w in gw.iter_contact_ways()]
    assert config_id in listed and len(listed) == len(set(listed))
    gw.del_contact_way(config_id)
    with pytest.raises(WeComInvalidArgument):
        gw.get_contact_way(config_id)


def test_group_chats(gw, staff):
    page, cursor = gw.list_group_chats_page(limit=2)
    assert len(page) == 2 and cursor
    chats = list(gw.iter_group_chats())
    assert len(chats) == len({c["chat_id"] for c in chats}) > 2
    chat = gw.get_group_chat(chats[0]["chat_id"])
    assert chat["name"] and chat["owner"] in staff[0] and chat["member_list"]
    assert all(m.get("name") for m in chat["member_list"])  # need_name=1 was sent
    owned = list(gw.iter_group_chats(owner_userids=[chat["owner"]]))
    assert chats[0]["chat_id"] in {c["chat_id"] for c in owned}

    yesterday = (int(time.time()) // DAY - 1) * DAY
    stats = gw.group_chat_statistic(yesterday - 6 * DAY, yesterday, owner_userids=staff[0])
    assert {"total", "next_offset", "items"} <= set(stats)


def test_user_behavior_data(gw, staff):
    yesterday = (int(time.time()) // DAY - 1) * DAY
    rows = gw.get_user_behavior_data(staff[0][0], yesterday - 6 * DAY, yesterday)
    assert len(rows) == 7 and {"stat_time", "chat_cnt", "new_contact_cnt"} <= set(rows[0])


def test_mass_message_lifecycle(gw, staff, emulator):
    sender = staff[0][0]
    customers = gw.list_external_contacts(sender)[:3]
    template = {"chat_type": "single", "sender": sender, "external_userid": customers,
                "text": {"content": "网关测试群发"}}
    created = gw.add_msg_template(template)
    msgid = created["msgid"]
    assert msgid and created.get("fail_list", []) == []

    now = int(time.time())
    listed = list(gw.iter_groupmsg_list("single", now - DAY, now + 60, filter_type=0))
    assert msgid in {m["msgid"] for m in listed}
    assert len(gw.get_groupmsg_list_page("single", now - DAY, now + 60, filter_type=0, limit=1)[0]) == 1

    assert [(t["userid"], t["status"]) for t in gw.iter_groupmsg_tasks(msgid)] == [(sender, 0)]
    page, cursor = gw.get_groupmsg_send_result_page(msgid, sender, limit=2)
    assert len(page) == 2 and cursor
    emulator.control.confirm(msgid)  # the member sends it from the WeCom client
    assert [(t["userid"], t["status"]) for t in gw.iter_groupmsg_tasks(msgid)] == [(sender, 2)]
    results = list(gw.iter_groupmsg_send_results(msgid, sender))
    assert sorted((r["external_userid"], r["status"]) for r in results) == sorted((c, 1) for c in customers)

    second = gw.add_msg_template({**template, "external_userid": customers[:1]})["msgid"]
    gw.remind_groupmsg_send(second)
    gw.cancel_groupmsg_send(second)
    assert emulator.control.confirm(second)["confirmed"] == []  # cancelled: the member can no longer send
