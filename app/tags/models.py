"""Tags: corp tag groups and tags as WeCom reports them; rules (a segment rule maintaining one corp tag), their runs
and the marks still owed. Which relation carries which tag is `FollowRelation.tag_ids` (app/contacts/models.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db


class CorpTagGroup(db.Model):
    """A corp tag group as WeCom reports it."""

    __tablename__ = "corp_tag_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class CorpTag(db.Model):
    """A corp tag as WeCom reports it."""

    __tablename__ = "corp_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    tag_id: Mapped[str] = mapped_column(String(64), unique=True)
    group_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class TagRule(db.Model):
    """Customers matching `rule` (the segment rule format) carry the corp tag `tag_id`; the others lose it.

    One rule per tag, so two rules never fight over a tag. `last_result` holds the latest run's counts
    (members, added, removed, failed) and `last_error` why the rule could not run at all."""

    __tablename__ = "tag_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    tag_id: Mapped[str] = mapped_column(String(64), unique=True)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None]
    last_result: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)


class TagRuleFailure(db.Model):
    """A mark WeCom refused for one follow relation; tried again on every run until it succeeds or is no longer
    wanted, with the latest error and how often it failed."""

    __tablename__ = "tag_rule_failures"
    __table_args__ = (UniqueConstraint("rule_id", "userid", "external_userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("tag_rules.id", ondelete="CASCADE"), index=True)
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))  # add or remove
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=1)
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)


class TagRuleRun(db.Model):
    """One evaluation of all enabled rules: status, progress over the rules, counts and the error that stopped it."""

    __tablename__ = "tag_rule_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # running, succeeded, partial, failed
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
