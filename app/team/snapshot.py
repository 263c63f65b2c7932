"""The nightly snapshot of WeCom's per-member figures: behaviour data one userid per call, group statistics per day.

Idempotent and resumable: what to fetch is worked out from the stored rows (every day of the last 180 that is
missing, plus the last complete day again), every call's rows are written at once (re-fetching a day overwrites it),
so a run stopped anywhere (rate budget, crash) is completed by the next one. The first run backfills as far as WeCom
keeps (180 days, 30 days a call).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable, Iterable, Iterator

from sqlalchemy import select

from app.contacts.models import Staff
from app.core import settings
from app.core.db import transaction, upsert, utcnow
from app.extensions import db
from app.team.models import BehaviorDay, GroupDay
from app.wecom.connection import gateway
from app.wecom.errors import WeComError, WeComRateLimited
from app.wecom.gateway import MAX_OWNERS_PER_GROUP_LIST, WeComGateway

log = logging.getLogger("scrm.team.snapshot")

KEEP_DAYS = 180      # WeCom keeps behaviour data and group statistics this long (wecom-api.md §8, §9)
DAYS_PER_CALL = 30   # get_user_behavior_data: at most 30 days a call
GROUP_FIELDS = ("new_chat_cnt", "chat_total", "chat_has_msg", "new_member_cnt", "member_total", "member_has_msg",
                "msg_total")
MAX_FAILURES_IN_A_ROW = 20
Progress = Callable[[int, int, str], None]


def _log_progress(done: int, total: int, message: str) -> None:
    log.info("team snapshot %d/%d %s", done, total, message)


@dataclass
class Outcome:
    """What a run did: calls made, rows written, members WeCom refused (userid -> error), why it stopped early."""

    calls: int = 0
    rows: int = 0
    planned: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    stopped: str = ""


def window(today: date) -> tuple[date, date]:
    """The days WeCom still answers for: the last KEEP_DAYS complete days before `today` (corp-local)."""
    return today - timedelta(days=KEEP_DAYS), today - timedelta(days=1)


def epoch(day: date) -> int:
    """The corp-local midnight starting `day`, as WeCom's day timestamps."""
    return int(datetime.combine(day, time.min, tzinfo=settings.corp_timezone()).timestamp())


def local_day(stat_time: int) -> date:
    return datetime.fromtimestamp(int(stat_time), settings.corp_timezone()).date()


def runs(days: Iterable[date], longest: int) -> Iterator[tuple[date, date]]:
    """Sorted days as (first, last) runs of consecutive days, each at most `longest` days."""
    first = last = None
    for day in sorted(days):
        if first is not None and day == last + timedelta(days=1) and (day - first).days < longest:
            last = day
            continue
        if first is not None:
            yield first, last
        first = last = day
    if first is not None:
        yield first, last


def members() -> list[str]:
    """The staff WeCom keeps customer-contact figures for: members with customer contact, still in the directory."""
    return list(db.session.scalars(select(Staff.userid).where(Staff.is_follow_user.is_(True), Staff.removed_at.is_(None))
                                   .order_by(Staff.userid)))


def _have(column, key_column, start: date) -> dict[str, set[date]]:
    have: dict[str, set[date]] = {}
    for key, day in db.session.execute(select(key_column, column).where(column >= start)):
        have.setdefault(key, set()).add(day)
    return have


def behavior_plan(userids: list[str], today: date) -> list[tuple[str, date, date]]:
    """(userid, first, last) calls: each member's missing days of the window, and the last day again."""
    start, last = window(today)
    every = {start + timedelta(days=n) for n in range((last - start).days + 1)}
    have = _have(BehaviorDay.day, BehaviorDay.userid, start)
    return [(userid, first, end) for userid in userids
            for first, end in runs((every - have.get(userid, set())) | {last}, DAYS_PER_CALL)]


def group_plan(owners: list[str], today: date) -> list[tuple[date, list[str]]]:
    """(day, owners) calls, at most 100 owners each: every day some owner is missing, and the last day again."""
    start, last = window(today)
    have = _have(GroupDay.day, GroupDay.owner, start)
    plan = []
    for n in range((last - start).days + 1):
        day = start + timedelta(days=n)
        missing = [o for o in owners if day == last or day not in have.get(o, ())]
        plan += [(day, missing[i:i + MAX_OWNERS_PER_GROUP_LIST])
                 for i in range(0, len(missing), MAX_OWNERS_PER_GROUP_LIST)]
    return plan


def behavior_rows(userid: str, items: list[dict]) -> list[dict]:
    """Stored rows from WeCom's items; reply figures stay None where WeCom left them out."""
    now = utcnow()
    return [{"userid": userid, "day": local_day(i["stat_time"]), "chat_cnt": int(i.get("chat_cnt") or 0),
             "message_cnt": int(i.get("message_cnt") or 0), "reply_percentage": i.get("reply_percentage"),
             "avg_reply_minutes": i.get("avg_reply_time"),
             "negative_feedback_cnt": int(i.get("negative_feedback_cnt") or 0),
             "new_apply_cnt": int(i.get("new_apply_cnt") or 0), "new_contact_cnt": int(i.get("new_contact_cnt") or 0),
             "fetched_at": now} for i in items]


def group_rows(day: date, owners: list[str], items: Iterable[dict]) -> list[dict]:
    """One row per asked owner; an owner WeCom left out owns no group that day (zeros)."""
    now, got = utcnow(), {i["owner"]: i.get("data") or {} for i in items}
    return [{"owner": o, "day": day, **{f: int(got.get(o, {}).get(f) or 0) for f in GROUP_FIELDS}, "fetched_at": now}
            for o in owners]


def _write(model, rows: list[dict], keys: list[str]) -> None:
    if rows:
        with transaction():
            db.session.execute(upsert(model, rows, keys))


PARTS = ("behavior", "groups")


def snapshot(progress: Progress = _log_progress, *, today: date | None = None,
             gw: WeComGateway | None = None, parts: tuple[str, ...] = PARTS) -> Outcome:
    """The nightly job: fetch what is missing of the last 180 days (the last day always) for every member, within
    the bulk share of WeCom's rate budget. Stops early, resumable, when the budget or WeCom says so. `parts`: the
    behaviour data, the group statistics (groupchat/statistic, 100 owners a call), or both."""
    gw = gw or gateway(bulk=True)
    today = today or datetime.now(settings.corp_timezone()).date()
    userids = members()
    calls = ([("behavior", c) for c in behavior_plan(userids, today)] if "behavior" in parts else []) + (
        [("groups", c) for c in group_plan(userids, today)] if "groups" in parts else [])
    out = Outcome(planned=len(calls))
    progress(0, len(calls), "")
    failures = 0
    for done, (kind, call) in enumerate(calls, 1):
        try:
            if kind == "behavior":
                userid, first, last = call
                rows = behavior_rows(userid, gw.get_user_behavior_data(userid, epoch(first), epoch(last)))
                _write(BehaviorDay, rows, ["userid", "day"])
            else:
                day, owners = call
                rows = group_rows(day, owners, gw.iter_group_chat_statistic(epoch(day), None, owners))
                _write(GroupDay, rows, ["owner", "day"])
        except WeComRateLimited as exc:  # our budget or WeCom's block: the next run goes on from here
            out.stopped = str(exc)
            log.warning("team snapshot stopped after %d of %d calls: %s", out.calls, len(calls), exc)
            break
        except WeComError as exc:  # e.g. a member who left (60111): the others still count
            failures += 1
            out.refused[str(call[0])] = f"{exc.errcode} {exc.errmsg}"[:200]
            log.warning("team snapshot %s %s refused: %s", kind, call[0], exc)
            if failures >= MAX_FAILURES_IN_A_ROW:  # WeCom unreachable or refusing everything: try again next run
                out.stopped = str(exc)
                break
            continue
        finally:
            out.calls += 1
        failures = 0
        out.rows += len(rows)
        progress(done, len(calls), kind)
    return out


def run_job(job) -> dict:
    """The job kind's entry (后台任务 «团队绩效快照»): the snapshot, its progress shown on the job; then the roll-up is
    rebuilt (a job of its own) so the pages read the new figures."""
    from app import jobs

    out = snapshot(job.progress)
    try:
        jobs.enqueue("team.rollup", requested_by="team.snapshot")
    except jobs.JobBusy:
        pass  # a build is waiting or running already (it reads the rows just written if it has not started)
    return {"calls": out.calls, "rows": out.rows}
