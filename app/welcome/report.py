"""The welcome page's figures: outcomes by channel and by staff member, latency percentiles and histogram, joins."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.contacts.contact_list import staff_names
from app.contacts.models import Customer, CustomerGroup, GroupMemberChange as Joins
from app.core.db import utcnow
from app.extensions import db
from app.welcome.models import Channel, Outcome, WelcomeRecord

OUTCOMES = (Outcome.SENT, Outcome.ALREADY, Outcome.MISSED, Outcome.SKIPPED, Outcome.FAILED, Outcome.SENDING)
# Histogram buckets of receipt -> WeCom's answer, upper bounds in ms (the last one is open).
BUCKETS = (250, 500, 1000, 2000, 5000, 10000, 20000)
PERIODS = (1, 7, 30)


def percentile(values: list[int], p: float) -> int | None:
    """Nearest-rank percentile of sorted `values`."""
    if not values:
        return None
    rank = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[rank]


def bucket_labels() -> list[str]:
    bounds = [0, *BUCKETS]
    label = lambda ms: f"{ms / 1000:g}s" if ms >= 1000 else f"{ms}ms"  # noqa: E731
    return [f"{label(a)}–{label(b)}" for a, b in zip(bounds, bounds[1:])] + [f">{label(BUCKETS[-1])}"]


@dataclass
class Row:
    key: str | int | None
    label: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Report:
    since: datetime
    totals: dict[str, int]
    by_channel: list[Row]
    by_staff: list[Row]
    latency: dict[str, int | None]
    histogram: list[int]
    joins: list[tuple[str, str, int, int]]  # chat_id, group name, join events, members joined


def _grouped(column, since: datetime) -> dict:
    out: dict = {}
    rows = db.session.execute(select(column, WelcomeRecord.outcome, func.count())
                              .where(WelcomeRecord.received_at >= since).group_by(column, WelcomeRecord.outcome))
    for key, outcome, n in rows:
        out.setdefault(key, {})[outcome] = n
    return out


def period_start(days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


def build(days: int, now: datetime | None = None) -> Report:
    start = period_start(days, now)
    per_channel = _grouped(WelcomeRecord.channel_id, start)
    names = dict(db.session.execute(select(Channel.id, Channel.name).where(Channel.id.in_(
        [k for k in per_channel if k is not None]))).all())
    by_channel = sorted((Row(k, names.get(k, "") if k is not None else "", c) for k, c in per_channel.items()),
                        key=lambda r: -r.total)
    per_staff = _grouped(WelcomeRecord.userid, start)
    people = staff_names(per_staff)
    by_staff = sorted((Row(k, people.get(k, k), c) for k, c in per_staff.items()), key=lambda r: -r.total)
    totals = {o: sum(r.counts.get(o, 0) for r in by_staff) for o in OUTCOMES}
    latencies = sorted(db.session.scalars(select(WelcomeRecord.latency_ms).where(
        WelcomeRecord.received_at >= start, WelcomeRecord.latency_ms.is_not(None))))
    histogram = [0] * (len(BUCKETS) + 1)
    for ms in latencies:
        histogram[next((i for i, bound in enumerate(BUCKETS) if ms < bound), len(BUCKETS))] += 1
    latency = {"n": len(latencies), "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
               "p99": percentile(latencies, 99), "max": latencies[-1] if latencies else None}
    join_rows = db.session.execute(
        select(Joins.chat_id, func.coalesce(CustomerGroup.name, ""), func.count(), func.sum(Joins.members))
        .outerjoin(CustomerGroup, CustomerGroup.chat_id == Joins.chat_id)
        .where(Joins.kind == "join", Joins.occurred_at >= start).group_by(Joins.chat_id, CustomerGroup.name)
        .order_by(func.sum(Joins.members).desc()).limit(50)).all()
    return Report(start, totals, by_channel, by_staff, latency, histogram,
                  [(c, n, events, members or 0) for c, n, events, members in join_rows])


def recent_records(since: datetime, page: int, per_page: int = 50):
    """One page of the period's records, newest first, with `customer_names` (external_userid -> name) of its
    customers that the console knows."""
    query = select(WelcomeRecord).where(WelcomeRecord.received_at >= since).order_by(WelcomeRecord.id.desc())
    records = db.paginate(query, page=page, per_page=per_page, error_out=False)
    ids = {r.external_userid for r in records.items}
    names = dict(db.session.execute(select(Customer.external_userid, Customer.name)
                                    .where(Customer.external_userid.in_(ids))).all()) if ids else {}
    records.customer_names = names
    return records


def export_rows(since: datetime):
    """Every record of the period, oldest first, for the CSV export."""
    return db.session.scalars(select(WelcomeRecord).where(WelcomeRecord.received_at >= since)
                              .order_by(WelcomeRecord.id)).yield_per(1000)
