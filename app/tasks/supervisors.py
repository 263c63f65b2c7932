"""Who supervises a staff member: the leaders (WeCom's department_leader) of their departments, or of the nearest
department above that has a leader other than the member (a leader's supervisor is the leader one level up)."""
from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Department, Staff
from app.extensions import db


def supervisors_of(userids: list[str]) -> dict[str, list[str]]:
    """{userid: [supervisor userids]} for these members (an empty list: nobody leads them)."""
    departments = {d.id: d for d in db.session.scalars(select(Department).where(Department.removed_at.is_(None)))}
    staff = dict(db.session.execute(select(Staff.userid, Staff.department_ids)
                                    .where(Staff.userid.in_(sorted(set(userids))))).all())
    found = {}
    for userid in userids:
        leaders: list[str] = []
        for dept_id in staff.get(userid) or []:
            seen = set()
            while dept_id in departments and dept_id not in seen:
                seen.add(dept_id)
                dept = departments[dept_id]
                others = [u for u in dept.leader_userids or [] if u != userid]
                if others:
                    leaders += [u for u in others if u not in leaders]
                    break
                dept_id = dept.parent_id
        found[userid] = leaders
    return found
