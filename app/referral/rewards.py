"""Ladder rewards: a level reached reserves one unit of its stock (a conditional UPDATE: never beyond stock, on
PostgreSQL and SQLite alike), takes a code from the pool, tells the receiving staff member (a WeCom app message
through app/staffmsg, kept with the reservation too); no stock left ends it."""
from __future__ import annotations

import functools

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.core.audit import record
from app.core.db import utcnow
from app.extensions import db
from app.referral.models import (ClaimKind, CreditStatus, ReferralCode, ReferralCredit, ReferralLevel,
                                 ReferralParticipant, ReferralReservation, ReferralTask, ReservationStatus, TaskStatus)
from app.referral.rules import levels_reached
from app.staffmsg.service import notify

_RESERVATIONS = ReferralReservation.__table__


@functools.cache
def _insert(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(_RESERVATIONS).on_conflict_do_nothing(index_elements=["participant_id", "level_id"])
            .returning(_RESERVATIONS.c.id))


def _take_unit(level_id: int) -> bool:
    """One unit of the level's stock, or False when none is left. The WHERE is re-checked on the locked row
    (PostgreSQL) or under SQLite's single writer: two inviters racing for the last unit, one gets it."""
    taken = db.session.execute(update(ReferralLevel).where(ReferralLevel.id == level_id,
                                                           ReferralLevel.reserved < ReferralLevel.stock)
                               .values(reserved=ReferralLevel.reserved + 1))
    return taken.rowcount == 1


def _take_code(level_id: int, reservation_id: int) -> str | None:
    """The pool's next free code (the level's row is locked by the unit just taken: one taker at a time)."""
    code_id = db.session.scalar(select(func.min(ReferralCode.id)).where(ReferralCode.level_id == level_id,
                                                                         ReferralCode.reservation_id.is_(None)))
    if code_id is None:
        return None
    db.session.execute(update(ReferralCode).where(ReferralCode.id == code_id).values(reservation_id=reservation_id))
    return db.session.scalar(select(ReferralCode.code).where(ReferralCode.id == code_id))


def _notice(inviter: ReferralParticipant, level: ReferralLevel, code: str | None) -> str:
    """What the receiving staff member is told (their app message, and the task's 奖励发放 list)."""
    how = {ClaimKind.CODE: f"兑换码 {code}", ClaimKind.LINK: "领取链接已在活动页展示",
           ClaimKind.STAFF: "请联系客户核销发放"}[level.claim_kind]
    return f"{inviter.nickname or inviter.external_userid} 邀请满 {level.needed} 人，奖励「{level.reward}」：{how}"[:256]


def reach_levels(participant_id: int) -> list[ReferralReservation]:
    """Reserve the rewards of every level the inviter's valid invites reach and not reserved yet (inside the
    caller's transaction, the inviter's row locked by it). Ends the task when no level has stock left."""
    inviter = db.session.get(ReferralParticipant, participant_id)
    valid = db.session.scalar(select(func.count()).select_from(ReferralCredit).where(
        ReferralCredit.participant_id == participant_id, ReferralCredit.status == CreditStatus.VALID))
    levels = {lv.needed: lv for lv in db.session.scalars(
        select(ReferralLevel).where(ReferralLevel.task_id == inviter.task_id, ReferralLevel.arm == inviter.arm))}
    made = []
    for needed in levels_reached(valid, sorted(levels)):
        level = levels[needed]
        reservation_id = db.session.execute(_insert(db.engine.dialect.name), dict(
            task_id=inviter.task_id, participant_id=inviter.id, level_id=level.id,
            status=ReservationStatus.OUT_OF_STOCK, reserved_at=utcnow(), staff_notice="")).scalar()
        if reservation_id is None:
            continue  # reserved (or found empty) before
        reservation = db.session.get(ReferralReservation, reservation_id)
        if _take_unit(level.id):
            code = _take_code(level.id, reservation_id) if level.claim_kind == ClaimKind.CODE else None
            reservation.status, reservation.code = ReservationStatus.RESERVED, code
            reservation.staff_notice = _notice(inviter, level, code)
            notify(inviter.userid, f"referral.reward:{reservation.id}", "任务宝奖励待发放", reservation.staff_notice,
                   url=f"/referral/{inviter.task_id}/rewards", feature="referral")
            record("referral.reward_reserved", target=f"{inviter.external_userid}",
                   details={"task": inviter.task_id, "level": level.needed, "reward": level.reward})
        made.append(reservation)
    if made:
        end_if_out_of_stock(inviter.task_id)
    return made


def end_if_out_of_stock(task_id: int) -> bool:
    """End a running task whose every level is out of stock (its contact ways are deleted by the next tick)."""
    left = db.session.scalar(select(func.count()).select_from(ReferralLevel).where(
        ReferralLevel.task_id == task_id, ReferralLevel.reserved < ReferralLevel.stock))
    if left:
        return False
    ended = db.session.execute(update(ReferralTask).where(
        ReferralTask.id == task_id, ReferralTask.status.in_((TaskStatus.RUNNING, TaskStatus.PAUSED)))
        .values(status=TaskStatus.ENDED, ended_reason="stock", ended_at=utcnow(), updated_at=utcnow()))
    if ended.rowcount:
        record("referral.task_ended", target=f"#{task_id}", details={"reason": "stock"})
    return bool(ended.rowcount)
