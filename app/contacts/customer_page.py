"""One customer: profile, relations with staff, tags, groups, orders and a timeline built from them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.contacts.contact_list import relations_of, staff_names, tag_names
from app.contacts.labels import ADD_WAY_LABELS, ENDED_BY_LABELS, JOIN_SCENE_LABELS, TRANSFER_FAIL_LABELS
from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, FollowRelation, RelationEvent
from app.contacts.scope import Scope
from app.extensions import db
from app.rfm.models import CustomerRfmScore, Order
from app.welcome.channel_names import channel_label, names_by_state

ORDER_LIMIT = 50


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # added, ended, joined, left, order, transfer_fail, msg_audit_approved
    text: str


@dataclass
class CustomerView:
    customer: Customer
    relations: list[FollowRelation]
    staff_names: dict[str, str]
    tag_names: dict[str, str]
    groups: list[tuple[CustomerGroup, CustomerGroupMember]]
    orders: list[Order]
    rfm: CustomerRfmScore | None
    timeline: list[TimelineEntry]
    channels: dict[str, str]  # channel name by state


def _event_entry(event: RelationEvent, names: dict[str, str]) -> TimelineEntry:
    staff = names.get(event.userid, event.userid)
    if event.kind == "transfer_fail":
        reason = _(TRANSFER_FAIL_LABELS[event.detail]) if event.detail in TRANSFER_FAIL_LABELS else event.detail
        return TimelineEntry(event.occurred_at, event.kind, _(
            "转给 %(staff)s 接替失败：%(reason)s（客户仍由原员工跟进）", staff=staff, reason=reason))
    return TimelineEntry(event.occurred_at, event.kind, _("同意了与 %(staff)s 的会话存档", staff=staff))


def _timeline(relations, names, groups, orders, events, channels) -> list[TimelineEntry]:
    entries = [_event_entry(e, names) for e in events]
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
    for order in orders:
        entries.append(TimelineEntry(order.paid_at, "order", _("订单 %(id)s：%(amount)s 元（%(status)s）",
                                     id=order.order_id, amount=f"{order.amount_fen / 100:.2f}",
                                     status=order.status)))
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
    orders = db.session.scalars(select(Order).where(Order.external_userid == external_userid)
                                .order_by(Order.paid_at.desc()).limit(ORDER_LIMIT)).all()
    rfm = db.session.get(CustomerRfmScore, external_userid)
    channels = names_by_state(r.state for r in relations)
    return CustomerView(customer, relations, names, tag_names(), groups, orders, rfm,
                        _timeline(relations, names, groups, orders, events, channels), channels)
