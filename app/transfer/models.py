"""Transfer batches and their items (one customer or group each), departed staff's customers, and AB角 backups."""
from __future__ import annotations

from datetime import datetime

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db

RESIGNED, ONJOB = "resigned", "onjob"           # 离职继承 / 在职继承
CUSTOMER, GROUP = "customer", "group"
# An item's life: refused (our check, never sent) | pending -> waiting (WeCom accepted, takeover after 24 h)
# -> succeeded | failed. A group moves at once: pending -> succeeded | failed.
REFUSED, PENDING, WAITING, SUCCEEDED, FAILED = "refused", "pending", "waiting", "succeeded", "failed"
OPEN = (PENDING, WAITING)


class TransferBatch(db.Model):
    """One bulk assignment asked for on a page: who hands over, who takes over, what was chosen."""

    __tablename__ = "transfer_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    takeover_userid: Mapped[str] = mapped_column(String(64))
    handover_userid: Mapped[str] = mapped_column(String(64))
    success_msg: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    job_id: Mapped[int | None]


class TransferItem(db.Model):
    """One customer or group of a batch: where it stands, WeCom's answer and the reason shown for it."""

    __tablename__ = "transfer_items"
    __table_args__ = (UniqueConstraint("batch_id", "target", "object_id"),
                      Index("ix_transfer_items_object_status", "object_id", "status"),
                      Index("ix_transfer_items_status_batch", "status", "batch_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("transfer_batches.id"))
    target: Mapped[str] = mapped_column(String(16))                # customer | group
    object_id: Mapped[str] = mapped_column(String(64))             # external_userid or chat_id
    handover_userid: Mapped[str] = mapped_column(String(64))
    takeover_userid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(256), default="")   # why refused or failed: a msgid (limits.py) ...
    reason_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # ... and its parameters
    errcode: Mapped[int | None]
    accepted_at: Mapped[datetime | None]                           # WeCom started the handover (counts to the 2)
    finished_at: Mapped[datetime | None]                           # took over (WeCom's takeover_time) or failed
    owner_moved: Mapped[bool] = mapped_column(default=False)       # the local owner follows (success only)


class UnassignedCustomer(db.Model):
    """get_unassigned_list as last read: a departed member's customer waiting for 离职继承."""

    __tablename__ = "transfer_unassigned"
    __table_args__ = (UniqueConstraint("handover_userid", "external_userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_userid: Mapped[str] = mapped_column(String(64), index=True)
    external_userid: Mapped[str] = mapped_column(String(64))
    dimission_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffBackup(db.Model):
    """A staff member's backup (AB角): who takes over their customers by default."""

    __tablename__ = "staff_backups"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    backup_userid: Mapped[str] = mapped_column(String(64))
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
