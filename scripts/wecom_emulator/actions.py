"""User actions in the WeCom client, simulated for tests and demos; each change emits its callback event."""
import copy
import random
import secrets
import time

from . import events, massmsg, transfers
from .api_tags import add_corp_tag, del_corp_tag, edit_corp_tag
from .apicore import ApiError, Call
from .seed import set_member_version
from .seed_data import GIVEN, SURNAMES


class ActionError(ValueError):
    """The simulated action is impossible (unknown ids, not a customer, ...)."""


def _need(data: dict, *keys):
    missing = [k for k in keys if not data.get(k)]
    if missing:
        raise ActionError(f"{missing[0]} is required")
    return [data[k] for k in keys]


def _follow(company, userid: str, ext: str) -> dict:
    follow = company.relation(userid, ext)
    if follow is None:
        raise ActionError(f"{ext} is not a customer of {userid}")
    return follow


def _emit(emu, xml: str, summary: dict, data: dict, on_first_attempt=None) -> list[int]:
    records = emu.deliverer.emit(xml, summary, duplicate=bool(data.get("duplicate")),
                                 on_first_attempt=on_first_attempt)
    return [r["id"] for r in records]


def _contact_event(emu, data, change_type, userid, ext, **extra) -> dict:
    now = int(time.time())
    xml = events.contact_event(emu.settings.corp_id, now, change_type, userid, ext, **extra)
    summary = {"event": "change_external_contact", "change_type": change_type, "userid": userid,
               "external_userid": ext, "create_time": now, **{k: v for k, v in extra.items() if v}}
    return {"delivery_ids": _emit(emu, xml, summary, data)}


def _new_customer(company, data: dict) -> str:
    ext = "wm" + secrets.token_urlsafe(22)[:30]
    name = data.get("name") or random.choice(SURNAMES)[0] + random.choice(GIVEN)[0]
    customer = {"external_userid": ext, "type": int(data.get("customer_type", 1)), "gender": random.choice((0, 1, 2)),
                "name": name, "avatar": f"http://wx.qlogo.cn/mmhead/{ext[2:14]}/0"}
    if customer["type"] == 2:  # a WeCom user (business partner): their company, no unionid
        customer.update(corp_name=data.get("corp_name") or "合作伙伴", position="",
                        corp_full_name=data.get("corp_name") or "合作伙伴有限公司")
    else:  # "unionid": the same WeChat user as another id (a re-registered account, another app's id of them)
        customer["unionid"] = data.get("unionid") or "o" + secrets.token_urlsafe(21)[:27]
    company.customers[ext] = customer
    return ext


def _welcome_code(company, userid: str, ext: str, data: dict, half_code: str | None, now: float) -> str | None:
    """A WelcomeCode, unless WeCom leaves it out (wecom-api.md §5 "When WelcomeCode is absent"): the contact is
    a WeCom user (business partner, who gets a business card), the welcome already went out with the code of
    the add_half_external_contact before, or ``"welcome_code": false`` says the member has a welcome configured
    in the admin console or the two have chatted already. ``welcome_busy``: N makes the first N
    send_welcome_msg calls with it answer 41096 (another app is delivering the welcome and gives up);
    ``"archive_consent": false``: the member's chats are archived and the customer has not agreed yet, so
    send_welcome_msg answers 41053 (the code of msg_audit_approved works once they agree)."""
    if company.customers[ext]["type"] == 2 or not data.get("welcome_code", True):
        return None
    if half_code and (company.welcome_codes.get(half_code) or {}).get("used_at"):
        return None
    busy = data.get("welcome_busy", 0)
    if not isinstance(busy, int) or isinstance(busy, bool) or busy < 0:
        raise ActionError("welcome_busy must be a non-negative integer")
    code = secrets.token_urlsafe(24)
    company.welcome_codes[code] = {"userid": userid, "external_userid": ext, "issued_at": now,
                                   "delivered_at": None, "used_at": None, "busy": busy,
                                   "needs_consent": data.get("archive_consent", True) is False}
    return code


def _code_delivered(company, code: str | None):
    """on_first_attempt for an event carrying ``code``: the welcome window's latency is measured from there."""
    def delivered(at):
        with company.lock:
            if code:
                company.welcome_codes[code]["delivered_at"] = at
    return delivered


def add_customer(emu, data: dict) -> dict:
    """A customer adds a member (new or existing customer, optionally via a contact way / state).

    ``"half": true``: 免验证添加 (add_half_external_contact); a later add of the same pair completes it as
    add_external_contact. ``"customer_type": 2`` makes a new customer a WeCom user (business partner)."""
    company, now = emu.company, time.time()
    half = bool(data.get("half"))
    with company.lock:
        userid, state = data.get("userid"), data.get("state")
        if data.get("config_id"):
            way = company.contact_ways.get(data["config_id"])
            if way is None:
                raise ActionError(f"unknown config_id {data['config_id']}")
            members = way["user"] + [u for u, r in company.users.items() if set(r["department"]) & set(way["party"])]
            userid = userid or members[0]
            if userid not in members:
                raise ActionError(f"{userid} is not a member of contact way {way['config_id']}")
            state = way["state"] if state is None else state
        if userid not in company.follow_users:
            raise ActionError(f"{userid!r} is not a member with customer-contact permission")
        if data.get("customer_type", 1) not in (1, 2):
            raise ActionError("customer_type must be 1 (WeChat user) or 2 (WeCom user)")
        ext = data.get("external_userid")
        if ext and ext not in company.customers:
            raise ActionError(f"unknown external_userid {ext}")
        existing = company.relation(userid, ext) if ext else None
        completes = bool(existing and existing.get("half_code") is not None and not half)
        if existing and not existing.get("one_way") and not completes:
            raise ActionError(f"{ext} is already a customer of {userid}")
        ext = ext or _new_customer(company, data)
        if completes:
            state = existing["state"] or None if state is None else state
        add_way = data.get("add_way", 1 if state or data.get("config_id") else 2)
        code = _welcome_code(company, userid, ext, data, existing.get("half_code") if completes else None, now)
        company.add_relation(userid, ext, {
            "userid": userid, "remark": "", "description": "", "createtime": int(now), "tag_id": [],
            "remark_corp_name": "", "remark_mobiles": [], "oper_userid": ext, "add_way": add_way,
            "state": state or "", "one_way": False, **({"half_code": code or ""} if half else {})})
        company.dirty = True

    change = "add_half_external_contact" if half else "add_external_contact"
    xml = events.contact_event(emu.settings.corp_id, int(now), change, userid, ext,
                               state=state or None, welcome_code=code)
    summary = {"event": "change_external_contact", "change_type": change,
               "userid": userid, "external_userid": ext, "state": state, "welcome_code": code,
               "create_time": int(now)}
    ids = _emit(emu, xml, summary, data, _code_delivered(company, code))
    return {"userid": userid, "external_userid": ext, "state": state, "welcome_code": code,
            "delivery_ids": ids}


def transfer_fail(emu, data: dict) -> dict:
    """An on-job handover fails: the customer refused, or the takeover member has too many customers. The
    customer stays with the handover member; the event's UserID is the takeover member (wecom-api.md §5, §11)."""
    handover, takeover, ext, reason = _need(data, "handover_userid", "takeover_userid", "external_userid",
                                            "fail_reason")
    if reason not in ("customer_refused", "customer_limit_exceed"):
        raise ActionError("fail_reason must be customer_refused or customer_limit_exceed")
    with emu.company.lock:
        _follow(emu.company, handover, ext)
        if takeover not in emu.company.follow_users:
            raise ActionError(f"{takeover!r} is not a member with customer-contact permission")
    return _contact_event(emu, data, "transfer_fail", takeover, ext, fail_reason=reason)


def transfer_refuse(emu, data: dict) -> dict:
    """The customer refuses the handover waiting for them (在职 or 离职继承): transfer_fail customer_refused."""
    (ext,) = _need(data, "external_userid")
    xml, summary = transfers.refuse(emu, ext)
    return {"delivery_ids": _emit(emu, xml, summary, data)}


def resign(emu, data: dict) -> dict:
    """A member leaves the company (no event: the directory change is not a customer event)."""
    (userid,) = _need(data, "userid")
    return transfers.resign(emu.company, userid, data.get("dimission_time") or emu.clock.now())


def msg_audit_approved(emu, data: dict) -> dict:
    """The customer agrees to chat archiving (会话存档): the event carries a WelcomeCode usable like an add's."""
    userid, ext = _need(data, "userid", "external_userid")
    company, now = emu.company, time.time()
    with company.lock:
        _follow(company, userid, ext)
        code = _welcome_code(company, userid, ext, data, None, now)
    xml = events.contact_event(emu.settings.corp_id, int(now), "msg_audit_approved", userid, ext, welcome_code=code)
    summary = {"event": "change_external_contact", "change_type": "msg_audit_approved", "userid": userid,
               "external_userid": ext, "welcome_code": code, "create_time": int(now)}
    return {"welcome_code": code, "delivery_ids": _emit(emu, xml, summary, data, _code_delivered(company, code))}


def del_follow_user(emu, data: dict) -> dict:
    """The customer deletes the member: a one-way relation remains (APIs still show it)."""
    userid, ext = _need(data, "userid", "external_userid")
    with emu.company.lock:
        _follow(emu.company, userid, ext)["one_way"] = True
        emu.company.dirty = True
    return _contact_event(emu, data, "del_follow_user", userid, ext)


def del_external_contact(emu, data: dict) -> dict:
    """The member deletes the customer: the relation is gone (optionally Source=DELETE_BY_TRANSFER)."""
    userid, ext = _need(data, "userid", "external_userid")
    with emu.company.lock:
        _follow(emu.company, userid, ext)
        emu.company.remove_relation(userid, ext)
        emu.company.dirty = True
    return _contact_event(emu, data, "del_external_contact", userid, ext, source=data.get("source"))


def edit_external_contact(emu, data: dict) -> dict:
    """The member edits remark / description / corp tags of a customer in the client."""
    userid, ext = _need(data, "userid", "external_userid")
    with emu.company.lock:
        follow = _follow(emu.company, userid, ext)
        unknown = [t for t in (data.get("add_tag") or []) if t not in emu.company.tag_index]
        if unknown:
            raise ActionError(f"unknown tag {unknown[0]}")
        for key in ("remark", "description"):
            if key in data:
                follow[key] = data[key]
        remove = set(data.get("remove_tag") or [])
        follow["tag_id"] = [t for t in follow["tag_id"] if t not in remove]
        follow["tag_id"] += [t for t in data.get("add_tag") or [] if t not in follow["tag_id"]]
        emu.company.dirty = True
        state = follow["state"] or None
    return _contact_event(emu, data, "edit_external_contact", userid, ext, state=state)


# -- customer groups --------------------------------------------------------------------------
def _chat_event(emu, data, chat_id, change_type, **extra) -> dict:
    now = int(time.time())
    xml = events.chat_event(emu.settings.corp_id, now, chat_id, change_type, **extra)
    summary = {"event": "change_external_chat", "change_type": change_type, "chat_id": chat_id,
               "create_time": now, **{k: v for k, v in extra.items() if v is not None}}
    return {"chat_id": chat_id, "delivery_ids": _emit(emu, xml, summary, data)}


def _member(company, member_id: str, now: int, scene: int, invitor: str | None) -> dict:
    if member_id in company.users:
        member = {"userid": member_id, "type": 1, "name": company.users[member_id]["name"]}
    elif member_id in company.customers:
        customer = company.customers[member_id]
        member = {"userid": member_id, "type": 2, "name": customer["name"]}
        if customer.get("unionid"):
            member["unionid"] = customer["unionid"]
    else:
        raise ActionError(f"unknown member {member_id}")
    member.update(join_time=now, join_scene=scene, group_nickname="")
    if scene != 3 and invitor:
        member["invitor"] = {"userid": invitor}
    return member


def _group(company, data: dict) -> dict:
    (chat_id,) = _need(data, "chat_id")
    group = company.groups.get(chat_id)
    if group is None:
        raise ActionError(f"unknown chat_id {chat_id}")
    return group


def _hold(emu, old: dict, now: float) -> None:
    """After a change: groupchat/get goes on answering ``old`` (a copy taken before) for group_detail_delay s."""
    delay = emu.settings.group_detail_delay
    if delay != 0:
        emu.company.hold_group(old, None if delay is None else now + delay)


def group_create(emu, data: dict) -> dict:
    (owner,) = _need(data, "owner")
    company, now = emu.company, int(time.time())
    with company.lock:
        if owner not in company.follow_users:
            raise ActionError(f"{owner!r} can't own a customer group")
        chat_id = "wr" + secrets.token_urlsafe(22)[:30]
        members = [_member(company, owner, now, 1, None)]
        members += [_member(company, m, now, 1, owner) for m in data.get("members") or [] if m != owner]
        group = {"chat_id": chat_id, "name": data.get("name") or "新建客户群", "owner": owner,
                 "create_time": now, "notice": "", "status": 0, "member_list": members,
                 "admin_list": [], "member_version": ""}
        set_member_version(group)
        company.groups[chat_id] = group
        company.dirty = True
    return _chat_event(emu, data, chat_id, "create")


def group_members(emu, data: dict, joining: bool) -> dict:
    """Customers (or staff) join or leave a group: member_version changes, an update event follows."""
    company, now = emu.company, int(time.time())
    members = data.get("members") or []
    if not members:
        raise ActionError("members is required")
    with company.lock:
        group = _group(company, data)
        old = copy.deepcopy(group)
        present = {m["userid"] for m in group["member_list"]}
        if joining:
            scene = int(data.get("join_scene", 1))
            if scene not in (1, 2, 3) or present & set(members):
                raise ActionError("join_scene must be 1..3 and the members not yet in the group")
            invitor = data.get("invitor", group["owner"])
            group["member_list"] += [_member(company, m, now, scene, invitor) for m in members]
        else:
            if not set(members) <= present or group["owner"] in members:
                raise ActionError("only present members other than the owner can leave")
            group["member_list"] = [m for m in group["member_list"] if m["userid"] not in members]
        last = group["member_version"]
        set_member_version(group)
        _hold(emu, old, now)
        company.dirty = True
        extra = {"update_detail": "add_member" if joining else "del_member", "members": list(members),
                 "last_version": last, "cur_version": group["member_version"]}
        if joining:
            extra["join_scene"] = 3 if scene == 3 else 0  # event: 0 invited, 3 scanned the QR code
        else:
            extra["quit_scene"] = int(data.get("quit_scene", 0))
    return _chat_event(emu, data, group["chat_id"], "update", **extra)


def group_rename(emu, data: dict) -> dict:
    """The owner renames the group: an update / change_name event (no member versions: they do not change)."""
    (name,) = _need(data, "name")
    with emu.company.lock:
        group = _group(emu.company, data)
        _hold(emu, copy.deepcopy(group), time.time())
        group["name"] = name
        emu.company.dirty = True
    return _chat_event(emu, data, group["chat_id"], "update", update_detail="change_name")


def group_dismiss(emu, data: dict) -> dict:
    """Dismissed at once: groupchat/get answers 40050 right away (no old details are held)."""
    with emu.company.lock:
        group = _group(emu.company, data)
        emu.company.release_groups(group["chat_id"])
        del emu.company.groups[group["chat_id"]]
        emu.company.dirty = True
    return _chat_event(emu, data, group["chat_id"], "dismiss")


# -- corp tags edited in the client -----------------------------------------------------------
def _via_api(emu, handler, body: dict) -> dict:
    """Reuse the API's validation for a client-side change; its errors become ActionError."""
    try:
        return handler(Call(emu, {}, body, time.time()))
    except ApiError as err:
        raise ActionError(err.body()["errmsg"]) from err


def tag_change(emu, data: dict) -> dict:
    """change_external_tag: create / update / delete / shuffle, as an admin would in the client."""
    change = data.get("change_type")
    company = emu.company
    with company.lock:
        if change == "create":
            existed = bool(data.get("group_id")) or any(
                g["group_name"] == data.get("group_name") for g in company.tag_groups.values())
            group = _via_api(emu, add_corp_tag, data)["tag_group"]
            targets = [(t["id"], "tag") for t in group["tag"]] if existed else [(group["group_id"], "tag_group")]
        elif change == "update":
            _via_api(emu, edit_corp_tag, data)
            targets = [(data["id"], "tag_group" if data["id"] in company.tag_groups else "tag")]
        elif change == "delete":
            (item,) = _need(data, "id")
            is_group = item in company.tag_groups
            _via_api(emu, del_corp_tag, {"group_id" if is_group else "tag_id": [item]})
            targets = [(item, "tag_group" if is_group else "tag")]
        elif change == "shuffle":
            (gid,) = _need(data, "group_id")
            group = company.tag_groups.get(gid)
            if group is None:
                raise ActionError(f"unknown group_id {gid}")
            orders = [t["order"] for t in group["tag"]]
            for tag, order in zip(group["tag"], reversed(orders)):
                tag["order"] = order
            targets = [(gid, "tag_group")]
        else:
            raise ActionError("change_type must be create, update, delete or shuffle")
        company.dirty = True
    now, ids = int(time.time()), []
    for item_id, kind in targets:
        xml = events.tag_event(emu.settings.corp_id, now, change, item_id, kind)
        ids += _emit(emu, xml, {"event": "change_external_tag", "change_type": change, "id": item_id,
                                "tag_type": kind, "create_time": now}, data)
    return {"changed": [{"id": i, "tag_type": k} for i, k in targets], "delivery_ids": ids}


# -- mass messages ------------------------------------------------------------------------------
def confirm_groupmsg(emu, data: dict) -> dict:
    """Staff confirm a mass-send task in the client (one member, or all of them); ``"send": false`` stops at task
    status 1 (confirmed, nothing sent yet) until a later confirm sends."""
    (msgid,) = _need(data, "msgid")
    send = data.get("send", True)
    if not isinstance(send, bool):
        raise ActionError("send must be true or false")
    with emu.company.lock:
        msg = emu.company.group_msgs.get(msgid)
        if msg is None:
            raise ActionError(f"unknown msgid {msgid}")
        users = [data["userid"]] if data.get("userid") else list(msg["tasks"])
        moved = [u for u in users if massmsg.confirm(emu.company, emu.settings, msg, u, time.time(), send)]
        return {"confirmed": moved, "cancelled": msg["cancelled"],
                "results": {u: [dict(r) for r in msg["results"][u]] for u in moved}}


def member_send(emu, data: dict) -> dict:
    """A member creates and sends a mass message in the client (create_type 1, counts to the quota)."""
    (userid,) = _need(data, "userid")
    chat_type = data.get("chat_type", "single")
    with emu.company.lock:
        company = emu.company
        if userid not in company.follow_users or chat_type not in ("single", "group"):
            raise ActionError("userid must have customer contact; chat_type single or group")
        if chat_type == "single":
            mine = company.relations.get(userid, {})
            targets = [e for e in data.get("external_userid") or list(mine) if e in mine]
        else:
            owned = [c for c, g in company.groups.items() if g["owner"] == userid]
            targets = [c for c in data.get("chat_id_list") or owned if c in owned]
        if not targets:
            raise ActionError("no recipients")
        msg = massmsg.create(company, time.time(), chat_type, {userid: targets},
                             data.get("text", "成员群发消息"), [], creator=userid)
        massmsg.confirm(company, emu.settings, msg, userid, time.time())
        return {"msgid": msg["msgid"], "results": [dict(r) for r in msg["results"][userid]]}
