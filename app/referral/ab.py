"""A/B of two ladders: inviters split 50/50 by a stable hash of (task, customer), and the arms compared (completion
rate, valid invites and new customers per inviter) with the campaigns' difference-and-interval code."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.campaigns.reporting.uplift import MeanUplift, Uplift
from app.core.export import COUNT, PRECISE, RATE
from app.extensions import db
from app.referral.models import (ARM_A, ARM_B, CreditStatus, ReferralCredit, ReferralLevel, ReferralParticipant,
                                 ReferralReservation)
from app.referral.results import NEW
from app.sending.guards import variant_for

SPLIT = ((ARM_A, 50), (ARM_B, 50))


def has_ladder_b(task_id: int) -> bool:
    return db.session.scalar(select(ReferralLevel.id).where(ReferralLevel.task_id == task_id,
                                                            ReferralLevel.arm == ARM_B).limit(1)) is not None


def arm_for(task_id: int, external_userid: str) -> str:
    """The ladder an inviter climbs: always the same for the same task and customer; A when the task has one."""
    if not has_ladder_b(task_id):
        return ARM_A
    return variant_for(f"referral:{task_id}", external_userid, SPLIT)


def reassign(task_id: int) -> None:
    """Inviters who joined before the ladders were last edited (the task not started) follow the new ladders."""
    for participant in db.session.scalars(select(ReferralParticipant).where(ReferralParticipant.task_id == task_id)):
        participant.arm = arm_for(task_id, participant.external_userid)


@dataclass
class ArmResult:
    arm: str
    valid: list[int] = field(default_factory=list)  # valid invites of each inviter
    new: list[int] = field(default_factory=list)    # new customers (valid and held) of each inviter
    completed: int = 0                              # inviters who reached at least one level (its completions
                                                    # per level are in the task's ladder table)

    @property
    def participants(self) -> int:
        return len(self.valid)

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.participants if self.participants else None

    @property
    def valid_per_participant(self) -> float | None:
        return sum(self.valid) / self.participants if self.participants else None

    @property
    def k_factor(self) -> float | None:
        return sum(self.new) / self.participants if self.participants else None


@dataclass
class Comparison:
    a: ArmResult
    b: ArmResult

    @property
    def completion(self) -> Uplift:
        return Uplift(self.b.participants, self.b.completed, self.a.participants, self.a.completed)

    @property
    def valid_per_participant(self) -> MeanUplift:
        return MeanUplift(tuple(self.b.valid), tuple(self.a.valid))

    @property
    def k_factor(self) -> MeanUplift:
        return MeanUplift(tuple(self.b.new), tuple(self.a.new))


def compare(task_id: int) -> Comparison | None:
    """Ladder B against ladder A (None when the task has one ladder)."""
    if not has_ladder_b(task_id):
        return None
    arms = {ARM_A: ArmResult(ARM_A), ARM_B: ArmResult(ARM_B)}
    counted = func.count(ReferralCredit.id)
    rows = db.session.execute(
        select(ReferralParticipant.arm, counted.filter(ReferralCredit.status == CreditStatus.VALID),
               counted.filter(ReferralCredit.status.in_(NEW)))
        .outerjoin(ReferralCredit, ReferralCredit.participant_id == ReferralParticipant.id)
        .where(ReferralParticipant.task_id == task_id).group_by(ReferralParticipant.id, ReferralParticipant.arm))
    for arm, valid, new in rows:
        arms[arm].valid.append(valid)
        arms[arm].new.append(new)
    for arm, completed in db.session.execute(
            select(ReferralParticipant.arm, func.count(func.distinct(ReferralReservation.participant_id)))
            .join(ReferralParticipant, ReferralParticipant.id == ReferralReservation.participant_id)
            .where(ReferralReservation.task_id == task_id).group_by(ReferralParticipant.arm)):
        arms[arm].completed = completed
    return Comparison(arms[ARM_A], arms[ARM_B])


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def _num(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _fraction(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def table(c: Comparison, fractions: bool = False) -> tuple[list[str], list[list]]:
    """The comparison as rows for the page and the export: one metric a row, numbers kept numeric (rates in %, or as
    fractions for Excel with `fractions`, shown there by excel_format)."""
    from flask_babel import gettext as _

    header = [_("指标"), _("阶梯 A"), _("阶梯 B"), _("差值（B−A）"), _("95% 区间下限"), _("95% 区间上限"), _("显著")]

    def row(label, a, b, uplift, scale):
        ci = uplift.interval
        return [label, scale(a), scale(b), scale(uplift.difference), scale(ci[0]) if ci else None,
                scale(ci[1]) if ci else None, (_("是") if uplift.significant else _("否")) if ci else _("样本太少")]

    rows = [[_("邀请人"), c.a.participants, c.b.participants, c.b.participants - c.a.participants, None, None, ""],
            [_("完成人数（达到第一级）"), c.a.completed, c.b.completed, c.b.completed - c.a.completed, None, None, ""],
            row(_("完成率") if fractions else _("完成率（%）"), c.a.completion_rate, c.b.completion_rate, c.completion,
                _fraction if fractions else _pct),
            row(_("人均有效邀请"), c.a.valid_per_participant, c.b.valid_per_participant, c.valid_per_participant, _num),
            row(_("K 因子（人均新客户）"), c.a.k_factor, c.b.k_factor, c.k_factor, _num)]
    return header, rows


def excel_format(row: list) -> str:
    """How the export shows a row of table(fractions=True): counts whole, the completion rate as a percentage, the
    means per inviter with three decimals."""
    from flask_babel import gettext as _

    if row[0] == _("完成率"):
        return RATE
    return COUNT if row[0] in (_("邀请人"), _("完成人数（达到第一级）")) else PRECISE
