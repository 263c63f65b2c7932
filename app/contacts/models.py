"""The local copy of WeCom's people: departments, staff, customers, relations (with their tag ids), groups; sync runs."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db

# The contact list's search ("contains" on name, corp name, remark) uses trigram GIN indexes on PostgreSQL.
event.listen(db.metadata, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))


def trigram_index(table: str, column: str) -> Index:
    """A pg_trgm GIN index on PostgreSQL (a plain index elsewhere), for LIKE '%text%' searches."""
    return Index(f"ix_{table}_{column}_trgm", column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


# A relation's remark mobiles as digits and commas, for the contact search by phone number (PostgreSQL; the index
# below covers exactly this expression, and app/contacts/contact_list.py searches with it).
REMARK_MOBILE_DIGITS = "regexp_replace(remark_mobiles::text, '[^0-9,]', '', 'g')"


class Department(db.Model):
    """A WeCom department (its id is WeCom's); `removed_at` once WeCom no longer lists it."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128), default="")
    parent_id: Mapped[int | None]
    order: Mapped[int] = mapped_column(default=0)
    leader_userids: Mapped[list[str]] = mapped_column(JSON, default=list)  # WeCom's department_leader
    removed_at: Mapped[datetime | None]


class Staff(db.Model):
    """A member of the company (员工); `is_follow_user` when they may have customers."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    position: Mapped[str] = mapped_column(String(128), default="")
    alias: Mapped[str] = mapped_column(String(64), default="")
    department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    main_department: Mapped[int | None]
    status: Mapped[int] = mapped_column(default=1)  # 1 active, 2 disabled, 4 not activated, 5 left
    is_follow_user: Mapped[bool] = mapped_column(default=False)
    removed_at: Mapped[datetime | None]


class Customer(db.Model):
    """An external contact (客户), one row however many staff follow them; `lost_at` when no relation remains."""

    __tablename__ = "customers"
    __table_args__ = (trigram_index("customers", "name"), trigram_index("customers", "corp_name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    external_userid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    type: Mapped[int] = mapped_column(default=1)  # 1 WeChat user, 2 WeCom user
    gender: Mapped[int] = mapped_column(default=0)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    avatar: Mapped[str] = mapped_column(String(512), default="")
    corp_name: Mapped[str] = mapped_column(String(128), default="")
    corp_full_name: Mapped[str] = mapped_column(String(256), default="")
    position: Mapped[str] = mapped_column(String(128), default="")
    lost_at: Mapped[datetime | None] = mapped_column(index=True)


class FollowRelation(db.Model):
    """A staff member following a customer, with remark, source and corp tags; ended relations are kept."""

    __tablename__ = "follow_relations"
    __table_args__ = (UniqueConstraint("userid", "external_userid"),
                      Index("ix_follow_relations_external_userid", "external_userid"),
                      Index("ix_follow_relations_added_at", "added_at"),  # team figures: adds in a window
                      Index("ix_follow_relations_ended_at", "ended_at"),  # team figures: losses in a window
                      trigram_index("follow_relations", "remark"),
                      Index("ix_follow_relations_tag_ids_gin", text("(tag_ids::jsonb)"),
                            postgresql_using="gin").ddl_if(dialect="postgresql"),
                      Index("ix_follow_relations_remark_mobiles_trgm", text(f"{REMARK_MOBILE_DIGITS} gin_trgm_ops"),
                            postgresql_using="gin").ddl_if(dialect="postgresql"))

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64), ForeignKey("customers.external_userid"))
    remark: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    remark_corp_name: Mapped[str] = mapped_column(String(128), default="")
    remark_mobiles: Mapped[list[str]] = mapped_column(JSON, default=list)
    add_way: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(64), default="")
    oper_userid: Mapped[str] = mapped_column(String(64), default="")
    added_at: Mapped[datetime | None]
    tag_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(16))  # "customer" (del_follow_user) or "staff"
    end_source: Mapped[str | None] = mapped_column(String(32))  # event Source, or "reconcile" when found by a sync


class RelationEvent(db.Model):
    """What WeCom told us about a relation that the relation itself does not keep: a failed handover
    (transfer_fail: `userid` is the takeover member, `detail` the FailReason) or the customer agreeing to chat
    archiving (msg_audit_approved); one row per inbox event."""

    __tablename__ = "relation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(String(64), default="")
    occurred_at: Mapped[datetime]


class CustomerGroup(db.Model):
    """A customer group (客户群); `dismissed_at` once WeCom no longer has it."""

    __tablename__ = "customer_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    owner: Mapped[str] = mapped_column(String(64), index=True)
    notice: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[int] = mapped_column(default=0)
    admin_userids: Mapped[list[str]] = mapped_column(JSON, default=list)
    member_version: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime | None]
    dismissed_at: Mapped[datetime | None]


CUSTOMER_MEMBER = 2  # CustomerGroupMember.type of a customer (1: a staff member)


class CustomerGroupMember(db.Model):
    """A staff member (type 1) or customer (type 2) in a customer group; `left_at` once they left."""

    __tablename__ = "customer_group_members"
    __table_args__ = (UniqueConstraint("chat_id", "userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), ForeignKey("customer_groups.chat_id"))
    userid: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[int] = mapped_column(default=2)
    name: Mapped[str] = mapped_column(String(128), default="")
    unionid: Mapped[str | None] = mapped_column(String(64))
    group_nickname: Mapped[str] = mapped_column(String(128), default="")
    join_time: Mapped[datetime | None]
    join_scene: Mapped[int] = mapped_column(default=0)
    invitor: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64), default="")
    left_at: Mapped[datetime | None]


class GroupMemberChange(db.Model):
    """Members joining or leaving a customer group, as one change_external_chat add_member / del_member event told
    us (one row per inbox event). `scene`: JoinScene (0 invited, 3 scanned the group QR) or QuitScene (0 left,
    1 removed by owner or admin); None when the event gave none (wecom-api.md §5: both enums weakly sourced)."""

    __tablename__ = "customer_group_member_changes"
    __table_args__ = (Index("ix_customer_group_member_changes_chat_at", "chat_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(unique=True)
    chat_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # join | leave
    members: Mapped[int] = mapped_column(default=0)
    scene: Mapped[int | None]
    occurred_at: Mapped[datetime] = mapped_column(index=True)


class SyncRun(db.Model):
    """One full sync: where it is (stage, cursor state), what it changed, its errors; resumed until it succeeds."""

    __tablename__ = "contact_sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="full")
    status: Mapped[str] = mapped_column(String(16), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the stage's cursor and progress
    counts: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(default=1)
    started_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class SyncSeen(db.Model):
    """Relations a run has seen so far; what a finished run did not see has ended. Cleared when the stage ends."""

    __tablename__ = "contact_sync_seen"

    run_id: Mapped[int] = mapped_column(ForeignKey("contact_sync_runs.id"), primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_userid: Mapped[str] = mapped_column(String(64), primary_key=True)
