"""Staff with their departments, status and customer numbers: current, new and lost in the last 7 and 30 days."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select

from app.contacts.models import Department, FollowRelation, Staff
from app.contacts.scope import Scope
from app.core.db import utcnow
from app.extensions import db


@dataclass
class StaffRow:
    staff: Staff
    departments: list[str]
    customers: int = 0
    new_7: int = 0
    new_30: int = 0
    lost_7: int = 0
    lost_30: int = 0


def _since(column, days: int, now):
    return func.sum(case((column >= now - timedelta(days=days), 1), else_=0))


def staff_rows(scope: Scope, q: str = "") -> list[StaffRow]:
    """Every current staff member in scope, follow users first, with their customer numbers."""
    now = utcnow()
    query = select(Staff).where(Staff.removed_at.is_(None), scope.staff_filter(Staff.userid)).order_by(
        Staff.is_follow_user.desc(), Staff.name)
    if q:
        query = query.where(Staff.name.contains(q, autoescape=True) | (Staff.userid == q))
    staff = db.session.scalars(query).all()
    departments = dict(db.session.execute(select(Department.id, Department.name)).all())
    rel = FollowRelation
    numbers = {row[0]: row[1:] for row in db.session.execute(
        select(rel.userid, func.sum(case((rel.ended_at.is_(None), 1), else_=0)),
               _since(rel.added_at, 7, now), _since(rel.added_at, 30, now),
               _since(rel.ended_at, 7, now), _since(rel.ended_at, 30, now))
        .where(rel.userid.in_([s.userid for s in staff])).group_by(rel.userid))}
    return [StaffRow(s, [departments.get(d, str(d)) for d in s.department_ids or []],
                     *(int(n or 0) for n in numbers.get(s.userid, ())))
            for s in staff]
