"""The scheduler: only one instance is active, the nightly reconcile is declared, and it really syncs."""

from sqlalchemy import select

from app import scheduler
from app.contacts.models import SyncRun
from app.extensions import db


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
    run = db.session.scalars(select(SyncRun)).one()
    assert run.status == "succeeded" and run.started_by == "scheduler"


def test_nightly_rfm_recompute_runs_after_the_reconcile(app):
    jobs = {job.id: job for job in scheduler.build(app).get_jobs()}
    fields = {f.name: str(f) for f in jobs["rfm.recompute"].trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("4", "0")


def test_the_nightly_rfm_job_then_evaluates_rule_tags_on_the_new_scores(app, synced):
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
    assert db.session.scalars(select(RfmRun)).one().started_by == "scheduler"
    assert db.session.scalars(select(TagRuleRun)).one().started_by == "scheduler"
    assert buyer in carriers(tag)
