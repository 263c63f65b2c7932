"""Stages written to WeCom as corp tags in the group 「生命周期」, only for customers whose stage WeCom lacks.

A customer is owed a mark when their stage changed (`mark_state` pending, set wherever the stage moves) or a new
relation may lack the tag (a re-added customer). Each current relation gets the stage's tag and loses any other tag
of the group, one mark_tag call per relation that needs one, through app/tags/marking.py in the bulk lane. Only when
every relation took it does `tagged_stage` move; otherwise the row is `failed` with the error and tried again by
the next daily run. 已流失 has no tag: a customer without a relation has nothing to carry it.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import select

from app.contacts.models import FollowRelation
from app.core.db import transaction, utcnow
from app.extensions import db
from app.lifecycle.config import STAGE_LABELS
from app.lifecycle.models import ACTIVE, DEEP_DORMANT, DORMANT, WARNING, CustomerStage
from app.tags import marking
from app.tags.managed import ensure_groups
from app.tags.marking import Outcome
from app.tags.read_only import LIFECYCLE_GROUP
from app.wecom.connection import NotConfigured, gateway
from app.wecom.errors import WeComError

TAGGED = (ACTIVE, WARNING, DORMANT, DEEP_DORMANT)
BATCH = 100
PASSES = 3  # a run picks up customers moved while it ran, a few times over, then leaves them to the next run


def ensure_tags() -> dict[str, str]:
    """stage -> tag id in WeCom's 「生命周期」 group (created with its tags when missing)."""
    return ensure_groups(gateway(bulk=True), [(LIFECYCLE_GROUP, {s: STAGE_LABELS[s] for s in TAGGED})])[0]


def changes(stage: str, relation_tags: list[str], ids: dict[str, str]) -> tuple[list[str], list[str]]:
    """(add, remove) for one relation: the stage's tag in when missing, every other tag of the group out."""
    have, wanted = set(relation_tags), ids.get(stage)
    return ([wanted] if wanted and wanted not in have else []), sorted((set(ids.values()) & have) - {wanted})


def _settle(row: CustomerStage, results: list[marking.Result]) -> None:
    errors = [f"{r.change.userid}: {r.error}" for r in results if r.outcome not in marking.SETTLED]
    row.updated_at = utcnow()
    if errors:
        row.mark_state, row.mark_error = "failed", "；".join(errors)[:2000]
    else:
        row.mark_state, row.mark_error, row.tagged_stage = "done", None, row.stage


def _write_chunk(chunk: list[str], ids: dict[str, str], counts: dict[str, int]) -> str | None:
    """Mark one chunk of customers; returns why marking stopped (WeCom's budget, 45009), if it did."""
    with transaction():
        relations: dict[str, list[FollowRelation]] = {}
        for relation in db.session.scalars(select(FollowRelation).where(
                FollowRelation.external_userid.in_(chunk), FollowRelation.ended_at.is_(None))
                .order_by(FollowRelation.external_userid, FollowRelation.userid)):
            relations.setdefault(relation.external_userid, []).append(relation)
        owed = []
        for row in db.session.scalars(select(CustomerStage).where(CustomerStage.external_userid.in_(chunk))
                                      .order_by(CustomerStage.external_userid)):
            mine = [marking.Change(r.userid, row.external_userid, tuple(add), tuple(remove))
                    for r in relations.get(row.external_userid, [])
                    for add, remove in [changes(row.stage, r.tag_ids or [], ids)] if add or remove]
            owed += mine
            if not mine:  # WeCom carries it already on every relation, or there is none to carry it
                if row.external_userid in relations:
                    _settle(row, [])
                else:
                    row.mark_state, row.updated_at = "no_staff", utcnow()
                counts[row.mark_state] += 1

    def settle(results: list[marking.Result]) -> None:
        by_customer: dict[str, list[marking.Result]] = {}
        for result in results:
            by_customer.setdefault(result.change.external_userid, []).append(result)
        for row in db.session.scalars(select(CustomerStage).where(
                CustomerStage.external_userid.in_(list(by_customer)))):
            mine = by_customer[row.external_userid]
            if any(r.outcome is Outcome.DEFERRED for r in mine):
                counts["deferred"] += 1
                continue  # not reached before the stop: stays owed
            _settle(row, mine)
            counts[row.mark_state] += 1

    return marking.mark(owed, "lifecycle.tags_marked", on_batch=settle).stopped


def owed(states: tuple[str, ...], seen: set[str]) -> list[str]:
    return [key for key in db.session.scalars(select(CustomerStage.external_userid).where(
        CustomerStage.mark_state.in_(states)).order_by(CustomerStage.external_userid)) if key not in seen]


def write_tags(retry_failed: bool,
               progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, int], str | None]:
    """Mark every owed customer (pending ones, and failed ones when `retry_failed`), a committed batch at a time.
    Returns counts (done / failed / no_staff / deferred) and the problem that stopped it, if any."""
    counts = {"done": 0, "failed": 0, "no_staff": 0, "deferred": 0}
    seen: set[str] = set()
    keys = owed(("pending", "failed") if retry_failed else ("pending",), seen)
    if not keys:
        return counts, None  # nothing owed: no reason to call WeCom
    try:
        ids = ensure_tags()
    except (NotConfigured, WeComError) as exc:
        return counts, f"生命周期标签未写入企业微信（稍后重试）：{exc}"
    for _ in range(PASSES):
        for start in range(0, len(keys), BATCH):
            stopped = _write_chunk(keys[start:start + BATCH], ids, counts)
            if progress:
                progress(min(start + BATCH, len(keys)), len(keys))
            if stopped:
                return counts, f"{stopped}：已停止写入，其余客户的生命周期标签稍后补写"
        seen.update(keys)
        keys = owed(("pending",), seen)
        if not keys:
            break
    return counts, None


def run_job(job, started_by: str, retry_failed: bool = True) -> dict:  # noqa: ARG001 (kept in the job's args)
    """The job `lifecycle.tags`: after each daily recompute (failed marks retried) and every minute (new moves)."""
    counts, problem = write_tags(retry_failed, lambda done, total: job.progress(done, total))
    return {**counts, "problem": problem}
