"""Runs of a campaign: due runs created once per scheduled time and planned, the misfire policy, run now, test send,
cancel. `tick` is the scheduler's job (every minute).

Misfire policy: a due time the scheduler notices more than `misfire_minutes` late (it was down) gets a run with
status "missed" that sends nothing and is shown on the campaign page; a later due time runs normally. A run is
never created twice for one due time (unique campaign + scheduled_for).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from app import sending
from app.campaigns.editor import editing
from app.campaigns.execution import planner
from app.campaigns.policy import policies
from app.campaigns.editor.editing import schedule_of
from app.campaigns.models import Campaign, CampaignRun, CampaignStatus as S
from app.campaigns.execution.schedule import misfired
from app.contacts.models import Customer, FollowRelation
from app.core import audit, settings
from app.core.db import transaction, upsert_ignore, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.jobs import enqueue
from app.sending.models import RunStatus as R

log = logging.getLogger("scrm.campaigns")
ACTIVE = (S.APPROVED, S.SCHEDULED, S.RUNNING)


class RunError(UserError):
    """A run the rules refuse (unapproved, already running ...); the message says why."""


def create_run(campaign: Campaign, scheduled_for: datetime, kind: str, actor: str,
               status: str = R.PLANNING, error: str | None = None) -> CampaignRun | None:
    """The run for this due time, created once; None when it already existed (then nothing changes)."""
    values = {"origin": "campaign", "campaign_id": campaign.id, "scheduled_for": scheduled_for.replace(microsecond=0),
              "kind": kind, "campaign_version": campaign.version, "chat_type": campaign.chat_type,
              "category": campaign.category, "holdout_key": str(campaign.id),
              "holdout_percent": campaign.holdout_percent, "variants": [], "status": status, "counts": {}, "created_by": actor,
              "created_at": utcnow(), "error": error,
              "finished_at": utcnow() if status in R.FINAL else None}
    run_id = db.session.scalar(upsert_ignore(CampaignRun, values, ["campaign_id", "scheduled_for"])
                               .returning(CampaignRun.id))
    return None if run_id is None else db.session.get(CampaignRun, run_id)


def open_runs(campaign_id: int, tests: bool = False) -> list[CampaignRun]:
    """Runs not final yet (test sends only when asked: they never hold a campaign up)."""
    query = select(CampaignRun).where(CampaignRun.campaign_id == campaign_id, CampaignRun.status.not_in(R.FINAL))
    return list(db.session.scalars(query if tests else query.where(CampaignRun.kind != "test")))


def _last_due(campaign: Campaign) -> datetime | None:
    """Due times after this are still to come: the latest scheduled or missed run, else (recurring) the approval.
    A one-off campaign approved after its time still gets its run (then a missed one): never a silent skip."""
    last = db.session.scalar(select(CampaignRun.scheduled_for).where(
        CampaignRun.campaign_id == campaign.id, CampaignRun.kind == "scheduled").order_by(
        CampaignRun.scheduled_for.desc()).limit(1))
    if not schedule_of(campaign).recurring:
        return last
    start = campaign.approved_at - timedelta(seconds=1)
    return max(last, start) if last else start


def due_runs(campaign: Campaign, now: datetime, grace_minutes: int) -> list[int]:
    """Create the campaign's runs that are due (missed ones as such); the ids of runs to plan."""
    to_plan = []
    with transaction():
        for due in schedule_of(campaign).due_times(_last_due(campaign), now, settings.corp_timezone()):
            if misfired(due, now, grace_minutes):
                run = create_run(campaign, due, "scheduled", "scheduler", R.MISSED,
                                 f"调度器在计划时间后 {grace_minutes} 分钟内未运行，本次未发送")
                if run:
                    audit.record("campaigns.run_missed", target=f"campaign:{campaign.id}",
                                 details={"scheduled_for": due.isoformat()})
            elif run := create_run(campaign, due, "scheduled", "scheduler"):
                to_plan.append(run.id)
    return to_plan


def refresh_status(campaign: Campaign, now: datetime) -> None:
    """Running while a run is open; finished once no run is open and the schedule has no more due times."""
    if campaign.status not in ACTIVE:
        return
    if open_runs(campaign.id):
        campaign.status = S.RUNNING
    elif schedule_of(campaign).over(now, settings.corp_timezone()) and campaign.approved_at is not None:
        campaign.status = S.FINISHED
    elif campaign.status == S.RUNNING:
        campaign.status = S.SCHEDULED if schedule_of(campaign).recurring else S.APPROVED


def tick(now: datetime | None = None) -> dict:
    """The scheduler's job: create and plan due runs, re-plan runs a crash left in planning, update statuses."""
    now = now or utcnow()
    grace = policies.current().misfire_minutes
    planned = 0
    campaigns = db.session.scalars(select(Campaign).where(Campaign.status.in_(ACTIVE))).all()
    for campaign in campaigns:
        if campaign.is_approved:
            for run_id in due_runs(campaign, now, grace):
                planned += planner.plan(run_id) is not None
    for run_id in db.session.scalars(select(CampaignRun.id).where(CampaignRun.status == R.PLANNING)).all():
        planner.plan(run_id)
    with transaction():
        for campaign in db.session.scalars(select(Campaign).where(Campaign.status.in_(ACTIVE))):
            refresh_status(campaign, now)
    return {"planned": planned}


def start_if_now(campaign: Campaign, actor: str) -> list[int]:
    """Right after approval, a "now" campaign gets its run at once (the scheduler would take up to a minute); the ids
    of the runs created, still to be planned."""
    if campaign.schedule_kind != "now" or not campaign.is_approved:
        return []
    run_ids = due_runs(campaign, utcnow(), policies.current().misfire_minutes)
    with transaction():
        refresh_status(campaign, utcnow())
    return run_ids


def plan_in_background(run_ids: list[int]) -> None:
    """Plan the runs in a worker's job each, off the web request (about a minute at 1M customers); a run left in
    planning is planned by the scheduler's next tick."""
    for run_id in run_ids:
        enqueue("campaigns.plan", {"run_id": run_id}, requested_by="campaigns", unique=f"campaigns.plan:{run_id}")


def plan_given_up(job) -> None:
    """The job `campaigns.plan` ended failed or cancelled for good: a run still in planning (planned all or nothing,
    so it has no deliveries) ends failed or cancelled with the job's end as its error, shown on the campaign page,
    and the campaign's status follows."""
    now = utcnow()
    with transaction():
        run = db.session.get(CampaignRun, job.args["run_id"], with_for_update=True)
        if run is None or run.status != R.PLANNING:
            return
        run.status = R.CANCELLED if job.state == "cancelled" else R.FAILED
        run.error, run.finished_at = job.end_note, now
        refresh_status(db.session.get(Campaign, run.campaign_id), now)


def run_now(campaign: Campaign, actor: str) -> CampaignRun:
    """An extra run of an approved campaign now (API, button), planned in the background; refused while another
    run is open."""
    if not campaign.is_approved or campaign.status not in ACTIVE:
        raise RunError(N_("只有已审批且未结束的群发可以立即执行"))
    if open_runs(campaign.id):
        raise RunError(N_("这个群发还有一次执行未结束，请等它结束或取消后再执行"))
    with transaction():
        run = create_run(campaign, utcnow(), "manual", actor)
        if run is None:
            raise RunError(N_("刚刚已创建了一次执行，请稍候"))
        audit.record("campaigns.run_now", target=f"campaign:{campaign.id}", details={"run_id": run.id})
        refresh_status(campaign, utcnow())
    plan_in_background([run.id])
    return run


def test_send(campaign: Campaign, sender_userid: str, external_userid: str, actor: str) -> CampaignRun:
    """A run of one delivery to a staff member's own test customer, no caps or approval (the content is checked)."""
    editing.check(editing.spec_of(campaign))
    customer = db.session.scalar(select(Customer).join(FollowRelation, FollowRelation.external_userid ==
                                                       Customer.external_userid).where(
        Customer.external_userid == external_userid, FollowRelation.userid == sender_userid,
        FollowRelation.ended_at.is_(None)))
    if customer is None:
        raise RunError(N_("%(customer)s 不是成员 %(sender)s 的客户，无法测试发送"),
                       customer=external_userid, sender=sender_userid)
    now = utcnow()
    with transaction():
        run = create_run(campaign, now, "test", actor, R.PLANNED)
        if run is None:
            raise RunError(N_("刚刚已发送过一次测试，请稍候"))
        run.test_target = {"sender": sender_userid, "external_userid": external_userid}
        sending.plan_direct(run, planner.variants(campaign)[0], campaign.category, external_userid, customer.id,
                            sender_userid, now)
        audit.record("campaigns.test_send", target=f"campaign:{campaign.id}",
                     details={"run_id": run.id, "sender": sender_userid, "customer": external_userid})
    return run


def cancel(campaign: Campaign, actor: str) -> list[dict]:
    """Cancel the campaign: no more runs, and every open run cancelled (WeCom tasks too, see sending.cancel)."""
    if campaign.status in (S.FINISHED, S.CANCELLED):
        raise RunError(N_("这个群发已结束或已取消"))
    with transaction():
        campaign.status = S.CANCELLED
        audit.record("campaigns.cancelled", target=f"campaign:{campaign.id}", details={"by": actor})
    return [sending.cancel(run.id) for run in open_runs(campaign.id, tests=True)]
