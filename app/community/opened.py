"""Groups WeCom opens by itself for a full join code: noticed from the state of a member who joined through the code
(the group callback, and after every sync), added to the code's groups as get_join_way shows them, given its tier."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.contacts.models import CustomerGroup, CustomerGroupMember
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.extensions import db
from app.community.models import GroupTier, JoinCode
from app.wecom.connection import gateway
from app.wecom.handlers import Payload

OPENER = "wecom"  # GroupTier.updated_by of a tier a group got from the code WeCom opened it for
CLOCKS = timedelta(minutes=1)  # how far WeCom's clock and ours may be apart


def apply_way(code: JoinCode, way: dict, now: datetime) -> list[str]:
    """Keep what get_join_way answered (QR code, the groups behind the code now); a group new behind it that the
    operator did not choose was opened by WeCom: it gets the code's tier unless it has one. The groups given a tier.
    Writes in the caller's transaction."""
    before = set(code.all_chat_ids())
    code.qr_code = way.get("qr_code") or code.qr_code
    code.wecom_chat_ids = list(way.get("chat_id_list") or [])
    code.checked_at = now
    opened = [c for c in code.wecom_chat_ids if c not in before]
    if not code.tier or not opened:
        return []
    known = set(db.session.scalars(select(CustomerGroup.chat_id).where(CustomerGroup.chat_id.in_(opened))))
    tiered = set(db.session.scalars(select(GroupTier.chat_id).where(GroupTier.chat_id.in_(opened))))
    adopted = [c for c in opened if c in known and c not in tiered]
    db.session.add_all(GroupTier(chat_id=c, tier=code.tier, updated_by=OPENER, updated_at=now) for c in adopted)
    if adopted:
        record("community.opened_group_tiered", target=f"{code.name}#{code.id}",
               details={"tier": code.tier, "chat_ids": adopted})
    return adopted


def _unlisted() -> dict[int, set[str]]:
    """Per code, the groups holding a member who joined with its state that the code does not list yet."""
    rows = db.session.execute(select(JoinCode.id, CustomerGroupMember.chat_id).join(
        CustomerGroupMember, CustomerGroupMember.state == JoinCode.state).distinct()).all()
    listed = {c.id: set(c.all_chat_ids()) for c in db.session.scalars(select(JoinCode))}
    result: dict[int, set[str]] = {}
    for code_id, chat_id in rows:
        if chat_id not in listed[code_id]:
            result.setdefault(code_id, set()).add(chat_id)
    return result


def group_opened(payload: Payload) -> None:
    """Callback (after the group is stored): a member of this group joined with the state of a code that does not
    list it, so WeCom opened it for that code; read the code again and adopt the group (inside the event's work)."""
    chat_id = payload["ChatId"]
    joins = db.session.execute(select(JoinCode, func.max(CustomerGroupMember.join_time)).join(
        CustomerGroupMember, CustomerGroupMember.state == JoinCode.state).where(
        CustomerGroupMember.chat_id == chat_id).group_by(JoinCode.id)).all()
    for code, last_join in joins:
        # read well after the last join through it, WeCom would have listed the group had it opened it: not asked
        # again (a group the operator took off the code keeps members with its state); join times are WeCom's
        # whole seconds on WeCom's clock, hence the margin
        seen_since = code.checked_at is not None and last_join is not None and code.checked_at > last_join + CLOCKS
        if chat_id not in code.all_chat_ids() and not seen_since:
            apply_way(code, gateway().get_join_way(code.config_id), utcnow())


def adopt_all() -> int:
    """The job after a sync (which catches what callbacks missed): every code with such groups read again, one
    transaction per code. The number of groups given a tier."""
    adopted = 0
    for code_id in sorted(_unlisted()):
        code = db.session.get(JoinCode, code_id)
        way = gateway().get_join_way(code.config_id)
        with transaction():
            adopted += len(apply_way(code, way, utcnow()))
    return adopted
