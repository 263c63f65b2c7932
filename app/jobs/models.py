"""The job table: one row per piece of background work, from enqueue to its result or error."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
ACTIVE = (QUEUED, RUNNING)
SCHEDULER = "scheduler"  # who asked for the jobs the scheduler enqueues (Job.requested_by)
_ACTIVE_SQL = text("state IN ('queued', 'running')")


class Job(db.Model):
    """Work a worker claims and runs: its kind and arguments, where it stands, who asked, how it ended."""

    __tablename__ = "jobs"
    __table_args__ = (
        # One-at-a-time kinds: at most one waiting or running job per key, on any number of workers.
        Index("ux_jobs_active_unique_key", "unique_key", unique=True,
              postgresql_where=_ACTIVE_SQL, sqlite_where=_ACTIVE_SQL),
        Index("ix_jobs_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    unique_key: Mapped[str | None] = mapped_column(String(128))
    requested_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    time_limit_seconds: Mapped[int] = mapped_column(default=3600)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    progress_message: Mapped[str] = mapped_column(String(200), default="")
    progress_detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def end_note(self) -> str:
        """How a job that did not succeed ended, for the record it drove (stored text, like the job's error)."""
        return f"后台任务 #{self.id} {'已取消' if self.state == CANCELLED else '失败'}：{self.error or ''}"
