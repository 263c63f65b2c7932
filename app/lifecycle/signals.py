"""A signal moves its customers at once: an order or event stored, a group joined, a relation added or ended.

Called in the transaction that stored the signal (the order API and import, the events API, the callback handlers
listed in app/callbacks.py), so the stage and its movement commit with it. The customers' stages are computed by
the same SQL as the daily run, for just them, as of today; their owed tags are written by the job `lifecycle.tags`
(every minute). A signal switched off in the settings moves nobody.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import update

from app.core import settings
from app.extensions import db
from app.lifecycle import config, movements
from app.lifecycle.models import LOST, CustomerStage, StageMovement
from app.lifecycle.stages import stages_of, window
from app.wecom.handlers import Payload

CHUNK = 500
ALWAYS = ("relation",)  # a relation added or ended decides 已流失 whatever the signals


def refresh(external_userids: Iterable[str | None], cause: str, remark: bool = False) -> list[StageMovement]:
    """Recompute the stages of these customers now, in the caller's transaction; `remark`: a relation may be new, so
    their tag is owed even where the stage did not change (the marking skips relations that carry it)."""
    ids = sorted({e for e in external_userids if e})
    current = config.current()
    if not ids or (cause not in ALWAYS and not current["signals"].get(cause, True)):
        return []
    zone = settings.corp_timezone()
    win = window(datetime.now(zone).date(), current["thresholds"], zone)
    moved = []
    for start in range(0, len(ids), CHUNK):
        moved += movements.move_many(stages_of(current, win, ids[start:start + CHUNK]), cause)
    if remark:
        db.session.execute(update(CustomerStage).where(CustomerStage.external_userid.in_(ids),
                                                       CustomerStage.stage != LOST, CustomerStage.mark_state == "done")
                           .values(mark_state="pending"), execution_options={"synchronize_session": False})
    return moved


def orders_stored(external_userids: Iterable[str | None]) -> None:
    """app/rfm/ingest.py, after a batch of orders (API, import): their customers, active again if they paid."""
    refresh(external_userids, "order")


def events_stored(external_userids: Iterable[str]) -> None:
    refresh(external_userids, "event")


# Callback handlers (rows in app/callbacks.py), each after the contacts handler that stored the change.
def contact_added(payload: Payload) -> None:
    """A customer added a staff member (or was re-added): a new relation, so no longer 已流失, and its tag owed."""
    cause = "added" if config.current()["signals"].get("added") else "relation"
    refresh([payload.get("ExternalUserID")], cause, remark=True)


def relation_ended(payload: Payload) -> None:
    """Either side deleted the other: the last relation gone is 已流失."""
    refresh([payload.get("ExternalUserID")], "relation")


def archiving_approved(payload: Payload) -> None:
    refresh([payload.get("ExternalUserID")], "consent")


def group_joined(payload: Payload) -> None:
    """Customers joined a group (add_member): the members' join times are stored by contacts.group_changed."""
    if payload.get("UpdateDetail") != "add_member":
        return
    members = payload.get("MemChangeList") or []
    refresh(members if isinstance(members, list) else [members], "group_join")
