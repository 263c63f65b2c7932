"""Which groups a 群SOP reaches: the live groups of its tier and the live groups added to it by hand (应用SOP on the
group list), each group once; groups added by hand are taken out again with 移出SOP, a tier's groups only by their
tier."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select

from app.community.models import GroupTier
from app.community.sop.models import GroupSop, SopGroup
from app.contacts.models import CustomerGroup
from app.contacts.scope import Scope
from app.core.audit import record
from app.core.db import transaction, upsert_ignore, utcnow
from app.extensions import db

AUDITED_CHATS = 200  # chat_ids named in an 应用SOP / 移出SOP audit entry (with the number of all of them)


def reached(sop: GroupSop):
    """The live groups the SOP reaches, each once (a query of CustomerGroup): its tier's and those added by hand."""
    return select(CustomerGroup).where(CustomerGroup.dismissed_at.is_(None), or_(
        CustomerGroup.chat_id.in_(select(GroupTier.chat_id).where(GroupTier.tier == sop.tier)),
        CustomerGroup.chat_id.in_(select(SopGroup.chat_id).where(SopGroup.sop_id == sop.id))))


@dataclass(frozen=True)
class Reach:
    tier: int = 0   # live groups of the SOP's tier
    added: int = 0  # live groups added by hand that are not in the tier (those in it count once, above)

    @property
    def total(self) -> int:
        return self.tier + self.added


def reach_of_all() -> dict[int, Reach]:
    """Every SOP's reach, by SOP id."""
    per_tier = dict(db.session.execute(select(GroupTier.tier, func.count()).join(
        CustomerGroup, CustomerGroup.chat_id == GroupTier.chat_id).where(CustomerGroup.dismissed_at.is_(None))
        .group_by(GroupTier.tier)).all())
    extra = dict(db.session.execute(
        select(SopGroup.sop_id, func.count()).join(GroupSop, GroupSop.id == SopGroup.sop_id)
        .join(CustomerGroup, CustomerGroup.chat_id == SopGroup.chat_id)
        .outerjoin(GroupTier, GroupTier.chat_id == SopGroup.chat_id)
        .where(CustomerGroup.dismissed_at.is_(None), or_(GroupTier.tier.is_(None), GroupTier.tier != GroupSop.tier))
        .group_by(SopGroup.sop_id)).all())
    return {sop_id: Reach(per_tier.get(tier, 0), extra.get(sop_id, 0))
            for sop_id, tier in db.session.execute(select(GroupSop.id, GroupSop.tier))}


def _tiered(sop: GroupSop, chat_ids: list[str]) -> set[str]:
    return set(db.session.scalars(select(GroupTier.chat_id).where(GroupTier.chat_id.in_(chat_ids),
                                                                  GroupTier.tier == sop.tier)))


def _hand_added(sop: GroupSop, chat_ids: list[str]) -> set[str]:
    return set(db.session.scalars(select(SopGroup.chat_id).where(SopGroup.sop_id == sop.id,
                                                                 SopGroup.chat_id.in_(chat_ids))))


def _audited(chat_ids) -> dict:
    """Which groups an entry is about: how many, and (the first AUDITED_CHATS, sorted) their chat_ids."""
    chats = sorted(chat_ids)
    return {"groups": len(chats), "chat_ids": chats[:AUDITED_CHATS]}


@dataclass(frozen=True)
class Applied:
    added: int      # newly added by hand
    already: int    # in the SOP before (added by hand earlier, or through its tier)
    dismissed: int  # dismissed groups: not added


def add(sop: GroupSop, groups: list[CustomerGroup], actor: str, now: datetime | None = None) -> Applied:
    """Add these groups to the SOP by hand (committed, audited); a group of the SOP's tier is in it already."""
    live = [g.chat_id for g in groups if g.dismissed_at is None]
    already = _tiered(sop, live) | _hand_added(sop, live)
    now = now or utcnow()
    added = []
    with transaction():
        for chat_id in sorted(set(live) - already):
            row = {"sop_id": sop.id, "chat_id": chat_id, "added_by": actor, "added_at": now}
            if db.session.scalar(upsert_ignore(SopGroup, row, ["sop_id", "chat_id"])
                                 .returning(SopGroup.chat_id)) is not None:
                added.append(chat_id)
        if added:
            record("community.sop_groups_added", target=f"{sop.name}#{sop.id}", details=_audited(added))
    return Applied(len(added), len(live) - len(added), len(groups) - len(live))


@dataclass(frozen=True)
class Removed:
    removed: int  # taken out (they had been added by hand)
    tiered: int   # in the SOP through their tier: they stay until their tier changes
    not_in: int   # neither added by hand nor of the tier


def remove(sop: GroupSop, groups: list[CustomerGroup]) -> Removed:
    """Take groups added by hand out of the SOP (committed, audited); a group of its tier stays in it."""
    chats = [g.chat_id for g in groups]
    tiered, hand = _tiered(sop, chats), _hand_added(sop, chats)
    with transaction():
        if hand:
            db.session.execute(delete(SopGroup).where(SopGroup.sop_id == sop.id, SopGroup.chat_id.in_(hand)))
            record("community.sop_groups_removed", target=f"{sop.name}#{sop.id}", details=_audited(hand))
    return Removed(len(hand), len(tiered), len(set(chats) - hand - tiered))


def hand_added(sop: GroupSop, scope: Scope) -> tuple[list[tuple[SopGroup, CustomerGroup, str | None]], int]:
    """The groups added to the SOP by hand that the account may see (newest first, with each group's tier), and how
    many more it may not see."""
    rows = db.session.execute(
        select(SopGroup, CustomerGroup, GroupTier.tier).join(CustomerGroup, CustomerGroup.chat_id == SopGroup.chat_id)
        .outerjoin(GroupTier, GroupTier.chat_id == SopGroup.chat_id)
        .where(SopGroup.sop_id == sop.id, scope.staff_filter(CustomerGroup.owner))
        .order_by(SopGroup.added_at.desc(), CustomerGroup.name)).all()
    everyone = db.session.scalar(select(func.count()).select_from(SopGroup).where(SopGroup.sop_id == sop.id))
    return [tuple(r) for r in rows], everyone - len(rows)
