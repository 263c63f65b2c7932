"""Callback handlers keeping the people current between syncs: re-read WeCom (or take what the welcome read)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.contacts.customers import (ENDED_BY_CUSTOMER, ENDED_BY_STAFF, end_relation, ensure_relation, has_relation,
                                    reopen_relation, save_contacts, update_lost)
from app.contacts.directory import ensure_staff
from app.contacts.groups import dismiss, fetch_group, save_groups
from app.contacts.merge import from_epoch
from app.contacts.models import CustomerGroup, GroupMemberChange, RelationEvent
from app.core.db import upsert_ignore, utcnow
from app.extensions import db
from app.tags.sync import sync_corp_tags
from app.wecom.connection import gateway
from app.wecom.errors import WeComNotFriend
from app.wecom.handlers import Payload
from app.wecom.inbox import Later

# When to read a group again while WeCom has not processed an update yet (it says about 2 s): then give up.
GROUP_REREADS = (timedelta(seconds=3), timedelta(seconds=10), timedelta(seconds=60))


def _ensure_staff(userid: str) -> None:
    """A member we have not seen yet is read once, alone (never a whole directory walk per event)."""
    ensure_staff(gateway(), userid, utcnow())


def _refetch_customer(external_userid: str, answer: dict[str, Any] | None = None) -> None:
    """Fetch the customer with all their follow users and merge them (nothing when WeCom has no relation left).
    `answer`: externalcontact/get's answer already fetched for this event (the welcome carries it)."""
    if answer is None:
        try:
            answer = gateway().get_external_contact(external_userid)
        except WeComNotFriend:
            return
    save_contacts((answer["external_contact"], follow) for follow in answer["follow_user"])


def contact_edited(payload: Payload) -> None:
    _ensure_staff(payload.get("UserID", ""))
    _refetch_customer(payload["ExternalUserID"], payload.get("_external_contact"))


def contact_added(payload: Payload) -> None:
    contact_edited(payload)
    if has_relation(payload.get("UserID", ""), payload["ExternalUserID"]):
        reopen_relation(payload["UserID"], payload["ExternalUserID"])
    update_lost(utcnow(), [payload["ExternalUserID"]])


def _ended(payload: Payload, by: str) -> None:
    """Record who ended the relation and when; an unknown customer or relation is fetched (or kept by id) first."""
    userid, external_userid = payload.get("UserID", ""), payload["ExternalUserID"]
    _ensure_staff(userid)
    if not has_relation(userid, external_userid):
        _refetch_customer(external_userid)
        ensure_relation(userid, external_userid)
    at = from_epoch(payload.get("CreateTime")) or utcnow()
    end_relation(userid, external_userid, by, at, payload.get("Source") or None)
    update_lost(utcnow(), [external_userid])


def staff_deleted_customer(payload: Payload) -> None:
    _ended(payload, ENDED_BY_STAFF)


def customer_deleted_staff(payload: Payload) -> None:
    _ended(payload, ENDED_BY_CUSTOMER)


def _relation_event(payload: Payload, detail: str = "") -> None:
    """Keep the event for the customer's page, once per inbox event; the customer is fetched if unknown."""
    _ensure_staff(payload.get("UserID", ""))
    _refetch_customer(payload["ExternalUserID"])
    db.session.execute(upsert_ignore(RelationEvent, dict(
        inbox_id=payload["_inbox_id"], kind=payload["ChangeType"], userid=payload.get("UserID", ""),
        external_userid=payload["ExternalUserID"], detail=detail,
        occurred_at=from_epoch(payload.get("CreateTime")) or utcnow()), ["inbox_id"]))


def handover_failed(payload: Payload) -> None:
    """An on-job handover failed (customer_refused / customer_limit_exceed): the customer stays with the handover
    member, so no relation changes; UserID is the takeover member."""
    _relation_event(payload, str(payload.get("FailReason") or ""))


def archiving_approved(payload: Payload) -> None:
    """The customer agreed to chat archiving (会话存档) with the member: their consent, kept with its time."""
    _relation_event(payload)


def group_changed(payload: Payload) -> None:
    """Re-fetch the whole group (events may be late, repeated or out of order); gone means dismissed.

    WeCom processes group updates asynchronously ("可能需要等一段时间(例如2秒)", wecom-api.md §5): a member change
    shows once member_version reaches the event's CurMemVer, else the group is read again later (inbox.Later);
    another update (name, notice, owner) has no version to compare, so it is read only after the wait. After
    the last re-read we keep what WeCom shows: the next event or the nightly reconcile corrects the rest."""
    chat_id, now, attempt = payload["ChatId"], utcnow(), payload.get("_attempt", 0)
    settling = payload.get("ChangeType") == "update" and attempt < len(GROUP_REREADS)
    expected = payload.get("CurMemVer")
    if settling and not expected and attempt == 0:
        raise Later(GROUP_REREADS[0], "group details are processed asynchronously")
    detail = fetch_group(gateway(), chat_id)
    if settling and expected and detail is not None and detail.get("member_version") != expected:
        raise Later(GROUP_REREADS[attempt], f"member_version is not yet {expected}")
    if detail is None:
        dismiss(now, only=[chat_id])
        return
    _ensure_staff(detail.get("owner", ""))
    status = db.session.scalar(select(CustomerGroup.status).where(CustomerGroup.chat_id == chat_id)) or 0
    save_groups([(detail, status)], now)


MEMBER_CHANGES = {"add_member": ("join", "JoinScene"), "del_member": ("leave", "QuitScene")}


def members_changed(payload: Payload) -> None:
    """Keep a record of members joining or leaving a group (add_member / del_member) with the event's scene, once
    per event: the member rows say who is in a group, only these events say how many left of their own accord."""
    kind, scene_field = MEMBER_CHANGES.get(payload.get("UpdateDetail") or "", (None, None))
    if kind is None:
        return
    members = payload.get("MemChangeList") or []
    count = int(payload.get("MemChangeCnt") or 0) or (len(members) if isinstance(members, list) else 1)
    scene = str(payload.get(scene_field) or "")
    db.session.execute(upsert_ignore(GroupMemberChange, dict(
        inbox_id=payload["_inbox_id"], chat_id=payload["ChatId"], kind=kind, members=count,
        scene=int(scene) if scene.isdigit() else None,
        occurred_at=from_epoch(payload.get("CreateTime")) or utcnow()), ["inbox_id"]))


def corp_tags_changed(payload: Payload) -> None:  # noqa: ARG001 (the whole list is cheap and exact)
    sync_corp_tags(gateway(), utcnow())
