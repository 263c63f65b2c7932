"""Contact ways WeCom made whose answer we never stored (a worker killed between add_contact_way's answer and our
commit, or the answer lost with the connection): each request create_ways left open is settled here, inside the
tick (one at a time, so never beside a create_ways). The ways WeCom lists since the oldest open request are read
and those that are ours (our state prefix and remark) are adopted by the inviter whose state they carry when that
inviter still needs one, else deleted; a request with no way in WeCom is let go, and the next tick asks again."""
from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select

from app.core.audit import record
from app.core.db import utcnow
from app.extensions import db
from app.referral.models import ReferralParticipant, ReferralTask, TaskStatus
from app.referral.rules import parse_state
from app.wecom.connection import gateway
from app.wecom.errors import WeComError

log = logging.getLogger("scrm.referral.reconcile")
GRACE = timedelta(minutes=10)  # far longer than one add_contact_way call may take: an older request is finished
SKEW = timedelta(minutes=5)    # WeCom's clock against ours, at the start of the listing window
GONE = 41044                   # invalid config_id: deleted meanwhile
LIVE = (TaskStatus.SCHEDULED, TaskStatus.RUNNING, TaskStatus.PAUSED)


def remark_for(task_id: int) -> str:
    """The remark of every inviter's contact way: with the state, how a way is known to be ours."""
    return f"任务宝#{task_id}"


def inviter_way(way: dict) -> tuple[int, int] | None:
    """(task id, participant id) of a way (get_contact_way's answer) this console made for an inviter, None for any
    other way; the welcome channels' import leaves these out by it."""
    parsed = parse_state(way.get("state"))
    return parsed if parsed and way.get("remark") == remark_for(parsed[0]) else None


def inviter_config_ids(config_ids: Collection[str]) -> set[str]:
    """Those of `config_ids` that are an inviter's way this console made and holds; the welcome channels' import
    leaves these out without asking WeCom about them (inviter_way recognises the ones lost before they were held)."""
    return set(db.session.scalars(select(ReferralParticipant.config_id).where(
        ReferralParticipant.config_id.in_(config_ids))))


def _adopter(way: dict, task_id: int, participant_id: int) -> ReferralParticipant | None:
    """The inviter the way was made for, when they still need it (no way yet, their task live)."""
    inviter = db.session.get(ReferralParticipant, participant_id)
    if inviter is None or inviter.task_id != task_id or inviter.state != way.get("state") or inviter.config_id:
        return None
    status = db.session.scalar(select(ReferralTask.status).where(ReferralTask.id == task_id))
    return inviter if status in LIVE else None


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def settle(now: datetime | None = None) -> dict:
    """Settle the contact-way requests open for longer than GRACE; what was adopted and deleted. When WeCom fails
    on the way, the requests not settled stay open for the next tick."""
    now = now or utcnow()
    open_ = db.session.scalars(select(ReferralParticipant).where(
        ReferralParticipant.way_requested_at.is_not(None), ReferralParticipant.way_requested_at < now - GRACE)).all()
    if not open_:
        return {}
    adopted, deleted, error = [], [], None
    try:
        _settle_listed(min(p.way_requested_at for p in open_) - SKEW, now, adopted, deleted)
    except WeComError as exc:
        log.warning("referral contact ways not reconciled: %s", exc)
        error = exc.message
    else:
        for inviter in open_:  # no way in WeCom: the request never reached it, or its way was deleted above
            db.session.refresh(inviter)
            inviter.way_requested_at = None
    if adopted or deleted:
        record("referral.ways_reconciled", details={"adopted": adopted, "deleted": deleted})
    db.session.commit()
    return {"ways_adopted": len(adopted), "orphans_deleted": len(deleted),
            **({"reconcile_error": error} if error else {})}


def _settle_listed(since: datetime, now: datetime, adopted: list[str], deleted: list[str]) -> None:
    """Adopt or delete each way of ours WeCom lists from `since` to `now` that no inviter here holds."""
    api = gateway()
    # every page before any deletion: WeCom's cursor is an offset, deleting while paging would skip ways
    listed = [item["config_id"] for item in api.iter_contact_ways(_epoch(since), _epoch(now))]
    known = inviter_config_ids(listed)
    for config_id in (c for c in listed if c not in known):
        try:
            way = api.get_contact_way(config_id)
        except WeComError as exc:
            if exc.errcode == GONE:
                continue
            raise
        ours = inviter_way(way)
        if ours is None:
            continue  # a channel's, or another system's
        inviter = _adopter(way, *ours)
        if inviter is not None:
            inviter.config_id, inviter.qr_code = config_id, way.get("qr_code") or ""
            inviter.way_requested_at = inviter.way_error = None
            adopted.append(way["state"])
        else:
            try:
                api.del_contact_way(config_id)
            except WeComError as exc:
                if exc.errcode != GONE:
                    raise
            deleted.append(way["state"])
        db.session.commit()
