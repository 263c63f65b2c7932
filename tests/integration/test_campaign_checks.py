"""Push checks: dry runs off the request, a submission decided only on the version it counted, no double starts."""
from datetime import timedelta

from sqlalchemy import func, select

from app.campaigns.approval import approvals
from app.campaigns.editor import checks, editing
from app.campaigns.models import Campaign, CampaignApproval, CampaignCheck, CampaignStatus as S
from app.contacts.models import Customer, FollowRelation, Staff
from app.core.db import transaction, utcnow
from app.extensions import db
from app.jobs import queue
from app.jobs.models import Job
from tests.conftest import wait_for_push_work

SPEC = {"name": "周末上新", "category": "content", "chat_type": "single",
        "audience_rule": {"op": "and", "rules": []}, "content": {"text": "本周新品到店"}}


def shop() -> Campaign:
    db.session.add(Staff(userid="alice", name="Alice", status=1))
    for i in range(4):
        db.session.add(Customer(external_userid=f"wm{i}", name=f"客户{i}"))
        db.session.add(FollowRelation(userid="alice", external_userid=f"wm{i}", added_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    return editing.save(None, SPEC, "operator")


def running_check(campaign: Campaign, purpose: str = checks.SUBMIT, ago: timedelta = timedelta()) -> CampaignCheck:
    """A check recorded as running since `ago` (no thread behind it)."""
    check = CampaignCheck(campaign_id=campaign.id, campaign_version=campaign.version, purpose=purpose,
                          status=checks.RUNNING, requested_by="operator", started_at=utcnow() - ago)
    db.session.add(check)
    db.session.commit()
    return check


def counted_check(campaign: Campaign) -> CampaignCheck:
    """A submission check whose dry run has just finished (run here, in this thread)."""
    return checks.execute(running_check(campaign).id)


def test_a_check_stores_the_dry_runs_numbers_without_planning_anything(app):
    check = counted_check(shop())
    assert check.status == checks.DONE and check.finished_at is not None
    assert check.result["counts"]["planned"] == 4 and check.result["senders"][0]["userid"] == "alice"


def test_an_edit_during_the_count_voids_the_submission(app):
    campaign = shop()
    check = counted_check(campaign)
    editing.save(campaign, {**SPEC, "content": {"text": "改过的文字"}}, "operator")  # version 2, still a draft

    approvals.finish_submission(check)

    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status == S.DRAFT
    assert db.session.scalar(select(func.count()).select_from(CampaignApproval)) == 0
    check = db.session.get(CampaignCheck, check.id)
    assert check.outcome == "refused" and "这次提交没有生效" in check.error


def test_a_check_of_an_older_version_fails_without_counting(app):
    campaign = shop()
    check = running_check(campaign, checks.PREVIEW)
    editing.save(campaign, {**SPEC, "name": "改名"}, "operator")
    check = checks.execute(check.id)
    assert check.status == checks.FAILED and check.result is None and "又被修改" in check.error


def test_submitting_again_while_counting_does_not_start_a_second_count(app):
    campaign = shop()
    running = running_check(campaign)
    with app.test_request_context():
        assert approvals.submit(campaign, "operator").id == running.id
    assert db.session.scalar(select(func.count()).select_from(CampaignCheck)) == 1


def test_a_submission_whose_worker_died_is_counted_again_and_approved(app):
    campaign = shop()
    with app.test_request_context():
        check = approvals.submit(campaign, "operator")
    job = queue.claim("a-worker")  # a worker takes the count, then dies: its heartbeat stops
    with transaction():
        job.heartbeat_at = utcnow() - queue.LOST_AFTER - timedelta(seconds=1)
    assert queue.reap() == 1
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == "queued" and "失去心跳，已重新排队" in job.error
    wait_for_push_work()  # another worker takes it
    assert db.session.get(CampaignCheck, check.id).status == checks.DONE
    assert db.session.get(Campaign, campaign.id).status == S.RUNNING  # four customers: approved and sent at once


def test_a_check_whose_workers_kept_dying_fails_visibly_and_may_be_submitted_again(app):
    campaign = shop()
    with app.test_request_context():
        check = approvals.submit(campaign, "operator")
    for _attempt in range(3):
        job = queue.claim("a-worker")
        with transaction():
            job.heartbeat_at = utcnow() - queue.LOST_AFTER - timedelta(seconds=1)
        queue.reap()
    db.session.expire_all()
    assert db.session.get(Job, job.id).state == "failed"
    check = db.session.get(CampaignCheck, check.id)
    assert check.status == checks.FAILED and "中断" in check.error
    with app.test_request_context():
        assert approvals.submit(db.session.get(Campaign, campaign.id), "operator").id != check.id
