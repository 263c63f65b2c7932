"""The emulator's message/send follows wecom-api.md §13: per-member limits that drop silently, duplicate check,
invalid users reported, content checked — over real HTTP."""


def _send(wecom, emulator, touser, content="你好", **extra):
    body = {"touser": touser, "msgtype": "text", "agentid": int(emulator.agent_id), "text": {"content": content},
            **extra}
    return wecom.post("message/send", body)[1]


def _first_user(wecom):
    return wecom.all_users()[0]["userid"]


def test_a_known_member_receives_and_an_unknown_one_is_reported(wecom, emulator):
    userid = _first_user(wecom)
    answer = _send(wecom, emulator, f"{userid}|nobody-here")
    assert answer["errcode"] == 0 and answer["msgid"]
    assert answer["invaliduser"] == "nobody-here"
    received = emulator.control.app_messages(userid)["received"][userid]
    assert [m["content"]["content"] for m in received] == ["你好"]


def test_nobody_valid_is_an_error(wecom, emulator):
    answer = _send(wecom, emulator, "ghost1|ghost2")
    assert answer["errcode"] == 81013
    assert answer["invaliduser"] == "ghost1|ghost2"


def test_wrong_agentid_and_bad_content_are_refused(wecom, emulator):
    userid = _first_user(wecom)
    assert _send(wecom, emulator, userid, agentid=999)["errcode"] == 40056
    assert _send(wecom, emulator, userid, content="")["errcode"] == 44004
    assert _send(wecom, emulator, userid, content="字" * 683)["errcode"] == 45002  # 2,049 bytes
    card = {"touser": userid, "msgtype": "textcard", "agentid": int(emulator.agent_id),
            "textcard": {"title": "任务", "description": "请跟进", "url": "https://example.com/tasks/1"}}
    assert wecom.post("message/send", card)[1]["errcode"] == 0
    assert emulator.control.app_messages(userid)["received"][userid][0]["content"]["url"].endswith("/tasks/1")


def test_the_31st_message_in_a_minute_is_dropped_without_an_error(wecom, emulator):
    userid = _first_user(wecom)
    answers = [_send(wecom, emulator, userid, f"第 {n} 条") for n in range(31)]
    assert all(a["errcode"] == 0 and a["invaliduser"] == "" for a in answers)  # nothing tells the client
    seen = emulator.control.app_messages(userid)
    assert len(seen["received"][userid]) == 30
    assert [(d["content"]["content"], d["reason"]) for d in seen["dropped"]] == [("第 30 条", "over 30 a minute")]
    emulator.control.advance_clock(61)
    assert _send(wecom, emulator, userid, "一分钟后")["errcode"] == 0
    assert len(emulator.control.app_messages(userid)["received"][userid]) == 31


def test_past_1000_an_hour_a_member_gets_nothing_more(wecom, emulator):
    userid = _first_user(wecom)
    for minute in range(34):
        for n in range(30 if minute < 33 else 10):
            _send(wecom, emulator, userid, f"{minute}-{n}")
        emulator.control.advance_clock(60)
    assert len(emulator.control.app_messages(userid)["received"][userid]) == 1000
    assert _send(wecom, emulator, userid, "第 1001 条")["errcode"] == 0
    dropped = emulator.control.app_messages(userid)["dropped"]
    assert [d["reason"] for d in dropped] == ["over 1000 an hour"]


def test_duplicate_check_drops_the_same_content_within_the_interval(wecom, emulator):
    userid = _first_user(wecom)
    check = {"enable_duplicate_check": 1, "duplicate_check_interval": 600}
    assert _send(wecom, emulator, userid, "同一条", **check)["errcode"] == 0
    assert _send(wecom, emulator, userid, "同一条", **check)["errcode"] == 0
    assert _send(wecom, emulator, userid, "同一条")["errcode"] == 0  # no check asked: delivered again
    emulator.control.advance_clock(601)
    assert _send(wecom, emulator, userid, "同一条", **check)["errcode"] == 0
    seen = emulator.control.app_messages(userid)
    assert len(seen["received"][userid]) == 3
    assert [d["reason"] for d in seen["dropped"]] == ["duplicate"]
