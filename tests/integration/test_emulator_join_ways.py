"""群活码 and 入群欢迎语 as WeCom documents them (wecom-api.md §13, §8, §5): limits, joins by code, full groups."""
import pytest

from scripts.wecom_emulator.testing import ControlError


@pytest.fixture
def owner(wecom):
    return wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"][0]


def new_group(emulator, owner, name="空群") -> str:
    return emulator.control.post("simulate/group_create", owner=owner, name=name)["chat_id"]


def code(wecom, chats, **fields) -> dict:
    body = {"scene": 2, "chat_id_list": chats, "auto_create_room": 1, "room_base_name": "会员群",
            "room_base_id": 10, "state": "store-01", **fields}
    return wecom.post("externalcontact/groupchat/add_join_way", body)[1]


def members(wecom, chat_id) -> list[dict]:
    return wecom.post("externalcontact/groupchat/get", {"chat_id": chat_id})[1]["group_chat"]["member_list"]


def test_join_way_limits_and_lifecycle(emulator, wecom, owner):
    chats = [new_group(emulator, owner) for _ in range(6)]
    assert code(wecom, chats)["errcode"] == 40058                      # at most 5 groups
    assert code(wecom, [])["errcode"] == 40058
    assert code(wecom, chats[:1], state="s" * 31)["errcode"] == 40058  # state ≤ 30
    assert code(wecom, chats[:1], room_base_name="名" * 41)["errcode"] == 40058
    assert code(wecom, chats[:1], room_base_name="")["errcode"] == 40058  # auto_create_room needs a base name
    assert code(wecom, ["wrnotagroup"])["errcode"] == 40050
    made = code(wecom, chats[:5])
    assert made["errcode"] == 0
    config_id = made["config_id"]
    way = wecom.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})[1]["join_way"]
    assert (way["chat_id_list"], way["state"], way["room_base_name"]) == (chats[:5], "store-01", "会员群")
    assert way["qr_code"].startswith("https://")
    # an update replaces the config: what is left out goes back to its default
    ok = wecom.post("externalcontact/groupchat/update_join_way",
                    {"config_id": config_id, "scene": 2, "chat_id_list": chats[:2], "auto_create_room": 0})[1]
    assert ok["errcode"] == 0
    way = wecom.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})[1]["join_way"]
    assert (way["chat_id_list"], way["state"], way["auto_create_room"]) == (chats[:2], "", 0)
    assert emulator.control.get("summary")["join_ways"] == 1
    assert wecom.post("externalcontact/groupchat/del_join_way", {"config_id": config_id})[1]["errcode"] == 0
    assert wecom.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})[1]["errcode"] == 41044
    assert wecom.post("externalcontact/groupchat/get_join_way", {})[1]["errcode"] == 41043


def test_a_join_through_a_code_carries_its_state_and_scene_3(emulator, wecom, owner):
    chat_id = new_group(emulator, owner)
    config_id = code(wecom, [chat_id])["config_id"]
    joined = emulator.control.post("simulate/group_join_by_code", config_id=config_id)
    assert joined["chat_id"] == chat_id and not joined["opened"]
    member = next(m for m in members(wecom, chat_id) if m["userid"] == joined["external_userid"])
    assert (member["state"], member["join_scene"], member["type"]) == ("store-01", 3, 2)
    (record,) = [r for r in emulator.control.deliveries() if r["event"].get("update_detail") == "add_member"]  # one so far
    assert "<JoinScene>3</JoinScene>" in record["xml"] and record["event"]["chat_id"] == chat_id
    earlier = emulator.control.post("simulate/group_join_by_code", config_id=config_id, join_time=1700000000)
    assert next(m for m in members(wecom, chat_id) if m["userid"] == earlier["external_userid"])["join_time"] == 1700000000
    with pytest.raises(ControlError, match="join_time"):  # a scan cannot happen in the future
        emulator.control.post("simulate/group_join_by_code", config_id=config_id, join_time=4102444800)
    with pytest.raises(ControlError):  # scanning again: already in the group, nothing happens
        emulator.control.post("simulate/group_join_by_code", config_id=config_id,
                              external_userid=joined["external_userid"])


def test_a_full_group_passes_to_the_next_and_then_a_new_one_opens(emulator, wecom, owner):
    emulator.control.config(group_capacity=3)  # owner + 2 customers
    first, second = new_group(emulator, owner, "一群"), new_group(emulator, owner, "二群")
    config_id = code(wecom, [first, second])["config_id"]
    where = [emulator.control.post("simulate/group_join_by_code", config_id=config_id) for _ in range(5)]
    assert [w["chat_id"] for w in where[:4]] == [first, first, second, second]
    opened = where[4]
    assert opened["opened"] and opened["chat_id"] not in (first, second)
    group = wecom.post("externalcontact/groupchat/get", {"chat_id": opened["chat_id"], "need_name": 1})[1]["group_chat"]
    assert (group["name"], group["owner"], len(group["member_list"])) == ("会员群10", owner, 2)
    way = wecom.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})[1]["join_way"]
    assert way["chat_id_list"] == [first, second, opened["chat_id"]]
    kinds = [r["event"]["change_type"] for r in emulator.control.deliveries() if r["event"]["chat_id"] == opened["chat_id"]]
    assert kinds == ["create", "update"]
    # without auto_create_room a code whose groups are all full takes nobody
    closed = code(wecom, [first], auto_create_room=0)["config_id"]
    with pytest.raises(ControlError, match="full"):
        emulator.control.post("simulate/group_join_by_code", config_id=closed)


def test_join_ways_share_the_contact_way_quota(emulator, wecom, owner):
    chat_id = new_group(emulator, owner)
    assert code(wecom, [chat_id])["errcode"] == 0
    way = {"type": 1, "scene": 2, "user": [owner]}
    assert wecom.post("externalcontact/add_contact_way", way)[1]["errcode"] == 0
    used = emulator.control.get("summary")
    total = used["join_ways"] + used["contact_ways"]
    emulator.control.config(contact_way_quota=total)  # the shared quota is reached
    assert code(wecom, [chat_id])["errcode"] == 41045
    assert wecom.post("externalcontact/add_contact_way", way)[1]["errcode"] == 41045


def test_group_welcome_templates(wecom):
    link = {"title": "入群福利", "url": "https://example.com/w"}
    made = wecom.post("externalcontact/group_welcome_template/add",
                      {"text": {"content": "欢迎 %NICKNAME% 入群"}, "link": link, "notify": 0})[1]
    assert made["errcode"] == 0
    tid = made["template_id"]
    got = wecom.post("externalcontact/group_welcome_template/get", {"template_id": tid})[1]
    assert got["text"]["content"] == "欢迎 %NICKNAME% 入群" and got["link"]["title"] == "入群福利"
    two = {"text": {"content": "x"}, "link": link, "image": {"pic_url": "https://example.com/a.png"}}
    assert wecom.post("externalcontact/group_welcome_template/add", two)[1]["errcode"] == 40058
    long = {"text": {"content": "字" * 1001}}  # 3003 bytes
    assert wecom.post("externalcontact/group_welcome_template/add", long)[1]["errcode"] == 45002
    assert wecom.post("externalcontact/group_welcome_template/add", {})[1]["errcode"] == 44004
    bad_media = {"image": {"media_id": "nope"}}
    assert wecom.post("externalcontact/group_welcome_template/add", bad_media)[1]["errcode"] == 40007
    # edit replaces the whole content: the link is gone
    assert wecom.post("externalcontact/group_welcome_template/edit",
                      {"template_id": tid, "text": {"content": "新欢迎语"}})[1]["errcode"] == 0
    got = wecom.post("externalcontact/group_welcome_template/get", {"template_id": tid})[1]
    assert got["text"]["content"] == "新欢迎语" and "link" not in got
    for n in range(99):
        assert wecom.post("externalcontact/group_welcome_template/add", {"text": {"content": f"t{n}"}})[1]["errcode"] == 0
    assert wecom.post("externalcontact/group_welcome_template/add", {"text": {"content": "101"}})[1]["errcode"] == 40058
    assert wecom.post("externalcontact/group_welcome_template/del", {"template_id": tid})[1]["errcode"] == 0
    assert wecom.post("externalcontact/group_welcome_template/get", {"template_id": tid})[1]["errcode"] == 40058
