"""The corp tag catalogue: groups and tags with customer counts; each change is made in WeCom first, then locally.

A change WeCom refuses changes nothing here. The groups the RFM job maintains (「RFM分层」「RFM八类」) keep their
names and tags: only their position among the groups may change. A tag that a rule maintains cannot be deleted
while the rule exists. Changes made in WeCom's own client arrive through the change_external_tag callback
(app/contacts/handlers.py) or the nightly reconcile, both of which rewrite the same local copy this page reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

from sqlalchemy import func, or_, select, text

from app.contacts.contact_list import has_tag
from app.contacts.merge import from_epoch
from app.contacts.models import FollowRelation
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.tags.limits import MAX_ORDER, clean_name, new_tag_names, renumbered
from app.tags.models import CorpTag, CorpTagGroup, TagRule
from app.tags.read_only import LIFECYCLE, MAINTAINER, READ_ONLY_GROUPS
from app.tags.sync import forget_tags
from app.wecom import connection
from app.wecom.errors import WeComError
from app.wecom.gateway import WeComGateway

WECOM_REFUSALS = {  # errcode -> what the operator reads (shared/wecom-api.md §3)
    40071: N_("企业微信拒绝了这次修改：名称已存在（已有同名的标签组，或同组内已有同名标签）。错误码 40071"),
    40068: N_("企业微信拒绝了这次修改：找不到这个标签或标签组（可能已在企业微信中删除，请刷新页面）。错误码 40068"),
    40058: N_("企业微信拒绝了这次修改：参数不合法（名称过长、排序值超出范围，或已达到标签数量上限）。错误码 40058"),
}
T = TypeVar("T")


class TagChangeError(UserError):
    """A change refused here or by WeCom; the local copy is unchanged."""


@dataclass
class TagRow:
    tag_id: str
    name: str
    order: int
    rule_id: int | None


@dataclass
class GroupRow:
    group_id: str
    name: str
    order: int
    read_only: str | None  # the job that writes the group (read_only.RFM / LIFECYCLE), or None
    tags: list[TagRow]


def customer_counts() -> dict[str, int]:
    """Per tag id, how many customers have at least one current follow relation carrying it.

    One pass over all current relations: about 5-15 s for 2,000,000 relations on PostgreSQL, so the page asks for
    it after it has shown (JIT off: its compile time was a quarter of that, for a plan run once)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))
        sql = ("SELECT t.tag, count(DISTINCT r.external_userid) FROM follow_relations r, "
               "jsonb_array_elements_text(r.tag_ids::jsonb) AS t(tag) WHERE r.ended_at IS NULL GROUP BY t.tag")
    else:
        sql = ("SELECT t.value, count(DISTINCT r.external_userid) FROM follow_relations r, json_each(r.tag_ids) AS t "
               "WHERE r.ended_at IS NULL GROUP BY t.value")
    return {tag: n for tag, n in db.session.execute(text(sql))}


def _active_groups():
    return select(CorpTagGroup).where(CorpTagGroup.deleted_at.is_(None)).order_by(CorpTagGroup.order.desc(),
                                                                                   CorpTagGroup.id)


def _active_tags(group_id: str | None = None):
    query = select(CorpTag).where(CorpTag.deleted_at.is_(None)).order_by(CorpTag.order.desc(), CorpTag.id)
    return query.where(CorpTag.group_id == group_id) if group_id else query


def catalogue() -> list[GroupRow]:
    """Every current group with its tags in WeCom's order (larger `order` first), and the rule of each tag."""
    rules = dict(db.session.execute(select(TagRule.tag_id, TagRule.id)).all())
    tags: dict[str, list[TagRow]] = {}
    for tag in db.session.scalars(_active_tags()):
        tags.setdefault(tag.group_id, []).append(
            TagRow(tag.tag_id, tag.name, tag.order, rules.get(tag.tag_id)))
    return [GroupRow(g.group_id, g.name, g.order, MAINTAINER.get(g.name), tags.get(g.group_id, []))
            for g in db.session.scalars(_active_groups())]


def _group(group_id: str) -> CorpTagGroup:
    group = db.session.scalar(select(CorpTagGroup).where(CorpTagGroup.group_id == group_id,
                                                         CorpTagGroup.deleted_at.is_(None)))
    if group is None:
        raise TagChangeError(N_("标签组不存在或已被删除，请刷新页面"))
    return group


def _item(item_id: str) -> tuple[CorpTagGroup, CorpTag | None]:
    """(group, None) for a group id, (its group, tag) for a tag id."""
    tag = db.session.scalar(select(CorpTag).where(CorpTag.tag_id == item_id, CorpTag.deleted_at.is_(None)))
    return (_group(tag.group_id), tag) if tag else (_group(item_id), None)


def _editable(group: CorpTagGroup) -> None:
    if MAINTAINER.get(group.name) == LIFECYCLE:
        raise TagChangeError(N_("标签组「%(name)s」由生命周期阶段自动维护，不能在这里修改"), name=group.name)
    if group.name in READ_ONLY_GROUPS:
        raise TagChangeError(N_("标签组「%(name)s」由 RFM 重算任务维护，不能在这里修改"), name=group.name)


def _refusal(exc: WeComError) -> TagChangeError:
    known = WECOM_REFUSALS.get(exc.errcode)
    if known:
        return TagChangeError(known)
    return TagChangeError(N_("企业微信拒绝了这次修改：%(reason)s（错误码 %(code)s）"),
                          reason=exc.message, code=exc.errcode)


def _in_wecom(action: Callable[[WeComGateway], T]) -> T:
    try:
        return action(connection.gateway())
    except WeComError as exc:
        raise _refusal(exc) from exc


def _corp_total() -> int:
    return db.session.scalar(select(func.count()).select_from(CorpTag).where(CorpTag.deleted_at.is_(None)))


def _store(made: dict) -> None:
    """Put what add_corp_tag answered (a group and the tags it created) into the local copy."""
    group_id = made["group_id"]
    if db.session.scalar(select(CorpTagGroup.id).where(CorpTagGroup.group_id == group_id)) is None:
        db.session.add(CorpTagGroup(group_id=group_id, name=made.get("group_name", ""), order=made.get("order") or 0,
                                    created_at=from_epoch(made.get("create_time"))))
    for tag in made.get("tag") or []:
        db.session.add(CorpTag(tag_id=tag["id"], group_id=group_id, name=tag["name"], order=tag.get("order") or 0,
                               created_at=from_epoch(tag.get("create_time"))))


def create_group(name: str, tag_names: list[str]) -> str:
    """A new group (placed first) with its first tags in the order typed; returns its group id."""
    name = clean_name(name, group=True)
    if name in READ_ONLY_GROUPS:
        raise TagChangeError(N_("「%(name)s」是系统自动维护的标签组名称（RFM 或生命周期），请换一个"), name=name)
    if db.session.scalar(select(CorpTagGroup.id).where(CorpTagGroup.name == name, CorpTagGroup.deleted_at.is_(None))):
        # WeCom would silently add the tags to the existing group instead of creating one
        raise TagChangeError(N_("已有名为「%(name)s」的标签组；要在其中添加标签，请使用该组的「添加标签」"), name=name)
    names = new_tag_names(tag_names, set(), name, _corp_total())
    top = db.session.scalar(select(func.max(CorpTagGroup.order)).where(CorpTagGroup.deleted_at.is_(None))) or 0
    order = min(top + 1, MAX_ORDER)
    tags = [{"name": n, "order": len(names) - i} for i, n in enumerate(names)]
    made = _in_wecom(lambda gw: gw.add_corp_tag(tags, group_name=name, order=order))
    with transaction():
        _store(made)
        record("tags.group_created", target=made["group_id"], details={"name": name, "tags": names})
    return made["group_id"]


def add_tags(group_id: str, tag_names: list[str]) -> list[str]:
    """New tags at the end of a group; returns their names."""
    group = _group(group_id)
    _editable(group)
    taken = set(db.session.scalars(select(CorpTag.name).where(CorpTag.group_id == group_id,
                                                              CorpTag.deleted_at.is_(None))))
    names = new_tag_names(tag_names, taken, group.name, _corp_total())
    made = _in_wecom(lambda gw: gw.add_corp_tag([{"name": n} for n in names], group_id=group_id))
    with transaction():
        _store({**made, "group_id": group_id})
        record("tags.tags_added", target=group_id, details={"group": group.name, "tags": names})
    return names


def rename(item_id: str, new_name: str) -> None:
    """Rename a group or a tag; names must stay unique among groups, and among the tags of one group."""
    group, tag = _item(item_id)
    _editable(group)
    name = clean_name(new_name, group=tag is None)
    old = tag.name if tag else group.name
    if name == old:
        return
    if tag is None:
        if name in READ_ONLY_GROUPS or db.session.scalar(select(CorpTagGroup.id).where(
                CorpTagGroup.name == name, CorpTagGroup.deleted_at.is_(None))):
            raise TagChangeError(N_("已有名为「%(name)s」的标签组"), name=name)
    elif db.session.scalar(select(CorpTag.id).where(CorpTag.group_id == group.group_id, CorpTag.name == name,
                                                    CorpTag.deleted_at.is_(None))):
        raise TagChangeError(N_("标签组「%(group)s」中已有标签「%(name)s」"), group=group.name, name=name)
    _in_wecom(lambda gw: gw.edit_corp_tag(item_id, name=name))
    with transaction():
        if tag:
            tag.name = name
        else:
            group.name = name
        record("tags.renamed", target=item_id, details={"kind": "tag" if tag else "group", "from": old, "to": name})


@dataclass
class Deletion:
    """What deleting a group or tag takes away: its tags, the customers carrying them, rules in the way."""

    item_id: str
    is_group: bool
    name: str
    group_name: str
    tags: list[CorpTag]
    customers: int
    rules: list[TagRule]
    read_only: str | None  # as GroupRow.read_only


def customers_with(tag_ids: list[str]) -> int:
    """Customers with a current follow relation carrying any of the tags."""
    if not tag_ids:
        return 0
    return db.session.scalar(select(func.count(func.distinct(FollowRelation.external_userid))).where(
        FollowRelation.ended_at.is_(None), or_(*(has_tag(t) for t in tag_ids))))


def deletion(item_id: str) -> Deletion:
    group, tag = _item(item_id)
    tags = [tag] if tag else list(db.session.scalars(_active_tags(group.group_id)))
    ids = [t.tag_id for t in tags]
    rules = list(db.session.scalars(select(TagRule).where(TagRule.tag_id.in_(ids)))) if ids else []
    return Deletion(item_id, tag is None, tag.name if tag else group.name, group.name, tags, customers_with(ids),
                    rules, MAINTAINER.get(group.name))


def delete(item_id: str) -> Deletion:
    """Delete a tag or a whole group in WeCom, then here; the tags leave every relation that carried them."""
    plan = deletion(item_id)
    group, tag = _item(item_id)
    _editable(group)
    if plan.rules:
        raise TagChangeError(N_("标签由规则「%(rule)s」维护：请先删除该规则"), rule=plan.rules[0].name)
    ids = [t.tag_id for t in plan.tags]
    whole_group = tag is None or not db.session.scalar(select(CorpTag.id).where(
        CorpTag.group_id == group.group_id, CorpTag.deleted_at.is_(None), CorpTag.tag_id != item_id))
    if tag is None:
        _in_wecom(lambda gw: gw.del_corp_tag(group_ids=[item_id]))
    else:
        _in_wecom(lambda gw: gw.del_corp_tag(tag_ids=[item_id]))
    now = utcnow()
    with transaction():
        for t in plan.tags:
            t.deleted_at = now
        if whole_group:  # WeCom deletes a group with its last tag
            group.deleted_at = now
        forget_tags(ids)
        record("tags.deleted", target=item_id, details={
            "kind": "group" if tag is None else "tag", "name": plan.name, "group": plan.group_name,
            "tags": [t.name for t in plan.tags], "customers": plan.customers})
    return plan


def move(item_id: str, step: int) -> None:
    """Move a group among the groups, or a tag within its group, one place up (-1) or down (+1).

    Each changed `order` is one edit_corp_tag call; if WeCom refuses one midway, the ones it took are kept
    here too (that is what WeCom now shows) and the refusal is raised."""
    group, tag = _item(item_id)
    if tag:
        _editable(group)
        siblings: list = list(db.session.scalars(_active_tags(group.group_id)))
    else:
        siblings = list(db.session.scalars(_active_groups()))
    index = siblings.index(tag or group)
    orders = renumbered([s.order for s in siblings], index, step)
    if orders is None:
        raise TagChangeError(N_("已经在最前面了") if step < 0 else N_("已经在最后面了"))
    gw = connection.gateway()
    done, problem = [], None
    for item, order in zip(siblings, orders):
        if item.order == order:
            continue
        try:
            gw.edit_corp_tag(item.tag_id if tag else item.group_id, order=order)
        except WeComError as exc:
            problem = exc
            break
        done.append((item, order))
    with transaction():
        for item, order in done:
            item.order = order
        if done:
            record("tags.reordered", target=item_id, details={"name": (tag or group).name, "step": step,
                                                              "edited": len(done), "refused": bool(problem)})
    if problem:
        raise _refusal(problem) from problem
