"""Mass messages: tasks wait for staff, fail_list, send statuses 1/2/3 under the receive quota, reminders, cancel."""
import time

import pytest


@pytest.fixture
def sender(wecom):
    userid = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"][0]
    return userid, wecom.get("externalcontact/list", userid=userid)[1]["external_userid"]


def results(wecom, msgid, userid):
    rows = wecom.post("externalcontact/get_groupmsg_send_result", {"msgid": msgid, "userid": userid})[1]["send_list"]
    return {r["external_userid"]: r["status"] for r in rows}


def test_template_waits_for_confirmation_then_sends(emulator, wecom, sender):
    userid, mine = sender
    stranger = "wmnotacustomer"
    add = wecom.post("externalcontact/add_msg_template",
                     {"sender": userid, "external_userid": mine[:3] + [stranger], "text": {"content": "新品上市"}})[1]
    assert add["errcode"] == 0 and add["fail_list"] == [stranger] and add["msgid"]
    tasks = wecom.post("externalcontact/get_groupmsg_task", {"msgid": add["msgid"]})[1]["task_list"]
    assert tasks == [{"userid": userid, "status": 0}]
    assert set(results(wecom, add["msgid"], userid).values()) == {0}
    emulator.control.confirm(add["msgid"])
    task = wecom.post("externalcontact/get_groupmsg_task", {"msgid": add["msgid"]})[1]["task_list"][0]
    assert task["status"] == 2 and task["send_time"] > 0
    assert results(wecom, add["msgid"], userid) == {e: 1 for e in mine[:3]}
    assert emulator.control.deliveries() == []  # no callbacks from API calls or confirmations


def test_template_errors(wecom, sender):
    userid, mine = sender
    too_many = wecom.post("externalcontact/add_msg_template",
                          {"external_userid": [f"wm{i}" for i in range(10001)], "text": {"content": "x"}})[1]
    assert too_many["errcode"] != 0 and too_many["fail_list"] == []
    nobody = wecom.post("externalcontact/add_msg_template",
                        {"external_userid": ["wmghost"], "text": {"content": "x"}})[1]
    assert nobody["errcode"] == 41048 and nobody["fail_list"] == ["wmghost"]
    assert wecom.post("externalcontact/add_msg_template", {"sender": userid})[1]["errcode"] == 44004
    assert wecom.post("externalcontact/add_msg_template",
                      {"sender": userid, "text": {"content": "长" * 1400}})[1]["errcode"] == 45002
    assert wecom.post("externalcontact/get_groupmsg_task", {"msgid": "msgnope"})[1]["errcode"] == 41047
    assert wecom.post("externalcontact/get_groupmsg_task", {})[1]["errcode"] == 41046


def test_without_sender_one_task_per_follower(wecom):
    staff = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"]
    targets = [wecom.get("externalcontact/list", userid=u)[1]["external_userid"][0] for u in staff[:3]]
    add = wecom.post("externalcontact/add_msg_template", {"external_userid": targets, "text": {"content": "hi"}})[1]
    tasks = wecom.post("externalcontact/get_groupmsg_task", {"msgid": add["msgid"]})[1]["task_list"]
    assert add["fail_list"] == [] and 1 <= len(tasks) <= 3
    assert sum(len(results(wecom, add["msgid"], t["userid"])) for t in tasks) == 3


def test_receive_quota_and_not_a_friend(emulator, wecom, sender):
    userid, mine = sender
    emulator.control.config(receive_rule="day")
    first = wecom.post("externalcontact/add_msg_template",
                       {"sender": userid, "external_userid": mine[:2], "text": {"content": "one"}})[1]
    emulator.control.confirm(first["msgid"])
    emulator.control.post("simulate/del_follow_user", userid=userid, external_userid=mine[3])
    second = wecom.post("externalcontact/add_msg_template",
                        {"sender": userid, "external_userid": mine[:4], "text": {"content": "two"}})[1]
    emulator.control.confirm(second["msgid"])
    assert results(wecom, second["msgid"], userid) == {mine[0]: 3, mine[1]: 3, mine[2]: 1, mine[3]: 2}
    emulator.control.config(receive_rule="week")  # 7 per 7 days: the same customers can receive again
    third = wecom.post("externalcontact/add_msg_template",
                       {"sender": userid, "external_userid": mine[:1], "text": {"content": "three"}})[1]
    emulator.control.confirm(third["msgid"])
    assert results(wecom, third["msgid"], userid) == {mine[0]: 1}


def test_member_sends_count_toward_quota_and_are_listed(emulator, wecom, sender):
    userid, mine = sender
    emulator.control.config(receive_rule="day")
    own = emulator.control.post("groupmsg/member_send", userid=userid, external_userid=mine[:1], text="成员自己发")
    now = int(time.time())
    listed = wecom.post("externalcontact/get_groupmsg_list_v2",
                        {"chat_type": "single", "start_time": now - 60, "end_time": now + 60})[1]["group_msg_list"]
    assert [(m["msgid"], m["create_type"], m["creator"]) for m in listed] == [(own["msgid"], 1, userid)]
    corp_only = wecom.post("externalcontact/get_groupmsg_list_v2", {"chat_type": "single", "filter_type": 0,
                                                                    "start_time": now - 60, "end_time": now + 60})[1]
    assert corp_only["group_msg_list"] == []
    add = wecom.post("externalcontact/add_msg_template",
                     {"sender": userid, "external_userid": mine[:2], "text": {"content": "corp"}})[1]
    emulator.control.confirm(add["msgid"])
    assert results(wecom, add["msgid"], userid) == {mine[0]: 3, mine[1]: 1}
    assert wecom.post("externalcontact/get_groupmsg_list_v2", {"chat_type": "single", "start_time": now - 40 * 86400,
                                                               "end_time": now})[1]["errcode"] == 40058


def test_group_mass_message_and_quota(emulator, wecom, sender):
    userid, _ = sender
    emulator.control.config(receive_rule="day")
    add = wecom.post("externalcontact/add_msg_template", {"chat_type": "group", "sender": userid,
                                                          "text": {"content": "群发"}})[1]
    assert add["errcode"] == 0
    emulator.control.confirm(add["msgid"])
    sent = wecom.post("externalcontact/get_groupmsg_send_result", {"msgid": add["msgid"], "userid": userid})[1]
    chats = {r["chat_id"] for r in sent["send_list"]}
    assert chats and all(r["status"] == 1 for r in sent["send_list"])
    again = wecom.post("externalcontact/add_msg_template", {"chat_type": "group", "sender": userid,
                                                            "text": {"content": "再发"}})[1]
    emulator.control.confirm(again["msgid"])
    # over the quota: group results list only sent records, so nothing shows up
    assert wecom.post("externalcontact/get_groupmsg_send_result",
                      {"msgid": again["msgid"], "userid": userid})[1]["send_list"] == []


def test_remind_at_most_three_times_and_cancel(emulator, wecom, sender):
    userid, mine = sender
    add = wecom.post("externalcontact/add_msg_template",
                     {"sender": userid, "external_userid": mine[:1], "text": {"content": "x"}})[1]
    codes = [wecom.post("externalcontact/remind_groupmsg_send", {"msgid": add["msgid"]})[1]["errcode"]
             for _ in range(4)]
    assert codes[:3] == [0, 0, 0] and codes[3] != 0
    assert wecom.post("externalcontact/cancel_groupmsg_send", {"msgid": add["msgid"]})[1]["errcode"] == 0
    assert emulator.control.confirm(add["msgid"])["confirmed"] == []
    assert results(wecom, add["msgid"], userid) == {mine[0]: 0}


def test_auto_confirm_after_delay(emulator, wecom, sender):
    userid, mine = sender
    emulator.control.config(auto_confirm_seconds=0.2)
    add = wecom.post("externalcontact/add_msg_template",
                     {"sender": userid, "external_userid": mine[:1], "text": {"content": "x"}})[1]
    assert results(wecom, add["msgid"], userid) == {mine[0]: 0}
    seen, deadline = set(), time.monotonic() + 30  # confirmed (task 1) after 0.2 s, sent (task 2) after 0.4 s
    while 2 not in seen and time.monotonic() < deadline:
        seen |= {t["status"] for t in wecom.post("externalcontact/get_groupmsg_task", {"msgid": add["msgid"]})[1]
                 ["task_list"]}
        time.sleep(0.01)
    assert 2 in seen and seen <= {0, 1, 2}
    assert results(wecom, add["msgid"], userid) == {mine[0]: 1}
