"""A task's results: participants, invitees by credit status, completions per level and stock, K-factor, invitees
still friends after 7 and 30 days, their paid orders and GMV, cost per new customer, per staff member and per day."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.contacts.models import FollowRelation
from app.core.db import utcnow
from app.core.settings import corp_timezone
from app.extensions import db
from app.referral.models import (CreditStatus, ReferralCredit, ReferralLevel, ReferralParticipant,
                                 ReferralReservation, ReservationStatus)
from app.referral.rules import k_factor
from app.rfm.models import Order

NEW = (CreditStatus.HELD, CreditStatus.VALID)  # new customers the task brought (flagged ones wait for review)


@dataclass
class LevelRow:
    level: ReferralLevel
    completed: int = 0
    given: int = 0
    out_of_stock: int = 0

    @property
    def stock_left(self) -> int:
        return self.level.stock - self.level.reserved


@dataclass
class Results:
    participants: int = 0
    statuses: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    levels: list[LevelRow] = field(default_factory=list)
    kept: dict[int, tuple[int, int]] = field(default_factory=dict)  # days -> (still friends, old enough)
    orders: int = 0
    gmv_fen: int = 0
    cost_fen: int = 0
    per_staff: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    per_day: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def new_customers(self) -> int:
        return sum(self.statuses[s] for s in NEW)

    @property
    def invitees(self) -> int:
        return sum(self.statuses.values())

    @property
    def k_factor(self) -> float | None:
        return k_factor(self.new_customers, self.participants)

    @property
    def cost_per_new_customer_fen(self) -> int | None:
        return round(self.cost_fen / self.new_customers) if self.new_customers else None


def build(task_id: int, now: datetime | None = None) -> Results:
    now, tz = now or utcnow(), corp_timezone()
    out = Results()
    out.participants = db.session.scalar(select(func.count()).select_from(ReferralParticipant)
                                         .where(ReferralParticipant.task_id == task_id))
    credits = db.session.execute(select(ReferralCredit.invitee, ReferralCredit.userid, ReferralCredit.status,
                                        ReferralCredit.reason, ReferralCredit.added_at)
                                 .where(ReferralCredit.task_id == task_id)).all()
    ends = {(r.userid, r.external_userid): r.ended_at for r in db.session.execute(
        select(FollowRelation.userid, FollowRelation.external_userid, FollowRelation.ended_at)
        .join(ReferralCredit, (ReferralCredit.invitee == FollowRelation.external_userid)
              & (ReferralCredit.userid == FollowRelation.userid))
        .where(ReferralCredit.task_id == task_id))}
    kept = {7: [0, 0], 30: [0, 0]}
    new_invitees = []
    for c in credits:
        if c.status == CreditStatus.REJECTED:
            out.rejected[c.reason] += 1
            continue
        out.statuses[c.status] += 1
        out.per_staff[c.userid][c.status] += 1
        out.per_day[c.added_at.astimezone(tz).date().isoformat()][c.status] += 1
        if c.status not in NEW:
            continue
        new_invitees.append((c.invitee, c.added_at))
        for days, counts in kept.items():
            mark = c.added_at + timedelta(days=days)
            if mark <= now:
                counts[1] += 1
                ended = ends.get((c.userid, c.invitee))
                counts[0] += ended is None or ended > mark
    out.kept = {days: (k, n) for days, (k, n) in kept.items()}
    since = dict(new_invitees)
    if since:
        for ext, amount, paid_at in db.session.execute(select(Order.external_userid, Order.amount_fen, Order.paid_at)
                                                       .where(Order.external_userid.in_(list(since)),
                                                              Order.status == "paid")):
            if paid_at >= since[ext]:
                out.orders += 1
                out.gmv_fen += amount
    levels = db.session.scalars(select(ReferralLevel).where(ReferralLevel.task_id == task_id)
                                .order_by(ReferralLevel.arm, ReferralLevel.needed)).all()
    rows = {lv.id: LevelRow(lv) for lv in levels}
    for level_id, status, n in db.session.execute(
            select(ReferralReservation.level_id, ReferralReservation.status, func.count())
            .where(ReferralReservation.task_id == task_id)
            .group_by(ReferralReservation.level_id, ReferralReservation.status)):
        row = rows[level_id]
        if status == ReservationStatus.OUT_OF_STOCK:
            row.out_of_stock += n
        else:
            row.completed += n
            row.given += n if status == ReservationStatus.GIVEN else 0
            out.cost_fen += n * row.level.cost_fen
    out.levels = list(rows.values())
    return out
