"""Staff tasks (跟进任务, to-dos with a due time) and the follow-up rules that create them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db

OPEN, DONE, CANCELLED = "open", "done", "cancelled"
STATES = (OPEN, DONE, CANCELLED)
# Where a task came from (Task.source); a feature may add its own word (at most 32 characters).
MANUAL, FOLLOWUP_RULE, JOURNEY, GROUP_SOP = "manual", "followup_rule", "journey", "group_sop"


class Task(db.Model):
    """A to-do for one staff member (`assignee`), optionally about one customer, due at `due_at` (UTC).

    `source_key` makes creation idempotent: a feature that asks twice for the same thing (a journey step for a
    customer, a rule firing for a relation) gets the first task back. Reminder and escalation are recorded once
    each (`reminded_at`, `escalated_at` and to whom), so a job that runs every few minutes never repeats them."""

    __tablename__ = "staff_tasks"
    __table_args__ = (Index("ix_staff_tasks_state_due_at", "state", "due_at"),
                      Index("ix_staff_tasks_assignee_state", "assignee", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assignee: Mapped[str] = mapped_column(String(64))                       # staff userid
    external_userid: Mapped[str | None] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(32), default=MANUAL)
    source_key: Mapped[str | None] = mapped_column(String(191), unique=True)
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    escalated_to: Mapped[list[str]] = mapped_column(JSON, default=list)    # supervisors' userids told


class FollowupRule(db.Model):
    """A rule that creates a task: when `trigger` happens to a customer, their owning staff member must follow up
    within `due_hours`. Triggers: "tag_added" (`tag_id`; a tag WeCom marks per relation, so the relation's staff
    member follows up) and "stage_entered" (a lifecycle `stage`; the customer's first-added current staff member).
    `rfm_filter` keeps only customers of an RFM segment or 8-class key (e.g. cant_lose 不能失去). `watermark`: the
    last lifecycle movement a stage rule has looked at (set at creation: what happened before the rule never
    fires it)."""

    __tablename__ = "followup_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(32))
    tag_id: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str | None] = mapped_column(String(32))
    rfm_filter: Mapped[str | None] = mapped_column(String(32))
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)
    due_hours: Mapped[int] = mapped_column(default=24)
    task_title: Mapped[str] = mapped_column(String(128))
    task_body: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class FollowupRuleHit(db.Model):
    """A relation (staff member, customer) a rule currently holds as triggered (e.g. the tag is on it). A relation
    whose condition goes away loses its row, so the rule fires again when it comes back. Rows present when a rule
    is created are the baseline: customers who had the tag before the rule existed get no task."""

    __tablename__ = "followup_rule_hits"
    __table_args__ = (UniqueConstraint("rule_id", "userid", "external_userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("followup_rules.id", ondelete="CASCADE"))
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime] = mapped_column(default=utcnow)
    task_id: Mapped[int | None]
