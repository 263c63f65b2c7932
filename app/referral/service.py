"""Referral tasks: create and edit (all-or-nothing checks), the state machine with its audit trail, inviters."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.contacts.models import Customer, Staff
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import FieldErrors
from app.core.permissions import N_
from app.extensions import db
from app.referral import ab, milestones
from app.referral.models import (ARM_A, ARM_B, ClaimKind, ReferralCode, ReferralLevel, ReferralParticipant,
                                 ReferralTask, TaskStatus)
from app.referral.rules import state_for
from app.segments.models import Segment
from app.tags.models import CorpTag
from app.tags.read_only import maintained
from app.welcome.models import WelcomeTemplate

MAX_LEVELS = 5
MAX_CODES = 100_000


class TaskInvalid(FieldErrors):
    """A task the console refuses to save or move (field -> msgid)."""


@dataclass
class LevelInput:
    needed: int
    reward: str
    stock: int
    claim_kind: str = ClaimKind.STAFF
    claim_link: str = ""
    cost_fen: int = 0
    codes: list[str] = field(default_factory=list)
    arm: str = ARM_A  # ARM_B: the second ladder of an A/B test


@dataclass
class TaskInput:
    name: str
    starts_at: datetime
    ends_at: datetime
    staff_userids: list[str]
    levels: list[LevelInput]
    segment_id: int | None = None
    daily_cap: int | None = None
    backup_userid: str | None = None
    hold_hours: int = 168
    burst_count: int = 5
    burst_minutes: int = 60
    participant_tag_ids: list[str] = field(default_factory=list)
    invitee_tag_ids: list[str] = field(default_factory=list)
    welcome_template_id: int | None = None
    rules_text: str = ""
    milestone_text: str = ""
    near_text: str = ""


def _check_levels(levels: list[LevelInput], errors: dict[str, str]) -> None:
    if not 1 <= len(levels) <= MAX_LEVELS:
        errors["levels"] = N_("阶梯奖励需要 1 到 5 级")
        return
    needed = [lv.needed for lv in levels]
    if any(n < 1 or n > 1000 for n in needed) or len(set(needed)) != len(needed):
        errors["levels"] = N_("每级邀请人数须为 1 到 1000 之间且各不相同")
    elif any(not lv.reward.strip() or len(lv.reward) > 64 for lv in levels):
        errors["levels"] = N_("每级都要填写奖励名称（最多 64 个字）")
    elif any(lv.claim_kind not in (ClaimKind.CODE, ClaimKind.LINK, ClaimKind.STAFF) for lv in levels):
        errors["levels"] = N_("领取方式无效")
    elif any(lv.claim_kind == ClaimKind.LINK and not lv.claim_link.startswith(("https://", "http://"))
             for lv in levels):
        errors["levels"] = N_("领取方式为链接时须填写 http(s) 链接")
    elif any(lv.claim_kind == ClaimKind.CODE and (not lv.codes or len(lv.codes) != len(set(lv.codes))
                                                  or any(not c or len(c) > 64 for c in lv.codes)
                                                  or len(lv.codes) > MAX_CODES) for lv in levels):
        errors["levels"] = N_("兑换码领取须上传码池：每行一个码，最多 64 个字符，不能重复")
    elif any(lv.claim_kind != ClaimKind.CODE and not 1 <= lv.stock <= 1_000_000 for lv in levels):
        errors["levels"] = N_("库存须为 1 到 1,000,000")
    elif any(lv.cost_fen < 0 for lv in levels):
        errors["levels"] = N_("成本不能为负")


def milestone_text_error(text: str) -> str | None:
    """Why a milestone message's text cannot be kept (too long, a variable it cannot have), or None."""
    if len(text) > milestones.MAX_TEXT:
        return N_("里程碑消息最多 500 个字")
    if set(re.findall(r"\{([^{}]*)\}", text)) - set(milestones.VARIABLES):
        return N_("里程碑消息只能使用变量 {奖励}、{邀请人数}、{还差人数}")
    return None


def _check_ladders(levels: list[LevelInput], errors: dict[str, str]) -> None:
    """Ladder A is required; ladder B (an A/B test) is checked the same way when it has any level."""
    for arm, key in ((ARM_A, "levels"), (ARM_B, "levels_b")):
        ladder = [lv for lv in levels if lv.arm == arm]
        found: dict[str, str] = {}
        if ladder or arm == ARM_A:
            _check_levels(ladder, found)
        if found:
            errors[key] = found["levels"]


def _validate(data: TaskInput) -> None:
    errors: dict[str, str] = {}
    if not data.name.strip() or len(data.name) > 64:
        errors["name"] = N_("请填写任务名称（最多 64 个字）")
    if data.ends_at <= data.starts_at:
        errors["ends_at"] = N_("结束时间须晚于开始时间")
    userids = list(data.staff_userids) + ([data.backup_userid] if data.backup_userid else [])
    known = set(db.session.scalars(select(Staff.userid).where(Staff.userid.in_(userids),
                                                              Staff.is_follow_user.is_(True))))
    if not data.staff_userids or len(data.staff_userids) > 100:
        errors["staff_userids"] = N_("请选择 1 到 100 位接待员工")
    elif set(userids) - known:
        errors["staff_userids"] = N_("只能选择有客户联系权限的员工")
    if data.daily_cap is not None and not 1 <= data.daily_cap <= 100_000:
        errors["daily_cap"] = N_("每日上限须为 1 到 100,000")
    if not 0 <= data.hold_hours <= 90 * 24:
        errors["hold_hours"] = N_("考察期须为 0 到 2160 小时")
    if not 1 <= data.burst_count <= 1000 or not 1 <= data.burst_minutes <= 24 * 60:
        errors["burst"] = N_("异常规则：人数 1 到 1000，时间 1 到 1440 分钟")
    if data.segment_id is not None and db.session.get(Segment, data.segment_id) is None:
        errors["segment_id"] = N_("人群不存在")
    if data.welcome_template_id is not None and db.session.get(WelcomeTemplate, data.welcome_template_id) is None:
        errors["welcome_template_id"] = N_("欢迎语不存在")
    for name in ("invitee_tag_ids", "participant_tag_ids"):
        tag_ids = list(getattr(data, name))
        if set(tag_ids) - set(db.session.scalars(select(CorpTag.tag_id).where(CorpTag.tag_id.in_(tag_ids),
                                                                              CorpTag.deleted_at.is_(None)))):
            errors[name] = N_("有的标签已在企业微信删除，请重新选择")
        elif maintained(tag_ids):
            errors[name] = N_("RFM 标签和生命周期标签由系统按数据自动改写，不能在这里使用")
    for name in ("milestone_text", "near_text"):
        if problem := milestone_text_error(getattr(data, name)):
            errors[name] = problem
    _check_ladders(data.levels, errors)
    if errors:
        raise TaskInvalid(errors)


def _levels(task: ReferralTask, levels: list[LevelInput]) -> None:
    for lv in sorted(levels, key=lambda lv: lv.needed):
        stock = len(lv.codes) if lv.claim_kind == ClaimKind.CODE else lv.stock
        level = ReferralLevel(task_id=task.id, needed=lv.needed, reward=lv.reward.strip(), stock=stock, reserved=0,
                              claim_kind=lv.claim_kind, claim_link=lv.claim_link, cost_fen=lv.cost_fen,
                              arm=lv.arm)
        db.session.add(level)
        db.session.flush()
        db.session.add_all(ReferralCode(level_id=level.id, code=c) for c in lv.codes)


_FIELDS = ("starts_at", "ends_at", "staff_userids", "segment_id", "daily_cap", "backup_userid", "hold_hours",
           "burst_count", "burst_minutes", "participant_tag_ids", "invitee_tag_ids", "welcome_template_id",
           "rules_text", "milestone_text", "near_text")


def create(data: TaskInput) -> ReferralTask:
    """A draft task with its ladder (a code pool sets its level's stock)."""
    _validate(data)
    with transaction():
        task = ReferralTask(name=data.name.strip(), status=TaskStatus.DRAFT,
                            **{name: getattr(data, name) for name in _FIELDS})
        db.session.add(task)
        db.session.flush()
        _levels(task, data.levels)
        record("referral.task_created", target=f"{task.name}#{task.id}")
    return task


def update(task: ReferralTask, data: TaskInput) -> None:
    """Edit a draft or scheduled task (its ladder is replaced); a started task keeps its rules."""
    if task.status not in (TaskStatus.DRAFT, TaskStatus.SCHEDULED):
        raise TaskInvalid({"status": N_("任务开始后不能再修改规则")})
    _validate(data)
    with transaction():
        task.name = data.name.strip()
        for name in _FIELDS:
            setattr(task, name, getattr(data, name))
        task.updated_at = utcnow()
        for level in db.session.scalars(select(ReferralLevel).where(ReferralLevel.task_id == task.id)):
            db.session.delete(level)
        db.session.flush()
        _levels(task, data.levels)
        ab.reassign(task.id)  # a ladder B added or removed before the start: inviters who joined early follow
        record("referral.task_updated", target=f"{task.name}#{task.id}")


# (from, action) -> to; "start" of a scheduled task happens at its start time (the tick)
MOVES = {
    (TaskStatus.DRAFT, "schedule"): TaskStatus.SCHEDULED,
    (TaskStatus.SCHEDULED, "unschedule"): TaskStatus.DRAFT,
    (TaskStatus.SCHEDULED, "start"): TaskStatus.RUNNING,
    (TaskStatus.RUNNING, "pause"): TaskStatus.PAUSED,
    (TaskStatus.PAUSED, "resume"): TaskStatus.RUNNING,
    (TaskStatus.RUNNING, "end"): TaskStatus.ENDED,
    (TaskStatus.PAUSED, "end"): TaskStatus.ENDED,
    (TaskStatus.SCHEDULED, "end"): TaskStatus.ENDED,
}


def move(task: ReferralTask, action: str, *, reason: str = "manual") -> None:
    """Change the task's state as `action` says (ValueError when not allowed from its state), audited."""
    target = MOVES.get((task.status, action))
    if target is None:
        raise TaskInvalid({"status": N_("当前状态下不能这样操作")})
    with transaction():
        before = task.status
        task.status, task.updated_at = target, utcnow()
        if target == TaskStatus.ENDED:
            task.ended_reason, task.ended_at = reason, utcnow()
        record(f"referral.task_{action}", target=f"{task.name}#{task.id}",
               details={"from": before, "to": target, **({"reason": reason} if target == TaskStatus.ENDED else {})})


def _receiver(task: ReferralTask) -> str:
    """The rota member with the fewest inviters today (under the daily cap), else the backup, else the first."""
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    counts = dict(db.session.execute(select(ReferralParticipant.userid, db.func.count()).where(
        ReferralParticipant.task_id == task.id, ReferralParticipant.joined_at >= today)
        .group_by(ReferralParticipant.userid)).all())
    open_ = [u for u in task.staff_userids if task.daily_cap is None or counts.get(u, 0) < task.daily_cap]
    if open_:
        return min(open_, key=lambda u: (counts.get(u, 0), task.staff_userids.index(u)))
    return task.backup_userid or task.staff_userids[0]


def join(task: ReferralTask, external_userid: str, *, invited_by: int | None = None) -> ReferralParticipant:
    """The inviter's participation (once per task), with its state; the contact way is made by the tick (a job).
    Inside the caller's transaction."""
    found = db.session.scalar(select(ReferralParticipant).where(ReferralParticipant.task_id == task.id,
                                                                ReferralParticipant.external_userid == external_userid))
    if found is not None:
        return found
    customer = db.session.scalar(select(Customer).where(Customer.external_userid == external_userid))
    inviter = ReferralParticipant(task_id=task.id, external_userid=external_userid,
                                  unionid=customer.unionid if customer else None,
                                  nickname=customer.name if customer else "", userid=_receiver(task),
                                  arm=ab.arm_for(task.id, external_userid), invited_by=invited_by, joined_at=utcnow())
    db.session.add(inviter)
    db.session.flush()
    inviter.state = state_for(task.id, inviter.id)
    return inviter
