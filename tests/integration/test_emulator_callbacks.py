"""Callbacks: encrypted like WeCom (checked with wechatpy), 5 s / 3 tries, duplicates, welcome codes, URL verification."""
import time

import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from scripts.wecom_emulator.crypto import decrypt


def staff_and_way(wecom):
    userid = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"][0]
    return userid


def decrypted(emulator, request) -> dict:
    crypto = WeChatCrypto(emulator.token, emulator.aes_key, emulator.corp_id)
    q = request["query"]
    xml = crypto.decrypt_message(request["body"], q["msg_signature"], q["timestamp"], q["nonce"])
    return xmltodict.parse(xml)["xml"]


def test_add_customer_callback_decrypts_with_wechatpy(emulator, wecom, receiver):
    userid = staff_and_way(wecom)
    added = emulator.control.add_customer(userid=userid, state="store_sh01")
    emulator.control.wait_deliveries(1)
    (request,) = receiver.posts()
    envelope = xmltodict.parse(request["body"])["xml"]
    assert envelope["ToUserName"] == emulator.corp_id and envelope["AgentID"] == emulator.agent_id
    event = decrypted(emulator, request)
    assert event == {"ToUserName": emulator.corp_id, "FromUserName": "sys", "CreateTime": event["CreateTime"],
                     "MsgType": "event", "Event": "change_external_contact",
                     "ChangeType": "add_external_contact", "UserID": userid,
                     "ExternalUserID": added["external_userid"], "State": "store_sh01",
                     "WelcomeCode": added["welcome_code"]}
    assert abs(int(event["CreateTime"]) - time.time()) < 5
    follow = wecom.get("externalcontact/get", external_userid=added["external_userid"])[1]["follow_user"]
    assert [(f["userid"], f["state"], f["add_way"]) for f in follow] == [(userid, "store_sh01", 1)]


def test_add_through_contact_way_and_existing_customer(emulator, wecom, receiver):
    staff = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"]
    way = wecom.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "state": "ref_42",
                                                         "user": [staff[1]]})[1]
    existing = wecom.get("externalcontact/list", userid=staff[0])[1]["external_userid"][0]
    added = emulator.control.add_customer(config_id=way["config_id"], external_userid=existing)
    assert (added["userid"], added["external_userid"], added["state"]) == (staff[1], existing, "ref_42")
    emulator.control.wait_deliveries(1)
    assert decrypted(emulator, receiver.posts()[0])["State"] == "ref_42"
    followers = {f["userid"] for f in wecom.get("externalcontact/get", external_userid=existing)[1]["follow_user"]}
    assert {staff[0], staff[1]} <= followers


def test_own_crypto_matches_wecom_scheme(emulator, receiver, wecom):
    emulator.control.add_customer(userid=staff_and_way(wecom))
    emulator.control.wait_deliveries(1)
    body = receiver.posts()[0]["body"]
    encrypted = xmltodict.parse(body)["xml"]["Encrypt"]
    plain, receive_id = decrypt(emulator.aes_key, encrypted)
    assert receive_id == emulator.corp_id and plain.startswith("<xml>") and "State" not in plain


def test_retried_three_times_without_http_200(emulator, wecom, receiver):
    receiver.status = 500
    emulator.control.add_customer(userid=staff_and_way(wecom))
    (record,) = emulator.control.wait_deliveries(1)
    assert record["status"] == "failed" and [a["http_status"] for a in record["attempts"]] == [500, 500, 500]
    assert len(receiver.posts()) == 3
    same_event = {decrypted(emulator, r)["CreateTime"] for r in receiver.posts()}
    assert len(same_event) == 1  # a retry is the same event, freshly encrypted and signed
    receiver.status = 200
    emulator.control.add_customer(userid=staff_and_way(wecom))
    records = emulator.control.wait_deliveries(2)
    assert records[-1]["status"] == "delivered" and len(records[-1]["attempts"]) == 1


def test_slow_receiver_times_out_and_is_retried(emulator, wecom, receiver):
    emulator.control.config(callback_timeout=0.3)
    receiver.delay = 0.6
    emulator.control.add_customer(userid=staff_and_way(wecom))
    (record,) = emulator.control.wait_deliveries(1, timeout=10)
    assert record["status"] == "failed" and len(record["attempts"]) == 3
    assert all(a["http_status"] is None and a["error"] for a in record["attempts"])


def test_duplicate_delivery_option(emulator, wecom, receiver):
    emulator.control.add_customer(userid=staff_and_way(wecom), duplicate=True)
    records = emulator.control.wait_deliveries(2)
    assert [r["status"] for r in records] == ["delivered", "delivered"]
    first, second = (decrypted(emulator, r) for r in receiver.posts())
    assert first == second


def test_api_calls_never_trigger_callbacks(emulator, wecom, receiver):
    userid = staff_and_way(wecom)
    ext = wecom.get("externalcontact/list", userid=userid)[1]["external_userid"][0]
    wecom.post("externalcontact/remark", {"userid": userid, "external_userid": ext, "remark": "x"})
    tag = wecom.post("externalcontact/add_corp_tag", {"group_name": "g", "tag": [{"name": "t"}]})[1]
    wecom.post("externalcontact/mark_tag", {"userid": userid, "external_userid": ext,
                                            "add_tag": [tag["tag_group"]["tag"][0]["id"]], "remove_tag": []})
    wecom.post("externalcontact/del_corp_tag", {"group_id": [tag["tag_group"]["group_id"]]})
    wecom.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": [userid]})
    time.sleep(0.3)
    assert receiver.requests == [] and emulator.control.deliveries() == []


def test_user_actions_emit_their_events(emulator, wecom, receiver):
    userid = staff_and_way(wecom)
    ext = wecom.get("externalcontact/list", userid=userid)[1]["external_userid"][0]
    emulator.control.post("simulate/edit_external_contact", userid=userid, external_userid=ext, remark="新备注")
    emulator.control.post("simulate/del_follow_user", userid=userid, external_userid=ext)
    chat = wecom.post("externalcontact/groupchat/list", {"limit": 1, "owner_filter": {"userid_list": [userid]}})[1]
    chat_id = chat["group_chat_list"][0]["chat_id"]
    before = wecom.post("externalcontact/groupchat/get", {"chat_id": chat_id})[1]["group_chat"]["member_version"]
    newcomer = emulator.control.add_customer(userid=userid)["external_userid"]
    emulator.control.post("simulate/group_join", chat_id=chat_id, members=[newcomer], join_scene=3)
    emulator.control.post("simulate/tag", change_type="create", group_name="客户端标签组", tag=[{"name": "a"}])
    emulator.control.wait_deliveries(5)
    events = sorted((decrypted(emulator, r) for r in receiver.posts()), key=lambda e: e.get("ChangeType"))
    kinds = {(e["Event"], e["ChangeType"]) for e in events}
    assert kinds == {("change_external_contact", "edit_external_contact"),
                     ("change_external_contact", "del_follow_user"),
                     ("change_external_contact", "add_external_contact"),
                     ("change_external_chat", "update"), ("change_external_tag", "create")}
    chat_event = next(e for e in events if e["Event"] == "change_external_chat")
    after = wecom.post("externalcontact/groupchat/get", {"chat_id": chat_id})[1]["group_chat"]["member_version"]
    assert (chat_event["UpdateDetail"], chat_event["JoinScene"], chat_event["MemChangeCnt"]) == ("add_member", "3", "1")
    assert (chat_event["LastMemVer"], chat_event["CurMemVer"]) == (before, after) and before != after
    tag_event = next(e for e in events if e["Event"] == "change_external_tag")
    assert tag_event["TagType"] == "tag_group"
    # the customer deleted the member: the one-way relation is still visible through the API
    assert userid in {f["userid"] for f in wecom.get("externalcontact/get", external_userid=ext)[1]["follow_user"]}


def test_half_add_partner_handover_failure_and_archiving_consent(emulator, wecom, receiver):
    """wecom-api.md §5: add_half_external_contact (State, WelcomeCode), no WelcomeCode for a WeCom user or after
    the half add's code was used, 41053 before chat-archiving consent, transfer_fail (UserID = takeover, FailReason),
    msg_audit_approved (WelcomeCode)."""
    userid, other = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"][:2]
    half = emulator.control.post("simulate/add_half_customer", userid=userid, state="door-7")
    ext, code = half["external_userid"], half["welcome_code"]
    assert wecom.post("externalcontact/send_welcome_msg", {"welcome_code": code, "text": {"content": "欢迎"}})[1][
        "errcode"] == 0
    assert emulator.control.add_customer(userid=userid, external_userid=ext)["welcome_code"] is None
    with_busy = emulator.control.add_customer(userid=userid, welcome_busy=2)["welcome_code"]
    busy = {"welcome_code": with_busy, "text": {"content": "欢迎"}}
    assert [wecom.post("externalcontact/send_welcome_msg", busy)[1]["errcode"] for _ in range(4)] == \
        [41096, 41096, 0, 41051]
    unconsented = {"welcome_code": emulator.control.add_customer(userid=userid, archive_consent=False)["welcome_code"],
                   "text": {"content": "欢迎"}}
    assert wecom.post("externalcontact/send_welcome_msg", unconsented)[1]["errcode"] == 41053
    partner = emulator.control.add_customer(userid=userid, customer_type=2, corp_name="星河贸易")
    assert partner["welcome_code"] is None
    contact = wecom.get("externalcontact/get", external_userid=partner["external_userid"])[1]["external_contact"]
    assert (contact["type"], contact["corp_name"]) == (2, "星河贸易")
    emulator.control.post("simulate/transfer_fail", handover_userid=userid, takeover_userid=other,
                          external_userid=ext, fail_reason="customer_limit_exceed")
    consent = emulator.control.post("simulate/msg_audit_approved", userid=userid, external_userid=ext)
    emulator.control.wait_deliveries(7)
    events = [decrypted(emulator, r) for r in receiver.posts()]
    by_change = {}
    for event in events:
        by_change.setdefault(event["ChangeType"], []).append(event)
    assert [(e["State"], e["WelcomeCode"]) for e in by_change["add_half_external_contact"]] == [("door-7", code)]
    assert [e.get("WelcomeCode") for e in by_change["add_external_contact"] if e["ExternalUserID"] == ext] == [None]
    [failed] = by_change["transfer_fail"]
    assert (failed["UserID"], failed["ExternalUserID"], failed["FailReason"]) == (other, ext, "customer_limit_exceed")
    [approved] = by_change["msg_audit_approved"]
    assert approved["WelcomeCode"] == consent["welcome_code"]
    follow = wecom.get("externalcontact/get", external_userid=ext)[1]["follow_user"]
    assert [f["userid"] for f in follow] == [userid]  # the failed handover left the customer where it was


def test_welcome_code_once_and_within_window(emulator, wecom, receiver):
    userid = staff_and_way(wecom)
    emulator.control.config(welcome_window=1.0)
    code = emulator.control.add_customer(userid=userid)["welcome_code"]
    emulator.control.wait_deliveries(1)
    send = {"welcome_code": code, "text": {"content": "欢迎"}}
    bad_link = {"welcome_code": code, "attachments": [{"msgtype": "link", "image": {"media_id": "m"}}]}
    assert wecom.post("externalcontact/send_welcome_msg", {"welcome_code": code})[1]["errcode"] == 44004
    assert wecom.post("externalcontact/send_welcome_msg", bad_link)[1]["errcode"] == 40058
    assert wecom.post("externalcontact/send_welcome_msg", send)[1]["errcode"] == 0  # errors left it usable
    assert wecom.post("externalcontact/send_welcome_msg", send)[1]["errcode"] == 41051
    late = emulator.control.add_customer(userid=userid)["welcome_code"]
    time.sleep(1.1)
    assert wecom.post("externalcontact/send_welcome_msg", {**send, "welcome_code": late})[1]["errcode"] == 41050
    assert wecom.post("externalcontact/send_welcome_msg", {"text": {"content": "x"}})[1]["errcode"] == 41049
    welcomes = emulator.control.get("welcomes")["welcomes"]
    assert [w["errcode"] for w in welcomes] == [44004, 40058, 0, 41051, 41050, 41049]
    assert welcomes[2]["latency_ms"] is not None and 0 <= welcomes[2]["latency_ms"] < 5000
    assert welcomes[2]["text"] == "欢迎" and welcomes[2]["userid"] == userid


def test_burst_of_50_adds_is_delivered_promptly(emulator, wecom, receiver):
    userid = staff_and_way(wecom)
    started = time.monotonic()
    for _ in range(50):
        emulator.control.add_customer(userid=userid)
    records = emulator.control.wait_deliveries(50, timeout=10)
    assert all(r["status"] == "delivered" for r in records) and len(receiver.posts()) == 50
    assert time.monotonic() - started < 3
    assert max(r["first_attempt_at"] - r["created_at"] for r in records) < 1


def test_url_verification_against_the_receiver(emulator, receiver):
    receiver.status, receiver.body = 200, b"wrong"
    result = emulator.control.verify_url()
    assert result["matches"] is False and result["ok"] is False
    request = receiver.requests[-1]
    crypto = WeChatCrypto(emulator.token, emulator.aes_key, emulator.corp_id)
    q = request["query"]
    plain = crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
    assert (plain.decode() if isinstance(plain, bytes) else plain) == result["expected"]


def test_url_verification_accepts_the_right_plaintext(emulator, receiver):
    crypto = WeChatCrypto(emulator.token, emulator.aes_key, emulator.corp_id)

    def answer(request):
        q = request["query"]
        plain = crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        return plain if isinstance(plain, bytes) else plain.encode()

    receiver.reply = answer
    result = emulator.control.verify_url()
    assert result["ok"] and result["matches"] and result["within_1s"]
    receiver.delay = 1.2  # right answer, too late
    late = emulator.control.verify_url()
    assert late["matches"] and not late["within_1s"] and not late["ok"]
