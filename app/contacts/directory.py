"""Departments and staff from WeCom's directory, with who may have customers (follow users)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import true

from app.contacts.merge import Counts, merge
from app.contacts.models import Department, Staff
from app.wecom.gateway import WeComGateway

ROOT_DEPARTMENT = 1


def sync_directory(gw: WeComGateway, now: datetime) -> dict[str, Counts]:
    """Fetch every department, member and follow user, and merge them (those WeCom no longer lists are removed)."""
    departments = gw.list_departments()
    users = gw.list_users(ROOT_DEPARTMENT, fetch_child=True)
    follow_users = set(gw.get_follow_user_list())
    dept_rows = [{"id": d["id"], "name": d.get("name", ""), "name_en": d.get("name_en") or "",
                  "parent_id": d.get("parentid"), "order": d.get("order") or 0,
                  "leader_userids": list(d.get("department_leader") or []), "removed_at": None}
                 for d in departments]
    staff_rows = [{"userid": u["userid"], "name": u.get("name", ""), "position": u.get("position") or "",
                   "alias": u.get("alias") or "", "department_ids": list(u.get("department") or []),
                   "main_department": u.get("main_department"), "status": u.get("status", 1),
                   "is_follow_user": u["userid"] in follow_users, "removed_at": None}
                  for u in users]
    return {"departments": merge(Department, ("id",), dept_rows, true(), removed_col="removed_at", now=now),
            "staff": merge(Staff, ("userid",), staff_rows, true(), removed_col="removed_at", now=now)}
