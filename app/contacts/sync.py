"""Full sync runs: stages in order, one committed step at a time, resumable from the stage and cursor stored on the run."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from sqlalchemy import select

from app.contacts.customers import end_unseen, save_contacts, update_lost
from app.contacts.directory import sync_directory
from app.contacts.groups import dismiss, fetch_group, list_group_chats, save_groups
from app.contacts.merge import Counts
from app.contacts.models import CustomerGroup, Staff, SyncRun
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app import jobs
from app.jobs import JobCancelled
from app.tags.sync import sync_corp_tags
from app.wecom.connection import gateway
from app.wecom.errors import WeComError
from app.wecom.gateway import MAX_USERIDS_PER_BATCH, WeComGateway

log = logging.getLogger("scrm.contacts.sync")

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
STATUS_LABELS = {RUNNING: N_("进行中"), SUCCEEDED: N_("成功"), FAILED: N_("失败")}
DONE = "done"
STAGE_LABELS = {"directory": N_("部门与员工"), "tags": N_("企业标签"), "customers": N_("客户与跟进关系"),
                "groups": N_("客户群"), DONE: N_("完成")}
STAGE_SPAN = {"directory": (0, 5), "tags": (5, 10), "customers": (10, 85), "groups": (85, 100)}  # percent
ENTITY_LABELS = {"departments": N_("部门"), "staff": N_("员工"), "tag_groups": N_("标签组"), "tags": N_("标签"),
                 "customers": N_("客户"), "relations": N_("跟进关系"), "groups": N_("客户群"),
                 "group_members": N_("群成员")}
GROUPS_PER_STEP = 50


def percent(run: SyncRun) -> int:
    """Progress of the run, 0..100: the stage's span, advanced by the stage's own done/total."""
    if run.stage == DONE:
        return 100
    low, high = STAGE_SPAN[run.stage]
    total = run.state.get("total") or 0
    return int(low + (high - low) * (run.state.get("done", 0) / total if total else 0))


def interrupted(run: SyncRun) -> bool:
    """The run stopped before its last stage (its process died or was stopped): the next start resumes it."""
    return run.status != SUCCEEDED and run.stage != DONE


def begin(started_by: str) -> SyncRun:
    """Resume the latest interrupted run, or start a new one. Called only by the one-at-a-time job
    `contacts.sync`, so a run still marked running was left by a worker that died: it is resumed.

    A run whose stages failed is not resumed: it went through every stage already, and the new run tries them all
    again, so a stage that keeps failing never keeps the others from running."""
    now = utcnow()
    with transaction():
        latest = db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(1).with_for_update()).first()
        if latest is not None and interrupted(latest):
            run = latest
            run.status, run.attempts, run.finished_at = RUNNING, run.attempts + 1, None
        else:
            run = SyncRun(kind="full", status=RUNNING, stage="directory", state={}, counts={}, errors=[],
                          started_by=started_by, started_at=now)
            db.session.add(run)
            db.session.flush()
        record("contacts.sync_started", target=f"sync#{run.id}", details={"attempt": run.attempts})
    return run


def execute(run_id: int, progress: Callable[[SyncRun], None] | None = None) -> SyncRun:
    """Run the stages from where the run stands, committing after every step.

    A stage that fails is recorded on the run and given up for this run, and the next stage starts: what the failed
    stage would have ended (relations not seen, groups not listed) stays as it was. The run fails if any stage did."""
    try:
        gw = gateway()
    except Exception as exc:
        return _finish_with_error(run_id, exc)
    try:
        while True:
            try:
                with transaction():
                    run = db.session.get(SyncRun, run_id)
                    if run.stage == DONE:
                        failed = any(e.get("attempt") == run.attempts for e in run.errors)
                        run.status, run.finished_at = (FAILED if failed else SUCCEEDED), utcnow()
                        return run
                    STEPS[run.stage](run, gw, utcnow())
            except Exception as exc:
                with transaction():
                    run = db.session.get(SyncRun, run_id)
                    log.warning("sync #%s stage %s failed: %r", run_id, run.stage, exc)
                    _record_error(run, exc)
                    _next_stage(run)
            if progress:
                progress(run)
    except KeyboardInterrupt as exc:
        _finish_with_error(run_id, exc)
        raise


def _record_error(run: SyncRun, exc: BaseException) -> None:
    _add_error(run, _describe(exc), _summarize(exc))


def _add_error(run: SyncRun, message: str, summary: str) -> None:
    run.errors = [*run.errors, {"at": utcnow().isoformat(), "stage": run.stage, "attempt": run.attempts,
                                "message": message, "summary": summary}]


def give_up(job) -> None:
    """The job `contacts.sync` ended failed or cancelled for good (its worker died too often, its time ran out ...):
    the run it drove, if still marked running, fails with the job's end as its error, resumable from its stage."""
    with transaction():
        run = db.session.scalars(select(SyncRun).where(SyncRun.status == RUNNING).order_by(SyncRun.id.desc())
                                 .limit(1).with_for_update()).first()
        if run is not None:
            run.status, run.finished_at = FAILED, utcnow()
            _add_error(run, job.end_note, job.end_note)


def _finish_with_error(run_id: int, exc: BaseException) -> SyncRun:
    """The run stops where it stands (interrupted, or WeCom not configured): failed, resumable from its stage."""
    log.warning("sync #%s stopped: %r", run_id, exc)
    with transaction():
        run = db.session.get(SyncRun, run_id)
        run.status, run.finished_at = FAILED, utcnow()
        _record_error(run, exc)
    return run


def run_job(job, started_by: str) -> dict:
    """The job `contacts.sync` (the start button, the nightly reconcile that catches what callbacks missed, `scrm
    sync`): a run begun or resumed and executed, its progress reported; raises when it failed, failing the job."""
    run = begin(started_by)

    def show(current: SyncRun) -> None:
        job.progress(percent(current), 100, STAGE_LABELS[current.stage], counts=current.counts, run_id=current.id)

    try:
        run = execute(run.id, show)
    except JobCancelled as exc:
        _finish_with_error(run.id, exc)
        raise
    if run.status != SUCCEEDED:
        raise RuntimeError(f"同步 #{run.id} 失败：{'；'.join(e['message'] for e in run.errors)}")
    try:  # groups WeCom opened for a full 群活码 whose join event was missed: adopted from the synced members' state
        jobs.enqueue("community.opened_groups", requested_by=started_by)
    except jobs.JobBusy:
        pass
    return {"run_id": run.id}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "同步被中断"
    if isinstance(exc, JobCancelled):
        return f"同步已停止：{exc.reason}"
    return str(exc) if isinstance(exc, WeComError) else f"{type(exc).__name__}: {exc}"


def _summarize(exc: BaseException) -> str:
    """The short form for the home card: what an operator reads and the code to look up, without WeCom's errmsg."""
    if isinstance(exc, WeComError):
        return f"{exc.message}（错误码 {exc.errcode}）" if exc.errcode is not None else exc.message
    return _describe(exc)


def _add_counts(run: SyncRun, counts: dict[str, Counts]) -> None:
    total = {entity: dict(values) for entity, values in run.counts.items()}
    for entity, c in counts.items():
        slot = total.setdefault(entity, {"added": 0, "changed": 0, "removed": 0})
        slot["added"] += c.added
        slot["changed"] += c.changed
        slot["removed"] += c.removed
    run.counts = total


def _next_stage(run: SyncRun) -> None:
    stages = list(STAGE_SPAN)
    position = stages.index(run.stage) + 1
    run.stage = stages[position] if position < len(stages) else DONE
    run.state = {}


def _directory(run: SyncRun, gw: WeComGateway, now: datetime) -> None:
    _add_counts(run, sync_directory(gw, now))
    _next_stage(run)


def _tags(run: SyncRun, gw: WeComGateway, now: datetime) -> None:
    _add_counts(run, sync_corp_tags(gw, now))
    _next_stage(run)


def _customers(run: SyncRun, gw: WeComGateway, now: datetime) -> None:
    """One page of batch/get_by_user (100 follow users a chain); when all are read, end what was not seen."""
    state = dict(run.state)
    if "userids" not in state:
        userids = sorted(db.session.scalars(select(Staff.userid).where(Staff.is_follow_user,
                                                                       Staff.removed_at.is_(None))))
        state = {"userids": userids, "chunk": 0, "cursor": "", "done": 0, "total": len(userids)}
    start = state["chunk"] * MAX_USERIDS_PER_BATCH
    chunk = state["userids"][start:start + MAX_USERIDS_PER_BATCH]
    if not chunk:
        _add_counts(run, {"relations": Counts(removed=end_unseen(run.id, run.started_at, now)),
                          "customers": update_lost(now)})
        _next_stage(run)
        return
    items, cursor = gw.batch_get_by_user_page(chunk, cursor=state["cursor"], limit=MAX_USERIDS_PER_BATCH)
    if cursor and cursor == state["cursor"]:
        raise WeComError(None, f"cursor {cursor!r} did not advance", "externalcontact/batch/get_by_user",
                         message="企业微信分页游标没有前进，已停止翻页")
    _add_counts(run, save_contacts(((i["external_contact"], i["follow_info"]) for i in items), run.id))
    if cursor:
        last = items[-1]["follow_info"]["userid"] if items else None
        state.update(cursor=cursor, done=start + (chunk.index(last) if last in chunk else 0))
    else:
        state.update(chunk=state["chunk"] + 1, cursor="", done=start + len(chunk))
    run.state = state


def _possible_owners() -> list[str]:
    """Everyone who may own a customer group: every member the console knows, including those who left (their groups
    wait for a new owner), and the owners of the groups it has."""
    staff = db.session.scalars(select(Staff.userid))
    owners = db.session.scalars(select(CustomerGroup.owner).where(CustomerGroup.owner != "").distinct())
    return sorted({*staff, *owners})


def _groups(run: SyncRun, gw: WeComGateway, now: datetime) -> None:
    """List every group once (stored on the run), then fetch and merge them a batch a step; dismiss the rest."""
    state = dict(run.state)
    if "chats" not in state:
        chats = list_group_chats(gw, _possible_owners)
        state = {"chats": chats, "done": 0, "total": len(chats)}
    batch = state["chats"][state["done"]:state["done"] + GROUPS_PER_STEP]
    if not batch:
        _add_counts(run, {"groups": dismiss(now, keep=[chat_id for chat_id, _ in state["chats"]])})
        _next_stage(run)
        return
    found, gone = [], []
    for chat_id, status in batch:
        detail = fetch_group(gw, chat_id)
        if detail is None:
            gone.append(chat_id)  # dismissed between the listing and now
        else:
            found.append((detail, status))
    _add_counts(run, save_groups(found, now))
    _add_counts(run, {"groups": dismiss(now, only=gone)})
    state["done"] += len(batch)
    run.state = state


STEPS: dict[str, Callable[[SyncRun, WeComGateway, datetime], None]] = {
    "directory": _directory, "tags": _tags, "customers": _customers, "groups": _groups}
