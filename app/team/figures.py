"""The team figures of staff members over corp-local days: our own data (adds, losses, welcomes, push tasks, orders)
and the WeCom snapshots (replies, groups), added up per day; rates derived from sums, None where nothing counts."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, select, true

from app.campaigns.models import CampaignRun, SendTask, TaskStatus
from app.campaigns.polling import Timing
from app.contacts.models import FollowRelation
from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.rfm.models import Order
from app.team.models import BehaviorDay, GroupDay
from app.welcome.models import Outcome, WelcomeRecord

# The raw sums kept per staff member and day; every figure shown is one of these or a ratio of two.
SUMS = ("adds", "lost_by_customer", "lost_by_staff", "welcome_sent", "welcome_tried", "push_assigned",
        "push_on_time", "push_late", "push_never", "orders", "gmv_fen", "chats", "messages", "reply_chats",
        "reply_pct_chats", "reply_min_chats", "negative_feedback", "friend_requests", "new_contacts",
        "members_spoke", "members", "group_messages")
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


class Collector:
    """Sums per (userid, day) for `userids` (None: every staff member) over a period, from every source."""

    def __init__(self, userids: list[str] | None, period: Period):
        self.userids, self.period = userids, period
        self.start, self.end = period.bounds()
        self.zone = settings.corp_timezone()
        self.cells: dict[tuple[str, date], dict] = defaultdict(lambda: dict.fromkeys(SUMS, 0))
        self.order_days: dict[str, tuple[date, int]] = {}  # order_id -> (day, amount): team totals count once

    def _staff(self, column) -> ColumnElement[bool]:
        return true() if self.userids is None else column.in_(self.userids)

    def _day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def _count(self, userid: str, at: datetime | date, key: str, amount: float = 1) -> None:
        day = at if isinstance(at, date) and not isinstance(at, datetime) else self._day(at)
        self.cells[(userid, day)][key] += amount

    def collect(self) -> Collector:
        self._relations()
        self._welcomes()
        self._pushes()
        self._orders()
        self._behavior()
        self._groups()
        return self

    def _relations(self) -> None:
        r = FollowRelation
        for userid, added in db.session.execute(select(r.userid, r.added_at).where(
                self._staff(r.userid), r.added_at >= self.start, r.added_at < self.end)):
            self._count(userid, added, "adds")
        for userid, ended, by in db.session.execute(select(r.userid, r.ended_at, r.ended_by).where(
                self._staff(r.userid), r.ended_at >= self.start, r.ended_at < self.end)):
            self._count(userid, ended, "lost_by_customer" if by == "customer" else "lost_by_staff")

    def _welcomes(self) -> None:
        w = WelcomeRecord
        for userid, received, outcome in db.session.execute(select(w.userid, w.received_at, w.outcome).where(
                self._staff(w.userid), w.received_at >= self.start, w.received_at < self.end,
                w.outcome != Outcome.SKIPPED)):
            self._count(userid, received, "welcome_tried")
            if outcome in GREETED:
                self._count(userid, received, "welcome_sent")

    def _pushes(self) -> None:
        """Push tasks by the day WeCom got them: confirmed before the first reminder is on time, later is late, never
        confirmed once the task is over (or past the confirmation limit) is never; open tasks are only assigned."""
        timing, now, t = Timing.from_config(), utcnow(), SendTask
        rows = db.session.execute(select(t.sender_userid, t.submitted_at, t.confirmed_at, t.status)
                                  .join(CampaignRun, CampaignRun.id == t.run_id)
                                  .where(self._staff(t.sender_userid), t.submitted_at >= self.start,
                                         t.submitted_at < self.end, CampaignRun.kind != "test"))
        for userid, submitted, confirmed, status in rows:
            self._count(userid, submitted, "push_assigned")
            if confirmed is not None:
                self._count(userid, submitted, "push_on_time" if confirmed - submitted <= timing.remind_after
                            else "push_late")
            elif status in NO_PUSH_CONFIRMATION or now - submitted > timing.confirm_within:
                self._count(userid, submitted, "push_never")

    def _orders(self) -> None:
        """Paid orders of each staff member's customers (anyone the member follows or followed); an order of a
        customer several members follow counts for each of them, and once for the team."""
        o, r = Order, FollowRelation
        rows = db.session.execute(select(r.userid, o.order_id, o.paid_at, o.amount_fen)
                                  .join(r, r.external_userid == o.external_userid)
                                  .where(self._staff(r.userid), o.status == "paid", o.paid_at >= self.start,
                                         o.paid_at < self.end))
        for userid, order_id, paid, amount in rows:
            self._count(userid, paid, "orders")
            self._count(userid, paid, "gmv_fen", amount)
            self.order_days[order_id] = (self._day(paid), amount)

    def _behavior(self) -> None:
        b = BehaviorDay
        rows = db.session.execute(select(b.userid, b.day, b.chat_cnt, b.message_cnt, b.reply_percentage,
                                         b.avg_reply_minutes, b.negative_feedback_cnt, b.new_apply_cnt,
                                         b.new_contact_cnt)
                                  .where(self._staff(b.userid), b.day >= self.period.first, b.day <= self.period.last))
        for userid, day, chats, messages, pct, minutes, negative, applies, contacts in rows:
            cell = self.cells[(userid, day)]
            cell["chats"] += chats
            cell["messages"] += messages
            cell["negative_feedback"] += negative
            cell["friend_requests"] += applies
            cell["new_contacts"] += contacts
            if pct is not None and chats:  # a day without reply figures weighs nothing: missing, not 0 %
                cell["reply_chats"] += chats
                cell["reply_pct_chats"] += float(pct) * chats
                if minutes is not None:
                    cell["reply_min_chats"] += float(minutes) * chats

    def _groups(self) -> None:
        g = GroupDay
        rows = db.session.execute(select(g.owner, g.day, g.member_has_msg, g.member_total, g.msg_total)
                                  .where(self._staff(g.owner), g.day >= self.period.first, g.day <= self.period.last))
        for owner, day, spoke, members, messages in rows:
            cell = self.cells[(owner, day)]
            cell["members_spoke"] += spoke
            cell["members"] += members
            cell["group_messages"] += messages

    # -- views of the sums -----------------------------------------------------------------------

    def per_staff(self) -> dict[str, Totals]:
        out: dict[str, Totals] = defaultdict(Totals)
        for (userid, _day), cell in self.cells.items():
            out[userid].add(cell)
        return out

    def per_day(self) -> dict[date, Totals]:
        """Each day's team sums; orders and GMV count each order once, however many members follow its customer."""
        out = {day: Totals() for day in self.period.days}
        for (_userid, day), cell in self.cells.items():
            out[day].add({k: v for k, v in cell.items() if k not in ("orders", "gmv_fen")})
        for day, amount in self.order_days.values():
            out[day].add({"orders": 1, "gmv_fen": amount})
        return out

    def total(self) -> Totals:
        whole = Totals()
        for day in self.per_day().values():
            whole.add(day.sums)
        return whole
