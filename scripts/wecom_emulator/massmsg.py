"""Mass-message (群发) tasks: creation, staff confirmation with the quota, member-created sends, bulk audiences, counts."""
import secrets
import time

from .quota import can_receive


def create(company, now: float, chat_type: str, tasks: dict, content: str, attachments: list,
           creator: str | None = None) -> dict:
    """A mass message with one waiting task per sender; ``tasks`` = {userid: [recipient ids]}."""
    key = "external_userid" if chat_type == "single" else "chat_id"
    msgid = "msg" + secrets.token_urlsafe(18)
    msg = {"msgid": msgid, "chat_type": chat_type, "create_type": 1 if creator else 0,
           "creator": creator, "create_time": int(now), "text": {"content": content} if content else None,
           "attachments": attachments, "cancelled": False, "reminds": [],
           "tasks": {u: {"userid": u, "status": 0, "send_time": 0} for u in tasks},
           "results": {u: [{key: r, "userid": u, "status": 0, "send_time": 0} for r in recipients]
                       for u, recipients in tasks.items()}}
    company.group_msgs[msgid] = msg
    return msg


def _deliverable(company, msg: dict, userid: str, recipient: str) -> int:
    """Status a recipient ends with when ``userid`` sends now: 1 sent, 2 not a friend, 3 over quota."""
    if msg["chat_type"] == "single":
        follow = company.relation(userid, recipient)
        if follow is None or follow.get("one_way"):
            return 2
    else:
        group = company.groups.get(recipient)
        if group is None or group["owner"] != userid:
            return 2
    return 1


def confirm(company, settings, msg: dict, userid: str, now: float, send: bool = True) -> bool:
    """The member confirms in the client (task status 1 已确认) and, when ``send``, the messages go out (status 2
    已发送): each recipient is sent to unless not a friend / over quota. WeCom's page may list only 0 and 2
    (wecom-api.md §12, UNCONFIRMED); a task seen at 1 is the harder reading for a client, so confirming without
    ``send`` leaves it there until a later confirm sends. True when the task moved."""
    task = msg["tasks"].get(userid)
    if task is None or task["status"] == 2 or msg["cancelled"]:  # cancel stops every send not yet made
        return False
    if task["status"] == 0:
        task["status"] = 1
        company.dirty = True
        if not send:
            return True
    elif not send:
        return False
    task.update(status=2, send_time=int(now))
    for result in msg["results"][userid]:
        recipient = result.get("external_userid") or result["chat_id"]
        status = _deliverable(company, msg, userid, recipient)
        received = company.receives.setdefault(recipient, [])
        if status == 1 and not can_receive(received, settings.receive_rule, now):
            status = 3
        if status == 1:
            received.append(int(now))
            result["send_time"] = int(now)
        result["status"] = status
    return True


def confirm_all(emu, msgid: str, send: bool = False) -> None:
    """Every member confirms (the automatic confirmation after auto_confirm_seconds): the tasks show 1 (已确认)
    first, and the messages go out (2) after the same delay again; with no delay, both at once."""
    delay = emu.settings.auto_confirm_seconds or 0
    with emu.company.lock:
        msg = emu.company.group_msgs.get(msgid)
        for userid in list(msg["tasks"]) if msg else []:
            confirm(emu.company, emu.settings, msg, userid, time.time(), send or not delay)
    if delay and not send:
        emu.later(delay, confirm_all, emu, msgid, True)


def add_audience(company, userids: list, per_user: int, prefix: str = "wmbulk", now: float | None = None) -> dict:
    """Give each member `per_user` new customers (plain friends, no tags): mass-send tests and benchmarks
    need audiences far larger than a seed. A userid the company lacks becomes a new member with customer
    contact (in the root department). Ids are ``{prefix}{userid}x{n}``; returns {userid: [ids]}."""
    now = int(now or time.time())
    added = {}
    for userid in userids:
        if userid not in company.users:
            company.users[userid] = {"userid": userid, "name": f"成员{userid}", "department": [1], "order": [0],
                                     "position": "", "is_leader_in_dept": [0], "direct_leader": [], "status": 1,
                                     "telephone": "", "alias": "", "english_name": "", "main_department": 1,
                                     "open_userid": "wo" + userid, "external_position": ""}
            company.follow_users.append(userid)
        elif userid not in company.follow_users:
            raise ValueError(f"{userid} has no customer-contact permission")
        ids = added[userid] = [f"{prefix}{userid}x{n}" for n in range(per_user)]
        for ext in ids:
            company.customers[ext] = {"external_userid": ext, "name": f"客户{ext[-6:]}", "type": 1, "gender": 0,
                                      "avatar": ""}
            company.add_relation(userid, ext, {
                "userid": userid, "remark": "", "description": "", "createtime": now - 86400, "tag_id": [],
                "remark_corp_name": "", "remark_mobiles": [], "oper_userid": ext, "add_way": 1, "state": "",
                "one_way": False})
    company.dirty = True
    return added


def received(company) -> dict:
    """{"addressed": {recipient: mass messages naming it}, "received": {recipient: how many reached it}}."""
    addressed, got = {}, {}
    with company.lock:
        for msg in company.group_msgs.values():
            for rows in msg["results"].values():
                for row in rows:
                    key = row.get("external_userid") or row["chat_id"]
                    addressed[key] = addressed.get(key, 0) + 1
                    if row["status"] == 1:
                        got[key] = got.get(key, 0) + 1
    return {"addressed": addressed, "received": got}
