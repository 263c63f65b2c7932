"""Dry runs off the web request, their state kept in the database: the preview page's numbers, and the recipient
count a submission waits for. A check runs on a thread of the process that asked for it (as the console's other
start buttons do); one that dies with its process is stale after STALE and is simply started again."""
from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import select

from app.campaigns import preview
from app.campaigns.models import Campaign, CampaignCheck
from app.core.background import run_in_background
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db

log = logging.getLogger("scrm.campaigns.checks")

RUNNING, DONE, FAILED = "running", "done", "failed"
PREVIEW, SUBMIT = "preview", "submit"
STALE = timedelta(minutes=15)  # a check running this long died with its process
FRESH = timedelta(minutes=10)  # a preview younger than this is shown as it is; an older one is computed again

Then = Callable[[CampaignCheck], None]


def latest(campaign: Campaign, purpose: str | None = None) -> CampaignCheck | None:
    """The newest check of the campaign's current version (of one purpose, or of any)."""
    query = select(CampaignCheck).where(CampaignCheck.campaign_id == campaign.id,
                                        CampaignCheck.campaign_version == campaign.version)
    if purpose:
        query = query.where(CampaignCheck.purpose == purpose)
    return db.session.scalars(query.order_by(CampaignCheck.id.desc()).limit(1)).first()


def is_running(check: CampaignCheck | None) -> bool:
    return check is not None and check.status == RUNNING and utcnow() - check.started_at < STALE


def for_preview(campaign: Campaign, actor: str) -> CampaignCheck:
    """The check the preview page shows: the current version's newest while it runs or for FRESH after it ended
    (a submission's count included), otherwise a new one."""
    check = latest(campaign)
    if is_running(check) or (check is not None and check.finished_at and utcnow() - check.finished_at < FRESH):
        return check
    return start(campaign, PREVIEW, actor)


def start(campaign: Campaign, purpose: str, actor: str, then: Then | None = None) -> CampaignCheck:
    """Check the campaign as it is now, in the background (then `then(check)` when the numbers are in); the check
    already running for this version and purpose, if there is one."""
    running = latest(campaign, purpose)
    if is_running(running):
        return running
    if running is not None and running.status == RUNNING:  # died with its process: say so, then start afresh
        finish(running.id, FAILED, error=N_("试算被中断（进程重启），已重新开始"))
    with transaction():
        check = CampaignCheck(campaign_id=campaign.id, campaign_version=campaign.version, purpose=purpose,
                              status=RUNNING, requested_by=actor, started_at=utcnow())
        db.session.add(check)
    run_in_background(current_app._get_current_object(), f"campaign-{purpose}",
                      functools.partial(execute, then=then), check.id)
    return check


def execute(check_id: int, then: Then | None = None) -> CampaignCheck:
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
