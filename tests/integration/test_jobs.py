"""Background jobs: the web only enqueues, a worker runs; one at a time on any number of workers; a lost worker's job
is retried or failed visibly; cancel; the admin page 后台任务; a GET starts nothing; LISTEN/NOTIFY; kill -9."""
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import worker
from app.campaigns.models import CampaignCheck
from app.contacts import sync
from app.contacts.models import FollowRelation, SyncRun
from app.core.db import transaction, utcnow
from app.extensions import db
from app.jobs import JobBusy, enqueue, listener, queue
from app.jobs.models import Job
from app.rfm.models import CustomerRfmScore, RfmRun
from app.rfm.segments import SEGMENT_LABELS
from tests.conftest import csrf_token
from tests.integration import job_support
from tests.integration.campaign_exec_support import deliveries, make_run, run_status, tasks
from tests.integration.test_campaign_checks import shop
from tests.integration.test_rfm_recompute import (AS_OF, MARK_API, add_orders, followed_customers, tag_marks,
                                                  wecom_relation_tags, wecom_tags)
from tests.integration.test_sync_full import assert_matches_wecom

job_support.register()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_until(predicate, what: str, timeout: float = 60.0):
    """Poll the database until `predicate()` is true (a bounded wait on a condition, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        db.session.commit()
        if value := predicate():
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextlib.contextmanager
def worker_in_process(app):
    """The worker loop (welcome threads, jobs thread, LISTEN thread, main loop) in this process, as in production."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(app, stop), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(60)


def job(job_id: int) -> Job:
    return db.session.get(Job, job_id)


def lose_heartbeat(job_id: int) -> None:
    """The worker running the job died: its heartbeat is older than the rule allows."""
    with transaction():
        job(job_id).heartbeat_at = utcnow() - queue.LOST_AFTER - timedelta(seconds=1)


def test_pressing_sync_returns_at_once_and_a_worker_runs_it(app, wired, client, signed_in_as):
    signed_in_as("admin")
    response = client.post("/contacts/sync/start", data={"csrf_token": csrf_token(client, "/contacts/sync")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/contacts/sync")
    queued = db.session.scalars(select(Job)).one()
    assert queued.state == "queued" and db.session.scalars(select(SyncRun)).all() == []  # no WeCom call yet
    with worker_in_process(app):
        wait_until(lambda: job(queued.id).state not in ("queued", "running"), "the sync job to end")
    assert job(queued.id).state == "succeeded"
    run = db.session.scalars(select(SyncRun)).one()
    assert run.status == "succeeded" and run.started_by == "admin-user" and job(queued.id).result == {"run_id": run.id}
    page = client.get("/contacts/sync").get_data(as_text=True)
    assert "排队中" not in page and f"/contacts/sync/{run.id}" in page


def test_two_workers_never_run_two_full_syncs(app):
    first = enqueue("contacts.sync", {"started_by": "a"}, requested_by="a")
    with pytest.raises(JobBusy) as refused:
        enqueue("contacts.sync", {"started_by": "b"}, requested_by="b")
    assert refused.value.job.id == first.id and "正在进行中" in str(refused.value)
    assert queue.claim("worker-1").id == first.id
    assert queue.claim("worker-2") is None  # nothing else to take
    with pytest.raises(JobBusy):  # still one while it runs, whoever asks
        enqueue("contacts.sync", {"started_by": "scheduler"}, requested_by="scheduler")
    with pytest.raises(IntegrityError):  # the database itself refuses a second active one (no check skipped)
        with transaction():
            db.session.add(Job(kind="contacts.sync", args={}, state="queued", unique_key="contacts.sync",
                               requested_by="racer"))
    assert queue.finish(first.id, "worker-1", 1, "succeeded")
    assert enqueue("contacts.sync", {"started_by": "a"}, requested_by="a").id != first.id  # once it ended


def test_a_job_whose_heartbeat_stopped_is_retried_then_failed_visibly(app, client, signed_in_as):
    lost = enqueue(job_support.STEPS, {"total": 3}, requested_by="admin-user")
    for attempt in (1, 2, 3):
        assert queue.claim(f"worker-{attempt}").id == lost.id
        lose_heartbeat(lost.id)
        assert queue.reap() == 1
        db.session.expire_all()
        expected = "queued" if attempt < 3 else "failed"
        assert (job(lost.id).state, job(lost.id).attempts) == (expected, attempt)
        assert f"第 {attempt} 次执行的进程（worker-{attempt}）失去心跳" in job(lost.id).error
    assert "不再重试" in job(lost.id).error
    signed_in_as("admin")
    page = client.get("/jobs/").get_data(as_text=True)
    assert "测试计数" in page and "不再重试" in page and f"/jobs/{lost.id}/retry" in page
    client.post(f"/jobs/{lost.id}/retry", data={"csrf_token": csrf_token(client, "/jobs/")})
    db.session.expire_all()
    assert (job(lost.id).state, job(lost.id).attempts) == ("queued", 0)


def test_old_finished_jobs_are_deleted_and_recent_or_failed_ones_kept(app):
    old, recent, failed = (enqueue(job_support.STEPS, {"total": 1}, requested_by="x", unique=f"k{n}").id
                           for n in range(3))
    for job_id, state, ago in ((old, "succeeded", queue.KEEP_SUCCEEDED), (recent, "succeeded", timedelta()),
                               (failed, "failed", queue.KEEP_SUCCEEDED)):
        with transaction():
            job(job_id).state, job(job_id).finished_at = state, utcnow() - ago - timedelta(minutes=1)
    assert queue.prune() == 1
    db.session.expire_all()
    assert job(old) is None and job(recent) is not None and job(failed) is not None


def test_a_running_job_with_a_live_heartbeat_is_left_alone(app):
    alive = enqueue(job_support.STEPS, {"total": 3}, requested_by="admin-user")
    queue.claim("worker-1")
    assert queue.reap() == 0 and job(alive.id).state == "running"


def test_cancel_stops_a_long_job(app, client, signed_in_as):
    user = signed_in_as("operator")
    long = enqueue(job_support.STEPS, {"total": 1_000_000}, requested_by=user.username)
    with worker_in_process(app):
        wait_until(lambda: job(long.id).progress_done > 0, "the job to report progress")
        progress = client.get(f"/jobs/{long.id}/progress")
        assert progress.status_code == 403  # a test kind without a permission: admins only watch it
        client.post(f"/jobs/{long.id}/cancel", data={"csrf_token": csrf_token(client, "/")})
        ended = wait_until(lambda: job(long.id).state in ("cancelled", "succeeded", "failed") and job(long.id),
                           "the job to stop")
    assert ended.state == "cancelled" and ended.error == "已按要求取消" and ended.progress_done < 1_000_000


def test_someone_else_may_not_cancel_a_job_they_did_not_ask_for(app, client, signed_in_as):
    other = enqueue(job_support.STEPS, {"total": 3}, requested_by="someone-else")
    signed_in_as("operator")
    assert client.post(f"/jobs/{other.id}/cancel", data={"csrf_token": csrf_token(client, "/")}).status_code == 403
    assert job(other.id).state == "queued"


@pytest.mark.parametrize("role", ["operator", "supervisor", "viewer"])
def test_the_jobs_page_is_for_admins_only(client, signed_in_as, role):
    signed_in_as(role)
    assert client.get("/jobs/").status_code == 403
    assert 'href="/jobs/"' not in client.get("/").get_data(as_text=True)


def test_the_jobs_page_lists_running_waiting_and_failed_with_retry_and_cancel(app, client, signed_in_as):
    running = enqueue("rfm.recompute", {"started_by": "alice"}, requested_by="alice")
    queue.claim("host:1:1")
    failed = enqueue(job_support.STEPS, {"total": 3}, requested_by="carol")
    queue.claim("host:2:2")
    assert queue.finish(failed.id, "host:2:2", 1, "failed", error="ValueError: 第 3 步出错")
    waiting = enqueue("tags.rules", {"started_by": "bob"}, requested_by="bob")
    signed_in_as("admin")
    page = client.get("/jobs/").get_data(as_text=True)
    assert 'href="/jobs/"' in client.get("/").get_data(as_text=True)  # under the admin nav
    for section in ("进行中", "排队中", "失败"):
        assert section in page
    assert "RFM 重算" in page and "规则标签" in page and "ValueError: 第 3 步出错" in page
    assert f"/jobs/{running.id}/cancel" in page and f"/jobs/{waiting.id}/cancel" in page
    assert f"/jobs/{failed.id}/retry" in page and f"/jobs/{failed.id}/cancel" not in page
    token = csrf_token(client, "/jobs/")
    client.post(f"/jobs/{waiting.id}/cancel", data={"csrf_token": token})
    client.post(f"/jobs/{running.id}/cancel", data={"csrf_token": token})
    db.session.expire_all()
    assert job(waiting.id).state == "cancelled"  # never started
    assert job(running.id).state == "running" and job(running.id).cancel_requested  # stops at its next step
    assert "正在取消" in client.get("/jobs/").get_data(as_text=True)
    refused = client.post(f"/jobs/{failed.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "只有排队中或进行中的任务可以取消" in refused.get_data(as_text=True)


def test_no_get_starts_work(app, client, signed_in_as):
    campaign = shop()
    signed_in_as("admin")
    for path in ("/", "/contacts/sync", "/rfm/", "/tags/", "/jobs/", f"/campaigns/{campaign.id}",
                 f"/campaigns/{campaign.id}/preview"):
        assert client.get(path).status_code == 200, path
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0
    assert db.session.scalar(select(func.count()).select_from(CampaignCheck)) == 0
    preview = client.get(f"/campaigns/{campaign.id}/preview").get_data(as_text=True)
    assert "开始试算" in preview  # asked for with a POST
    client.post(f"/campaigns/{campaign.id}/preview", data={"csrf_token": csrf_token(client, "/")})
    assert db.session.scalars(select(Job)).one().kind == "campaigns.check"


def test_an_idle_worker_wakes_at_once_when_another_process_enqueues(app, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite has one worker that polls")
    monkeypatch.setattr(listener, "POLL_SECONDS", {"postgresql": 3600.0})  # only a NOTIFY can wake it in time
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with worker_in_process(app):
        for n in (1, 2):
            subprocess.run([sys.executable, "-m", "tests.integration.job_support", "enqueue", url, "3"], cwd=ROOT,
                           check=True, timeout=60)
            wait_until(lambda: db.session.scalar(select(func.count()).select_from(Job)
                                                 .where(Job.state == "succeeded")) == n, f"job {n} to run")


@contextlib.contextmanager
def worker_processes(app, api_base: str = "http://127.0.0.1:9/cgi-bin/"):
    """Start real worker processes on the test database; every one started is killed at the end."""
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "tests.integration.job_support",
                                    app.config["SQLALCHEMY_DATABASE_URI"], api_base], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(30)


def kill_9(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)


def test_kill_9_mid_job_another_worker_takes_it_over_and_finishes(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several workers share the jobs on PostgreSQL; SQLite has one")
    counting = enqueue(job_support.STEPS, {"total": 400}, requested_by="admin-user")
    with worker_processes(app) as start:
        first = start()
        wait_until(lambda: job(counting.id).progress_done > 0 and f":{first.pid}:" in (job(counting.id).worker or ""),
                   "the first worker to be half-way")
        kill_9(first)
        second = start()
        done = wait_until(lambda: job(counting.id).state != "running" and job(counting.id).state != "queued"
                          and job(counting.id), "another worker to finish the job")
    assert done.state == "succeeded" and done.attempts == 2 and done.result == {"counted": 400}
    assert f":{second.pid}:" in done.worker and "失去心跳，已重新排队" in done.error


def test_kill_9_mid_sync_the_sync_is_resumed_by_another_worker_and_is_whole(app, wired):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several workers share the jobs on PostgreSQL; SQLite has one")
    wired.control.set_fault({"api": "externalcontact/batch/get_by_user", "latency_ms": 700})  # slow customer pages
    sync = enqueue("contacts.sync", {"started_by": "admin-user"}, requested_by="admin-user")
    with worker_processes(app, wired.api_base) as start:
        first = start()
        wait_until(lambda: job(sync.id).progress_message == "客户与跟进关系" and job(sync.id).progress_done > 10,
                   "the sync to have stored a page of customers")
        kill_9(first)
        start()
        done = wait_until(lambda: job(sync.id).state not in ("queued", "running") and job(sync.id),
                          "another worker to finish the sync", timeout=180)
    assert done.state == "succeeded" and done.attempts == 2
    run = db.session.scalars(select(SyncRun)).one()  # resumed from its stage, not started over
    assert run.status == "succeeded" and run.attempts == 2 and run.errors == []
    assert run.counts["customers"]["added"] == wired.control.get("summary")["customers"]
    wired.control.clear_faults()
    assert_matches_wecom(wired.control)  # whole: nothing half-written, nothing twice


def test_kill_9_mid_recompute_another_worker_finishes_it_and_the_tags_are_right(app, wired):
    """The worker dies while WeCom is taking a batch of marks: the batch was not committed, so the next worker's run
    marks it again (mark_tag is idempotent: the same tags); scores and tags end whole and right."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several workers share the jobs on PostgreSQL; SQLite has one")
    assert sync.execute(sync.begin("test").id).status == sync.SUCCEEDED
    customers = followed_customers(30)
    add_orders(*((f"o{n}", {"external_userid": who}, f"{10 + n}.00", n) for n, who in enumerate(customers)))
    wired.control.set_fault({"api": MARK_API, "latency_ms": 300})  # a slow tags stage
    recompute_job = enqueue("rfm.recompute", {"started_by": "admin-user", "as_of": AS_OF.isoformat()},
                            requested_by="admin-user")
    with worker_processes(app, wired.api_base) as start:
        first = start()
        wait_until(lambda: len(tag_marks(wired)) >= 10, "WeCom to have taken some of the marks")
        kill_9(first)
        start()
        done = wait_until(lambda: job(recompute_job.id).state not in ("queued", "running") and job(recompute_job.id),
                          "another worker to finish the recompute", timeout=180)
    assert done.state == "succeeded" and done.attempts == 2
    runs = db.session.scalars(select(RfmRun).order_by(RfmRun.id)).all()
    assert [(r.status, r.error) for r in runs] == [("failed", "重算被中断"), ("succeeded", None)]
    scores = {s.external_userid: s for s in db.session.scalars(select(CustomerRfmScore))}
    assert sorted(scores) == sorted(customers)  # whole, each customer once
    assert all(s.mark_state == "done" and s.tagged_segment == s.segment for s in scores.values())
    marked = Counter(m["external_userid"] for m in tag_marks(wired) if m["errcode"] == 0)
    assert set(marked) == set(customers) and max(marked.values()) <= 2  # at most the uncommitted batch, again
    wired.control.clear_faults()
    segment_tags = wecom_tags(wired)["RFM分层"]
    for who, score in scores.items():
        relation = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == who))
        assert segment_tags[SEGMENT_LABELS[score.segment]] in wecom_relation_tags(relation.userid, who)


def test_kill_9_mid_push_dispatch_another_worker_finishes_it_and_no_customer_is_messaged_twice(app, wired):
    """Five senders' tasks, two add_msg_template calls in flight: WeCom carries both out but their answers are held
    (lost), the worker is killed while it waits for them, three tasks never called. Another worker takes the tasks
    over once their lease passes: it adopts the two messages WeCom has (looked up) and sends the other three."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several workers share the outbox on PostgreSQL; SQLite has one")
    senders = [f"wmkill{i}" for i in range(5)]
    wired.control.post("groupmsg/audience", userids=senders, per_user=3)
    pairs = [(f"wmbulk{s}x{n}", s) for s in senders for n in range(3)]  # (customer, sender) as the emulator made them
    customers = [c for c, _ in pairs]
    run_id = make_run(pairs)
    wired.control.fault(api="externalcontact/add_msg_template", hold_answers=job_support.SUBMIT_THREADS_IN_WORKERS)
    with worker_processes(app, wired.api_base) as start:
        first = start()
        wait_until(lambda: wired.control.held() == job_support.SUBMIT_THREADS_IN_WORKERS,
                   "WeCom to have carried out two calls whose answers the worker waits for")
        kill_9(first)
        assert wired.control.release_held() == 2  # the answers go to a dead process
        wired.control.clear_faults()
        assert len(wired.control.get("groupmsgs")["group_msgs"]) == 2
        assert {(t.status, t.msgid) for t in tasks(run_id)} == {("submitting", None)}  # nothing learned, nothing lost
        start()
        wait_until(lambda: {t.status for t in tasks(run_id)} == {"submitted"}, "another worker to submit every task",
                   timeout=120)
    msgs = wired.control.get("groupmsgs")["group_msgs"]
    assert len(msgs) == 5
    assert wired.control.get("groupmsg/received")["addressed"] == {c: 1 for c in customers}  # nobody twice
    assert sorted(t.msgid for t in tasks(run_id)) == sorted(m["msgid"] for m in msgs)  # each task its own message
    assert set(deliveries(run_id).values()) == {("submitted", None)} and run_status(run_id) == "polling"
