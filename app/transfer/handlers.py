"""Callback handlers for transfers: transfer_fail fails the waiting handover (the owner stays), the old member's
del_external_contact with Source=DELETE_BY_TRANSFER completes it (the owner follows)."""
from __future__ import annotations

from sqlalchemy import select

from app.contacts.merge import from_epoch
from app.core.db import utcnow
from app.extensions import db
from app.transfer import limits
from app.transfer.models import CUSTOMER, FAILED, WAITING, TransferItem
from app.transfer.owners import TRANSFER_SOURCE, customer_succeeded
from app.wecom.handlers import Payload


def _waiting(ext: str, **who) -> list[TransferItem]:
    stmt = select(TransferItem).where(TransferItem.target == CUSTOMER, TransferItem.object_id == ext,
                                      TransferItem.status == WAITING)
    for column, value in who.items():
        stmt = stmt.where(getattr(TransferItem, column) == value)
    return list(db.session.scalars(stmt))


def transfer_failed(payload: Payload) -> None:
    """transfer_fail: UserID is the takeover member, FailReason customer_refused or customer_limit_exceed."""
    at = from_epoch(payload.get("CreateTime")) or utcnow()
    reason = limits.FAIL_REASONS.get(str(payload.get("FailReason") or ""), limits.RESULT_REASONS[3])
    for item in _waiting(payload["ExternalUserID"], takeover_userid=payload.get("UserID", "")):
        item.status, item.reason, item.reason_params, item.finished_at = FAILED, reason, {}, at


def handed_over(payload: Payload) -> None:
    """del_external_contact: only a transfer's (Source DELETE_BY_TRANSFER) completes a waiting handover."""
    if payload.get("Source") != TRANSFER_SOURCE:
        return
    at = from_epoch(payload.get("CreateTime")) or utcnow()
    for item in _waiting(payload["ExternalUserID"], handover_userid=payload.get("UserID", "")):
        customer_succeeded(item, at)
