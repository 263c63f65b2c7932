"""A customer scans a group join code (群活码): joins its first group with room, or a group WeCom opens for it.

This is the only way customers get into a group in the emulator besides staff invitations (group_join): no API
creates a customer group or adds a customer to one (wecom-api.md §13, api_join_way.py).
"""
import copy
import secrets
import time

from . import actions
from .actions import ActionError
from .seed import set_member_version


def _open_group(emu, way: dict, now: int) -> dict:
    """WeCom opens a new group for a full code: named room_base_name + number (from room_base_id), owned by the
    owner of the code's last group, appended to the code's chat_id_list (UNCONFIRMED, see api_join_way.py)."""
    company = emu.company
    last = company.groups[way["chat_id_list"][-1]]
    number = way["room_base_id"] + way["opened"]
    way["opened"] += 1
    chat_id = "wr" + secrets.token_urlsafe(22)[:30]
    group = {"chat_id": chat_id, "name": f"{way['room_base_name']}{number}", "owner": last["owner"],
             "create_time": now, "notice": "", "status": 0,
             "member_list": [actions._member(company, last["owner"], now, 1, None)],
             "admin_list": [], "member_version": ""}
    set_member_version(group)
    company.groups[chat_id] = group
    way["chat_id_list"].append(chat_id)
    return group


def join_by_code(emu, data: dict) -> dict:
    """{"config_id", "external_userid"?, "name"?, "join_time"?}: the customer (a new WeChat user when none is given) scans the
    code and joins the first of its groups below the group capacity, with join_scene 3 and the code's state. When
    all are full: a new group (auto_create_room 1; a `create` event first) or an ActionError (WeCom tells the
    customer the groups are full). `join_time` (epoch seconds, not in the future) backdates the scan, for seeding a
    demo's history."""
    company, now = emu.company, int(time.time())
    joined_at = data.get("join_time", now)
    if not isinstance(joined_at, int) or isinstance(joined_at, bool) or not 0 < joined_at <= now:
        raise ActionError("join_time must be epoch seconds, not in the future")
    capacity = emu.settings.group_capacity
    with company.lock:
        way = company.join_ways.get(data.get("config_id") or "")
        if way is None:
            raise ActionError(f"unknown config_id {data.get('config_id')}")
        ext = data.get("external_userid")
        if ext and ext not in company.customers:
            raise ActionError(f"unknown external_userid {ext}")
        groups = [company.groups[c] for c in way["chat_id_list"] if c in company.groups]
        if ext and any(m["userid"] == ext for g in groups for m in g["member_list"]):
            raise ActionError(f"{ext} is already in one of this code's groups")
        group = next((g for g in groups if len(g["member_list"]) < capacity), None)
        created = None
        if group is None:
            if not way["auto_create_room"] or not groups:
                raise ActionError("every group of this code is full")
            group = created = _open_group(emu, way, now)
        ext = ext or actions._new_customer(company, data)
        old = copy.deepcopy(group)
        member = actions._member(company, ext, joined_at, 3, None)
        if way["state"]:
            member["state"] = way["state"]
        group["member_list"].append(member)
        last = group["member_version"]
        set_member_version(group)
        if not created:
            actions._hold(emu, old, now)
        company.dirty = True
    ids = actions._chat_event(emu, data, group["chat_id"], "create")["delivery_ids"] if created else []
    event = actions._chat_event(emu, data, group["chat_id"], "update", update_detail="add_member", join_scene=3,
                                members=[ext], last_version=last, cur_version=group["member_version"])
    return {"chat_id": group["chat_id"], "external_userid": ext, "state": way["state"], "opened": bool(created),
            "delivery_ids": ids + event["delivery_ids"]}
