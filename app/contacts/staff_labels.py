"""How a staff member is named on a page: the name, and where another member has the same name, their department
and userid too (「张伟（销售一部 · zhangwei）」)."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import func, select

from app.contacts.models import Department, Staff
from app.extensions import db


MANY = 500


def staff_labels(userids: Iterable[str], always: bool = False) -> dict[str, str]:
    """{userid: label} of these members (a userid no one has is left out); `always`: department and userid for
    everyone, as pickers list them."""
    ids = sorted(set(userids))
    if not ids:
        return {}
    many = len(ids) > MANY  # a whole company's members: one pass over the staff table, no list of thousands
    query = select(Staff.userid, Staff.name, Staff.main_department, Staff.department_ids)
    rows = db.session.execute(query if many else query.where(Staff.userid.in_(ids))).all()
    if many:
        wanted_ids = set(ids)
        rows = [row for row in rows if row[0] in wanted_ids]
    names = {name for _u, name, _m, _d in rows}
    same = select(Staff.name).where(Staff.removed_at.is_(None)).group_by(Staff.name).having(func.count() > 1)
    shared = (set(db.session.scalars(same if many else same.where(Staff.name.in_(sorted(names))))) & names
              if not always else names)
    if not shared:
        return {userid: name for userid, name, _m, _d in rows}
    wanted = {main or (depts or [None])[0] for _u, name, main, depts in rows if name in shared}
    departments = dict(db.session.execute(select(Department.id, Department.name)
                                          .where(Department.id.in_([d for d in wanted if d is not None]))).all())
    labels = {}
    for userid, name, main, depts in rows:
        if name in shared:
            department = departments.get(main or (depts or [None])[0])
            labels[userid] = f"{name}（{department} · {userid}）" if department else f"{name}（{userid}）"
        else:
            labels[userid] = name
    return labels
