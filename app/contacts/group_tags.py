"""The group list's filter by the tags of a group's customers: the choice (corp tags, any / all, a minimum share of
the group's customers), checked against the corp tags, and the groups it keeps, counted per group in one grouped pass
over the follow relations (contacts' own tables: segments' customer facts would make contacts depend on rfm)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Select, func, intersect, or_, select

from app.contacts.contact_list import has_tag
from app.contacts.models import CUSTOMER_MEMBER, CustomerGroupMember, FollowRelation
from app.core.permissions import N_

ANY, ALL = "any", "all"
MODE_LABELS = {ANY: N_("任一标签"), ALL: N_("全部标签")}
MAX_TAGS = 20  # more is not a filter anyone reads, and each tag is one more index scan


@dataclass(frozen=True)
class CustomerTags:
    """Groups where current customers (members of type customer who have not left) carry `any` / `all` of the
    tags; with `share`, such customers make at least `share` % of the group's current customers, else at least one.
    A customer carries a tag when one of their current follow relations does (any staff member's, as segments read
    it)."""

    tag_ids: tuple[str, ...]
    mode: str = ANY
    share: int | None = None

    def args(self) -> dict:
        return {"tag": list(self.tag_ids), **({"tag_mode": ALL} if self.mode == ALL else {}),
                **({"tag_share": self.share} if self.share is not None else {})}


def parse(tag_ids: list[str], mode: str, share: str, known: set[str]) -> tuple[CustomerTags | None, str]:
    """The choice from the query string and what is wrong with it ("" when nothing). With a problem the choice
    still holds what was asked (an unknown tag included, so the page shows it to be removed) but must not be run."""
    tags = tuple(dict.fromkeys(t.strip() for t in tag_ids if t.strip()))
    share = share.strip()
    choice = CustomerTags(tags, ALL if mode == ALL else ANY, int(share) if share.isdigit() else None) if tags else None
    if mode not in ("", ANY, ALL):
        return choice, _("标签匹配方式只能是「任一」或「全部」")
    if share and not tags:
        return None, _("设置带标签客户占比前，请先选择标签")
    if share and not (share.isdigit() and 1 <= int(share) <= 100):
        return choice, _("带标签客户占比须是 1 到 100 之间的整数")
    if len(tags) > MAX_TAGS:
        return choice, _("最多选择 %(n)s 个标签", n=MAX_TAGS)
    if unknown := [t for t in tags if t not in known]:
        return choice, _("没有这些标签：%(ids)s（可能已在企业微信删除），请移除后再筛选", ids="、".join(unknown))
    return choice, ""


def _carriers(choice: CustomerTags):
    """(chat_id, tagged): per group, its current customer members who carry the tags, from the relations: one scan
    of current relations for `any`, one per tag intersected for `all` (the tags may sit on different staff members'
    relations of the same customer), semi-joined with the members."""
    def carrying(condition):
        return select(FollowRelation.external_userid).where(FollowRelation.ended_at.is_(None), condition)
    tagged = (intersect(*(carrying(has_tag(t)) for t in choice.tag_ids)) if choice.mode == ALL
              else carrying(or_(*(has_tag(t) for t in choice.tag_ids))))
    member = CustomerGroupMember
    return (select(member.chat_id, func.count().label("tagged"))
            .where(member.left_at.is_(None), member.type == CUSTOMER_MEMBER, member.userid.in_(tagged))
            .group_by(member.chat_id)).subquery()


def carriers_kept(choice: CustomerTags):
    """(chat_id, tagged) of the groups the choice keeps, with how many of their current customers carry the tags:
    the groups with a carrier, or (with a share) those whose carriers are at least that share of their current
    customer members, counted in one grouped pass."""
    carriers = _carriers(choice)
    if choice.share is None:
        return carriers
    member = CustomerGroupMember
    customers = (select(member.chat_id, func.count().label("customers"))
                 .where(member.left_at.is_(None), member.type == CUSTOMER_MEMBER).group_by(member.chat_id).subquery())
    return select(carriers.c.chat_id, carriers.c.tagged).join(customers, customers.c.chat_id == carriers.c.chat_id).where(
        carriers.c.tagged * 100 >= choice.share * customers.c.customers).subquery()


def chats_with(choice: CustomerTags) -> Select:
    """chat_ids of the groups the choice keeps."""
    return select(carriers_kept(choice).c.chat_id)
