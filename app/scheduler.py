"""The scheduler process: one active instance enqueues the declared periodic jobs for the workers; a second one
waits idle."""
from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app import jobs
from app.core import settings
from app.extensions import db
from app.jobs.models import SCHEDULER
from config import INSTANCE_DIR

log = logging.getLogger("scrm.scheduler")
JOB_TABLE = "apscheduler_jobs"  # APScheduler's own table, kept out of Alembic (core.db.UNMANAGED_TABLES)
LOCK_KEY = 74_530_117  # pg_try_advisory_lock key of the active scheduler
WAIT_SECONDS = 15


@dataclass(frozen=True)
class PeriodicJob:
    key: str
    description: str
    kind: str        # the job kind (app/jobs/kinds.py) enqueued at each due time; a worker runs it
    cron: dict       # CronTrigger fields, in the corp timezone
    args: dict = field(default_factory=dict)


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("contacts.reconcile", "每晚全量对账同步：补上回调遗漏或乱序的变化",
                "contacts.sync", {"hour": 3, "minute": 0}, {"started_by": "scheduler"}),
    PeriodicJob("rfm.recompute", "每晚 RFM 重算并把变化写回企业微信标签，随后按新分数执行规则标签",
                "rfm.recompute", {"hour": 4, "minute": 0}, {"started_by": "scheduler"}),
    PeriodicJob("lifecycle.tags", "每分钟把阶段有变化的客户的生命周期标签写回企业微信（每日阶段重算紧随 RFM 重算）",
                "lifecycle.tags", {"minute": "*"}, {"started_by": "scheduler", "retry_failed": False}),
    PeriodicJob("campaigns.schedule", "每分钟为到期的群发创建并规划执行（错过太久的记为已错过）",
                "campaigns.schedule", {"minute": "*"}),
    PeriodicJob("campaigns.poll", "每分钟查询群发任务：成员确认、发送结果、提醒未确认成员",
                "campaigns.poll", {"minute": "*"}),
    PeriodicJob("campaigns.outside_sends", "每 30 分钟导入控制台以外的群发（计入接收上限）",
                "campaigns.outside_sends", {"minute": "*/30"}),
    PeriodicJob("journeys.tick", "每分钟推进客户旅程：按退出信号移出客户、按触发条件加入客户、执行到期步骤、检查护栏",
                "journeys.tick", {"minute": "*"}),
    PeriodicJob("referral.tick", "每分钟处理任务宝：按时开始和结束任务、考察期满的邀请生效、核对应答丢失的活码、创建邀请人活码、删除已结束任务的活码、为邀请人打标签、规划里程碑消息",
                "referral.tick", {"minute": "*"}),
    PeriodicJob("community.reminders", "每小时为到期的入群邀请规划提醒（只发给还没入群的客户）",
                "community.reminders", {"minute": 41}),
    PeriodicJob("community.sop_plan", "每分钟安排群SOP到期的事项：群发到该分层的客户群（群主确认）或给群主建任务，每次只安排一次",
                "community.sop_plan", {"minute": "*"}),
    PeriodicJob("media.refresh", "每小时重新上传一天内过期的企业微信素材（media_id 只有 3 天有效），发送时无需等待上传",
                "media.refresh", {"minute": 17}),
    PeriodicJob("staffmsg.dispatch", "每分钟发送员工应用消息（每人每分钟、每小时不超过限额；避开整点和半点）",
                "staffmsg.dispatch", {"minute": "*"}),
    PeriodicJob("tasks.sweep", "每 5 分钟：到期前提醒跟进任务的负责人，逾期的上报其主管（每个任务各一次）",
                "tasks.sweep", {"minute": "*/5"}),
    PeriodicJob("tasks.rules", "每 5 分钟按跟进规则为新打上标签（或进入阶段）的客户创建跟进任务",
                "tasks.rules", {"minute": "2-59/5"}),
    PeriodicJob("team.snapshot", "每晚保存企业微信的成员联系客户数据与客户群统计（每人一次调用；首次回补 180 天）",
                "team.snapshot", {"hour": 5, "minute": 30}),
    PeriodicJob("community.health", "每天 06:40 按前一天的客户群统计（团队绩效快照 05:30 读取）和入群退群事件计算群活跃度与健康度",
                "community.health", {"hour": 6, "minute": 40}),
    PeriodicJob("team.rollup", "每晚汇总前一天的团队绩效（每人每天）并检查目标与预警；快照完成后再汇总一次",
                "team.rollup", {"hour": 0, "minute": 20}),
    PeriodicJob("team.today", "每分钟汇总今天的团队绩效（页面、导出与 API 读同一份，并标明截至时间）",
                "team.today", {"minute": "*"}),
    PeriodicJob("transfer.poll", "每 10 分钟查询客户继承结果（接替在 24 小时后完成），并续交额度用完时未提交的转接",
                "transfer.poll", {"minute": "*/10"}),
    PeriodicJob("transfer.unassigned", "每晚读取离职成员待分配的客户与客户群（离职继承页）",
                "transfer.unassigned", {"hour": 2, "minute": 40}),
)
_app: Flask | None = None


class SingleInstanceLock:
    """Held by the active scheduler: a PostgreSQL advisory lock, or a file lock beside the SQLite database."""

    def __init__(self, app: Flask):
        self._app = app
        self._held = None

    def acquire(self) -> bool:
        url = make_url(self._app.config["SQLALCHEMY_DATABASE_URI"])
        if url.get_backend_name() == "postgresql":
            with self._app.app_context():
                conn = db.engine.connect()
            if conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}):
                self._held = conn  # the lock lives as long as this connection
                return True
            conn.close()
            return False
        path = Path(url.database).with_suffix(".scheduler.lock") if url.database else INSTANCE_DIR / "scheduler.lock"
        handle = open(path, "w")  # noqa: SIM115 (kept open while the lock is held)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._held = handle
        return True

    def release(self) -> None:
        """Give the lock up; a process that dies loses it anyway (its connection or file closes)."""
        if self._held is None:
            return
        if hasattr(self._held, "invalidate"):
            with contextlib.suppress(DBAPIError):  # a broken connection has lost the lock already
                # unlock first: the server ends a closed connection's session (and its locks) a moment later
                self._held.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self._held.invalidate()  # close the database connection itself: a pooled one would keep the lock
        else:
            self._held.close()
        self._held = None


def run_job(key: str) -> None:
    """Entry point APScheduler stores by reference: enqueue one declared job (a worker runs it). Its kind is
    one-at-a-time, so a due time that finds the previous run still waiting or going adds nothing."""
    job = next(j for j in JOBS if j.key == key)
    with _app.app_context():
        try:
            queued = jobs.enqueue(job.kind, job.args, requested_by=SCHEDULER)
        except jobs.JobBusy as exc:
            log.info("job %s not enqueued: #%s is still %s", key, exc.job.id, exc.job.state)
            return
        log.info("job %s enqueued as #%s", key, queued.id)


def build(app: Flask) -> BlockingScheduler:
    """The scheduler with its persistent job store and every declared job (not started)."""
    global _app
    _app = app
    with app.app_context():
        zone = settings.corp_timezone()
        store = SQLAlchemyJobStore(engine=db.engine, tablename=JOB_TABLE)
    # A run missed while no scheduler was up runs once at start if it is less than 6 hours late,
    # otherwise it is skipped and logged: never silently, never twice (coalesce).
    scheduler = BlockingScheduler(jobstores={"default": store}, timezone=zone,
                                  job_defaults={"coalesce": True, "max_instances": 1,
                                                "misfire_grace_time": 6 * 3600})
    for job in JOBS:
        scheduler.add_job(run_job, CronTrigger(timezone=zone, **job.cron), args=[job.key], id=job.key,
                          name=job.description, replace_existing=True)
    scheduler.add_listener(_report, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    return scheduler


def _report(event) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.warning("job %s missed its run at %s (scheduler was down longer than the grace time)",
                    event.job_id, event.scheduled_run_time)
    else:
        log.error("job %s failed: %r", event.job_id, event.exception)


def run_forever(app: Flask) -> None:
    """The `scrm scheduler` command: wait to be the only active scheduler, then run the jobs. A database error
    in the scheduler's own job store (SQLite busy past its timeout, a lost connection) stops APScheduler: the lock
    is given up and taken again (another scheduler may be active by then) and the jobs run on, never silently
    ending the schedule."""
    lock = SingleInstanceLock(app)
    while True:
        while not lock.acquire():
            log.info("another scheduler is active; this one stays idle and checks again in %ss", WAIT_SECONDS)
            time.sleep(WAIT_SECONDS)
        log.info("scheduler active with %d jobs", len(JOBS))
        try:
            build(app).start()
            return
        except DBAPIError:
            log.exception("scheduler stopped by a database error; it starts again in %ss", WAIT_SECONDS)
        finally:
            lock.release()
        time.sleep(WAIT_SECONDS)
