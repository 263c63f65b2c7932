"""What the 后台任务 page lists: jobs filtered by kind, state and who started them, scheduled successes folded."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request
from sqlalchemy import ColumnElement, Select, case, func, or_, select

from app.core.accounts import User
from app.core.permissions import N_
from app.extensions import db
from app.jobs import kinds
from app.jobs.models import CANCELLED, FAILED, QUEUED, RUNNING, SCHEDULER, SUCCEEDED, Job

PAGE_SIZE = 50
FOLD_RECENT = 10  # runs shown when a folded row is opened
STATES = ((RUNNING, N_("进行中")), (QUEUED, N_("排队中")), (FAILED, N_("失败")), (CANCELLED, N_("已取消")),
          (SUCCEEDED, N_("已完成")))
CLI = "cli"              # requested_by of a `scrm` command's job
SCHEDULED, MANUAL, FOLLOW_UP = "scheduled", "manual", "follow_up"
ORIGINS = ((SCHEDULED, N_("定时")), (MANUAL, N_("手动")), (FOLLOW_UP, N_("其他任务接续")))
_ORDER = case({RUNNING: 0, QUEUED: 1, FAILED: 2, CANCELLED: 3}, value=Job.state, else_=4)  # failures before successes


@dataclass(frozen=True)
class Filters:
    kind: str = ""
    state: str = ""
    origin: str = ""

    def args(self, **changed) -> dict[str, str]:
        """The query string of these filters (with `changed` applied), empty ones left out."""
        values = {"kind": self.kind, "state": self.state, "origin": self.origin, **changed}
        return {k: v for k, v in values.items() if v}

    @property
    def folds(self) -> bool:
        """Scheduled runs that succeeded are folded into a row per kind unless a kind is chosen (then each run is
        listed) or the filters leave them out anyway."""
        return not self.kind and self.state in ("", SUCCEEDED) and self.origin in ("", SCHEDULED)


@dataclass(frozen=True)
class Fold:
    """The scheduled successes of one kind: how many, the newest FOLD_RECENT, how many scheduled runs failed."""
    kind: str
    count: int
    recent: list[Job]
    failed: int

    @property
    def last(self) -> Job:
        return self.recent[0]


def kinds_known() -> list[str]:
    """Every kind a filter may name: the declared ones and any still in the table (a kind since renamed)."""
    stored = db.session.scalars(select(Job.kind).distinct()).all()
    return sorted(set(kinds.KINDS) | set(stored))


def filters_from_request() -> tuple[Filters, list[str]]:
    """The filters asked for, and what was not understood (shown, and left out of the filters)."""
    asked = {name: request.args.get(name, "").strip() for name in ("kind", "state", "origin")}
    allowed = {"kind": set(kinds_known()), "state": {s for s, _ in STATES}, "origin": {o for o, _ in ORIGINS}}
    problems = [name for name, value in asked.items() if value and value not in allowed[name]]
    return Filters(**{name: ("" if name in problems else value) for name, value in asked.items()}), problems


def _manual() -> ColumnElement[bool]:
    return or_(Job.requested_by.in_(select(User.username)), Job.requested_by == CLI)


def _origin(origin: str) -> ColumnElement[bool]:
    if origin == SCHEDULED:
        return Job.requested_by == SCHEDULER
    if origin == MANUAL:
        return _manual()
    return (Job.requested_by != SCHEDULER) & ~_manual()


def _where(q: Select, f: Filters, *, state: bool = True) -> Select:
    if f.kind:
        q = q.where(Job.kind == f.kind)
    if f.state and state:
        q = q.where(Job.state == f.state)
    if f.origin:
        q = q.where(_origin(f.origin))
    return q


_FOLDED = (Job.state == SUCCEEDED) & (Job.requested_by == SCHEDULER)


def listed(f: Filters):
    """The page of individual jobs: running, waiting, failed, cancelled, then succeeded, newest first in each;
    folded runs are not among them."""
    q = _where(select(Job), f)
    if f.folds:
        q = q.where(~_FOLDED)
    return db.paginate(q.order_by(_ORDER, Job.id.desc()), per_page=PAGE_SIZE, error_out=False)


def folds(f: Filters) -> list[Fold]:
    """A row per kind with scheduled successes (newest run first), when the filters fold them."""
    if not f.folds:
        return []
    counts = db.session.execute(select(Job.kind, func.count()).where(_FOLDED).group_by(Job.kind)).all()
    failed = dict(db.session.execute(select(Job.kind, func.count()).where(Job.state == FAILED,
                                                                          Job.requested_by == SCHEDULER)
                                     .group_by(Job.kind)).all())
    rows = [Fold(kind, count, db.session.scalars(select(Job).where(_FOLDED, Job.kind == kind)
                                                 .order_by(Job.id.desc()).limit(FOLD_RECENT)).all(),
                 failed.get(kind, 0))
            for kind, count in counts]
    return sorted(rows, key=lambda row: row.last.id, reverse=True)


def state_counts(f: Filters) -> dict[str, int]:
    """Jobs per state under the kind and origin filters (what the state links say)."""
    return dict(db.session.execute(_where(select(Job.state, func.count()), f, state=False)
                                   .group_by(Job.state)).all())


def origin_of(job: Job, usernames: set[str]) -> str:
    if job.requested_by == SCHEDULER:
        return SCHEDULED
    return MANUAL if job.requested_by in usernames or job.requested_by == CLI else FOLLOW_UP


def usernames() -> set[str]:
    return set(db.session.scalars(select(User.username)).all())
