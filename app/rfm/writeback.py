"""RFM segment and class written to WeCom as corp tags, only for customers whose tags are not yet right.

Two tag groups, 「RFM分层」 and 「RFM八类」, tags named by the Chinese labels, created when missing. A customer whose
stored segment/class differs from what WeCom is known to carry (`tagged_*`), or one of whose relations lacks
the tags (a staff member who started following later), is re-marked on every follow relation: the old tag of the changed dimension removed, the new one added. Only when every relation took the
mark does `tagged_*` move; otherwise the row stays `failed` with the error and is tried again next run. The marks
go through app/tags/marking.py in the bulk lane: when its share of WeCom's budget is used up (or WeCom refuses with
45009), the stage stops cleanly, and the customers not reached keep their state for the next run.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import func, select, text

from app.core.db import transaction, utcnow
from app.extensions import db
from app.rfm.models import CustomerRfmScore, RfmRun
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from app.tags import customer_marks, marking
from app.tags.managed import ensure_groups
from app.tags.read_only import CLASS_GROUP, SEGMENT_GROUP
from app.wecom.connection import NotConfigured, gateway
from app.wecom.errors import WeComError
from app.wecom.gateway import WeComGateway

TAG_GROUPS = (("segment", SEGMENT_GROUP, SEGMENT_LABELS), ("class8", CLASS_GROUP, CLASS_LABELS))
OPEN_STATES = ("pending", "failed", "no_staff")
BATCH = 100
BULK_WORK_MEM = "SET LOCAL work_mem = '256MB'"  # PostgreSQL: joins and groups of every customer stay in memory

TagIds = dict[str, dict[str, str]]  # dimension -> key -> tag_id


def ensure_tags(gw: WeComGateway) -> TagIds:
    """The tag id of every segment and class, creating the groups and any missing tag in WeCom."""
    ids = ensure_groups(gw, [(group_name, labels) for _dimension, group_name, labels in TAG_GROUPS])
    return {dimension: tag_ids for (dimension, _name, _labels), tag_ids in zip(TAG_GROUPS, ids)}


def _changes(row: CustomerRfmScore, relation_tags: list[str], ids: TagIds) -> tuple[list[str], list[str]]:
    """(add, remove) for one relation, per dimension: when the value changed or the relation lacks its tag (a staff
    member who started following later), the new tag in, the old one and any other tag of the group out."""
    add, remove = [], []
    have = set(relation_tags)
    for dimension, wanted, tagged in (("segment", row.segment, row.tagged_segment),
                                      ("class8", row.class8, row.tagged_class8)):
        new = ids[dimension].get(wanted) if wanted else None
        stray = (set(ids[dimension].values()) & have) - {new}
        if wanted == tagged and (new is None or new in have) and not stray:
            continue
        old = {ids[dimension][tagged]} if tagged in ids[dimension] else set()
        if new:
            add.append(new)
        remove.extend(sorted((old | stray) - {new}))
    return add, remove


def customers_to_mark(ids: TagIds) -> list[str]:
    """The tag diff: customers whose stored segment/class WeCom does not carry yet, and those marked before one of
    whose relations lacks the tags; sorted."""
    owed = set(db.session.scalars(select(CustomerRfmScore.external_userid)
                                  .where(CustomerRfmScore.mark_state.in_(OPEN_STATES))))
    return sorted(owed | _drifted(ids))


# "relation r carries both tags {segment} and {class8}" in each database's JSON functions (tag_ids is a JSON array)
_CARRIES = {"postgresql": "r.tag_ids::jsonb @> jsonb_build_array({segment}, {class8})",
            "sqlite": "EXISTS (SELECT 1 FROM json_each(r.tag_ids) WHERE json_each.value = {segment}) AND "
                      "EXISTS (SELECT 1 FROM json_each(r.tag_ids) WHERE json_each.value = {class8})"}


def _drifted(ids: TagIds) -> set[str]:
    """Customers marked before, one of whose current relations (of a member still in the company: marking skips the
    others) lacks their tags (as far as the local copy knows);
    found by the database in one join, the tag of each key from a small table of the ids (a tagged key without a
    tag id counts as lacking)."""
    params, tag_tables = {}, {}
    for dimension in ("segment", "class8"):
        rows = []
        for i, (key, tag_id) in enumerate(ids[dimension].items()):
            params[f"{dimension}_key{i}"], params[f"{dimension}_tag{i}"] = key, tag_id
            rows.append(f"SELECT :{dimension}_key{i} AS tagged, :{dimension}_tag{i} AS tag_id")
        tag_tables[dimension] = " UNION ALL ".join(rows)
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":  # for the rest of the caller's transaction
        db.session.execute(text(BULK_WORK_MEM))
    carries = _CARRIES[dialect].format(segment="st.tag_id", class8="ct.tag_id")
    sql = ("SELECT DISTINCT s.external_userid FROM customer_rfm_scores s JOIN follow_relations r "
           f"ON r.external_userid = s.external_userid LEFT JOIN ({tag_tables['segment']}) st "
           f"ON st.tagged = s.tagged_segment LEFT JOIN ({tag_tables['class8']}) ct ON ct.tagged = s.tagged_class8 "
           "LEFT JOIN staff m ON m.userid = r.userid "
           f"WHERE s.mark_state = 'done' AND r.ended_at IS NULL AND s.tagged_segment IS NOT NULL AND NOT ({carries}) "
           f"AND (m.userid IS NULL OR (m.removed_at IS NULL AND m.status <> {marking.LEFT_STATUS}))")
    return set(db.session.scalars(text(sql), params))


def _settle(row: CustomerRfmScore, results: list[marking.Result]) -> str:
    """A customer's new mark state once every relation's mark has an answer (a relation WeCom no longer has needs
    none); the stored segment/class move only when none failed."""
    row.mark_attempts += 1
    row.updated_at = utcnow()
    errors = [f"{r.change.userid}: {r.error}" for r in results if r.outcome not in marking.SETTLED]
    if errors:
        row.mark_error = "；".join(errors)[:2000]
        return "failed"
    row.tagged_segment, row.tagged_class8, row.mark_error = row.segment, row.class8, None
    return "done"


def _write_chunk(chunk: list[str], ids: TagIds, counts: dict[str, int]) -> tuple[int, str | None]:
    """Mark one chunk of customers; returns how many are settled (not left owed by a stop) and why it stopped."""
    out = customer_marks.write_chunk(CustomerRfmScore, chunk, lambda row, tags: _changes(row, tags, ids), _settle,
                                     "rfm.tags_marked", counts)
    return out.settled, out.stopped


def write_tags(run_id: int, tick: Callable[[RfmRun], None]) -> tuple[dict[str, int], str | None]:
    """Re-mark every customer whose tags are not right yet, a committed batch at a time.

    Returns counts (done / failed / no_staff / skipped) and the problem that stopped the stage, if any."""
    counts = {"done": 0, "failed": 0, "no_staff": 0, "skipped": 0}
    if db.session.scalar(select(CustomerRfmScore.external_userid).limit(1)) is None:
        return counts, None  # nobody scored yet: no reason to call WeCom
    try:
        ids = ensure_tags(gateway(bulk=True))
    except (NotConfigured, WeComError) as exc:
        counts["skipped"] = db.session.scalar(select(func.count()).select_from(CustomerRfmScore)
                                              .where(CustomerRfmScore.mark_state.in_(OPEN_STATES)))
        return counts, (f"标签未写入企业微信（下次重算时补写）：{exc}" if counts["skipped"] else None)
    keys = customers_to_mark(ids)
    with transaction():
        run = db.session.get(RfmRun, run_id)
        run.done, run.total = 0, len(keys)
    for start in range(0, len(keys), BATCH):
        settled, stopped = _write_chunk(keys[start:start + BATCH], ids, counts)
        with transaction():
            run = db.session.get(RfmRun, run_id)
            run.done = start + settled
            tick(run)
        if stopped:
            return counts, _deferred(len(keys) - run.done, stopped)
    return counts, None


def _deferred(owed: int, stopped: str) -> str:
    """Why the stage stopped early: bulk work took its share of WeCom's budget (or WeCom blocked mark_tag); the
    owed customers keep their state and are marked by the next run."""
    return f"{stopped}：已停止写入，其余 {owed} 位客户的标签在下次重算时补写"
