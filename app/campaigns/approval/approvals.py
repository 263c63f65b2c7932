"""Submitting a campaign and approving it: large sends wait for a supervisor, every decision is audited per version."""
from __future__ import annotations

from sqlalchemy import Select, func, select

from app.campaigns.approval import review
from app.campaigns.editor import checks, editing, preview
from app.campaigns.execution import planner, runs
from app.campaigns.policy import policies
from app.campaigns.models import Campaign, CampaignApproval, CampaignCheck, CampaignStatus as S
from app.core import audit
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db

AUTO_APPROVER = "system"


class ApprovalError(UserError):
    """A submit or approval the rules refuse; the message says why."""


def _decide(campaign: Campaign, decision: str, actor: str, comment: str = "", recipients: int | None = None) -> None:
    db.session.add(CampaignApproval(campaign_id=campaign.id, version=campaign.version, decision=decision,
                                    actor=actor, comment=comment, recipients=recipients,
                                    spec=review.snapshot(editing.spec_of(campaign))))
    audit.record(f"campaigns.{decision}", target=f"campaign:{campaign.id}",
                 details={"version": campaign.version, "recipients": recipients, "comment": comment})


def _approve(campaign: Campaign, actor: str) -> None:
    campaign.approved_version, campaign.approved_by, campaign.approved_at = campaign.version, actor, utcnow()
    campaign.status = S.APPROVED if campaign.schedule_kind == "now" else S.SCHEDULED


def submit(campaign: Campaign, actor: str) -> CampaignCheck:
    """Check the campaign at once, then count its recipients by a dry run off the request (a check); with the
    count in, `finish_submission` decides. Submitting again while the count runs returns the same check."""
    if campaign.status != S.DRAFT:
        raise ApprovalError(N_("只有草稿可以提交，当前状态：%(status)s"), status=S.LABELS[campaign.status])
    editing.check(editing.spec_of(campaign))
    return checks.start(campaign, checks.SUBMIT, actor, then="app.campaigns.approval.approvals:finish_submission")


def finish_submission(check: CampaignCheck) -> None:
    """Above the approval threshold the campaign waits for a supervisor, otherwise it is approved at once
    (recorded as auto-approved) and a "now" campaign starts its run; a campaign edited meanwhile is not submitted."""
    threshold = policies.current().approval_threshold
    recipients = preview.Preview.from_json(check.result).recipients
    try:
        with transaction():
            campaign = db.session.scalars(select(Campaign).where(Campaign.id == check.campaign_id)
                                          .with_for_update()).one()
            if campaign.status != S.DRAFT or campaign.version != check.campaign_version:
                raise ApprovalError(N_("群发在计算发送人数期间被修改或已提交，这次提交没有生效，请重新提交"))
            _decide(campaign, "submitted", check.requested_by, recipients=recipients)
            if recipients > threshold:
                campaign.status = S.PENDING_APPROVAL
            else:
                _decide(campaign, "auto_approved", AUTO_APPROVER, f"≤ {threshold}", recipients)
                _approve(campaign, AUTO_APPROVER)
    except ApprovalError as exc:
        checks.finish(check.id, checks.DONE, outcome="refused", error=exc.message)
        return
    outcome = campaign.status
    for run_id in runs.start_if_now(campaign, check.requested_by):  # already off the request: plan here
        planner.plan(run_id)
    checks.finish(check.id, checks.DONE, outcome=outcome)


def submission(campaign: Campaign) -> CampaignCheck | None:
    """The current version's submission while its count runs, or when it did not go through (to say why)."""
    check = checks.latest(campaign, checks.SUBMIT)
    if check is None or not (checks.is_running(check) or check.status == checks.FAILED or check.outcome == "refused"):
        return None
    return check if campaign.status == S.DRAFT else None


def approve(campaign: Campaign, actor: str, may_approve: bool, version: int, comment: str = "") -> Campaign:
    """A supervisor approves the version they reviewed; a campaign edited since cannot be approved blindly."""
    if not may_approve:
        raise ApprovalError(N_("您的角色不能审批群发"))
    if campaign.status != S.PENDING_APPROVAL:
        raise ApprovalError(N_("这个群发不在待审批状态"))
    if version != campaign.version:
        raise ApprovalError(N_("群发在您查看后又被修改（现在是第 %(v)s 版），请重新查看后再审批"), v=campaign.version)
    with transaction():
        _decide(campaign, "approved", actor, comment)
        _approve(campaign, actor)
    runs.plan_in_background(runs.start_if_now(campaign, actor))
    return campaign


def reject(campaign: Campaign, actor: str, may_approve: bool, comment: str) -> Campaign:
    if not may_approve:
        raise ApprovalError(N_("您的角色不能审批群发"))
    if campaign.status != S.PENDING_APPROVAL:
        raise ApprovalError(N_("这个群发不在待审批状态"))
    if not comment.strip():
        raise ApprovalError(N_("驳回时请写明原因"))
    with transaction():
        _decide(campaign, "rejected", actor, comment.strip())
        campaign.status = S.DRAFT
    return campaign


def rejected() -> Select:
    """(Campaign, its rejection) for every draft whose current version a supervisor rejected and that was not
    submitted again since: the rejection is the last decision on that version. Narrow it with .where()."""
    last = (select(func.max(CampaignApproval.id)).where(CampaignApproval.campaign_id == Campaign.id,
                                                        CampaignApproval.version == Campaign.version)
            .correlate(Campaign).scalar_subquery())
    return (select(Campaign, CampaignApproval).join(CampaignApproval, CampaignApproval.id == last)
            .where(Campaign.status == S.DRAFT, CampaignApproval.decision == "rejected"))


def rejections(campaign_ids: list[int]) -> dict[int, CampaignApproval]:
    """The rejection standing on each of these campaigns (see `rejected`), by campaign id."""
    if not campaign_ids:
        return {}
    return {c.id: a for c, a in db.session.execute(rejected().where(Campaign.id.in_(campaign_ids)))}


def history(campaign_id: int) -> list[CampaignApproval]:
    return list(db.session.scalars(select(CampaignApproval).where(CampaignApproval.campaign_id == campaign_id)
                                   .order_by(CampaignApproval.at.desc(), CampaignApproval.id.desc())))
