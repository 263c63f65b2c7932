"""Contact ways (「联系我」): add/get/update/del/list_contact_way with state and their limits. Creation times and the
list's window run on the emulator's clock (POST /_emulator/clock), so tests can age a contact way at once."""
import secrets

from .apicore import ApiError, api, integer, limit, page, str_list, text

MAX_USERS = 100
DAY = 86400
WINDOW = 90 * DAY  # list_contact_way: the window defaults to the last 90 days (wecom-api.md §4)
LISTED_SINCE = 1625846400  # 2021-07-10 00:00 Beijing time: only configs created after it are listed
FIELDS = ("config_id", "type", "scene", "style", "remark", "skip_verify", "state", "qr_code", "user",
          "party", "is_temp", "expires_in", "chat_expires_in", "unionid", "conclusions")


def _way(company, body: dict) -> dict:
    config_id = text(body, "config_id", required=True, missing=41043)
    way = company.contact_ways.get(config_id)
    if way is None:
        raise ApiError(41044, f"config_id {config_id}")
    return way


def _apply(company, way: dict, body: dict) -> None:
    """Validate and copy the editable fields of ``body`` into ``way`` (all-or-nothing)."""
    changes = {}
    for key in ("remark", "state"):
        if key in body:
            changes[key] = text(body, key, max_chars=30)
    if "style" in body:
        style = integer(body, "style", 1)
        if way["scene"] != 1 or not 1 <= style <= 10:
            raise ApiError(41042, "style only for scene 1, 1..10")
        changes["style"] = style
    if "skip_verify" in body:
        changes["skip_verify"] = bool(body["skip_verify"])
    for key in ("user", "party"):  # the new lists replace the old ones
        if key in body:
            changes[key] = str_list(body, key) if key == "user" else [
                integer({"party": p}, "party") for p in (body["party"] or [])]
    users, parties = changes.get("user", way["user"]), changes.get("party", way["party"])
    for userid in users:
        user = company.users.get(userid)
        if user is None:
            raise ApiError(60111, f"userid {userid} not found")
        if user["status"] != 1:
            raise ApiError(41054, f"{userid} is not activated")
    if way["type"] == 1 and (len(users) != 1 or parties):
        raise ApiError(40058, "type 1 needs exactly one user and no party")
    if way["type"] == 2 and not users and not parties:
        raise ApiError(40058, "user and party may not both be empty")
    dept_ids = {d["id"] for d in company.departments}
    if any(p not in dept_ids for p in parties):
        raise ApiError(60123, "invalid party")
    expanded = set(users) | {u for u, rec in company.users.items() if set(rec["department"]) & set(parties)}
    if len(expanded) > MAX_USERS:
        raise ApiError(41041, f"at most {MAX_USERS} users, departments expanded")
    for key, default, maximum in (("expires_in", 7 * DAY, 14 * DAY), ("chat_expires_in", DAY, 14 * DAY)):
        if key in body:
            value = integer(body, key, default)
            if not 0 < value <= maximum:
                raise ApiError(40058, f"{key} must be 1..{maximum}")
            changes[key] = value
    if "unionid" in body or "conclusions" in body:
        if not way["is_temp"]:
            raise ApiError(40058, "unionid and conclusions are for temporary ways only")
        changes.update({k: body[k] for k in ("unionid", "conclusions") if k in body})
    way.update(changes)


@api("externalcontact/add_contact_way", writes=True)
def add_contact_way(call):
    company, body = call.company, call.body
    kind, scene = integer(body, "type", required=True), integer(body, "scene", required=True)
    if kind not in (1, 2) or scene not in (1, 2):
        raise ApiError(40058, "type and scene must be 1 or 2")
    is_temp = bool(body.get("is_temp"))
    if is_temp and kind != 1:
        raise ApiError(40058, "temporary ways are single-person only")
    if not is_temp and company.configs_in_quota() >= call.settings.contact_way_quota:  # shared with 加入群聊 (§13)
        raise ApiError(41045, f"at most {call.settings.contact_way_quota} contact ways and join ways per corp")
    config_id = secrets.token_hex(16)
    way = {"config_id": config_id, "type": kind, "scene": scene, "remark": "", "skip_verify": True,
           "state": "", "user": [], "party": [], "is_temp": is_temp,
           "expires_in": 7 * DAY if is_temp else 0, "chat_expires_in": DAY if is_temp else 0,
           "unionid": "", "conclusions": {}, "create_time": int(call.emu.clock.now())}
    if scene == 1:
        way["style"] = 1
    else:
        way["qr_code"] = f"https://wework.qpic.cn/wwpic/{config_id}/0"
    _apply(company, way, body)
    company.contact_ways[config_id] = way
    return {"config_id": config_id, **({"qr_code": way["qr_code"]} if scene == 2 else {})}


@api("externalcontact/get_contact_way")
def get_contact_way(call):
    way = _way(call.company, call.body)
    return {"contact_way": {k: way[k] for k in FIELDS if k in way}}


@api("externalcontact/update_contact_way", writes=True)
def update_contact_way(call):
    way = _way(call.company, call.body)
    if way["is_temp"] and way["create_time"] + way["expires_in"] < call.now:
        raise ApiError(40058, "an expired temporary way can't be edited")
    updated = dict(way)
    _apply(call.company, updated, call.body)
    way.update(updated)
    return {}


@api("externalcontact/del_contact_way", writes=True)
def del_contact_way(call):
    del call.company.contact_ways[_way(call.company, call.body)["config_id"]]
    return {}


@api("externalcontact/list_contact_way", empty={"contact_way": []})
def list_contact_way(call):
    """Configs created in [start_time, end_time], oldest first, in pages of `limit` behind an offset cursor.

    UNCONFIRMED, the harder readings where wecom-api.md is silent: a window longer than 90 days is cut to its last
    90 days without an error (a client asking for more silently misses the older ways: it must walk 90-day
    windows); the cursor is an offset, so configs deleted between pages shift the rest (a client deleting as it
    lists skips some: list everything first)."""
    body = call.body
    end = integer(body, "end_time", int(call.emu.clock.now()))
    start = integer(body, "start_time", end - WINDOW)
    if start > end:
        raise ApiError(40058, "start_time after end_time")
    start = max(start, end - WINDOW, LISTED_SINCE)
    size = limit(body, 100, 1000)
    ids = [w["config_id"] for w in sorted(call.company.contact_ways.values(), key=lambda w: w["create_time"])
           if start <= w["create_time"] <= end]
    chunk, next_cursor = page(ids, body, f"ways:{start}:{end}", size)
    return {"contact_way": [{"config_id": c} for c in chunk], "next_cursor": next_cursor}
