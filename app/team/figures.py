"""The team figures of staff members over corp-local days: our own data (adds, losses, welcomes, push tasks, orders)
and the WeCom snapshots (replies, groups), added up per day; rates derived from sums, None where nothing counts."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, case, func, select, true

from app.campaigns.models import CampaignRun
from app.sending.models import SendTask, TaskStatus
from app.sending.polling import Timing
from app.contacts.models import FollowRelation
from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.rfm.models import Order
from app.tasks import sla
from app.tasks.models import Task
from app.team.models import ROLLUP_SUMS, BehaviorDay, GroupDay
from app.welcome.models import Outcome, WelcomeRecord

# The raw sums kept per staff member and day; every figure shown is one of these or a ratio of two.
SUMS = ROLLUP_SUMS
GREETED = (Outcome.SENT, Outcome.ALREADY)
NO_PUSH_CONFIRMATION = (TaskStatus.FINISHED, TaskStatus.FAILED, TaskStatus.CANCELLED)


@dataclass
class Totals:
    """Sums over some staff and days, and the figures derived from them."""

    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SUMS, 0))

    def add(self, other: dict) -> None:
        for key, value in other.items():
            self.sums[key] += value

    def _ratio(self, top: str, bottom: str, scale: float = 1.0) -> float | None:
        return round(self.sums[top] * scale / self.sums[bottom], 4) if self.sums[bottom] else None

    @property
    def figures(self) -> dict:
        """The figures of the pages, the export and the API (None: nothing to measure, shown as —)."""
        s = self.sums
        losses = s["lost_by_customer"] + s["lost_by_staff"]
        decided = s["push_on_time"] + s["push_late"] + s["push_never"]
        return {
            "adds": int(s["adds"]), "losses": int(losses), "lost_by_customer": int(s["lost_by_customer"]),
            "lost_by_staff": int(s["lost_by_staff"]), "net_new": int(s["adds"] - losses),
            "push_assigned": int(s["push_assigned"]), "push_on_time": int(s["push_on_time"]),
            "push_late": int(s["push_late"]), "push_never": int(s["push_never"]),
            "push_rate": round((s["push_on_time"] + s["push_late"]) / decided, 4) if decided else None,
            "reply_rate": self._ratio("reply_pct_chats", "reply_chats", 0.01),
            "reply_minutes": None if not s["reply_chats"] else round(s["reply_min_chats"] / s["reply_chats"], 1),
            "welcome_sent": int(s["welcome_sent"]), "welcome_tried": int(s["welcome_tried"]),
            "welcome_rate": self._ratio("welcome_sent", "welcome_tried"),
            "members_spoke": int(s["members_spoke"]), "members": int(s["members"]),
            "group_activity": self._ratio("members_spoke", "members"),
            "chats": int(s["chats"]), "messages": int(s["messages"]),
            "negative_feedback": int(s["negative_feedback"]), "friend_requests": int(s["friend_requests"]),
            "orders": int(s["orders"]), "gmv_fen": int(s["gmv_fen"]),
            "sla_due": int(s["sla_due"]), "sla_on_time": int(s["sla_on_time"]),
            "sla_rate": sla.rate(int(s["sla_on_time"]), int(s["sla_due"])),
        }


@dataclass
class Period:
    """Corp-local days first..last, inclusive."""

    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants the period starts and ends at."""
        zone = settings.corp_timezone()
        return (datetime.combine(self.first, time.min, tzinfo=zone),
                datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=zone))


def local_date(column):
    """The corp-local calendar day of a UTC timestamp column, computed by the database."""
    zone = settings.corp_timezone()
    if db.engine.dialect.name == "postgresql":
        return func.date(func.timezone(zone.key, column))
    # SQLite has no time zones: the zone's present offset (exact for zones without daylight saving, as China's)
    offset = int(datetime.now(zone).utcoffset().total_seconds())
    return func.date(column, f"{offset:+d} seconds")


def seconds_between(later, earlier):
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _count_if(condition, amount=1):
    return func.coalesce(func.sum(case((condition, amount), else_=0)), 0)


class Collector:
    """Sums for `userids` (None: every staff member) over a period, from every source, added up by the database
    twice: per staff member and per day."""

    def __init__(self, userids: list[str] | None, period: Period):
        self.userids, self.period = userids, period
        self.key: str | None = None           # the roll-up selection the staff are (app/team/rollup.py)
        self.as_of: datetime | None = None    # when today's figures were summed (today in the period)
        self.start, self.end = period.bounds()
        self.staff_sums: dict[str, Totals] = defaultdict(Totals)
        self.day_sums: dict[date, Totals] = {day: Totals() for day in period.days}

    def _staff(self, column) -> ColumnElement[bool]:
        return true() if self.userids is None else column.in_(self.userids)

    def sources(self) -> list[tuple]:
        """(staff column, day column, {sum name: expression}, where) of each source but orders."""
        return [source() for source in (self._adds, self._losses, self._welcomes, self._pushes, self._behavior,
                                        self._groups, self._followups)]

    def collect(self) -> Collector:
        """Each source is one query per grouping; orders per day count each order once (team totals)."""
        for staff_column, day_column, sums, where in self.sources():
            for by_staff, key_column in ((True, staff_column), (False, day_column)):
                query = select(key_column, *sums.values()).where(*where).group_by(key_column)
                for key, *values in db.session.execute(query):
                    totals = self.staff_sums[key] if by_staff else self.day_sums.get(_as_date(key))
                    if totals is not None:
                        totals.add({name: float(v or 0) for name, v in zip(sums, values)})
        self._orders()
        return self

    def _adds(self):
        r = FollowRelation
        return r.userid, local_date(r.added_at), {"adds": func.count()}, \
            (self._staff(r.userid), r.added_at >= self.start, r.added_at < self.end)

    def _losses(self):
        r = FollowRelation
        return r.userid, local_date(r.ended_at), {"lost_by_customer": _count_if(r.ended_by == "customer"),
                                                  "lost_by_staff": _count_if(r.ended_by != "customer")}, \
            (self._staff(r.userid), r.ended_at >= self.start, r.ended_at < self.end)

    def _welcomes(self):
        w = WelcomeRecord
        return w.userid, local_date(w.received_at), {"welcome_tried": func.count(),
                                                     "welcome_sent": _count_if(w.outcome.in_(GREETED))}, \
            (self._staff(w.userid), w.received_at >= self.start, w.received_at < self.end,
             w.outcome != Outcome.SKIPPED)

    def _pushes(self):
        """Push tasks by the day WeCom got them: confirmed before the first reminder is on time, later is late, never
        confirmed once the task is over (or past the confirmation limit) is never; open tasks are only assigned."""
        timing, t = Timing.from_config(), SendTask
        waited = seconds_between(t.confirmed_at, t.submitted_at)
        on_time = t.confirmed_at.is_not(None) & (waited <= timing.remind_after.total_seconds())
        late = t.confirmed_at.is_not(None) & (waited > timing.remind_after.total_seconds())
        never = t.confirmed_at.is_(None) & (t.status.in_(NO_PUSH_CONFIRMATION)
                                            | (t.submitted_at < utcnow() - timing.confirm_within))
        real = select(CampaignRun.id).where(CampaignRun.kind != "test")
        return t.sender_userid, local_date(t.submitted_at), {
            "push_assigned": func.count(), "push_on_time": _count_if(on_time), "push_late": _count_if(late),
            "push_never": _count_if(never)}, \
            (self._staff(t.sender_userid), t.submitted_at >= self.start, t.submitted_at < self.end,
             t.run_id.in_(real))

    def _behavior(self):
        b = BehaviorDay
        replied = b.reply_percentage.is_not(None) & (b.chat_cnt > 0)  # a day without reply figures weighs nothing
        return b.userid, b.day, {
            "chats": func.sum(b.chat_cnt), "messages": func.sum(b.message_cnt),
            "negative_feedback": func.sum(b.negative_feedback_cnt), "friend_requests": func.sum(b.new_apply_cnt),
            "new_contacts": func.sum(b.new_contact_cnt), "reply_chats": _count_if(replied, b.chat_cnt),
            "reply_pct_chats": _count_if(replied, b.reply_percentage * b.chat_cnt),
            "reply_min_chats": _count_if(replied & b.avg_reply_minutes.is_not(None),
                                         b.avg_reply_minutes * b.chat_cnt)}, \
            (self._staff(b.userid), b.day >= self.period.first, b.day <= self.period.last)

    def _groups(self):
        g = GroupDay
        return g.owner, g.day, {"members_spoke": func.sum(g.member_has_msg), "members": func.sum(g.member_total),
                                "group_messages": func.sum(g.msg_total)}, \
            (self._staff(g.owner), g.day >= self.period.first, g.day <= self.period.last)

    def _followups(self):
        """Follow-up tasks by the corp-local day they were due: due (done, or past due) and done on time
        (app/tasks/sla.py says which count)."""
        t = Task
        sums = {"sla_due": func.count(), "sla_on_time": _count_if(sla.done_on_time())}
        return t.assignee, local_date(t.due_at), sums, \
            (self._staff(t.assignee), t.due_at >= self.start, t.due_at < self.end, sla.counted(utcnow()))

    def _orders(self) -> None:
        """Paid orders of each staff member's customers (anyone the member follows or followed); an order of a
        customer several members follow counts for each of them, and once per day for the team."""
        o, r = Order, FollowRelation
        per_staff = select(r.userid, func.count(), func.sum(o.amount_fen)).join(
            r, r.external_userid == o.external_userid).where(self._staff(r.userid), *self.paid()).group_by(r.userid)
        for userid, orders, amount in db.session.execute(per_staff):
            self.staff_sums[userid].add({"orders": orders, "gmv_fen": int(amount or 0)})
        self.orders_per_day()

    def paid(self) -> tuple:
        o = Order
        return o.status == "paid", o.paid_at >= self.start, o.paid_at < self.end

    def orders_per_day(self) -> None:
        """The team's orders and GMV per day: each order once, however many of the staff follow its customer."""
        o, r = Order, FollowRelation
        followed = select(r.external_userid).where(self._staff(r.userid))
        day = local_date(o.paid_at)
        per_day = select(day, func.count(), func.sum(o.amount_fen)).where(
            *self.paid(), o.external_userid.in_(followed)).group_by(day)
        for key, orders, amount in db.session.execute(per_day):
            if (totals := self.day_sums.get(_as_date(key))) is not None:
                totals.add({"orders": orders, "gmv_fen": int(amount or 0)})

    # -- views of the sums -----------------------------------------------------------------------

    def per_staff(self) -> dict[str, Totals]:
        return self.staff_sums

    def per_day(self) -> dict[date, Totals]:
        """Each day's team sums; orders and GMV count each order once, however many members follow its customer."""
        return self.day_sums

    def total(self) -> Totals:
        whole = Totals()
        for day in self.day_sums.values():
            whole.add(day.sums)
        return whole
