"""Customer groups: the list with owner and member counts, and one group's members."""
from __future__ import annotations

from sqlalchemy import case, func, select

from app.contacts.contact_list import staff_names
from app.contacts.models import CustomerGroup, CustomerGroupMember
from app.contacts.scope import Scope
from app.extensions import db

PAGE_SIZE = 50
CUSTOMER = 2


def member_counts(chat_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Per group, current members and how many of them are customers."""
    rows = db.session.execute(
        select(CustomerGroupMember.chat_id, func.count(),
               func.sum(case((CustomerGroupMember.type == CUSTOMER, 1), else_=0)))
        .where(CustomerGroupMember.chat_id.in_(chat_ids), CustomerGroupMember.left_at.is_(None))
        .group_by(CustomerGroupMember.chat_id))
    return {chat_id: (members, customers or 0) for chat_id, members, customers in rows}


def group_page(scope: Scope, q: str, page: int):
    """A page of current groups (newest first), their member counts and the owners' names."""
    query = (select(CustomerGroup).where(CustomerGroup.dismissed_at.is_(None), scope.staff_filter(CustomerGroup.owner))
             .order_by(CustomerGroup.created_at.desc(), CustomerGroup.id.desc()))
    if q:
        query = query.where(CustomerGroup.name.contains(q, autoescape=True))
    result = db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)
    return result, member_counts([g.chat_id for g in result.items]), staff_names(g.owner for g in result.items)


def group_detail(chat_id: str, scope: Scope):
    """The group and its members (current first), or None when unknown or outside the scope."""
    group = db.session.scalar(select(CustomerGroup).where(CustomerGroup.chat_id == chat_id,
                                                          scope.staff_filter(CustomerGroup.owner)))
    if group is None:
        return None
    members = db.session.scalars(select(CustomerGroupMember).where(CustomerGroupMember.chat_id == chat_id)
                                 .order_by(CustomerGroupMember.left_at.is_not(None),
                                           CustomerGroupMember.join_time)).all()
    people = staff_names([group.owner, *group.admin_userids, *(m.invitor for m in members if m.invitor),
                          *(m.userid for m in members if m.type != CUSTOMER)])
    return group, members, people
