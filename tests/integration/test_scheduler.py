"""The scheduler: only one instance is active, the nightly reconcile is declared, and it only enqueues: a worker
really syncs, and a due time that finds the previous run still going adds nothing."""

from sqlalchemy import select

from app import scheduler
from app.contacts.models import SyncRun
from app.extensions import db
from app.jobs.models import Job
from tests.conftest import run_jobs


def test_a_second_scheduler_stays_idle_until_the_first_stops(app):
    first, second = scheduler.SingleInstanceLock(app), scheduler.SingleInstanceLock(app)
    assert first.acquire() is True
    try:
        assert second.acquire() is False
    finally:
        first.release()
    assert second.acquire() is True
    second.release()


def test_nightly_reconcile_is_declared_at_three_in_the_corp_timezone(app):
    jobs = {job.id: job for job in scheduler.build(app).get_jobs()}
    reconcile = jobs["contacts.reconcile"]
    assert str(reconcile.trigger.timezone) == "Asia/Shanghai"
    fields = {f.name: str(f) for f in reconcile.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("3", "0")


def test_the_reconcile_job_runs_a_full_sync(app, wired):
    scheduler.build(app)
    scheduler.run_job("contacts.reconcile")
    scheduler.run_job("contacts.reconcile")  # a restarted or standby scheduler firing again: nothing more queued
    assert db.session.scalars(select(SyncRun)).all() == []  # the scheduler only enqueued
    job = db.session.scalars(select(Job)).one()
    assert (job.kind, job.state, job.requested_by) == ("contacts.sync", "queued", "scheduler")
    assert run_jobs() == 2  # the sync, then the job it queues for groups WeCom opened for full 群活码
    run = db.session.scalars(select(SyncRun)).one()
    assert run.status == "succeeded" and run.started_by == "scheduler"
    assert [(j.kind, j.state) for j in db.session.scalars(select(Job).order_by(Job.id))] == [
        ("contacts.sync", "succeeded"), ("community.opened_groups", "succeeded")]


def test_every_declared_job_is_a_one_at_a_time_job_kind(app):
    from app.jobs import kinds

    for job in scheduler.JOBS:
        assert kinds.get(job.kind).one_at_a_time, job.key


def test_nightly_rfm_recompute_runs_after_the_reconcile(app):
    jobs = {job.id: job for job in scheduler.build(app).get_jobs()}
    fields = {f.name: str(f) for f in jobs["rfm.recompute"].trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("4", "0")


def test_the_nightly_rfm_job_then_evaluates_rule_tags_on_the_new_scores(app, synced):
    from app.lifecycle.models import LifecycleRun
    from app.rfm.models import RfmRun
    from app.tags import rule_admin
    from app.tags.models import TagRuleRun
    from tests.integration.test_tags_rules import customers, new_tag, orders, spent_rule, carriers

    (buyer,) = customers(1)
    orders(("n1", buyer, "1200.00", 3, "paid", None))
    tag = new_tag("夜间规则")
    rule_admin.save(None, "近90天消费满1000", tag, spent_rule(), True, "test")
    scheduler.build(app)
    scheduler.run_job("rfm.recompute")
    assert run_jobs() == 4  # the recompute, then the rule tags and lifecycle stages it queued, then the stages' tags
    assert db.session.scalars(select(RfmRun)).one().started_by == "scheduler"
    assert db.session.scalars(select(LifecycleRun)).one().started_by == "scheduler"
    assert db.session.scalars(select(TagRuleRun)).one().started_by == "scheduler"
    assert buyer in carriers(tag)


def test_a_database_error_in_the_job_store_does_not_end_the_schedule(app, monkeypatch):
    """SQLite busy past its timeout while APScheduler updates its job store raised out of start() and ended the
    scheduler for good (in the demo its thread died and no minute job ran again). Now it starts again, having
    given its lock up meanwhile."""
    from sqlalchemy.exc import OperationalError

    starts, holders = [], []

    class Store:
        def start(self):
            holders.append(scheduler.SingleInstanceLock(app).acquire())  # False: this scheduler holds the lock
            starts.append(1)
            if len(starts) == 1:
                raise OperationalError("UPDATE apscheduler_jobs ...", {}, Exception("database is locked"))

    monkeypatch.setattr(scheduler, "build", lambda _app: Store())
    monkeypatch.setattr(scheduler, "WAIT_SECONDS", 0)
    scheduler.run_forever(app)
    assert len(starts) == 2 and holders == [False, False]
    free = scheduler.SingleInstanceLock(app)
    assert free.acquire() is True  # given up when the schedule ended
    free.release()
