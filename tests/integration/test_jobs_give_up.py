"""A job that ends failed or cancelled for good closes the domain record it drives (Kind.on_give_up), visibly on
that record's page: the sync run, the RFM recompute, the rule-tag run, the order import, the push run being planned.
Each way to such an end is covered once: attempts exhausted after lost heartbeats, cancel before the start, cancel
or the time limit in the middle (an import keeps the batches it stored), the job's function raising."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.execution import runs as campaign_runs
from app.campaigns.models import CampaignRun
from app.contacts import sync
from app.contacts.models import SyncRun
from app.core import job_runs
from app.core.db import transaction, utcnow
from app.extensions import db
from app.jobs import JobCancelled, enqueue, kinds, queue, runner
from app.jobs.models import Job
from app.rfm import order_import, recompute
from app.rfm.models import Order, OrderImport, RfmRun
from app.tags.models import TagRuleRun
from tests.conftest import csrf_token
from tests.integration.test_campaign_checks import shop


def lost_for_good(job_id: int, worker: str = "host:1:1") -> Job:
    """The job's worker takes it and dies, on its last attempt: the dead-worker rule gives the job up."""
    assert queue.claim(worker).id == job_id
    with transaction():
        job = db.session.get(Job, job_id)
        job.max_attempts, job.heartbeat_at = 1, utcnow() - queue.LOST_AFTER - timedelta(seconds=1)
    assert queue.reap() == 1
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job.state == "failed" and "不再重试" in job.error
    return job


def test_every_kind_that_drives_a_record_says_how_to_close_it():
    driving = {"contacts.sync", "rfm.recompute", "tags.rules", "rfm.order_import", "campaigns.plan", "campaigns.check"}
    for name in driving:
        assert callable(kinds.resolve(kinds.get(name).on_give_up)), name


def test_a_sync_whose_worker_died_for_good_is_failed_on_its_page(app, client, signed_in_as):
    work = enqueue("contacts.sync", {"started_by": "admin-user"}, requested_by="admin-user")
    run = sync.begin("admin-user")  # the worker began the run, then died
    job = lost_for_good(work.id)
    run = db.session.get(SyncRun, run.id)
    assert run.status == "failed" and run.finished_at is not None
    assert run.errors[-1]["message"] == f"后台任务 #{job.id} 失败：{job.error}"
    assert sync.interrupted(run)  # the next sync resumes it from its stage
    signed_in_as("admin")
    page = client.get(f"/contacts/sync/{run.id}").get_data(as_text=True)
    assert "失去心跳" in page and "从中断处继续" in page


def test_a_recompute_whose_worker_died_for_good_is_failed_on_the_rfm_page(app, client, signed_in_as):
    work = enqueue("rfm.recompute", {"started_by": "admin-user"}, requested_by="admin-user")
    run = recompute.begin("admin-user")
    job = lost_for_good(work.id)
    run = db.session.get(RfmRun, run.id)
    assert (run.status, run.error) == ("failed", job.end_note) and run.finished_at is not None
    signed_in_as("admin")
    assert job.end_note in client.get("/rfm/").get_data(as_text=True)


def test_a_rule_tag_run_whose_worker_died_for_good_is_failed_on_the_tags_page(app, client, signed_in_as):
    work = enqueue("tags.rules", {"started_by": "admin-user"}, requested_by="admin-user")
    run = job_runs.start(TagRuleRun, "执行被中断", "tags.rules_started", "tag-rules", started_by="admin-user",
                         counts={})
    job = lost_for_good(work.id)
    run = db.session.get(TagRuleRun, run.id)
    assert (run.status, run.error) == ("failed", job.end_note)
    signed_in_as("admin")
    assert job.end_note in client.get("/tags/").get_data(as_text=True)


def test_a_record_its_job_closed_itself_is_left_as_it_is(app):
    """The hook only closes what is still running: a run the job's function ended keeps its own outcome."""
    work = enqueue("rfm.recompute", {"started_by": "admin-user"}, requested_by="admin-user")
    run = recompute.begin("admin-user")
    with transaction():
        done = db.session.get(RfmRun, run.id)
        done.status, done.error = "succeeded", None
    lost_for_good(work.id)
    assert (db.session.get(RfmRun, run.id).status, db.session.get(RfmRun, run.id).error) == ("succeeded", None)


def _planning_run():
    campaign = shop()
    with transaction():
        run = campaign_runs.create_run(campaign, utcnow(), "manual", "operator")
    return campaign, run.id


def test_a_push_plan_cancelled_before_it_started_cancels_its_run(app, client, signed_in_as):
    campaign, run_id = _planning_run()
    campaign_runs.plan_in_background([run_id])
    work = db.session.scalars(select(Job).where(Job.kind == "campaigns.plan")).one()
    queue.cancel(work.id, "admin-user")
    run = db.session.get(CampaignRun, run_id)
    assert run.status == "cancelled" and run.error == f"后台任务 #{work.id} 已取消：admin-user 在开始前取消"
    signed_in_as("admin")
    assert run.error in client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)


def test_a_push_plan_whose_worker_died_for_good_fails_its_run(app):
    _campaign, run_id = _planning_run()
    campaign_runs.plan_in_background([run_id])
    work = db.session.scalars(select(Job).where(Job.kind == "campaigns.plan")).one()
    job = lost_for_good(work.id)
    run = db.session.get(CampaignRun, run_id)
    assert (run.status, run.error) == ("failed", job.end_note) and run.finished_at is not None


def test_a_job_function_that_raises_closes_its_record_with_the_error(app, monkeypatch):
    campaign, run_id = _planning_run()
    with transaction():
        db.session.get(type(campaign), campaign.id).approved_version = campaign.version  # planning gets to fill
    campaign_runs.plan_in_background([run_id])

    def broken(*_args, **_kwargs):
        raise RuntimeError("数据库连接中断")

    monkeypatch.setattr("app.campaigns.execution.planner.fill", broken)
    assert runner.drain() == 1
    job = db.session.scalars(select(Job).where(Job.kind == "campaigns.plan")).one()
    assert (job.state, job.error) == ("failed", "数据库连接中断")
    run = db.session.get(CampaignRun, run_id)
    assert (run.status, run.error) == ("failed", f"后台任务 #{job.id} 失败：数据库连接中断")


def _orders_file(tmp_path, rows: int):
    path = tmp_path / "orders.csv"
    lines = ["order_id,external_userid,amount,paid_at,status"]
    lines += [f"G{n},wm{n % 50},{n % 90 + 1}.00,2026-04-01 10:00,paid" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Order))


def test_an_import_cancelled_mid_way_keeps_whole_batches_and_says_what_it_stored(app, tmp_path, client,
                                                                                   signed_in_as):
    user = signed_in_as("operator")
    record = order_import.create(_orders_file(tmp_path, 2 * order_import.BATCH + 500), "orders.csv", "upload",
                                 user.id, mapping={})

    def cancel_after_the_first_batch(done, total, message):
        if message == "写入订单":  # the operator pressed 取消 while the first batch was stored
            raise JobCancelled("已按要求取消")

    job = runner.run_here("rfm.order_import", {"import_id": record.id}, user.username, cancel_after_the_first_batch)
    assert (job.state, job.error) == ("cancelled", "已按要求取消")
    record = db.session.get(OrderImport, record.id)
    assert record.status == "cancelled" and record.message == job.end_note
    assert _stored() == record.added == order_import.BATCH  # the committed batch, whole; nothing after it
    assert not order_import.staged_path(record.id).exists()
    page = client.get(f"/rfm/orders/import/{record.id}").get_data(as_text=True)
    assert "导入已取消" in page and "停止前已写入 1,000 行并保留：新增 1,000" in page and "其余 1,500 行没有导入" in page


def test_an_import_past_its_time_limit_fails_after_the_batch_in_hand(app, tmp_path):
    record = order_import.create(_orders_file(tmp_path, order_import.BATCH + 10), "orders.csv", "file", None,
                                 mapping={})
    order_import.launch(record.id, "cli")
    with transaction():
        db.session.scalars(select(Job)).one().time_limit_seconds = 0  # out of time at its first progress step
    assert runner.drain() == 1
    job = db.session.scalars(select(Job)).one()
    assert (job.state, job.error) == ("failed", runner.TIMED_OUT)
    record = db.session.get(OrderImport, record.id)
    assert record.status == "failed" and record.message == job.end_note and _stored() == order_import.BATCH


@pytest.mark.parametrize("status", ["reading", "importing"])
def test_an_import_whose_worker_died_for_good_is_failed_not_left_running(app, tmp_path, status):
    record = order_import.create(_orders_file(tmp_path, 3), "orders.csv", "file", None, mapping={})
    with transaction():
        db.session.get(OrderImport, record.id).status = status
    order_import.launch(record.id, "cli")
    job = lost_for_good(db.session.scalars(select(Job)).one().id)
    record = db.session.get(OrderImport, record.id)
    assert (record.status, record.message) == ("failed", job.end_note)


def test_cancelling_a_queued_import_from_its_page(app, tmp_path, client, signed_in_as):
    user = signed_in_as("operator")
    record = order_import.create(_orders_file(tmp_path, 3), "orders.csv", "upload", user.id, mapping={})
    order_import.launch(record.id, user.username)
    work = order_import.job_of(record.id)
    location = f"/rfm/orders/import/{record.id}"
    client.post(f"/jobs/{work.id}/cancel", data={"csrf_token": csrf_token(client, location), "next": location})
    db.session.expire_all()
    assert db.session.get(OrderImport, record.id).status == "cancelled"
    assert "没有写入任何订单" in client.get(location).get_data(as_text=True)


def test_an_import_that_raises_fails_its_job_and_its_page_says_why(app, tmp_path, client, signed_in_as):
    """An ordinary error (here the uploaded file vanished before a worker read it) fails the job, not only the
    import: 后台任务 lists it under 失败 with 重试, and the import page says which job failed and why."""
    user = signed_in_as("operator")
    gone = tmp_path / "orders.csv"
    record = order_import.create(gone, "orders.csv", "upload", user.id, mapping={})
    order_import.launch(record.id, user.username)
    assert runner.drain() == 1
    job = order_import.job_of(record.id)
    assert job.state == "failed" and "No such file" in job.error
    record = db.session.get(OrderImport, record.id)
    assert (record.status, record.message) == ("failed", f"后台任务 #{job.id} 失败：{job.error}")
    page = client.get(f"/rfm/orders/import/{record.id}").get_data(as_text=True)
    assert f"导入失败：后台任务 #{job.id} 失败：" in page
    signed_in_as("admin")
    jobs_page = client.get("/jobs/?state=failed").get_data(as_text=True)
    assert f'data-job="{job.id}"' in jobs_page and f"/jobs/{job.id}/retry" in jobs_page


def test_retrying_the_job_of_an_ended_import_fails_it_again_and_leaves_the_import_as_it_was(app, tmp_path):
    record = order_import.create(tmp_path / "gone.csv", "gone.csv", "file", None, mapping={})
    order_import.launch(record.id, "cli")
    runner.drain()
    job = order_import.job_of(record.id)
    before = db.session.get(OrderImport, record.id).message
    queue.retry(job.id, "admin-user")
    assert runner.drain() == 1
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == "failed" and job.error == f"订单导入 #{record.id} 已结束（导入失败），请重新上传文件"
    record = db.session.get(OrderImport, record.id)
    assert (record.status, record.message) == ("failed", before)
