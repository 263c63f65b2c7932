"""Statistics: get_user_behavior_data, groupchat/statistic and statistic_group_by_day (wecom-api.md §8, §9).

Numbers are synthetic but deterministic: each member has a stable activity level, weekends are quieter, some days a
member chats with no one, and on some days with chats there were no replies (the reply fields are then absent, as
WeCom documents). new_contact_cnt comes from the real relations. Several userids (or a partyid) come back SUMMED into
one row per day, as WeCom does; every query is logged (``behavior_queries``, ``group_stat_queries``) so tests can see
what was asked.

Group statistics, where wecom-api.md §8 is silent (UNCONFIRMED, each the harder reading for a client):
- only complete days are answered: a span reaching today is refused (40058) like one in the future, so a client must
  not store a day's figures before the day is over;
- a negative offset is refused (40058), and a page past the end is empty with next_offset = total.
"""
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


def _weekend(day: int) -> bool:
    return ((day + TZ) // DAY + 3) % 7 >= 5  # 1970-01-01 was a Thursday (weekday 3)


def day_range(start: int | None, end: int | None, now: float, code: int, *, complete: bool = False) -> list[int]:
    """Day starts from start to end inclusive: at most 30 days, within the last 180, else ``code``. `complete`:
    today is refused too (only days that are over)."""
    if start is None or end is None:
        raise ApiError(code, "start and end time required")
    first, last, today = _day(start), _day(end), _day(int(now))
    if last < first or last > today or (complete and last == today):
        raise ApiError(code, "end before start, or in the future (millisecond timestamps?)")
    if (last - first) // DAY + 1 > MAX_DAYS or first < today - KEEP_DAYS * DAY:
        raise ApiError(code, f"at most {MAX_DAYS} days within the last {KEEP_DAYS}")
    return list(range(first, last + 1, DAY))


def activity(userid: str) -> float:
    """A member's stable activity level, 0.3 (quiet) .. 1.0 (busy)."""
    return 0.3 + _noise(userid, "level") % 71 / 100


def member_day(userid: str, day: int) -> dict:
    """One member's behaviour figures for one day (without new_contact_cnt); reply fields only when they replied."""
    level, quiet = activity(userid), 0.4 if _weekend(day) else 1.0
    if _noise(userid, day, "off") % 100 < (30 if quiet < 1 else 8):
        chats = 0  # a day off: no chats at all
    else:
        chats = round(level * quiet * (4 + _noise(userid, day, "chat") % 30))
    item = {"chat_cnt": chats, "message_cnt": chats * (2 + _noise(userid, day, "msg") % 5),
            "negative_feedback_cnt": (_noise(userid, day, "neg") % 100 < 12) + (_noise(userid, day, "neg2") % 100 < 3),
            "new_apply_cnt": round(quiet * (_noise(userid, day, "apply") % 5))}
    if chats and _noise(userid, day, "replied") % 100 >= 15:  # ~15 % of days with chats had nothing to reply to
        item["reply_percentage"] = round(min(100.0, 35 + level * 50 + _noise(userid, day, "pct") % 1500 / 100), 2)
        item["avg_reply_time"] = max(1, round((1.25 - level) * 40 + _noise(userid, day, "avg") % 20))
    return item


def summed(rows: list[dict]) -> dict:
    """Several members' figures for a day as WeCom answers them: counts added, reply figures weighted by chats and
    present only when some member replied."""
    out = {k: sum(r[k] for r in rows) for k in ("chat_cnt", "message_cnt", "negative_feedback_cnt", "new_apply_cnt")}
    replied = [r for r in rows if "reply_percentage" in r]
    weight = sum(r["chat_cnt"] for r in replied)
    if replied:
        out["reply_percentage"] = round(sum(r["reply_percentage"] * r["chat_cnt"] for r in replied) / weight, 2)
        out["avg_reply_time"] = round(sum(r["avg_reply_time"] * r["chat_cnt"] for r in replied) / weight)
    return out


@api("externalcontact/get_user_behavior_data", empty={"behavior_data": []})
def get_user_behavior_data(call):
    company, body = call.company, call.body
    userids = str_list(body, "userid", max_items=100, code=40031)
    parties = body.get("partyid") or []
    company.log("behavior_queries", {"userid": list(userids), "partyid": list(parties) if isinstance(parties, list)
                                     else parties, "start_time": body.get("start_time"),
                                     "end_time": body.get("end_time")})
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
    return {"behavior_data": [{"stat_time": day, **summed([member_day(u, day) for u in sorted(users)]),
                               "new_contact_cnt": new_contacts.get(day, 0)} for day in days]}


GROUP_FIELDS = ("new_chat_cnt", "chat_total", "chat_has_msg", "new_member_cnt", "member_total", "member_has_msg",
                "msg_total")
ORDER_KEYS = {1: "new_chat_cnt", 2: "chat_total", 3: "new_member_cnt", 4: "member_total"}


DORMANT_PERCENT = 12  # groups where nobody ever speaks (many customer groups die after their first weeks)


def _spoke(owner: str, chat_id: str, day: int) -> bool:
    if _noise(chat_id, "dormant") % 100 < DORMANT_PERCENT:
        return False
    chance = (25 + 45 * activity(owner)) * (0.5 if _weekend(day) else 1.0)
    return _noise(chat_id, day, "active") % 100 < chance


def group_figures(owner: str, chats: list[dict], days: list[int]) -> dict:
    """An owner's groups over `days`: new groups and members joined within them, totals at their end, groups and
    members that spoke on any of them (counted once), messages added up. UNCONFIRMED how WeCom aggregates a span of
    several days; our client asks for one day at a time, where every reading agrees."""
    first, end = days[0], days[-1] + DAY
    chats = [g for g in chats if g["create_time"] < end]
    members = [(g, m) for g in chats for m in g["member_list"] if m["join_time"] < end]
    spoke_chats, spoke_members, messages = set(), set(), 0
    for day in days:
        for g in chats:
            if g["create_time"] >= day + DAY or not _spoke(owner, g["chat_id"], day):
                continue
            spoke_chats.add(g["chat_id"])
            rate = 5 + _noise(g["chat_id"], day, "rate") % 25
            for m in g["member_list"]:
                if m["join_time"] < day + DAY and _noise(m["userid"], g["chat_id"], day) % 100 < rate:
                    spoke_members.add((g["chat_id"], m["userid"]))
                    messages += 1 + _noise(m["userid"], g["chat_id"], day, "n") % 6
    return {"new_chat_cnt": sum(g["create_time"] >= first for g in chats), "chat_total": len(chats),
            "chat_has_msg": len(spoke_chats), "new_member_cnt": sum(m["join_time"] >= first for _g, m in members),
            "member_total": len(members), "member_has_msg": len(spoke_members), "msg_total": messages}


def _group_query(call, api: str) -> tuple[list[int], list[str], dict[str, list[dict]]]:
    """The days and owners of a group statistics query, and the owners' groups."""
    body = call.body
    begin = integer(body, "day_begin_time", required=True)
    # UNCONFIRMED code for a bad range here (600018 is documented for behaviour data only): 40058.
    days = day_range(begin, integer(body, "day_end_time", begin), call.now, 40058, complete=True)
    owners = owner_filter(body)
    call.company.log("group_stat_queries", {"api": api, "owners": list(owners),
                                            "day_begin_time": begin, "day_end_time": body.get("day_end_time"),
                                            "offset": body.get("offset")})
    if not owners:
        raise ApiError(40058, "owner_filter.userid_list required")
    wanted, by_owner = set(owners), {}
    for g in call.company.groups.values():
        if g["owner"] in wanted:
            by_owner.setdefault(g["owner"], []).append(g)
    return days, owners, by_owner


@api("externalcontact/groupchat/statistic", empty={"items": []})
def groupchat_statistic(call):
    days, owners, by_owner = _group_query(call, "statistic")
    order_by, asc = integer(call.body, "order_by", 1), integer(call.body, "order_asc", 0)
    if order_by not in ORDER_KEYS or asc not in (0, 1):
        raise ApiError(40058, "order_by must be 1..4 and order_asc 0 or 1")
    offset, size = integer(call.body, "offset", 0), limit(call.body, 500, 1000)
    if offset < 0:
        raise ApiError(40058, "offset must be >= 0")
    # UNCONFIRMED whether owners without any group are listed with zeros; the harder reading for a client is that
    # they are left out, so they are: a client must take an absent owner as "no groups", not as "not fetched".
    items = [{"owner": o, "data": group_figures(o, by_owner[o], days)} for o in dict.fromkeys(owners)
             if by_owner.get(o)]
    items.sort(key=lambda i: i["data"][ORDER_KEYS[order_by]], reverse=not asc)
    chunk = items[offset:offset + size]
    return {"total": len(items), "next_offset": offset + len(chunk), "items": chunk}


@api("externalcontact/groupchat/statistic_group_by_day", empty={"items": []})
def groupchat_statistic_by_day(call):
    """Per day, the figures of all owners in owner_filter added up (one item per day)."""
    days, owners, by_owner = _group_query(call, "statistic_group_by_day")
    items = []
    for day in days:
        per_owner = [group_figures(o, by_owner[o], [day]) for o in dict.fromkeys(owners) if by_owner.get(o)]
        items.append({"stat_time": day, "data": {k: sum(f[k] for f in per_owner) for k in GROUP_FIELDS}})
    return {"items": items}
