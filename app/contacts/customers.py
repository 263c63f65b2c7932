"""Customers and their follow relations: merged page by page, ended by either side, and customers marked lost."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import exists, insert, select, true, update

from app.contacts.merge import Counts, Row, from_epoch, merge, refresh_statistics
from app.core.db import upsert_ignore
from app.contacts.models import Customer, FollowRelation, SyncSeen
from app.extensions import db

CUSTOMER_FIELDS = ("name", "type", "gender", "unionid", "avatar", "corp_name", "corp_full_name", "position")
ENDED_BY_CUSTOMER = "customer"  # del_follow_user: the customer deleted the staff member (a one-way relation stays)
ENDED_BY_STAFF = "staff"        # del_external_contact: the staff member deleted the customer
RECONCILE = "reconcile"         # the end was found by a sync, not told by an event


def customer_row(contact: dict[str, Any]) -> Row:
    row = {k: contact.get(k) for k in CUSTOMER_FIELDS}
    row.update({k: row[k] or "" for k in ("name", "avatar", "corp_name", "corp_full_name", "position")})
    row.update(external_userid=contact["external_userid"], type=row["type"] or 1, gender=row["gender"] or 0)
    return row


def relation_row(external_userid: str, follow: dict[str, Any]) -> Row:
    """A relation from batch/get_by_user's follow_info (tag_id) or externalcontact/get's follow_user (tags)."""
    tag_ids = follow.get("tag_id")
    if tag_ids is None:  # externalcontact/get: personal tags (type 2) have no tag_id
        tag_ids = [t["tag_id"] for t in follow.get("tags") or [] if t.get("tag_id")]
    return {"userid": follow["userid"], "external_userid": external_userid, "remark": follow.get("remark") or "",
            "description": follow.get("description") or "", "remark_corp_name": follow.get("remark_corp_name") or "",
            "remark_mobiles": list(follow.get("remark_mobiles") or []), "add_way": follow.get("add_way") or 0,
            "state": follow.get("state") or "", "oper_userid": follow.get("oper_userid") or "",
            "added_at": from_epoch(follow.get("createtime")), "tag_ids": sorted(tag_ids),
            "ended_at": None, "ended_by": None, "end_source": None}


def _keep_customer_end(old: Row, new: Row) -> Row:
    """WeCom keeps showing a relation the customer ended (one-way); only a newer add re-opens it."""
    if old["ended_by"] == ENDED_BY_CUSTOMER and (new["added_at"] is None or new["added_at"] <= old["ended_at"]):
        return {**new, "ended_at": old["ended_at"], "ended_by": old["ended_by"], "end_source": old["end_source"]}
    return new


def save_contacts(pairs: Iterable[tuple[dict, dict]], run_id: int | None = None) -> dict[str, Counts]:
    """Merge (external_contact, follow) pairs; with `run_id`, remember the relations as seen by that run."""
    pairs = list(pairs)
    customers = [customer_row(contact) for contact, _ in pairs]
    relations = [relation_row(contact["external_userid"], follow) for contact, follow in pairs]
    exts = sorted({c["external_userid"] for c in customers})
    counts = {"customers": merge(Customer, ("external_userid",), customers, Customer.external_userid.in_(exts)),
              "relations": merge(FollowRelation, ("userid", "external_userid"), relations,
                                 FollowRelation.external_userid.in_(exts), adjust=_keep_customer_end)}
    if run_id is not None and relations:
        seen = {(r["userid"], r["external_userid"]) for r in relations}
        db.session.execute(insert(SyncSeen), [{"run_id": run_id, "userid": u, "external_userid": e} for u, e in seen])
    return counts


def end_relation(userid: str, external_userid: str, by: str, at: datetime, source: str | None = None) -> bool:
    """Record that the relation ended (who, when); False when it was already ended or is unknown."""
    result = db.session.execute(
        update(FollowRelation)
        .where(FollowRelation.userid == userid, FollowRelation.external_userid == external_userid,
               FollowRelation.ended_at.is_(None))
        .values(ended_at=at, ended_by=by, end_source=source))
    return result.rowcount > 0


def reopen_relation(userid: str, external_userid: str) -> None:
    """An add event for an ended relation: the customer is back (WeCom's createtime has only whole seconds)."""
    db.session.execute(update(FollowRelation)
                       .where(FollowRelation.userid == userid, FollowRelation.external_userid == external_userid,
                              FollowRelation.ended_at.is_not(None))
                       .values(ended_at=None, ended_by=None, end_source=None))


def end_unseen(run_id: int, started_at: datetime, now: datetime) -> int:
    """Relations still open that the run did not see: the staff member deleted them (WeCom shows them no more).

    A relation added since the run started is never ended by it: the run may have read that member's customers
    before the add (WeCom's createtime has whole seconds, so the start is taken to its second)."""
    refresh_statistics(Customer, FollowRelation, SyncSeen)
    unseen = ~exists().where(SyncSeen.run_id == run_id, SyncSeen.userid == FollowRelation.userid,
                             SyncSeen.external_userid == FollowRelation.external_userid)
    older = FollowRelation.added_at.is_(None) | (FollowRelation.added_at < started_at.replace(microsecond=0))
    result = db.session.execute(update(FollowRelation).where(FollowRelation.ended_at.is_(None), unseen, older)
                                .values(ended_at=now, ended_by=ENDED_BY_STAFF, end_source=RECONCILE),
                                execution_options={"synchronize_session": False})
    db.session.execute(SyncSeen.__table__.delete().where(SyncSeen.run_id == run_id))
    return result.rowcount


def update_lost(now: datetime, external_userids: list[str] | None = None) -> Counts:
    """Mark customers without an open relation lost (removed) and found-again ones not lost (changed)."""
    open_relation = exists().where(FollowRelation.external_userid == Customer.external_userid,
                                   FollowRelation.ended_at.is_(None))
    scope = Customer.external_userid.in_(external_userids) if external_userids is not None else true()
    lost = db.session.execute(update(Customer).where(scope, Customer.lost_at.is_(None), ~open_relation)
                              .values(lost_at=now), execution_options={"synchronize_session": False})
    found = db.session.execute(update(Customer).where(scope, Customer.lost_at.is_not(None), open_relation)
                               .values(lost_at=None), execution_options={"synchronize_session": False})
    return Counts(changed=found.rowcount, removed=lost.rowcount)


def has_relation(userid: str, external_userid: str) -> bool:
    return db.session.scalar(select(FollowRelation.id).where(FollowRelation.userid == userid,
                                                             FollowRelation.external_userid == external_userid)) is not None


def ensure_relation(userid: str, external_userid: str) -> None:
    """Keep a relation WeCom no longer shows with the ids we have (customer details arrive with a later sync)."""
    db.session.execute(upsert_ignore(Customer, {"external_userid": external_userid}, ["external_userid"]))
    db.session.execute(upsert_ignore(FollowRelation, {"userid": userid, "external_userid": external_userid},
                                     ["userid", "external_userid"]))
