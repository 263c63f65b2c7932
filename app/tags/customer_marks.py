"""Marking customers whose own rows keep the mark state (RFM scores, lifecycle stages), a chunk of customers at a
time: each current follow relation gets the changes its customer's row asks for, and a row is settled once every
relation has WeCom's answer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select

from app.contacts.models import FollowRelation
from app.core.db import transaction, utcnow
from app.extensions import db
from app.tags import marking
from app.tags.marking import Outcome


@dataclass
class Chunk:
    settled: int          # rows settled (not left owed by a stop)
    deferred: int         # rows of the stopping batch left owed
    stopped: str | None   # why marking stopped (WeCom's budget, 45009), if it did


def write_chunk(model, chunk: list[str], changes: Callable[[object, list[str]], tuple[list[str], list[str]]],
                settle: Callable[[object, list[marking.Result]], str], action: str, counts: dict[str, int]) -> Chunk:
    """Mark the chunk's customers (rows of `model`, keyed by external_userid, with mark_state and updated_at):
    `changes(row, relation_tags)` is (add, remove) for one relation; `settle(row, results)` the row's new mark state
    once every relation has an answer (none needed: settled at once; no relation: no_staff). `counts` counts the
    rows by their new state; `action` is the audit action of the marks."""
    with transaction():
        relations: dict[str, list[FollowRelation]] = {}
        for relation in db.session.scalars(select(FollowRelation).where(
                FollowRelation.external_userid.in_(chunk), FollowRelation.ended_at.is_(None))
                .order_by(FollowRelation.external_userid, FollowRelation.userid)):
            relations.setdefault(relation.external_userid, []).append(relation)
        owed = []
        for row in db.session.scalars(select(model).where(model.external_userid.in_(chunk))
                                      .order_by(model.external_userid)):
            mine = [marking.Change(r.userid, row.external_userid, tuple(add), tuple(remove))
                    for r in relations.get(row.external_userid, [])
                    for add, remove in [changes(row, r.tag_ids or [])] if add or remove]
            owed += mine
            if not mine:  # WeCom carries it already on every relation, or there is none to carry it
                if row.external_userid in relations:
                    row.mark_state = settle(row, [])
                else:
                    row.mark_state, row.updated_at = "no_staff", utcnow()
                counts[row.mark_state] += 1
    out = Chunk(len(chunk) - len({c.external_userid for c in owed}), 0, None)

    def on_batch(results: list[marking.Result]) -> None:
        by_customer: dict[str, list[marking.Result]] = {}
        for result in results:
            by_customer.setdefault(result.change.external_userid, []).append(result)
        for row in db.session.scalars(select(model).where(model.external_userid.in_(list(by_customer)))):
            mine = by_customer[row.external_userid]
            if any(r.outcome is Outcome.DEFERRED for r in mine):
                out.deferred += 1
                continue  # not reached before the stop: stays owed (the relations marked so far are kept)
            row.mark_state = settle(row, mine)
            counts[row.mark_state] += 1
            out.settled += 1

    out.stopped = marking.mark(owed, action, on_batch=on_batch).stopped
    return out
