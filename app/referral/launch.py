"""The launch push of a referral task: 1:1 through the send engine to the task's audience (its saved segment), each
recipient with their own progress link (a personal link: one add_msg_template task per recipient, the engine's
`Request.personal`), under every guard of the engine (opt-outs, holdout, caps, WeCom's receive quota, quiet hours).
A launch above the push approval threshold waits for a supervisor. Launching again reaches only members no launch
of the task reached or held out before: nobody gets it twice."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app import jobs, sending
from app.campaigns.policy import policies as push_policies
from app.contacts.models import Customer
from app.core import content, settings
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import FieldErrors
from app.core.permissions import N_
from app.extensions import db
from app.referral import links
from app.referral.models import LaunchStatus, ReferralLaunch, ReferralSend, ReferralTask, TaskStatus
from app.segments import service as segments
from app.sending.models import Delivery, DeliveryStatus as D
from app.wordlist import service as wordlist

CATEGORY = "promotion"
LINK = "专属链接"  # the personal value: the recipient's progress link
NAME = "客户昵称"  # the recipient's name: a task per recipient anyway, so the name can be theirs
REACHED = (D.PLANNED, D.SUBMITTED, D.SENT, D.HOLDOUT)  # a later launch leaves these out
LAUNCHABLE = (TaskStatus.SCHEDULED, TaskStatus.RUNNING)
DESC = "查看我的专属邀请海报和进度"


class LaunchInvalid(FieldErrors):
    """A launch (or a decision on one) the console refuses."""


@dataclass
class LaunchInput:
    text: str
    link_title: str
    holdout_percent: int = 0


def _content(launch: ReferralLaunch, task: ReferralTask) -> dict:
    """The text, then a link card whose url is the recipient's own link."""
    card = {"title": launch.link_title or task.name, "desc": DESC, "url": "{%s}" % LINK}
    return {"text": launch.text, "attachments": [{"msgtype": "link", "link": card}]}


def _validate(task: ReferralTask, data: LaunchInput) -> dict:
    errors: dict[str, str | tuple[str, dict]] = {}
    if task.status not in LAUNCHABLE:
        errors["status"] = N_("只有待开始或进行中的任务可以推送")
    if task.segment_id is None or segments.get_segment(task.segment_id) is None:
        errors["segment"] = N_("任务没有指定邀请人人群（或人群已删除）：请先在任务里选择人群")
    if not settings.get("console.url"):
        errors["console_url"] = N_("请先在系统设置填写控制台访问地址：客户要从这个地址打开专属链接")
    try:
        parsed = content.parse(data.text)
    except content.ContentInvalid as exc:
        errors["text"], parsed = (exc.errors[0].message, dict(exc.errors[0].params)), None
    if not data.link_title.strip() or len(data.link_title) > 64:
        errors["link_title"] = N_("请填写链接标题（最多 64 个字）")
    if not 0 <= data.holdout_percent <= 50:
        errors["holdout_percent"] = N_("对照组比例须为 0 到 50")
    if parsed is not None and (hits := wordlist.content_hits(parsed.text, [
            {"msgtype": "link", "link": {"title": data.link_title}}])):
        errors["text"] = (N_("含有敏感词：%(words)s"),
                          {"words": wordlist.named(h for found in hits.values() for h in found)})
    if errors:
        raise LaunchInvalid(errors)
    return parsed


def request(task: ReferralTask, data: LaunchInput, actor: str) -> ReferralLaunch:
    """Keep the launch and count it off the request (the job `referral.launch`)."""
    parsed = _validate(task, data)
    with transaction():
        launch = ReferralLaunch(task_id=task.id, status=LaunchStatus.COUNTING, text=parsed.text,
                                link_title=data.link_title.strip(), holdout_percent=data.holdout_percent,
                                requested_by=actor, requested_at=utcnow())
        db.session.add(launch)
        db.session.flush()
        record("referral.launch_requested", target=f"{task.name}#{task.id}",
               details={"launch": launch.id, "holdout_percent": launch.holdout_percent})
    jobs.enqueue("referral.launch", {"launch_id": launch.id}, requested_by=actor)
    return launch


def _audience(task: ReferralTask):
    """Customer ids of the segment's members (WeChat users) that no earlier launch of the task reached."""
    segment = segments.get_segment(task.segment_id) if task.segment_id else None
    if segment is None:
        raise ValueError("人群已不存在")
    members = segments.member_ids(segment.rule).subquery()
    reached = (select(Delivery.customer_id).join(ReferralSend, ReferralSend.id == Delivery.run_id)
               .where(ReferralSend.referral_task_id == task.id, ReferralSend.referral_key.like("launch:%"),
                      Delivery.status.in_(REACHED), Delivery.customer_id.is_not(None)))
    return select(Customer.id.label("customer_id")).where(Customer.id.in_(select(members.c[0])), Customer.type == 1,
                                                         Customer.id.not_in(reached))


def _personal(task_id: int, base_url: str):
    def values(batch):
        names = dict(db.session.execute(select(Customer.id, Customer.name).where(
            Customer.id.in_([customer_id for _key, customer_id in batch]))).all())
        return {key: {LINK: links.customer_url(base_url, task_id, key),
                      **({NAME: names[customer_id]} if names.get(customer_id) else {})}  # else 「您」
                for key, customer_id in batch}
    return values


def _plan(launch: ReferralLaunch, task: ReferralTask) -> ReferralSend:
    send = ReferralSend(referral_task_id=task.id, referral_key=f"launch:{launch.id}")
    db.session.add(send)
    sending.plan(send, sending.Request(
        who=sending.customers(_audience(task)), what=(sending.Variant("A", 100, _content(launch, task)),),
        category=CATEGORY, holdout_key=f"referral-launch-{task.id}", holdout_percent=launch.holdout_percent,
        personal=_personal(task.id, settings.get("console.url"))), utcnow())
    return send


def run(launch_id: int) -> dict:
    """The job: plan the launch, one launch of a task at a time (its row locked). Above the approval threshold and
    not approved yet, nothing is kept but the count: it waits for a supervisor and is planned again on approval."""
    try:
        with transaction():
            launch = db.session.scalar(select(ReferralLaunch).where(ReferralLaunch.id == launch_id).with_for_update())
            if launch is None or launch.status != LaunchStatus.COUNTING:
                return {"planned": 0}
            task = db.session.scalar(select(ReferralTask).where(ReferralTask.id == launch.task_id).with_for_update())
            threshold = push_policies.current().approval_threshold
            savepoint = db.session.begin_nested()
            send = _plan(launch, task)
            recipients = send.counts.get(D.PLANNED, 0)
            if recipients > threshold and launch.decided_by is None:
                savepoint.rollback()  # nothing of the plan is kept: it is planned anew once approved
                launch.status, launch.recipients = LaunchStatus.PENDING, recipients
                record("referral.launch_waiting", target=f"{task.name}#{task.id}",
                       details={"launch": launch.id, "recipients": launch.recipients, "threshold": threshold})
                return {"planned": 0, "waiting": launch.recipients}
            savepoint.commit()
            launch.send_id, launch.status, launch.recipients = send.id, LaunchStatus.PLANNED, recipients
            record("referral.launch_planned", target=f"{task.name}#{task.id}",
                   details={"launch": launch.id, "send": send.id, "recipients": launch.recipients})
            return {"planned": launch.recipients}
    except (ValueError, segments.RuleError) as exc:
        with transaction():
            launch = db.session.get(ReferralLaunch, launch_id)
            launch.status, launch.error = LaunchStatus.FAILED, str(exc)[:2000]
        return {"planned": 0}


def decide(launch: ReferralLaunch, approve: bool, actor: str, comment: str = "") -> None:
    """A supervisor's decision on a launch waiting for approval, with a comment (required to reject, as for every
    send on the approvals queue): approved, it is planned (the job) anew."""
    if not approve and not comment.strip():
        raise LaunchInvalid({"comment": N_("驳回时请写明原因")})
    with transaction():
        locked = db.session.scalar(select(ReferralLaunch).where(ReferralLaunch.id == launch.id).with_for_update())
        if locked.status != LaunchStatus.PENDING:
            raise LaunchInvalid({"status": N_("这次推送不在等待审批")})
        locked.decided_by, locked.decided_at, locked.decision_comment = actor, utcnow(), comment.strip()
        locked.status = LaunchStatus.COUNTING if approve else LaunchStatus.REJECTED
        record("referral.launch_approved" if approve else "referral.launch_rejected", target=f"#{locked.task_id}",
               details={"launch": locked.id, "recipients": locked.recipients, "comment": locked.decision_comment})
    if approve:
        jobs.enqueue("referral.launch", {"launch_id": launch.id}, requested_by=actor)
