"""The sync job pages: only admins see and start syncs (a worker runs them); a run shows its stage, progress,
counts and errors."""
from sqlalchemy import select

from app.contacts.models import SyncRun
from app.core.audit import AuditEntry
from app.core.db import transaction, utcnow
from app.extensions import db
from app.jobs import enqueue, queue
from app.jobs.models import Job
from tests.conftest import csrf_token, run_jobs


def _running_run() -> SyncRun:
    """A sync a worker is running right now: its job claimed, its progress reported."""
    with transaction():
        run = SyncRun(status="running", stage="customers", state={"done": 3, "total": 6},
                      counts={"customers": {"added": 120, "changed": 2, "removed": 0}}, errors=[],
                      started_by="admin-user")
        db.session.add(run)
    enqueue("contacts.sync", {"started_by": "admin-user"}, requested_by="admin-user")
    job = queue.claim("other-worker")
    with transaction():
        job.progress_done, job.progress_total, job.progress_message = 47, 100, "客户与跟进关系"
        job.progress_detail = {"counts": run.counts, "run_id": run.id}
    return run


def test_viewer_may_neither_see_nor_start_syncs(client, signed_in_as):
    signed_in_as("viewer")
    assert client.get("/contacts/sync").status_code == 403
    assert client.post("/contacts/sync/start", data={"csrf_token": csrf_token(client, "/")}).status_code == 403
    assert "/contacts/sync" not in client.get("/").get_data(as_text=True)
    assert db.session.scalars(select(SyncRun)).all() == []


def test_admin_starts_a_sync_and_sees_why_it_failed(client, signed_in_as):
    signed_in_as("admin")
    page = client.get("/contacts/sync").get_data(as_text=True)
    assert "开始全量同步" in page and "还没有同步记录" in page
    response = client.post("/contacts/sync/start", data={"csrf_token": csrf_token(client, "/contacts/sync")},
                           follow_redirects=True)
    waiting = response.get_data(as_text=True)  # the request only queued the work: a worker runs it
    assert "「全量同步」已排队" in waiting and "排队中，等待后台执行" in waiting and "/progress" in waiting
    assert db.session.scalars(select(SyncRun)).all() == []
    assert run_jobs() == 1  # no WeCom credentials yet
    run = db.session.scalars(select(SyncRun)).one()
    run_id = run.id
    assert run.status == "failed" and run.started_by == "admin-user"
    job = db.session.scalars(select(Job)).one()
    assert job.state == "failed" and "企业微信未配置" in job.error and job.requested_by == "admin-user"
    detail = client.get(f"/contacts/sync/{run_id}").get_data(as_text=True)
    assert "失败" in detail and "企业微信未配置" in detail and "从中断处继续" in detail
    assert "企业微信未配置" in client.get("/contacts/sync").get_data(as_text=True)
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.target == f"sync#{run_id}")) \
        == "contacts.sync_started"


def test_running_sync_shows_progress_and_refreshes_itself(client, signed_in_as):
    signed_in_as("admin")
    run = _running_run()
    job = db.session.scalars(select(Job)).one()
    page = client.get(f"/contacts/sync/{run.id}").get_data(as_text=True)
    assert "进行中" in page and "客户与跟进关系" in page and "47%" in page and ">120<" in page
    assert f"/jobs/{job.id}/progress" in page and f"/jobs/{job.id}/cancel" in page  # polled; may be stopped
    progress = client.get(f"/jobs/{job.id}/progress").get_json()
    assert progress["state"] == "running" and progress["active"] is True
    assert (progress["stage"], progress["percent"]) == ("客户与跟进关系", 47)
    assert progress["counts"] == {"customers": {"added": 120, "changed": 2, "removed": 0}}
    listing = client.get("/contacts/sync").get_data(as_text=True)
    assert "47%" in listing and "+120" in listing


def test_a_second_start_while_one_runs_is_refused(client, signed_in_as):
    signed_in_as("admin")
    _running_run()
    response = client.post("/contacts/sync/start", data={"csrf_token": csrf_token(client, "/contacts/sync")},
                           follow_redirects=True)
    assert "正在进行中" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(SyncRun)).all()) == 1
    assert len(db.session.scalars(select(Job)).all()) == 1


def test_a_run_whose_stage_failed_says_which_and_why_here_and_on_the_home_card(client, signed_in_as):
    signed_in_as("admin")
    with transaction():
        run = SyncRun(status="failed", stage="done", state={}, attempts=1, started_by="scheduler",
                      counts={"customers": {"added": 4000, "changed": 0, "removed": 0}},
                      finished_at=utcnow(),
                      errors=[{"at": utcnow().isoformat(), "stage": "groups", "attempt": 1,
                               "message": "企业微信接口调用失败 (api=externalcontact/groupchat/list, errcode=81017)",
                               "summary": "企业微信接口调用失败（错误码 81017）"}])
        db.session.add(run)
    page = client.get(f"/contacts/sync/{run.id}").get_data(as_text=True)
    assert "客户群 · 企业微信接口调用失败 (api=externalcontact/groupchat/list, errcode=81017)" in page
    assert ">4000<" in page
    assert "其余阶段照常完成" in page and "重新同步" in page and "从中断处继续" not in page
    home = client.get("/").get_data(as_text=True)
    assert "客户群 阶段出错：企业微信接口调用失败（错误码 81017）" in home and "api=" not in home
