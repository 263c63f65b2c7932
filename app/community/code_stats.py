"""Figures per join code and per group behind it: members now, joins through the code (state), leaves, 7-day
retention and how full the groups are; read from the group members that callbacks and syncs keep current."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app.contacts.models import CustomerGroup, CustomerGroupMember
from app.core.db import utcnow
from app.extensions import db
from app.community.figures import Fill, Retention, fill
from app.community.models import JoinCode


@dataclass
class GroupFigures:
    chat_id: str
    name: str = ""
    owner: str = ""
    members: int = 0
    dismissed: bool = False
    opened_by_wecom: bool = False  # not chosen by the operator: WeCom opened it when the others were full
    code: Retention = field(default_factory=Retention)


@dataclass
class CodeFigures:
    groups: list[GroupFigures]
    total: Retention
    fill: Fill


def _members_now(chat_ids: list[str]) -> dict[str, int]:
    return dict(db.session.execute(
        select(CustomerGroupMember.chat_id, func.count()).where(CustomerGroupMember.chat_id.in_(chat_ids),
                                                                CustomerGroupMember.left_at.is_(None))
        .group_by(CustomerGroupMember.chat_id)).all())


def figures(codes: list[JoinCode], now: datetime | None = None) -> dict[int, CodeFigures]:
    """Per code: its groups (chosen, shown by WeCom, or holding members who joined with its state) with members now
    and joins/leaves/retention through the code, and the fill of the live groups."""
    now = now or utcnow()
    by_state = {c.state: c for c in codes}
    joins = db.session.execute(
        select(CustomerGroupMember.state, CustomerGroupMember.chat_id, CustomerGroupMember.join_time,
               CustomerGroupMember.left_at).where(CustomerGroupMember.state.in_(list(by_state)))).all()
    chats = {c.id: list(c.all_chat_ids()) for c in codes}
    for state, chat_id, _, _ in joins:
        if chat_id not in chats[by_state[state].id]:
            chats[by_state[state].id].append(chat_id)
    every = sorted({chat_id for ids in chats.values() for chat_id in ids})
    groups = {g.chat_id: g for g in db.session.scalars(select(CustomerGroup).where(CustomerGroup.chat_id.in_(every)))}
    counts = _members_now(every)
    result = {}
    for code in codes:
        rows = {}
        for chat_id in chats[code.id]:
            group = groups.get(chat_id)
            rows[chat_id] = GroupFigures(chat_id, group.name if group else "", group.owner if group else "",
                                         counts.get(chat_id, 0), group is None or group.dismissed_at is not None,
                                         chat_id not in code.chat_ids)
        total = Retention()
        for state, chat_id, joined_at, left_at in joins:
            if state == code.state:
                rows[chat_id].code.add(joined_at, left_at, now)
                total.add(joined_at, left_at, now)
        live = [g.members for g in rows.values() if not g.dismissed]
        result[code.id] = CodeFigures(list(rows.values()), total, fill(live))
    return result
