"""Dry runs off the web request, their state kept in the database: the preview page's numbers, and the recipient
count a submission waits for. A check is a job (`campaigns.check`) run by a worker; one whose worker dies is run
again by the jobs' dead-worker rule, and closed as failed (`give_up`) when its job ends without a result."""
from __future__ import annotations

import importlib
import logging
from datetime import timedelta

from sqlalchemy import select

from app.campaigns.editor import preview
from app.campaigns.models import Campaign, CampaignCheck
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.jobs import enqueue, latest as latest_with_key

log = logging.getLogger("scrm.campaigns.checks")

RUNNING, DONE, FAILED = "running", "done", "failed"
PREVIEW, SUBMIT = "preview", "submit"
FRESH = timedelta(minutes=10)  # a preview younger than this is shown as it is; an older one is computed again

Then = str  # "module:function" called with the check once its numbers are in (a job's argument)


def latest(campaign: Campaign, purpose: str | None = None) -> CampaignCheck | None:
    """The newest check of the campaign's current version (of one purpose, or of any)."""
    query = select(CampaignCheck).where(CampaignCheck.campaign_id == campaign.id,
                                        CampaignCheck.campaign_version == campaign.version)
    if purpose:
        query = query.where(CampaignCheck.purpose == purpose)
    return db.session.scalars(query.order_by(CampaignCheck.id.desc()).limit(1)).first()


def is_running(check: CampaignCheck | None) -> bool:
    return check is not None and check.status == RUNNING


def job_of(check: CampaignCheck):
    """The job that computes the check (its progress is what the pages poll)."""
    return latest_with_key(f"campaigns.check:{check.id}")


def for_preview(campaign: Campaign) -> CampaignCheck | None:
    """The check the preview page shows: the current version's newest while it runs or for FRESH after it ended
    (a submission's count included); None when there is none to show (the page offers to start one: a GET never
    starts work)."""
    check = latest(campaign)
    if is_running(check) or (check is not None and check.finished_at and utcnow() - check.finished_at < FRESH):
        return check
    return None


def start(campaign: Campaign, purpose: str, actor: str, then: Then | None = None) -> CampaignCheck:
    """Check the campaign as it is now, in a worker's job (then `then(check)` when the numbers are in); the check
    already running for this version and purpose, if there is one."""
    running = latest(campaign, purpose)
    if is_running(running):
        return running
    with transaction():
        check = CampaignCheck(campaign_id=campaign.id, campaign_version=campaign.version, purpose=purpose,
                              status=RUNNING, requested_by=actor, started_at=utcnow())
        db.session.add(check)
    enqueue("campaigns.check", {"check_id": check.id, "then": then}, requested_by=actor,
            unique=f"campaigns.check:{check.id}")
    return check


def run_job(check_id: int, then: Then | None = None) -> None:
    """The job `campaigns.check`."""
    execute(check_id, then=_function(then) if then else None)


def give_up(job) -> None:
    """The check's job ended failed or cancelled for good (its worker died too often ...): a check still running is
    closed as failed, so a submission can be made again."""
    check = db.session.get(CampaignCheck, job.args["check_id"])
    if check is not None and check.status == RUNNING:
        finish(check.id, FAILED, error=N_("试算已取消，请重新试算") if job.state == "cancelled"
               else N_("试算被中断（执行进程停止），请重新试算"))


def _function(target: str):
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def execute(check_id: int, then=None) -> CampaignCheck:
    """Plan the campaign as a run would (and roll it back) and store the numbers; with `then`, the check runs on
    until `then(check)` has used them and recorded how (with `finish`)."""
    check = db.session.get(CampaignCheck, check_id)
    campaign = db.session.get(Campaign, check.campaign_id)
    if campaign.version != check.campaign_version:
        return finish(check_id, FAILED, error=N_("群发在试算开始前又被修改，请重新试算"))
    try:
        result = preview.dry_run(campaign)
        check = finish(check_id, FAILED if result.error else RUNNING if then else DONE, result=result.to_json(),
                       error=result.error)
        if check.status == RUNNING:
            then(check)
    except Exception:
        log.exception("campaign check %s failed", check_id)
        db.session.rollback()
        return finish(check_id, FAILED, error=N_("试算出错，数据未被修改；请稍后重试，如果持续出现请联系管理员"))
    return db.session.get(CampaignCheck, check_id)


def finish(check_id: int, status: str, *, result: dict | None = None, outcome: str | None = None,
           error: str | None = None) -> CampaignCheck:
    """Record where a check is (`status`), with its numbers, the submission's outcome or why it did not go through."""
    with transaction():
        check = db.session.get(CampaignCheck, check_id)
        check.status = status
        if status != RUNNING:
            check.finished_at = utcnow()
        if result is not None:
            check.result = result
        check.outcome, check.error = outcome or check.outcome, error or check.error
    return check


def progress(check: CampaignCheck) -> dict:
    """What the page's progress poller reads: still running or not, and for how long."""
    seconds = int(((check.finished_at or utcnow()) - check.started_at).total_seconds())
    return {"status": RUNNING if is_running(check) else check.status, "percent": None, "seconds": seconds}
