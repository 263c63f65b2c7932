"""Who a console account may see: everything, or (supervisors) the staff of the departments they lead and below."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select, true

from app.contacts.models import Department, FollowRelation, Staff
from app.core.permissions import Role
from app.extensions import db


@dataclass(frozen=True)
class Scope:
    """`userids` None means everything; otherwise only these staff members and their customers and groups."""

    userids: frozenset[str] | None = None
    notice: str = ""

    @property
    def everything(self) -> bool:
        return self.userids is None

    def staff_filter(self, column) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose staff userid `column` is in scope."""
        return true() if self.userids is None else column.in_(sorted(self.userids))

    def customer_filter(self, column) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose customer `column` (an external_userid) is, or was, followed by staff in
        scope; a customer no one in scope ever followed (an order's customer only) is outside."""
        if self.userids is None:
            return true()
        return column.in_(select(FollowRelation.external_userid).where(FollowRelation.userid.in_(sorted(self.userids))))


def led_department_ids(staff: Staff) -> set[int]:
    """The departments whose WeCom department_leader list names this staff member."""
    rows = db.session.execute(select(Department.id, Department.leader_userids).where(Department.removed_at.is_(None)))
    return {dept_id for dept_id, leaders in rows if staff.userid in (leaders or [])}


def with_sub_departments(roots: set[int]) -> set[int]:
    parents = dict(db.session.execute(select(Department.id, Department.parent_id)).all())
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {d for d, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def staff_in_departments(department_ids: set[int]) -> set[str]:
    rows = db.session.execute(select(Staff.userid, Staff.department_ids))
    return {userid for userid, depts in rows if department_ids & set(depts or [])}


def scope_for(user) -> Scope:
    """The scope of an account: supervisors see their departments' staff; every other role sees everything."""
    if user.role != Role.SUPERVISOR:
        return Scope()
    userid = getattr(user, "wecom_userid", None)  # an API token has none: a supervisor's token sees no one
    staff = db.session.scalar(select(Staff).where(Staff.userid == userid)) if userid else None
    if staff is None:
        return Scope(frozenset(), _("您的账号未关联企业微信成员（或该成员尚未同步），因此看不到任何部门的数据。"
                                    "请管理员在「账号与角色」中填写您的企业微信 userid。"))
    led = led_department_ids(staff)
    if not led:
        return Scope(frozenset({staff.userid}), _("您在企业微信中不是任何部门的负责人，因此只能看到自己跟进的客户。"))
    return Scope(frozenset(staff_in_departments(with_sub_departments(led)) | {staff.userid}))
