"""Mass messages: add_msg_template, get_groupmsg_list_v2, get_groupmsg_task, get_groupmsg_send_result, remind and cancel."""
from . import massmsg
from .apicore import ApiError, api, integer, limit, page, require_user, str_list, text
from .api_media import media_checker
from .content import validate

MAX_EXTERNAL = 10000
MAX_CHATS = 2000
MAX_REMINDS = 3
DAY = 86400


def _single_tasks(company, body: dict, sender: str) -> tuple[dict, list]:
    ext_ids = list(dict.fromkeys(str_list(body, "external_userid")))
    if len(ext_ids) > MAX_EXTERNAL:
        # UNCONFIRMED errcode: the 10,000 cap is documented, its error code is not.
        raise ApiError(40058, f"at most {MAX_EXTERNAL} external_userid per call", fail_list=[])
    if not ext_ids and not sender:
        raise ApiError(40058, "external_userid and sender may not both be empty", fail_list=[])
    tasks, fail = {}, []
    if sender:
        require_user(company, sender)
        mine = company.relations.get(sender, {})
        for ext in ext_ids or list(mine):
            (tasks.setdefault(sender, []) if ext in mine else fail).append(ext)
    else:
        for ext in ext_ids:
            # Sent by the follower who interacted last; we take the most recent friend relation.
            follows = [company.relation(u, ext) for u in company.followers.get(ext, [])]
            follows = [f for f in follows if not f.get("one_way")]
            if follows:
                tasks.setdefault(max(follows, key=lambda f: f["createtime"])["userid"], []).append(ext)
            else:
                fail.append(ext)
    groups = (body.get("tag_filter") or {}).get("group_list") or []
    if groups:  # tags: OR inside one group_list entry, AND across entries
        wanted = [set(g.get("tag_list") or []) for g in groups]
        tasks = {u: [e for e in exts if all(w & set(company.relation(u, e)["tag_id"]) for w in wanted)]
                 for u, exts in tasks.items()}
    return {u: exts for u, exts in tasks.items() if exts}, fail


def _group_tasks(company, body: dict, sender: str) -> tuple[dict, list]:
    if not sender:
        raise ApiError(40058, "sender is required for chat_type group", fail_list=[])
    require_user(company, sender)
    chat_ids = str_list(body, "chat_id_list", max_items=MAX_CHATS)
    owned = [c for c, g in company.groups.items() if g["owner"] == sender and g["status"] == 0]
    targets = [c for c in chat_ids if c in owned] if chat_ids else owned
    return ({sender: targets} if targets else {}), [c for c in chat_ids if c not in owned]


@api("externalcontact/add_msg_template", writes=True, empty={"fail_list": []})
def add_msg_template(call):
    company, body = call.company, call.body
    chat_type = body.get("chat_type") or "single"
    if chat_type not in ("single", "group"):
        raise ApiError(40058, "chat_type must be single or group")
    sender = text(body, "sender")
    content, attachments = validate(body, media_checker(call))
    tasks, fail = (_single_tasks if chat_type == "single" else _group_tasks)(company, body, sender)
    if not tasks:
        raise ApiError(41048, fail_list=fail)
    msg = massmsg.create(company, call.now, chat_type, tasks, content, attachments)
    if call.settings.auto_confirm_seconds is not None:
        call.emu.later(call.settings.auto_confirm_seconds, massmsg.confirm_all, call.emu, msg["msgid"])
    return {"fail_list": fail, "msgid": msg["msgid"]}


@api("externalcontact/get_groupmsg_list_v2", empty={"group_msg_list": []})
def get_groupmsg_list_v2(call):
    body = call.body
    chat_type = text(body, "chat_type", required=True)
    start, end = integer(body, "start_time", required=True), integer(body, "end_time", required=True)
    if chat_type not in ("single", "group") or not 0 <= end - start <= 31 * DAY:
        raise ApiError(40058, "chat_type single|group, and a time range of at most one month")
    filter_type = integer(body, "filter_type", 2)
    if filter_type not in (0, 1, 2):
        raise ApiError(40058, "filter_type must be 0, 1 or 2")
    creator = text(body, "creator")
    size = limit(body, 50, 100)
    msgs = [m for m in call.company.group_msgs.values()
            if m["chat_type"] == chat_type and start <= m["create_time"] <= end
            and filter_type in (2, m["create_type"]) and (not creator or m["creator"] == creator)]
    msgs.sort(key=lambda m: m["create_time"])
    chunk, next_cursor = page([m["msgid"] for m in msgs], body,
                              f"msgs:{chat_type}:{start}:{end}:{filter_type}:{creator}", size)
    out = []
    for msgid in chunk:
        m = call.company.group_msgs[msgid]
        # create_time as a string like the official sample; creator only for member-created ones.
        item = {"msgid": msgid, "create_time": str(m["create_time"]), "create_type": m["create_type"]}
        if m["creator"]:
            item["creator"] = m["creator"]
        if m["text"]:
            item["text"] = dict(m["text"])
        item["attachments"] = list(m["attachments"])
        out.append(item)
    return {"group_msg_list": out, "next_cursor": next_cursor}


def _msg(call) -> dict:
    msgid = text(call.body, "msgid", required=True, missing=41046)
    msg = call.company.group_msgs.get(msgid)
    if msg is None:
        raise ApiError(41047, f"msgid {msgid}")
    return msg


def _with_time(row: dict) -> dict:
    """send_time only once something was sent."""
    return {k: v for k, v in row.items() if k != "send_time" or v}


@api("externalcontact/get_groupmsg_task", empty={"task_list": []})
def get_groupmsg_task(call):
    msg = _msg(call)
    size = limit(call.body, 500, 1000)
    chunk, next_cursor = page(list(msg["tasks"].values()), call.body, "task:" + msg["msgid"], size)
    # Task status 0 unsent / 1 confirmed / 2 sent. Whether the current page still has 1 is UNCONFIRMED; it is
    # produced here (a confirm that does not send yet, see massmsg.confirm) as the harder reading for a client.
    return {"task_list": [_with_time(t) for t in chunk], "next_cursor": next_cursor}


@api("externalcontact/get_groupmsg_send_result", empty={"send_list": []})
def get_groupmsg_send_result(call):
    msg = _msg(call)
    userid = text(call.body, "userid", required=True, missing=41009)
    require_user(call.company, userid)
    size = limit(call.body, 500, 1000)
    rows = msg["results"].get(userid, [])
    if msg["chat_type"] == "group":  # for group sends only sent records are returned
        rows = [r for r in rows if r["status"] == 1]
    chunk, next_cursor = page(rows, call.body, f"result:{msg['msgid']}:{userid}", size)
    return {"send_list": [_with_time(r) for r in chunk], "next_cursor": next_cursor}


@api("externalcontact/remind_groupmsg_send", writes=True)
def remind_groupmsg_send(call):
    msg = _msg(call)
    recent = [t for t in msg["reminds"] if t > call.now - DAY]
    if len(recent) >= MAX_REMINDS:
        # UNCONFIRMED errcode for the 4th reminder within 24 h; a frequency-limit error is closest.
        raise ApiError(45009, f"at most {MAX_REMINDS} reminders per mass message per 24 h")
    msg["reminds"] = recent + [call.now]
    return {}


@api("externalcontact/cancel_groupmsg_send", writes=True)
def cancel_groupmsg_send(call):
    _msg(call)["cancelled"] = True  # unsent tasks can no longer be confirmed; sent stays sent
    return {}
