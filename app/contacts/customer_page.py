"""One customer: profile, relations with staff, tags, groups, what other capabilities add, and a timeline.

Other capabilities (RFM: the score card and the orders) add to the page through SECTIONS, named "module:function"
as the home page names its card providers, so contacts depends on none of them."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.contacts.contact_list import relations_of, staff_names, tag_names
from app.contacts.labels import ADD_WAY_LABELS, ENDED_BY_LABELS, JOIN_SCENE_LABELS, TRANSFER_FAIL_LABELS
from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, FollowRelation, RelationEvent
from app.contacts.scope import Scope
from app.extensions import db
from app.welcome.channel_names import channel_label, names_by_state

# providers called with an external_userid, each returning a Section or None; in the order their cards are shown
SECTIONS = ("app.rfm.customer_section:rfm_section", "app.journeys.customer_section:journey_section")


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # added, ended, joined, left, order, journey, transfer_fail, msg_audit_approved
    text: str


@dataclass(frozen=True)
class Section:
    """What another capability adds to a customer's page: a card above the relations (`template`, drawn with
    `values` as `section`), and entries of the timeline."""

    template: str | None
    values: Any = None
    timeline: list[TimelineEntry] = field(default_factory=list)


@dataclass
class CustomerView:
    customer: Customer
    relations: list[FollowRelation]
    staff_names: dict[str, str]
    tag_names: dict[str, str]
    groups: list[tuple[CustomerGroup, CustomerGroupMember]]
    sections: list[Section]
    timeline: list[TimelineEntry]
    channels: dict[str, str]  # channel name by state


def _event_entry(event: RelationEvent, names: dict[str, str]) -> TimelineEntry:
    staff = names.get(event.userid, event.userid)
    if event.kind == "transfer_fail":
        reason = _(TRANSFER_FAIL_LABELS[event.detail]) if event.detail in TRANSFER_FAIL_LABELS else event.detail
        return TimelineEntry(event.occurred_at, event.kind, _(
            "转给 %(staff)s 接替失败：%(reason)s（客户仍由原员工跟进）", staff=staff, reason=reason))
    return TimelineEntry(event.occurred_at, event.kind, _("同意了与 %(staff)s 的会话存档", staff=staff))


def _timeline(relations, names, groups, sections, events, channels) -> list[TimelineEntry]:
    entries = [_event_entry(e, names) for e in events] + [e for s in sections for e in s.timeline]
    for rel in relations:
        staff = names.get(rel.userid, rel.userid)
        if rel.added_at:
            way = _(ADD_WAY_LABELS.get(rel.add_way, "未知来源"))
            text = _("添加了员工 %(staff)s（%(way)s）", staff=staff, way=way)
            if rel.state:
                text += " · " + _("渠道 %(state)s", state=channel_label(rel.state, channels))
            entries.append(TimelineEntry(rel.added_at, "added", text))
        if rel.ended_at:
            who = _(ENDED_BY_LABELS[rel.ended_by]) if rel.ended_by in ENDED_BY_LABELS else _("关系结束")
            entries.append(TimelineEntry(rel.ended_at, "ended", _("与 %(staff)s 的关系结束：%(who)s",
                                                                   staff=staff, who=who)))
    for group, member in groups:
        if member.join_time:
            entries.append(TimelineEntry(member.join_time, "joined", _("加入群聊 %(group)s（%(scene)s）",
                                         group=group.name or group.chat_id,
                                         scene=_(JOIN_SCENE_LABELS.get(member.join_scene, "未知")))))
        if member.left_at:
            entries.append(TimelineEntry(member.left_at, "left", _("退出群聊 %(group)s",
                                                                   group=group.name or group.chat_id)))
    return sorted(entries, key=lambda e: e.at, reverse=True)


def load(external_userid: str, scope: Scope) -> CustomerView | None:
    """The customer's page, or None when unknown or outside the account's scope."""
    customer = db.session.scalar(select(Customer).where(Customer.external_userid == external_userid))
    if customer is None:
        return None
    relations = relations_of([external_userid], scope)[external_userid]
    if not scope.everything and not relations:
        return None
    events = db.session.scalars(select(RelationEvent).where(RelationEvent.external_userid == external_userid)).all()
    names = staff_names([*(r.userid for r in relations), *(e.userid for e in events)])
    groups = db.session.execute(select(CustomerGroup, CustomerGroupMember).join(
        CustomerGroupMember, CustomerGroupMember.chat_id == CustomerGroup.chat_id).where(
        CustomerGroupMember.userid == external_userid).order_by(CustomerGroupMember.join_time.desc())).all()
    sections = [s for s in (_provider(target)(external_userid) for target in SECTIONS) if s is not None]
    channels = names_by_state(r.state for r in relations)
    return CustomerView(customer, relations, names, tag_names(), groups, sections,
                        _timeline(relations, names, groups, sections, events, channels), channels)


def _provider(target: str):
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)
