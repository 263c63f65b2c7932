"""Rule-based tags: each enabled rule's segment says who should carry its tag; only the differences are marked.

The desired set (the segment's members) is compared with the customers whose current follow relations carry the
tag in the local copy: a relation of a member without the tag gets it (mark_tag add), a relation of a non-member
with the tag loses it (mark_tag remove). Every rule's change of one relation goes to WeCom in one call (WeCom has
no batch mark), through app/tags/marking.py. Only a mark WeCom took changes the local copy; a refused one is kept
in `tag_rule_failures` with its error and, since the local copy still differs, is planned and tried again on the
next run. The same shape as app/rfm/writeback.py for a different question: which customers a rule selects rather
than RFM's cells.

`follow_recompute()` runs after every RFM recompute (nightly, the RFM page, the CLI); the tags page starts `execute`
in the background. Each evaluation first gives orders that came with only a unionid or a mobile their customer, so
an order matched after it was imported counts at the next evaluation.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

from sqlalchemy import delete, select

from app import jobs
from app.contacts.contact_list import has_tag
from app.contacts.models import Customer, FollowRelation
from app.core import job_runs
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.job_runs import FAILED, PARTIAL, RUNNING, SUCCEEDED
from app.core.permissions import N_
from app.extensions import db
from app.rfm.matching import match_orders
from app.segments.service import RuleError, member_ids
from app.tags import marking
from app.tags.marking import Change, Outcome
from app.tags.models import CorpTag, TagRule, TagRuleFailure, TagRuleRun

log = logging.getLogger("scrm.tags.rules")

STATUS_LABELS = {RUNNING: N_("进行中"), SUCCEEDED: N_("成功"), PARTIAL: N_("完成，部分标记失败（下次重试）"),
                 FAILED: N_("失败")}
CHUNK = 500


class RulesBusy(UserError):
    """Another evaluation is running right now, or there is no enabled rule to run."""


@dataclass(frozen=True)
class Mark:
    """One rule's tag owed to (or by) one follow relation."""

    userid: str
    external_userid: str
    action: str  # add or remove


@dataclass
class Plan:
    rule_id: int
    tag_id: str
    members: int
    marks: list[Mark]
    error: str | None = None


def differences(desired: set[str], relations: Iterable[tuple[str, str, bool]]) -> list[Mark]:
    """Marks that make the relations (userid, external_userid, carries the tag) match the desired customers."""
    marks = []
    for userid, ext, carries in relations:
        if (ext in desired) != carries:
            marks.append(Mark(userid, ext, "remove" if carries else "add"))
    return marks


def _relations(tag_id: str, desired: set[str]) -> list[tuple[str, str, bool]]:
    """Current relations that carry the tag, and those of desired customers (with whether they carry it)."""
    cols = (FollowRelation.id, FollowRelation.userid, FollowRelation.external_userid, FollowRelation.tag_ids)
    found = {}
    for row in db.session.execute(select(*cols).where(FollowRelation.ended_at.is_(None), has_tag(tag_id))):
        found[row.id] = row
    wanted = sorted(desired)
    for start in range(0, len(wanted), CHUNK):
        for row in db.session.execute(select(*cols).where(FollowRelation.ended_at.is_(None),
                                                          FollowRelation.external_userid.in_(wanted[start:start + CHUNK]))):
            found[row.id] = row
    return [(r.userid, r.external_userid, tag_id in (r.tag_ids or ())) for r in found.values()]


def plan(rule: TagRule) -> Plan:
    """What one rule needs marked now, or why it cannot run."""
    alive = db.session.scalar(select(CorpTag.id).where(CorpTag.tag_id == rule.tag_id, CorpTag.deleted_at.is_(None)))
    if alive is None:
        return Plan(rule.id, rule.tag_id, 0, [], "规则维护的标签已在企业微信中删除：请为规则另选标签")
    try:
        members = member_ids(rule.rule).subquery()
        desired = set(db.session.scalars(select(Customer.external_userid).join(
            members, members.c.customer_id == Customer.id)))
    except RuleError as exc:
        return Plan(rule.id, rule.tag_id, 0, [], f"规则无法计算：{exc}")
    return Plan(rule.id, rule.tag_id, len(desired), differences(desired, _relations(rule.tag_id, desired)))


def _owed(rule_id: int, mark: Mark, error: str, failure: TagRuleFailure | None) -> None:
    """Keep (or update) a mark WeCom did not take, shown on the rule's page and planned again next run."""
    if failure is None:
        db.session.add(TagRuleFailure(rule_id=rule_id, userid=mark.userid, action=mark.action,
                                      external_userid=mark.external_userid, error=error))
    else:
        failure.action, failure.error, failure.failed_at = mark.action, error, utcnow()
        failure.attempts += 1


def _finish_rule(p: Plan, counts: Counter) -> None:
    with transaction():
        rule = db.session.get(TagRule, p.rule_id)
        rule.last_run_at, rule.last_error = utcnow(), p.error
        rule.last_result = {"members": p.members, "added": counts["added"], "removed": counts["removed"],
                            "failed": counts["failed"], "skipped": counts["skipped"]}
        if p.error is None:  # owed marks that are no longer planned (done meanwhile, or no longer wanted) go
            planned = {(m.userid, m.external_userid) for m in p.marks}
            for failure in db.session.scalars(select(TagRuleFailure).where(TagRuleFailure.rule_id == p.rule_id)):
                if (failure.userid, failure.external_userid) not in planned:
                    db.session.delete(failure)


def evaluate_rules(progress: Callable[[int, int], None] | None = None) -> dict:
    """Bring every enabled rule's tag in line with its segment; `progress(done, total)` counts the marks.

    All rules' marks of one relation go to WeCom as one call (app/tags/marking.py, bulk lane). Returns counts:
    rules, members, added, removed, failed, broken (rules that could not run), deferred (marks not tried because
    bulk work's share of WeCom's mark_tag budget ran out: the next run plans them again, since the local copy still
    differs), and `stopped`, why it stopped early (None when it did not)."""
    rules = db.session.scalars(select(TagRule).where(TagRule.enabled.is_(True)).order_by(TagRule.id)).all()
    plans = [plan(rule) for rule in rules]
    db.session.rollback()  # nothing written yet: end the read transaction before the calls
    total = sum(len(p.marks) for p in plans)
    wanted: dict[tuple[str, str], list[tuple[Plan, Mark]]] = {}
    changes = []
    for p in plans:
        for m in p.marks:
            wanted.setdefault((m.userid, m.external_userid), []).append((p, m))
            tags = (p.tag_id,)
            changes.append(Change(m.userid, m.external_userid, *((tags, ()) if m.action == "add" else ((), tags))))
    counts: dict[int, Counter] = {p.rule_id: Counter() for p in plans}
    done = 0

    def settle(results: list[marking.Result]) -> None:
        nonlocal done
        failures = {(f.rule_id, f.userid, f.external_userid): f for f in db.session.scalars(select(TagRuleFailure)
                    .where(TagRuleFailure.external_userid.in_({r.change.external_userid for r in results})))}
        for result in results:
            if result.outcome is Outcome.DEFERRED:
                continue
            for p, m in wanted[result.change.relation]:
                done += 1
                failure = failures.get((p.rule_id, m.userid, m.external_userid))
                if result.ok or result.outcome is Outcome.SKIPPED:  # skipped: the member left, nothing owed
                    counts[p.rule_id]["skipped" if not result.ok else "added" if m.action == "add" else "removed"] += 1
                    if failure is not None:
                        db.session.delete(failure)
                else:
                    counts[p.rule_id]["failed"] += 1
                    _owed(p.rule_id, m, result.error, failure)
        if progress:  # commits with the batch
            progress(done, total)

    stopped = marking.mark(changes, "tags.rule_tags_marked", on_batch=settle).stopped
    totals = Counter(rules=len(plans))
    for p in plans:
        _finish_rule(p, counts[p.rule_id])
        totals.update(counts[p.rule_id])
        totals["members"] += p.members
        totals["broken"] += p.error is not None
    if progress:
        progress(done if stopped else total, total)
    result = {k: totals[k] for k in ("rules", "members", "added", "removed", "failed", "skipped", "broken")}
    return {**result, "deferred": total - done, "stopped": stopped}


def latest_run() -> TagRuleRun | None:
    return job_runs.latest(TagRuleRun)


def percent(run: TagRuleRun) -> int:
    if run.status != RUNNING:
        return 100
    return int(100 * run.done / run.total) if run.total else 0


def begin(started_by: str) -> TagRuleRun:
    """A new run; RulesBusy without an enabled rule or while another run is alive (an abandoned one is closed)."""
    require_enabled_rule()
    return job_runs.start(TagRuleRun, "执行被中断", "tags.rules_started", "tag-rules", started_by=started_by, counts={})


def require_enabled_rule() -> None:
    """RulesBusy without an enabled rule (checked before a run is asked for, and when it begins)."""
    if db.session.scalar(select(TagRule.id).where(TagRule.enabled.is_(True)).limit(1)) is None:
        raise RulesBusy(N_("没有启用的规则：请先新建或启用规则"))


def execute(run_id: int, match: bool = True, progress: Callable[[int, int], object] | None = None) -> TagRuleRun:
    """Evaluate all enabled rules under the run's record (progress, counts, the error that stopped it); with `match`,
    orders without a customer are matched first (an RFM recompute has just done it when it calls)."""

    def tick(done: int, total: int) -> None:
        with transaction():
            run = db.session.get(TagRuleRun, run_id)
            run.done, run.total = done, total
        if progress:
            progress(done, total)

    try:
        if match:
            with transaction():
                match_orders()
        counts = evaluate_rules(tick)
    except Exception as exc:  # noqa: BLE001 (the run record says what stopped it)
        log.warning("tag rules run #%s failed: %r", run_id, exc, exc_info=not isinstance(exc, UserError))
        db.session.rollback()
        counts, error = None, str(exc)
    else:
        error = None
    with transaction():
        run = db.session.get(TagRuleRun, run_id)
        run.finished_at = utcnow()
        if counts is None:
            run.status, run.error = FAILED, error
        else:
            stopped = counts.pop("stopped")
            run.counts = counts
            run.status = PARTIAL if counts["failed"] or counts["broken"] or counts["deferred"] else SUCCEEDED
            if stopped:
                run.error = f"{stopped}：已停止，其余 {counts['deferred']} 个标记在下次执行时补上"
        record("tags.rules_evaluated", target=f"tag-rules#{run.id}", details={"status": run.status, **run.counts})
    return run


def follow_recompute(started_by: str) -> None:
    """Call right after an RFM recompute: a job evaluates every enabled rule on the new scores (skipped without one,
    or while a run is waiting or going); a failure is the rule run's own and does not fail the recompute."""
    try:
        require_enabled_rule()
        jobs.enqueue("tags.rules", {"started_by": started_by, "match": False}, requested_by=started_by)
    except UserError as exc:
        log.info("rule tags after the RFM recompute skipped: %s", exc)


def run_job(job, started_by: str, match: bool = True) -> dict:
    """The job `tags.rules` (the 「立即执行」 button, after each RFM recompute)."""
    run = execute(begin(started_by).id, match, lambda done, total: job.progress(done, total))
    return {"run_id": run.id}


def give_up(job) -> None:
    """The job `tags.rules` ended failed or cancelled for good: its run, if still running, fails saying so."""
    job_runs.close(TagRuleRun, job)


def clear_failures(rule_id: int) -> None:
    """The caller's transaction: forget a rule's owed marks (the rule is deleted or now maintains another tag)."""
    db.session.execute(delete(TagRuleFailure).where(TagRuleFailure.rule_id == rule_id))
