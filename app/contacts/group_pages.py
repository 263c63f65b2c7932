"""Customer groups: the list (filters: name, tier, owner, size, health band, silent, customers' tags) with owner, tier, member counts
and health score; one group's members."""
from __future__ import annotations

from dataclasses import dataclass

from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import case, false, func, select

from app.community import activity_report
from app.community.models import GroupTier

from app.contacts.contact_list import staff_names
from app.contacts.group_tags import CustomerTags, carriers_kept
from app.contacts.models import CUSTOMER_MEMBER, CustomerGroup, CustomerGroupMember
from app.contacts.scope import Scope
from app.extensions import db

PAGE_SIZE = 50


def member_counts(chat_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Per group, current members and how many of them are customers."""
    rows = db.session.execute(
        select(CustomerGroupMember.chat_id, func.count(),
               func.sum(case((CustomerGroupMember.type == CUSTOMER_MEMBER, 1), else_=0)))
        .where(CustomerGroupMember.chat_id.in_(chat_ids), CustomerGroupMember.left_at.is_(None))
        .group_by(CustomerGroupMember.chat_id))
    return {chat_id: (members, customers or 0) for chat_id, members, customers in rows}


NO_TIER = "none"


@dataclass(frozen=True)
class GroupFilter:
    """The list's filters: name contains, tier (a key, NO_TIER for groups without one, "" any), owner, size, health
    band of the last built day (healthy / fair / watch, "" any), silent groups only and the tags of the customers."""

    q: str = ""
    tier: str = ""
    owner: str = ""
    smallest: int | None = None
    largest: int | None = None
    health: str = ""
    silent: bool = False
    tags: CustomerTags | None = None

    def args(self) -> dict:
        """The filters as query parameters (links to other pages, the bulk actions' way back)."""
        return {**{k: v for k, v in (("q", self.q), ("tier", self.tier), ("owner", self.owner),
                                     ("min", self.smallest), ("max", self.largest), ("health", self.health),
                                     ("silent", "1" if self.silent else "")) if v not in ("", None)},
                **(self.tags.args() if self.tags else {})}


def _size_filter(smallest: int, largest: int | None):
    """Current members between the bounds, from one grouped pass over the members (not a count per group); a group
    with nobody left has no row there, so "at least 0" is written as "not more than the largest"."""
    sizes = (select(CustomerGroupMember.chat_id).where(CustomerGroupMember.left_at.is_(None))
             .group_by(CustomerGroupMember.chat_id))
    if smallest == 0:
        return CustomerGroup.chat_id.not_in(sizes.having(func.count() > largest))
    having = [func.count() >= smallest] + ([func.count() <= largest] if largest is not None else [])
    return CustomerGroup.chat_id.in_(sizes.having(*having))


class _OnePassPage(SelectPagination):
    """A page whose rows and total come from one statement (count(*) OVER ()): the filters, some of them a grouped
    pass over every member, are evaluated once instead of once for the rows and again for the count (`rows` keeps the
    statement's rows, with any column added beside the group). A page past the end has no row to carry the total and
    counts it on its own."""

    def _query_items(self) -> list:
        query = self._query_args["select"].add_columns(func.count().over().label("total"))
        self.rows = self._query_args["session"].execute(query.limit(self.per_page).offset(self._query_offset)).all()
        self._total = self.rows[0].total if self.rows else None
        return [row[0] for row in self.rows]

    def _query_count(self) -> int:
        return self._total if self._total is not None else super()._query_count()


def group_page(scope: Scope, flt: GroupFilter, page: int):
    """A page of current groups (newest first) matching the filters, their member counts, owners' names, tiers,
    health and, with a tag filter, how many of each group's customers carry the tags (else None)."""
    query = (select(CustomerGroup).where(CustomerGroup.dismissed_at.is_(None), scope.staff_filter(CustomerGroup.owner))
             .order_by(CustomerGroup.created_at.desc(), CustomerGroup.id.desc()))
    if flt.q:
        query = query.where(CustomerGroup.name.contains(flt.q, autoescape=True))
    if flt.owner:
        query = query.where(CustomerGroup.owner == flt.owner)
    if flt.tier == NO_TIER:
        query = query.where(CustomerGroup.chat_id.not_in(select(GroupTier.chat_id)))
    elif flt.tier:
        query = query.where(CustomerGroup.chat_id.in_(select(GroupTier.chat_id).where(GroupTier.tier == flt.tier)))
    if flt.smallest or flt.largest is not None:
        query = query.where(_size_filter(flt.smallest or 0, flt.largest))
    if flt.health or flt.silent:
        query = query.where(CustomerGroup.chat_id.in_(activity_report.chats_where(flt.health, flt.silent)))
    if flt.tags:
        kept = carriers_kept(flt.tags)  # joined, so the filter's own pass also says how many carry the tags
        query = query.join(kept, kept.c.chat_id == CustomerGroup.chat_id).add_columns(kept.c.tagged)
    result = _OnePassPage(select=query, session=db.session(), page=page, per_page=PAGE_SIZE, error_out=False)
    ids = [g.chat_id for g in result.items]
    tiers = dict(db.session.execute(select(GroupTier.chat_id, GroupTier.tier).where(GroupTier.chat_id.in_(ids))).all())
    tagged = {row[0].chat_id: row.tagged for row in result.rows} if flt.tags else None
    return (result, member_counts(ids), staff_names(g.owner for g in result.items), tiers,
            activity_report.scores_of(ids), tagged)


def no_page():
    """An empty page of the list, for filters that cannot be applied (the page says why)."""
    return db.paginate(select(CustomerGroup).where(false()), page=1, per_page=PAGE_SIZE, error_out=False)


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
                          *(m.userid for m in members if m.type != CUSTOMER_MEMBER)])
    return group, members, people
