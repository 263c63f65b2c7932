"""The one way tags go on and come off customers: WeCom's mark_tag, one call per follow relation, within the budget.

Every caller (bulk tagging, the RFM write-back, rule tags, a new customer's channel tags) hands `mark` the tags to
add and remove per relation. Changes for the same relation are merged into one call. Calls go through the gateway's
bulk lane (a share of each window of WeCom's budget) or, for a customer waiting right now, the interactive lane.
After each batch of calls, one transaction writes what WeCom confirmed to the local copy (`FollowRelation.tag_ids`),
one audit row, and whatever the caller keeps per result (`on_batch`): the local copy never holds a tag WeCom did
not take. WeCom's answers mean the same for every caller:

- busy or unreachable (-1, 45033, network): already retried with backoff by the gateway; then RETRY, still owed;
- rate (our budget used up, or 45009) or credentials refused: nothing more is sent; this and the rest DEFERRED;
- 84061, the relation is gone in WeCom: GONE, ended in the local copy so that no one plans it again;
- any other refusal (an unknown tag, no permission): FAILED, with WeCom's code, not retried here.

A relation whose staff member left the company (removed from the directory, or WeCom status 5) is not sent at all:
WeCom would only answer 60111 for them. It is SKIPPED, which is neither a failure nor owed (the customers of a
member who left wait for 继承, and the new relation is marked like any other).

Callers that plan from the local copy (the RFM write-back, rule tags) try anything not DONE again on their next run.
"""
from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Iterable, Iterator

from sqlalchemy import or_, select, tuple_

from app.contacts.customers import ENDED_BY_STAFF, end_relation, update_lost
from app.contacts.models import FollowRelation, Staff
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.wecom import connection
from app.wecom.errors import (WeComAuthError, WeComBusy, WeComError, WeComNetworkError, WeComNotFriend,
                              WeComRateLimited)

BATCH = 100  # calls per committed batch
GONE_SOURCE = "mark_tag"  # FollowRelation.end_source of a relation WeCom answered 84061 for


class Lane(str, Enum):
    BULK = "bulk"                # only the bulk share of WeCom's budget; interactive calls always find some left
    INTERACTIVE = "interactive"  # a customer waiting now (a channel's tags on a new customer): never behind bulk work


class Outcome(str, Enum):
    DONE = "done"
    RETRY = "retry"
    DEFERRED = "deferred"
    GONE = "gone"
    FAILED = "failed"
    SKIPPED = "skipped"


OWED = (Outcome.RETRY, Outcome.DEFERRED)  # worth sending again soon
SETTLED = (Outcome.DONE, Outcome.GONE, Outcome.SKIPPED)  # nothing more to do for the relation
NOT_FAILED = (Outcome.DONE, Outcome.SKIPPED)  # the audit's failures: a relation WeCom refused or no longer has
LEFT_STATUS = 5  # WeCom's member status 退出企业
STAFF_LEFT = N_("员工已离职，未调用企业微信")  # the reason of every SKIPPED result, translated where shown


@dataclass(frozen=True)
class Change:
    """Tags to add to and remove from one follow relation."""

    userid: str
    external_userid: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    @property
    def relation(self) -> tuple[str, str]:
        return self.userid, self.external_userid


@dataclass(frozen=True)
class Result:
    """What became of one relation's change; `error` reads the same whichever caller asked."""

    change: Change
    outcome: Outcome
    error: str = ""
    errcode: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.DONE


class Owed(Exception):
    """Raised by a caller that keeps no owed marks of its own (a callback handler): its whole step is retried."""

    def __init__(self, result: Result):
        super().__init__(f"{result.change.userid}/{result.change.external_userid}: {result.error}")
        self.result = result


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    stopped: str | None = None  # why the rest was not sent (budget, 45009, credentials)


def merged(changes: Iterable[Change]) -> list[Change]:
    """One change per relation, in first-seen order; a tag both added and removed for a relation is a caller's bug."""
    adds: dict[tuple[str, str], dict[str, None]] = {}
    removes: dict[tuple[str, str], dict[str, None]] = {}
    for change in changes:
        adds.setdefault(change.relation, {}).update(dict.fromkeys(change.add))
        removes.setdefault(change.relation, {}).update(dict.fromkeys(change.remove))
    result = []
    for relation, add in adds.items():
        if clash := set(add) & set(removes[relation]):
            raise ValueError(f"tags both added and removed for {relation}: {sorted(clash)}")
        if add or removes[relation]:
            result.append(Change(*relation, tuple(add), tuple(removes[relation])))
    return result


def departed(userids: Iterable[str]) -> set[str]:
    """The staff members among `userids` who left the company: removed from the directory, or WeCom status 5."""
    wanted = sorted(set(userids))
    found: set[str] = set()
    for start in range(0, len(wanted), 900):
        found.update(db.session.scalars(select(Staff.userid).where(
            Staff.userid.in_(wanted[start:start + 900]),
            or_(Staff.removed_at.is_not(None), Staff.status == LEFT_STATUS))))
    return found


def describe(exc: WeComError) -> str:
    """How a WeCom error reads wherever a mark is reported."""
    return exc.message if exc.errcode is None else f"{exc.message}（错误码 {exc.errcode}）"


def outcome_of(exc: WeComError) -> Outcome:
    """What a WeCom error means for a mark, the same for every caller (see the module's docstring)."""
    if isinstance(exc, (WeComRateLimited, WeComAuthError)):
        return Outcome.DEFERRED
    if isinstance(exc, WeComNotFriend):
        return Outcome.GONE
    if isinstance(exc, (WeComBusy, WeComNetworkError)) or exc.errcode is None:
        return Outcome.RETRY
    return Outcome.FAILED


def _send(gw, batch: list[Change], left: set[str]) -> tuple[list[Result], str | None]:
    """Each change's result; after a refusal that stops the run, the rest of the batch is DEFERRED unsent; relations
    of members who left are SKIPPED unsent."""
    results, stopped = [], None
    for change in batch:
        if change.userid in left:
            results.append(Result(change, Outcome.SKIPPED, STAFF_LEFT))
            continue
        if stopped:
            results.append(Result(change, Outcome.DEFERRED, stopped))
            continue
        try:
            gw.mark_tag(change.userid, change.external_userid, add_tag=list(change.add),
                        remove_tag=list(change.remove))
        except WeComError as exc:
            outcome = outcome_of(exc)
            if outcome is Outcome.DEFERRED:
                stopped = describe(exc)
            results.append(Result(change, outcome, describe(exc), exc.errcode))
        else:
            results.append(Result(change, Outcome.DONE))
    return results, stopped


def _batches(changes: list[Change]) -> Iterator[list[Change]]:
    """About BATCH changes each; the changes of one customer (adjacent, as callers list them) stay together, so
    `on_batch` sees each customer whole."""
    batch: list[Change] = []
    for change in changes:
        if len(batch) >= BATCH and change.external_userid != batch[-1].external_userid:
            yield batch
            batch = []
        batch.append(change)
    if batch:
        yield batch


def _write(results: list[Result], action: str, details: dict) -> None:
    """The local copy of what WeCom confirmed, relations WeCom no longer has ended, and the batch's audit row."""
    confirmed = {r.change.relation: r.change for r in results if r.ok}
    if confirmed:
        for relation in db.session.scalars(select(FollowRelation).where(
                tuple_(FollowRelation.userid, FollowRelation.external_userid).in_(list(confirmed)))):
            change = confirmed[(relation.userid, relation.external_userid)]
            relation.tag_ids = sorted((set(relation.tag_ids or ()) - set(change.remove)) | set(change.add))
    gone = [r.change.relation for r in results if r.outcome is Outcome.GONE]
    if gone:
        now = utcnow()
        for userid, external_userid in gone:
            end_relation(userid, external_userid, ENDED_BY_STAFF, now, GONE_SOURCE)
        update_lost(now, sorted({ext for _, ext in gone}))
    failed = {r.change.external_userid for r in results if r.outcome not in NOT_FAILED}
    customers = {r.change.external_userid for r in results}
    outcomes = {o.value: n for o in Outcome if (n := sum(r.outcome is o for r in results))}
    errors = Counter(r.error for r in results if r.outcome not in NOT_FAILED)
    record(action, target=",".join(sorted(customers)[:5])[:256],  # the audit target holds 256 characters
           details={**details, "relations": len(results), "outcomes": outcomes, "customers": len(customers),
                    "ok": len(customers - failed), "failed": sorted(failed)[:100],
                    "errors": dict(errors.most_common(10))})


def mark(changes: Iterable[Change], action: str, *, lane: Lane = Lane.BULK, details: dict | None = None,
         on_batch: Callable[[list[Result]], None] | None = None, commit: bool = True) -> Report:
    """Send the changes to WeCom, a batch at a time, and keep what it confirmed; returns every relation's result.

    `action` is the audit action (one row per batch, `details` merged in); `on_batch(results)` runs in the batch's
    transaction for the caller's own bookkeeping. With `commit=False` the writes join the caller's transaction (a
    callback handler's, committed with the event's state). Raises NotConfigured without WeCom credentials."""
    changes = merged(changes)
    report = Report()
    if not changes:
        return report
    gw = connection.gateway(bulk=lane is Lane.BULK)
    left = departed(c.userid for c in changes)
    for batch in _batches(changes):
        if report.stopped:  # nothing more is sent, so nothing more is written
            report.results += [Result(c, Outcome.DEFERRED, report.stopped) for c in batch]
            continue
        results, report.stopped = _send(gw, batch, left)
        with transaction() if commit else nullcontext():
            _write(results, action, details or {})
            if on_batch:
                on_batch(results)
        report.results += results
    return report
