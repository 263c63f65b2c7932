"""Customer and group transfers (wecom-api.md §11): 在职继承 and 离职继承 of customers, their results, the list of
departed members' customers, and group transfers; the pending handovers settle on the emulator's clock.

The document's rules, and the harder reading where it is silent (UNCONFIRMED, chosen against our client):
- at most 100 external_userid / chat_id per call; a longer list fails the whole call (40058);
- a customer can be transferred at most 2 times: every handover WeCom accepted counts (on-job and resigned together,
  also one the customer refused later), for ever; after a completed transfer 90 days of protection. Both are
  answered per customer with 40128, a customer already waiting for a takeover with 40129 (codes UNCONFIRMED);
- the takeover happens `transfer_delay` seconds (24 h) after the call, for resigned transfers too, unless the customer
  refuses (POST /_emulator/simulate/transfer_refuse) or the takeover member has `member_customer_limit` customers
  (status 4); both failures send `transfer_fail` (UserID = the takeover member). A completed on-job transfer sends
  del_external_contact with Source=DELETE_BY_TRANSFER for the old member; a resigned one sends nothing;
- customers waiting for a resigned takeover are still in get_unassigned_list until it completes;
- groups move at once; at most 300 a day from one owner, counted over any 24 hours and whatever the new owner
  (errcode 90503, UNCONFIRMED); an on-job group moves at most 2 times in 90 days (90507, UNCONFIRMED).
"""
from __future__ import annotations

from . import events
from .apicore import ApiError, api, decode_cursor, encode_cursor, integer, page, require_user, str_list, text
from .seed import set_member_version

DAY = 86400
PROTECTION = 90 * DAY
MAX_TRANSFERS = 2
MAX_PER_CALL = 100
GROUPS_PER_DAY = 300
RESULT_PAGE = 1000
UNASSIGNED_PAGE = 1000
WAITING, DONE, REFUSED, LIMIT = 2, 1, 3, 4
TOO_OFTEN, IN_TRANSFER, NOT_RESIGNED = 40128, 40129, 40097
GROUP_OWNER_ON_JOB, GROUP_NOT_CUSTOMER_GROUP, GROUP_OWNER_RESIGNED = 90500, 90501, 90502
GROUP_DAILY_LIMIT, GROUP_TOO_OFTEN = 90503, 90507


def now_of(emu) -> float:
    return emu.clock.now()


def _takeover(company, userid: str) -> None:
    require_user(company, userid)
    if userid not in company.follow_users:
        raise ApiError(84074, f"{userid} has no customer-contact permission")


def _customer_error(company, ext: str, handover: str, now: float) -> int:
    """0 when WeCom would start handing `ext` over from `handover`, else the customer's errcode."""
    if ext not in company.customers:
        return 40096
    if company.relation(handover, ext) is None:
        return 84061
    mine = [t for t in company.transfers if t["external_userid"] == ext]
    if any(t["status"] == WAITING for t in mine):
        return IN_TRANSFER
    if len(mine) >= MAX_TRANSFERS:
        return TOO_OFTEN
    if any(t["status"] == DONE and now - t["takeover_time"] < PROTECTION for t in mine):
        return TOO_OFTEN
    return 0


def _start(call, kind: str) -> dict:
    emu, company, body = call.emu, call.company, call.body
    handover = text(body, "handover_userid", required=True, missing=41009)
    takeover = text(body, "takeover_userid", required=True, missing=41009)
    exts = str_list(body, "external_userid", max_items=MAX_PER_CALL, code=40058)
    if not exts:
        raise ApiError(40058, "external_userid missing")
    text(body, "transfer_success_msg", max_chars=200)
    if kind == "resigned":
        if handover not in company.resigned:
            raise ApiError(NOT_RESIGNED, f"{handover} has not resigned")
    else:
        require_user(company, handover)
    _takeover(company, takeover)
    if handover == takeover:
        raise ApiError(40058, "handover_userid and takeover_userid are the same member")
    now, answer = now_of(emu), []
    for ext in dict.fromkeys(exts):
        code = _customer_error(company, ext, handover, now)
        if code == 0:
            company.transfers.append({"kind": kind, "handover": handover, "takeover": takeover,
                                      "external_userid": ext, "started_at": now,
                                      "due": now + emu.settings.transfer_delay, "status": WAITING,
                                      "takeover_time": 0})
        answer.append({"external_userid": ext, "errcode": code})
    return {"customer": answer}


def _results(call, kind: str) -> dict:
    body = call.body
    handover = text(body, "handover_userid", required=True, missing=41009)
    takeover = text(body, "takeover_userid", required=True, missing=41009)
    rows = [t for t in call.company.transfers
            if t["kind"] == kind and t["handover"] == handover and t["takeover"] == takeover]
    chunk, next_cursor = page(rows, body, f"transfer:{kind}:{handover}:{takeover}", RESULT_PAGE)
    return {"customer": [{"external_userid": t["external_userid"], "status": t["status"],
                          "takeover_time": int(t["takeover_time"])} for t in chunk],
            "next_cursor": next_cursor}


@api("externalcontact/transfer_customer", writes=True, empty={"customer": []})
def transfer_customer(call):
    return _start(call, "onjob")


@api("externalcontact/transfer_result", empty={"customer": []})
def transfer_result(call):
    return _results(call, "onjob")


@api("externalcontact/resigned/transfer_customer", writes=True, empty={"customer": []})
def resigned_transfer_customer(call):
    return _start(call, "resigned")


@api("externalcontact/resigned/transfer_result", empty={"customer": []})
def resigned_transfer_result(call):
    return _results(call, "resigned")


@api("externalcontact/get_unassigned_list", empty={"info": []})
def get_unassigned_list(call):
    body, company = call.body, call.company
    size = integer(body, "page_size", UNASSIGNED_PAGE) or UNASSIGNED_PAGE
    if not 1 <= size <= UNASSIGNED_PAGE:
        raise ApiError(40058, f"page_size must be 1..{UNASSIGNED_PAGE}")
    rows = [(userid, ext, member["dimission_time"]) for userid, member in company.resigned.items()
            for ext in company.relations.get(userid, {})]
    start = decode_cursor(body.get("cursor"), "unassigned", None)
    if start is None:  # the legacy page_id, when no cursor is given
        start = (integer(body, "page_id", 0) or 0) * size
    chunk = rows[start:start + size]
    end = start + len(chunk)
    last = end >= len(rows)
    return {"info": [{"handover_userid": u, "external_userid": e, "dimission_time": t} for u, e, t in chunk],
            "is_last": last, "next_cursor": "" if last else encode_cursor("unassigned", end)}


# -- groups ------------------------------------------------------------------------------------
def _group_error(company, group: dict | None, kind: str, now: float) -> int:
    if group is None:
        return 40050
    resigned = group["owner"] in company.resigned
    if kind == "resigned" and not resigned:
        return GROUP_OWNER_ON_JOB
    if kind == "onjob" and resigned:
        return GROUP_OWNER_RESIGNED
    moves = company.group_transfers
    if sum(1 for m in moves if m["from"] == group["owner"] and now - m["at"] < DAY) >= GROUPS_PER_DAY:
        return GROUP_DAILY_LIMIT
    if kind == "onjob" and sum(1 for m in moves if m["chat_id"] == group["chat_id"] and m["kind"] == "onjob"
                               and now - m["at"] < PROTECTION) >= MAX_TRANSFERS:
        return GROUP_TOO_OFTEN
    return 0


def _move_groups(call, kind: str) -> dict:
    company, body = call.company, call.body
    chat_ids = str_list(body, "chat_id_list", max_items=MAX_PER_CALL, code=40058)
    if not chat_ids:
        raise ApiError(40058, "chat_id_list missing")
    new_owner = text(body, "new_owner", required=True, missing=41009)
    _takeover(company, new_owner)
    now, failed = now_of(call.emu), []
    for chat_id in dict.fromkeys(chat_ids):
        group = company.groups.get(chat_id)
        code = _group_error(company, group, kind, now)
        if code:
            failed.append({"chat_id": chat_id, "errcode": code, "errmsg": "transfer failed"})
            continue
        company.group_transfers.append({"chat_id": chat_id, "from": group["owner"], "to": new_owner,
                                        "kind": kind, "at": now})
        group["owner"] = new_owner
        if kind == "resigned":
            group["status"] = 3  # 离职继承完成
        if all(m["userid"] != new_owner for m in group["member_list"]):
            group["member_list"].append({"userid": new_owner, "type": 1, "join_time": int(now), "join_scene": 1,
                                         "group_nickname": "", "name": company.users[new_owner]["name"]})
            set_member_version(group)
    return {"failed_chat_list": failed}


@api("externalcontact/groupchat/transfer", writes=True, empty={"failed_chat_list": []})
def groupchat_transfer(call):
    return _move_groups(call, "resigned")


@api("externalcontact/groupchat/onjob_transfer", writes=True, empty={"failed_chat_list": []})
def groupchat_onjob_transfer(call):
    return _move_groups(call, "onjob")


# -- the clock: handovers complete ---------------------------------------------------------------
def settle(emu) -> list[tuple[str, dict]]:
    """Complete (or fail on the takeover's customer limit) every handover due by now; the events to send."""
    company, now, out = emu.company, now_of(emu), []
    with company.lock:
        for t in company.transfers:
            if t["status"] != WAITING or t["due"] > now:
                continue
            t["takeover_time"] = t["due"]
            company.dirty = True
            ext, handover, takeover = t["external_userid"], t["handover"], t["takeover"]
            follow = company.relation(handover, ext)
            if len(company.relations.get(takeover, {})) >= emu.settings.member_customer_limit:
                t["status"] = LIMIT
                out.append(_fail_event(emu, takeover, ext, "customer_limit_exceed", int(now)))
                continue
            t["status"] = DONE
            if follow is not None:
                company.remove_relation(handover, ext)
                if company.relation(takeover, ext) is None:
                    company.add_relation(takeover, ext, {**follow, "userid": takeover, "createtime": int(t["due"]),
                                                         "oper_userid": takeover, "add_way": 202})
            if t["kind"] == "onjob":
                xml = events.contact_event(emu.settings.corp_id, int(now), "del_external_contact", handover, ext,
                                           source="DELETE_BY_TRANSFER")
                out.append((xml, {"event": "change_external_contact", "change_type": "del_external_contact",
                                  "userid": handover, "external_userid": ext, "source": "DELETE_BY_TRANSFER",
                                  "create_time": int(now)}))
    return out


def _fail_event(emu, takeover: str, ext: str, reason: str, at: int) -> tuple[str, dict]:
    xml = events.contact_event(emu.settings.corp_id, at, "transfer_fail", takeover, ext, fail_reason=reason)
    return xml, {"event": "change_external_contact", "change_type": "transfer_fail", "userid": takeover,
                 "external_userid": ext, "fail_reason": reason, "create_time": at}


def refuse(emu, ext: str) -> tuple[str, dict]:
    """The customer refuses the handover waiting for them: status 3 and a transfer_fail event."""
    company = emu.company
    with company.lock:
        waiting = [t for t in company.transfers if t["external_userid"] == ext and t["status"] == WAITING]
        if not waiting:
            raise ValueError(f"no handover of {ext} is waiting")
        waiting[0]["status"] = REFUSED
        waiting[0]["takeover_time"] = 0
        company.dirty = True
        return _fail_event(emu, waiting[0]["takeover"], ext, "customer_refused", int(now_of(emu)))


def resign(company, userid: str, at: float) -> dict:
    """The member leaves the company: gone from the directory; customers and groups wait for 离职继承."""
    with company.lock:
        user = company.users.get(userid)
        if user is None:
            raise ValueError(f"unknown userid {userid}")
        del company.users[userid]
        if userid in company.follow_users:
            company.follow_users.remove(userid)
        company.resigned[userid] = {"userid": userid, "name": user["name"], "dimission_time": int(at)}
        groups = [g for g in company.groups.values() if g["owner"] == userid]
        for group in groups:
            group["status"] = 1  # 离职待继承
        company.dirty = True
        return {"userid": userid, "customers": len(company.relations.get(userid, {})), "groups": len(groups)}
