"""The emulator's transfer APIs over HTTP, as wecom-api.md §11 describes them: 100 per call, a customer at most twice,
90 days of protection, the 24 h takeover (refused or over the takeover's limit: transfer_fail), the list of departed
members' customers with its cursor, and group transfers with their daily limit."""
def _pair(emulator):
    users = emulator.control.users()
    follow = [u["userid"] for u in users if u["follow_user"]]
    return follow[0], follow[1], follow[2]


def _customers(emulator, userid):
    relations = emulator.emulator.company.relations
    return list(relations[userid])


def _start(wecom, handover, takeover, exts, resigned=False):
    path = "externalcontact/resigned/transfer_customer" if resigned else "externalcontact/transfer_customer"
    return wecom.post(path, {"handover_userid": handover, "takeover_userid": takeover, "external_userid": exts})[1]


def _results(wecom, handover, takeover, resigned=False):
    path = "externalcontact/resigned/transfer_result" if resigned else "externalcontact/transfer_result"
    body = wecom.post(path, {"handover_userid": handover, "takeover_userid": takeover})[1]
    return {c["external_userid"]: c["status"] for c in body["customer"]}


def test_onjob_transfer_waits_24_hours_then_moves_the_customer_and_tells_the_old_member(emulator, wecom, receiver):
    a, b, _c = _pair(emulator)
    ext = _customers(emulator, a)[0]
    assert _start(wecom, a, b, [ext])["customer"] == [{"external_userid": ext, "errcode": 0}]
    assert _results(wecom, a, b) == {ext: 2}  # 等待接替
    assert ext in wecom.get("externalcontact/list", userid=a)[1]["external_userid"]
    emulator.control.advance_clock(86400 - 60)
    assert _results(wecom, a, b) == {ext: 2}
    emulator.control.advance_clock(61)
    assert _results(wecom, a, b) == {ext: 1}
    assert ext not in wecom.get("externalcontact/list", userid=a)[1]["external_userid"]
    assert ext in wecom.get("externalcontact/list", userid=b)[1]["external_userid"]
    events = [d["event"] for d in emulator.control.wait_deliveries(1)]
    assert events[-1]["change_type"] == "del_external_contact" and events[-1]["source"] == "DELETE_BY_TRANSFER"
    assert events[-1]["userid"] == a


def test_a_customer_moves_at_most_twice_with_90_days_between(emulator, wecom):
    a, b, c = _pair(emulator)
    ext = _customers(emulator, a)[0]
    _start(wecom, a, b, [ext])
    assert _start(wecom, a, c, [ext])["customer"][0]["errcode"] == 40129  # waiting already
    emulator.control.advance_clock(86400)
    assert _results(wecom, a, b) == {ext: 1}
    assert _start(wecom, b, c, [ext])["customer"][0]["errcode"] == 40128  # 90-day protection
    emulator.control.advance_clock(90 * 86400)
    assert _start(wecom, b, c, [ext])["customer"][0]["errcode"] == 0
    emulator.control.advance_clock(86400)
    emulator.control.advance_clock(91 * 86400)
    assert _start(wecom, c, a, [ext])["customer"][0]["errcode"] == 40128  # twice already


def test_more_than_100_customers_fail_the_whole_call(emulator, wecom):
    a, b, _c = _pair(emulator)
    emulator.control.post("groupmsg/audience", userids=[a], per_user=120)
    exts = _customers(emulator, a)
    assert len(exts) > 100
    body = _start(wecom, a, b, exts[:101])
    assert body["errcode"] == 40058 and body["customer"] == []
    assert len(_start(wecom, a, b, exts[:100])["customer"]) == 100


def test_a_refused_handover_keeps_the_customer_and_sends_transfer_fail(emulator, wecom, receiver):
    a, b, _c = _pair(emulator)
    ext = _customers(emulator, a)[0]
    _start(wecom, a, b, [ext])
    emulator.control.post("simulate/transfer_refuse", external_userid=ext)
    event = emulator.control.wait_deliveries(1)[-1]["event"]
    assert (event["change_type"], event["userid"], event["fail_reason"]) == ("transfer_fail", b, "customer_refused")
    emulator.control.advance_clock(86400)
    assert _results(wecom, a, b) == {ext: 3}
    assert ext in wecom.get("externalcontact/list", userid=a)[1]["external_userid"]


def test_takeover_over_its_customer_limit_fails_with_status_4(emulator, wecom, receiver):
    a, b, _c = _pair(emulator)
    ext = next(e for e in _customers(emulator, a) if e not in _customers(emulator, b))
    emulator.control.config(member_customer_limit=1)
    _start(wecom, a, b, [ext])
    emulator.control.advance_clock(86400)
    assert _results(wecom, a, b) == {ext: 4}
    assert emulator.control.wait_deliveries(1)[-1]["event"]["fail_reason"] == "customer_limit_exceed"


def test_resigned_members_customers_are_listed_page_by_page_and_transferred(emulator, wecom):
    a, b, _c = _pair(emulator)
    count = len(_customers(emulator, a))
    assert _start(wecom, a, b, _customers(emulator, a)[:1], resigned=True)["errcode"] == 40097  # not resigned
    left = emulator.control.post("simulate/resign", userid=a)
    assert left["customers"] == count
    assert wecom.post("externalcontact/get_unassigned_list", {"page_size": 1001})[1]["errcode"] == 40058
    seen, cursor = [], ""
    while True:
        body = wecom.post("externalcontact/get_unassigned_list", {"page_size": 40, "cursor": cursor})[1]
        seen += body["info"]
        if body["is_last"]:
            assert body["next_cursor"] == ""
            break
        cursor = body["next_cursor"]
    assert len(seen) == count and {i["handover_userid"] for i in seen} == {a}
    ext = seen[0]["external_userid"]
    assert _start(wecom, a, b, [ext], resigned=True)["customer"][0]["errcode"] == 0
    emulator.control.advance_clock(86400)
    assert _results(wecom, a, b, resigned=True) == {ext: 1}
    rest = wecom.post("externalcontact/get_unassigned_list", {})[1]["info"]
    assert len(rest) == count - 1


def test_group_transfers_need_the_right_owner_state_and_stop_at_300_a_day(emulator, wecom):
    a, b, c = _pair(emulator)
    company = emulator.emulator.company
    mine = [g for g, v in company.groups.items() if v["owner"] == a]
    assert mine
    answer = wecom.post("externalcontact/groupchat/transfer", {"chat_id_list": mine, "new_owner": b})[1]
    assert {f["errcode"] for f in answer["failed_chat_list"]} == {90500}  # owner still on the job
    assert wecom.post("externalcontact/groupchat/onjob_transfer",
                      {"chat_id_list": mine, "new_owner": b})[1]["failed_chat_list"] == []
    assert {company.groups[g]["owner"] for g in mine} == {b}
    wecom.post("externalcontact/groupchat/onjob_transfer", {"chat_id_list": mine, "new_owner": c})
    again = wecom.post("externalcontact/groupchat/onjob_transfer", {"chat_id_list": mine, "new_owner": b})[1]
    assert {f["errcode"] for f in again["failed_chat_list"]} == {90507}  # twice in 90 days already
    emulator.control.advance_clock(91 * 86400)
    with company.lock:  # 300 groups moved from c within the last hour
        company.group_transfers += [{"chat_id": f"x{i}", "from": c, "to": a, "kind": "onjob",
                                     "at": emulator.emulator.clock.now() - 3600} for i in range(300)]
    over = wecom.post("externalcontact/groupchat/onjob_transfer", {"chat_id_list": mine, "new_owner": b})[1]
    assert {f["errcode"] for f in over["failed_chat_list"]} == {90503}
    assert wecom.post("externalcontact/groupchat/onjob_transfer",
                      {"chat_id_list": [f"c{i}" for i in range(101)], "new_owner": a})[1]["errcode"] == 40058


def test_resigned_owner_groups_wait_for_inheritance(emulator, wecom):
    a, b, _c = _pair(emulator)
    emulator.control.post("simulate/resign", userid=a)
    waiting = wecom.post("externalcontact/groupchat/list", {"status_filter": 1, "limit": 100})[1]["group_chat_list"]
    assert waiting
    chat_ids = [g["chat_id"] for g in waiting]
    assert wecom.post("externalcontact/groupchat/transfer",
                      {"chat_id_list": chat_ids, "new_owner": b})[1]["failed_chat_list"] == []
    assert wecom.post("externalcontact/groupchat/get", {"chat_id": chat_ids[0]})[1]["group_chat"]["owner"] == b
