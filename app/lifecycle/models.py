"""A customer's current lifecycle stage, every movement between stages, the daily runs and the stage settings."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db

# The stage keys, from the freshest to gone; stable (other packages and the WeCom tags rely on them).
ACTIVE, WARNING, DORMANT, DEEP_DORMANT, LOST = "active", "warning", "dormant", "deep_dormant", "lost"
STAGES = (ACTIVE, WARNING, DORMANT, DEEP_DORMANT, LOST)


class CustomerStage(db.Model):
    """A customer's stage now: since which corp-local day, the last interaction it was computed from, and what WeCom
    is known to carry as the 生命周期 tag (`tagged_stage`; while it differs from `stage` the row is owed a mark:
    `mark_state` pending or failed, with the last error). Rows whose stage did not change are not rewritten by the
    daily run; on PostgreSQL the pages keep room for a changed row's new version beside the old one."""

    __tablename__ = "lifecycle_stages"
    __table_args__ = {"postgresql_with": {"fillfactor": 80}}

    external_userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), index=True)
    since: Mapped[date] = mapped_column(Date)  # the corp-local day the customer entered `stage` (stages.entered_on)
    last_interaction_at: Mapped[datetime | None]
    tagged_stage: Mapped[str | None] = mapped_column(String(16))
    # done, pending, failed, no_staff
    mark_state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    mark_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StageMovement(db.Model):
    """One customer moving from one stage to another (`from_stage` None: the customer's first stage), on a corp-local
    `day` at `at`; `cause` is what moved them (daily, order, event, group_join, added, relation, settings). Ids only
    grow: a reader keeps the last id it handled as its watermark."""

    __tablename__ = "lifecycle_movements"
    __table_args__ = (Index("ix_lifecycle_movements_day_to_stage", "day", "to_stage"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    external_userid: Mapped[str] = mapped_column(String(64), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime]
    cause: Mapped[str] = mapped_column(String(16))


class LifecycleRun(db.Model):
    """One daily recompute: as of which corp-local day, its stage, progress, counts and error."""

    __tablename__ = "lifecycle_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # running, succeeded, partial, failed
    stage: Mapped[str] = mapped_column(String(16))  # stages, tags, done
    as_of: Mapped[date] = mapped_column(Date)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class LifecycleSettings(db.Model):
    """The operator's stage settings (one row): signals switched on, day thresholds, value filters."""

    __tablename__ = "lifecycle_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))
