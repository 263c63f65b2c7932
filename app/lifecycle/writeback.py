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

from app.core.db import utcnow
from app.extensions import db
from app.lifecycle.config import STAGE_LABELS
from app.lifecycle.models import ACTIVE, DEEP_DORMANT, DORMANT, WARNING, CustomerStage
from app.tags import customer_marks, marking
from app.tags.managed import ensure_groups
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


def _settle(row: CustomerStage, results: list[marking.Result]) -> str:
    """The customer's new mark state once every relation's mark has an answer; the tagged stage moves only when
    none failed."""
    errors = [f"{r.change.userid}: {r.error}" for r in results if r.outcome not in marking.SETTLED]
    row.updated_at = utcnow()
    if errors:
        row.mark_error = "；".join(errors)[:2000]
        return "failed"
    row.mark_error, row.tagged_stage = None, row.stage
    return "done"


def _write_chunk(chunk: list[str], ids: dict[str, str], counts: dict[str, int]) -> str | None:
    """Mark one chunk of customers; returns why marking stopped (WeCom's budget, 45009), if it did."""
    out = customer_marks.write_chunk(CustomerStage, chunk, lambda row, tags: changes(row.stage, tags, ids), _settle,
                                     "lifecycle.tags_marked", counts)
    counts["deferred"] += out.deferred
    return out.stopped


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
