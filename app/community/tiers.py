"""Group tiers (VIP / 普通 / 新人): set on groups in bulk, and each tier's groups, codes and welcome templates."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, select

from app.contacts.models import CustomerGroup, CustomerGroupMember
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.community.models import TIERS, GroupTier, GroupWelcome, JoinCode


class TierInvalid(ValueError):
    """The tier or the groups are not ones we know; the message is a msgid."""


def set_tier(chat_ids: list[str], tier: str | None, actor: str) -> int:
    """Give these groups a tier (None: no tier); all or nothing. The number of groups changed."""
    chats = sorted(set(chat_ids))
    if tier is not None and tier not in TIERS:
        raise TierInvalid(N_("请选择群分层"))
    if not chats:
        raise TierInvalid(N_("请至少勾选一个客户群"))
    known = set(db.session.scalars(select(CustomerGroup.chat_id).where(CustomerGroup.chat_id.in_(chats))))
    if known != set(chats):
        raise TierInvalid(N_("有的客户群不存在，没有修改任何群"))
    with transaction():
        db.session.execute(delete(GroupTier).where(GroupTier.chat_id.in_(chats)))
        if tier is not None:
            now = utcnow()
            db.session.add_all(GroupTier(chat_id=c, tier=tier, updated_by=actor, updated_at=now) for c in chats)
        record("community.tier_set", target=tier or "-", details={"groups": len(chats)})
    return len(chats)


def tiers_of(chat_ids: list[str]) -> dict[str, str]:
    rows = db.session.execute(select(GroupTier.chat_id, GroupTier.tier).where(GroupTier.chat_id.in_(chat_ids)))
    return dict(rows.all())


@dataclass
class TierSummary:
    tier: str
    groups: int = 0
    members: int = 0
    codes: list[JoinCode] = field(default_factory=list)
    welcomes: list[GroupWelcome] = field(default_factory=list)


def overview() -> list[TierSummary]:
    """Per tier: live groups and their current members, its join codes and its welcome templates."""
    result = {t: TierSummary(t) for t in TIERS}
    live = (select(GroupTier.tier, CustomerGroup.chat_id).join(CustomerGroup, CustomerGroup.chat_id == GroupTier.chat_id)
            .where(CustomerGroup.dismissed_at.is_(None)).subquery())
    for tier, groups in db.session.execute(select(live.c.tier, func.count()).group_by(live.c.tier)):
        result[tier].groups = groups
    members = (select(live.c.tier, func.count()).join(CustomerGroupMember, CustomerGroupMember.chat_id == live.c.chat_id)
               .where(CustomerGroupMember.left_at.is_(None)).group_by(live.c.tier))
    for tier, n in db.session.execute(members):
        result[tier].members = n
    for code in db.session.scalars(select(JoinCode).where(JoinCode.tier.is_not(None)).order_by(JoinCode.id)):
        result[code.tier].codes.append(code)
    for welcome in db.session.scalars(select(GroupWelcome).where(GroupWelcome.tier.is_not(None))):
        result[welcome.tier].welcomes.append(welcome)
    return list(result.values())
