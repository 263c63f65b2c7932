"""Departments and staff from WeCom's directory, with who may have customers (follow users).

WeCom lists one department's own members per call (fetch_child is gone, wecom-api.md §9), so the directory is read by
walking every department of the visible range. The follow-user list is the authority on who has customers: a follow
user the walk did not meet (outside the app's visible range) is still kept, read alone or by userid only.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, true

from app.contacts.merge import Counts, Row, merge
from app.contacts.models import Department, Staff
from app.extensions import db
from app.wecom.errors import WeComInvalidArgument, WeComPermissionDenied
from app.wecom.gateway import WeComGateway


def _department_row(d: dict[str, Any]) -> Row:
    return {"id": d["id"], "name": d.get("name", ""), "name_en": d.get("name_en") or "",
            "parent_id": d.get("parentid"), "order": d.get("order") or 0,
            "leader_userids": list(d.get("department_leader") or []), "removed_at": None}


def _staff_row(u: dict[str, Any], follow_users: set[str]) -> Row:
    return {"userid": u["userid"], "name": u.get("name") or u["userid"], "position": u.get("position") or "",
            "alias": u.get("alias") or "", "department_ids": list(u.get("department") or []),
            "main_department": u.get("main_department"), "status": u.get("status", 1),
            "is_follow_user": u["userid"] in follow_users, "removed_at": None}


def read_member(gw: WeComGateway, userid: str) -> dict[str, Any]:
    """user/get for one member. A member the app may not read (outside its visible range) is known by userid only,
    keeping what the console already has of them."""
    try:
        return gw.get_user(userid)
    except (WeComPermissionDenied, WeComInvalidArgument):
        known = db.session.scalar(select(Staff).where(Staff.userid == userid))
        if known is None:
            return {"userid": userid}
        return {"userid": userid, "name": known.name, "position": known.position, "alias": known.alias,
                "department": known.department_ids, "main_department": known.main_department, "status": known.status}


def sync_directory(gw: WeComGateway, now: datetime) -> dict[str, Counts]:
    """Walk every department for its members, add the follow users the walk missed, and merge them all (those WeCom
    no longer lists are removed)."""
    departments = gw.list_departments()
    members: dict[str, dict[str, Any]] = {}
    for department in departments:
        for user in gw.list_users(department["id"]):
            members.setdefault(user["userid"], user)  # a member of several departments is listed in each
    follow_users = set(gw.get_follow_user_list())
    for userid in sorted(follow_users - members.keys()):
        members[userid] = read_member(gw, userid)
    staff_rows = [_staff_row(u, follow_users) for u in members.values()]
    return {"departments": merge(Department, ("id",), [_department_row(d) for d in departments], true(),
                                 removed_col="removed_at", now=now),
            "staff": merge(Staff, ("userid",), staff_rows, true(), removed_col="removed_at", now=now)}


def ensure_staff(gw: WeComGateway, userid: str, now: datetime) -> None:
    """A member an event names whom the console has not seen yet: read that one member, not the whole directory."""
    if not userid or db.session.scalar(select(Staff.id).where(Staff.userid == userid)) is not None:
        return
    follow_users = set(gw.get_follow_user_list())
    merge(Staff, ("userid",), [_staff_row(read_member(gw, userid), follow_users)], Staff.userid == userid, now=now)
