"""Corp tag rules, contact ways and customer groups as WeCom enforces them."""
import pytest

from scripts.wecom_emulator.testing import ControlError, RunningEmulator


@pytest.fixture
def staff(wecom):
    return wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"]


def groups(wecom):
    return wecom.post("externalcontact/get_corp_tag_list", {})[1]["tag_group"]


def test_add_corp_tag_rules(wecom):
    ok = wecom.post("externalcontact/add_corp_tag",
                    {"group_name": "活动", "tag": [{"name": "双11"}, {"name": "双11"}, {"name": "618"}]})[1]
    assert ok["errcode"] == 0 and sorted(t["name"] for t in ok["tag_group"]["tag"]) == ["618", "双11"]
    gid = ok["tag_group"]["group_id"]
    # an existing group name adds to that group; group_id wins over group_name
    more = wecom.post("externalcontact/add_corp_tag", {"group_name": "活动", "tag": [{"name": "年货节"}]})[1]
    assert more["tag_group"]["group_id"] == gid and [t["name"] for t in more["tag_group"]["tag"]] == ["年货节"]
    assert wecom.post("externalcontact/add_corp_tag", {"group_id": gid, "group_name": "ignored",
                                                       "tag": [{"name": "双11"}]})[1]["errcode"] == 40071
    assert wecom.post("externalcontact/add_corp_tag", {"group_name": "空组", "tag": []})[1]["errcode"] == 40058
    assert wecom.post("externalcontact/add_corp_tag", {"group_name": "x" * 31, "tag": [{"name": "a"}]})[1]["errcode"] == 40058
    assert wecom.post("externalcontact/add_corp_tag", {"group_id": "etnope", "tag": [{"name": "a"}]})[1]["errcode"] == 40068
    names = {g["group_name"]: sorted(t["name"] for t in g["tag"]) for g in groups(wecom)}
    assert names["活动"] == ["618", "双11", "年货节"] and "空组" not in names


def test_tag_cap_of_3000(wecom):
    for i in range(2):
        body = {"group_name": f"批量{i}", "tag": [{"name": f"t{n}"} for n in range(1490)]}
        assert wecom.post("externalcontact/add_corp_tag", body)[1]["errcode"] == 0
    total = sum(len(g["tag"]) for g in groups(wecom))
    assert total <= 3000
    over = {"group_name": "溢出", "tag": [{"name": f"o{n}"} for n in range(3001 - total)]}
    assert wecom.post("externalcontact/add_corp_tag", over)[1]["errcode"] == 40058
    assert all(g["group_name"] != "溢出" for g in groups(wecom))


def test_edit_and_delete_rules(wecom):
    first, second = groups(wecom)[:2]
    assert wecom.post("externalcontact/edit_corp_tag", {"id": first["group_id"],
                                                        "name": second["group_name"]})[1]["errcode"] == 40071
    tag_a, tag_b = first["tag"][:2]
    assert wecom.post("externalcontact/edit_corp_tag", {"id": tag_a["id"], "name": tag_b["name"]})[1]["errcode"] == 40071
    assert wecom.post("externalcontact/edit_corp_tag", {"id": tag_a["id"], "name": "改名"})[1]["errcode"] == 0
    assert wecom.post("externalcontact/edit_corp_tag", {"id": "etnope", "name": "x"})[1]["errcode"] == 40068
    assert wecom.post("externalcontact/del_corp_tag", {})[1]["errcode"] == 40058
    assert wecom.post("externalcontact/del_corp_tag", {"tag_id": ["etnope"]})[1]["errcode"] == 40068
    all_tags = [t["id"] for t in first["tag"]]
    assert wecom.post("externalcontact/del_corp_tag", {"tag_id": all_tags})[1]["errcode"] == 0
    assert first["group_id"] not in {g["group_id"] for g in groups(wecom)}  # the emptied group is gone
    filtered = wecom.post("externalcontact/get_corp_tag_list", {"group_id": [second["group_id"]]})[1]["tag_group"]
    assert [g["group_id"] for g in filtered] == [second["group_id"]] and filtered[0]["deleted"] is False


def test_mark_tag_rules(emulator, wecom, staff):
    userid = staff[0]
    mine = wecom.get("externalcontact/list", userid=userid)[1]["external_userid"]
    ext = mine[0]
    tags = [t["id"] for g in groups(wecom) for t in g["tag"]]
    body = {"userid": userid, "external_userid": ext, "add_tag": tags[:2], "remove_tag": []}
    assert wecom.post("externalcontact/mark_tag", body)[1]["errcode"] == 0
    info = wecom.get("externalcontact/get", external_userid=ext)[1]["follow_user"]
    assert set(tags[:2]) <= {t["tag_id"] for f in info if f["userid"] == userid for t in f["tags"]}
    assert wecom.post("externalcontact/mark_tag", {**body, "add_tag": []})[1]["errcode"] == 40058
    assert wecom.post("externalcontact/mark_tag", {**body, "add_tag": ["etnope"]})[1]["errcode"] == 40068
    other = next(e for u in staff[1:] for e in wecom.get("externalcontact/list", userid=u)[1]["external_userid"]
                 if e not in mine)
    assert wecom.post("externalcontact/mark_tag", {**body, "external_userid": other})[1]["errcode"] == 84061
    marks = emulator.control.get("tag_marks")["tag_marks"]
    assert [m["errcode"] for m in marks] == [0, 40058, 40068, 84061]
    assert emulator.control.deliveries() == []  # API changes never produce callbacks


def test_contact_way_lifecycle_and_errors(wecom, staff):
    add = wecom.post("externalcontact/add_contact_way",
                     {"type": 1, "scene": 2, "state": "store_test", "user": [staff[0]]})[1]
    assert add["errcode"] == 0 and add["qr_code"]
    way = wecom.post("externalcontact/get_contact_way", {"config_id": add["config_id"]})[1]["contact_way"]
    assert (way["state"], way["user"], way["type"]) == ("store_test", [staff[0]], 1) and "style" not in way
    errors = [
        ({"type": 1, "scene": 2, "state": "s" * 31, "user": [staff[0]]}, 40058),
        ({"type": 1, "scene": 2, "user": staff[:2]}, 40058),
        ({"type": 2, "scene": 2, "user": [f"ghost{i}" for i in range(101)]}, 60111),
        ({"scene": 2, "user": [staff[0]]}, 40058),
    ]
    for body, code in errors:
        assert wecom.post("externalcontact/add_contact_way", body)[1]["errcode"] == code
    assert wecom.post("externalcontact/get_contact_way", {})[1]["errcode"] == 41043
    assert wecom.post("externalcontact/get_contact_way", {"config_id": "nope"})[1]["errcode"] == 41044
    upd = {"config_id": add["config_id"], "remark": "r", "skip_verify": True, "state": "store_new"}
    assert wecom.post("externalcontact/update_contact_way", upd)[1]["errcode"] == 0
    way = wecom.post("externalcontact/get_contact_way", {"config_id": add["config_id"]})[1]["contact_way"]
    assert way["state"] == "store_new"
    listed = wecom.post("externalcontact/list_contact_way", {"limit": 2})[1]
    assert len(listed["contact_way"]) == 2 and listed["next_cursor"]
    assert wecom.post("externalcontact/list_contact_way", {"limit": 1001})[1]["errcode"] == 40058
    assert wecom.post("externalcontact/del_contact_way", {"config_id": add["config_id"]})[1]["errcode"] == 0
    assert wecom.post("externalcontact/del_contact_way", {"config_id": add["config_id"]})[1]["errcode"] == 41044


def test_groupchat_list_limit_paging_owner_filter_and_get(wecom, staff):
    for bad in ({}, {"limit": 0}, {"limit": 1001}):
        resp = wecom.post("externalcontact/groupchat/list", bad)[1]
        assert resp["errcode"] == 40058 and resp["group_chat_list"] == []
    seen, cursor = [], ""
    while True:
        page = wecom.post("externalcontact/groupchat/list", {"limit": 2, "cursor": cursor})[1]
        assert len(page["group_chat_list"]) <= 2
        seen += [c["chat_id"] for c in page["group_chat_list"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5
    owned = wecom.post("externalcontact/groupchat/list",
                       {"limit": 100, "owner_filter": {"userid_list": [staff[0]]}})[1]["group_chat_list"]
    assert 0 < len(owned) < 5
    chat = wecom.post("externalcontact/groupchat/get", {"chat_id": owned[0]["chat_id"], "need_name": 1})[1]["group_chat"]
    assert chat["owner"] == staff[0] and chat["member_version"]
    kinds = {m["type"] for m in chat["member_list"]}
    assert kinds == {1, 2} and all("name" in m for m in chat["member_list"])
    plain = wecom.post("externalcontact/groupchat/get", {"chat_id": owned[0]["chat_id"]})[1]["group_chat"]
    assert all("name" not in m for m in plain["member_list"])
    assert all(("invitor" in m) == (m["join_scene"] != 3) for m in plain["member_list"] if m["type"] == 2)
    assert wecom.post("externalcontact/groupchat/get", {"chat_id": "wrnope"})[1]["errcode"] == 40050


def test_group_details_stay_old_for_a_while_after_a_change(emulator, wecom, staff):
    """wecom-api.md §5: some group info is processed asynchronously; groupchat/get shows the old details (members,
    member_version, name) until the hold ends (here: until released), while the event already went out."""
    assert RunningEmulator().settings.group_detail_delay == 2.0  # WeCom's "例如2秒" unless a test says otherwise
    with pytest.raises(ControlError):
        emulator.control.config(group_detail_delay=-1)
    emulator.control.config(group_detail_delay=None)
    chat_id = wecom.post("externalcontact/groupchat/list", {"limit": 1, "owner_filter": {"userid_list": [staff[0]]}}
                         )[1]["group_chat_list"][0]["chat_id"]

    def details():
        return wecom.post("externalcontact/groupchat/get", {"chat_id": chat_id})[1]["group_chat"]

    old = details()
    newcomer = emulator.control.add_customer(userid=staff[0], welcome_code=False)["external_userid"]
    emulator.control.post("simulate/group_join", chat_id=chat_id, members=[newcomer])
    emulator.control.post("simulate/group_rename", chat_id=chat_id, name="新名字")
    assert details() == old  # both changes held, with the details from before the first
    assert emulator.control.post("groupchat/release")["released"] == [chat_id]
    new = details()
    assert newcomer in {m["userid"] for m in new["member_list"]} and new["name"] == "新名字"
    assert new["member_version"] != old["member_version"]


def test_contact_way_state_is_thirty_characters_and_the_corp_quota_frees_on_delete(emulator, wecom, staff):
    """wecom-api.md §4: state ≤30 characters (characters, not bytes: 30 Chinese ones pass); at most a quota of
    API-made ways per corp (41045 past it); deleting one makes room again (our reading, see settings.py)."""
    assert wecom.post("externalcontact/add_contact_way",
                      {"type": 1, "scene": 2, "state": "任" * 30, "user": [staff[0]]})[1]["errcode"] == 0
    assert wecom.post("externalcontact/add_contact_way",
                      {"type": 1, "scene": 2, "state": "任" * 31, "user": [staff[0]]})[1]["errcode"] == 40058
    held = emulator.control.get("summary")["contact_ways"]
    ways = wecom.post("externalcontact/list_contact_way", {"limit": 1000, "start_time": 0})[1]["contact_way"]
    emulator.control.config(contact_way_quota=held)
    full = wecom.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "state": "x", "user": [staff[0]]})[1]
    assert full["errcode"] == 41045
    assert wecom.post("externalcontact/del_contact_way", {"config_id": ways[-1]["config_id"]})[1]["errcode"] == 0
    again = wecom.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "state": "x", "user": [staff[0]]})[1]
    assert again["errcode"] == 0


def test_a_new_customer_may_come_with_a_known_unionid(emulator, wecom, staff):
    """A second id for the same WeChat user (the self-referral case): the emulator lets a test name the unionid."""
    first = emulator.control.add_customer(userid=staff[0])
    unionid = wecom.get("externalcontact/get", external_userid=first["external_userid"])[1]["external_contact"]["unionid"]
    second = emulator.control.add_customer(userid=staff[1], unionid=unionid)
    got = wecom.get("externalcontact/get", external_userid=second["external_userid"])[1]["external_contact"]
    assert second["external_userid"] != first["external_userid"] and got["unionid"] == unionid
