"""Statistics: get_user_behavior_data and groupchat/statistic (day ranges, synthetic but stable numbers)."""
import hashlib

from .api_groupchat import owner_filter
from .apicore import ApiError, api, integer, limit, str_list

DAY = 86400
TZ = 8 * 3600        # days are counted in China time
MAX_DAYS, KEEP_DAYS = 30, 180


def _noise(*key) -> int:
    return int(hashlib.md5(repr(key).encode()).hexdigest()[:8], 16)


def _day(ts: int) -> int:
    return (ts + TZ) // DAY * DAY - TZ


def day_range(start: int | None, end: int | None, now: float, code: int) -> list[int]:
    """Day starts from start to end inclusive: at most 30 days, within the last 180, else ``code``."""
    if start is None or end is None:
        raise ApiError(code, "start and end time required")
    first, last, today = _day(start), _day(end), _day(int(now))
    if last < first or last > today:
        raise ApiError(code, "end before start, or in the future (millisecond timestamps?)")
    if (last - first) // DAY + 1 > MAX_DAYS or first < today - KEEP_DAYS * DAY:
        raise ApiError(code, f"at most {MAX_DAYS} days within the last {KEEP_DAYS}")
    return list(range(first, last + 1, DAY))


@api("externalcontact/get_user_behavior_data", empty={"behavior_data": []})
def get_user_behavior_data(call):
    company, body = call.company, call.body
    userids = str_list(body, "userid", max_items=100, code=40031)
    parties = body.get("partyid") or []
    if not isinstance(parties, list) or len(parties) > 100:
        raise ApiError(40058, "partyid must be a list of at most 100 department ids")
    if not userids and not parties:
        raise ApiError(40058, "userid and partyid may not both be empty")
    for userid in userids:
        if userid not in company.users:
            raise ApiError(60111, f"userid {userid} not found")
    dept_ids = {d["id"] for d in company.departments}
    if any(p not in dept_ids for p in parties):
        raise ApiError(60123, "invalid partyid")
    users = set(userids) | {u for u, rec in company.users.items() if set(rec["department"]) & set(parties)}
    days = day_range(integer(body, "start_time"), integer(body, "end_time"), call.now, 600018)
    new_contacts: dict[int, int] = {}
    for userid in users:  # new_contact_cnt is real: relations created that day
        for follow in company.relations.get(userid, {}).values():
            new_contacts[_day(follow["createtime"])] = new_contacts.get(_day(follow["createtime"]), 0) + 1
    data = []
    for day in days:
        chats = sum(_noise(u, day, "chat") % 25 for u in users)
        item = {"stat_time": day, "chat_cnt": chats,
                "message_cnt": sum(_noise(u, day, "msg") % 80 for u in users) if chats else 0,
                "negative_feedback_cnt": sum(_noise(u, day, "neg") % 10 == 0 for u in users),
                "new_apply_cnt": sum(_noise(u, day, "apply") % 4 for u in users),
                "new_contact_cnt": new_contacts.get(day, 0)}
        if chats:  # reply fields only on days with replies
            item["reply_percentage"] = round(50 + _noise(day, "pct") % 5000 / 100, 2)
            item["avg_reply_time"] = 1 + _noise(day, "avg") % 30
        data.append(item)
    return {"behavior_data": data}


ORDER_KEYS = {1: "new_chat_cnt", 2: "chat_total", 3: "new_member_cnt", 4: "member_total"}


@api("externalcontact/groupchat/statistic", empty={"items": []})
def groupchat_statistic(call):
    company, body = call.company, call.body
    begin = integer(body, "day_begin_time", required=True)
    # UNCONFIRMED code for a bad range here (600018 is documented for behaviour data only): 40058.
    days = day_range(begin, integer(body, "day_end_time", begin), call.now, 40058)
    owners = owner_filter(body)
    if not owners:
        raise ApiError(40058, "owner_filter.userid_list required")
    order_by, asc = integer(body, "order_by", 1), integer(body, "order_asc", 0)
    if order_by not in ORDER_KEYS or asc not in (0, 1):
        raise ApiError(40058, "order_by must be 1..4 and order_asc 0 or 1")
    offset, size = integer(body, "offset", 0), limit(body, 500, 1000)
    first, end = days[0], days[-1] + DAY
    items = []
    for owner in owners:
        chats = [g for g in company.groups.values() if g["owner"] == owner and g["create_time"] < end]
        members = [m for g in chats for m in g["member_list"] if m["join_time"] < end]
        active = sum(_noise(g["chat_id"], first) % 3 == 0 for g in chats)
        items.append({"owner": owner, "data": {
            "new_chat_cnt": sum(g["create_time"] >= first for g in chats), "chat_total": len(chats),
            "chat_has_msg": active, "new_member_cnt": sum(m["join_time"] >= first for m in members),
            "member_total": len(members), "member_has_msg": sum(_noise(m["userid"], first) % 5 == 0
                                                                  for m in members),
            "msg_total": active * (1 + _noise(owner, first) % 40)}})
    items.sort(key=lambda i: i["data"][ORDER_KEYS[order_by]], reverse=not asc)
    chunk = items[offset:offset + size]
    return {"total": len(items), "next_offset": offset + len(chunk), "items": chunk}
