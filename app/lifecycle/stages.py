"""Stages computed in SQL: each customer's last interaction over the enabled signals, and the stage it gives.

Days are counted in corp-local calendar days: a customer whose last interaction fell on local day X is N days
silent on day X + N, whatever the hour. So the thresholds become instants (the start of a local day) computed here,
with the time zone's own rules, and the SQL only compares timestamps: the same on SQLite and PostgreSQL. A stage
with a value filter takes only customers that pass it; the others fall to the next fresher stage (e.g. 沉睡 only
below the mean order value: a silent customer above it stays 预警). No relation left is 已流失 whatever the days;
a customer with no recorded interaction at all counts as silent since ever.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import String

from app.core.db import UTCDateTime
from app.extensions import db
from app.lifecycle.config import BELOW_MEAN, CLASS8, NO_FILTER, SEGMENT, SILENT, enabled_signals
from app.lifecycle.models import ACTIVE, LOST
from app.rfm.models import CustomerRfmScore

# Per signal: (customer, when) of every interaction of that kind before :end; {only} narrows it to :ids.
SIGNAL_SQL = {
    "order": "SELECT external_userid, max(paid_at) AS at FROM orders WHERE status = 'paid' "
             "AND external_userid IS NOT NULL AND paid_at < :end{only} GROUP BY external_userid",
    "event": "SELECT external_userid, max(occurred_at) AS at FROM customer_events WHERE occurred_at < :end{only} "
             "GROUP BY external_userid",
    "group_join": "SELECT userid AS external_userid, max(join_time) AS at FROM customer_group_members "
                  "WHERE type = 2 AND join_time < :end{only_member} GROUP BY userid",
    "added": "SELECT external_userid, max(added_at) AS at FROM follow_relations WHERE added_at < :end{only} "
             "GROUP BY external_userid",
    "consent": "SELECT external_userid, max(occurred_at) AS at FROM relation_events "
               "WHERE kind = 'msg_audit_approved' AND occurred_at < :end{only} GROUP BY external_userid",
}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # "silent since ever"


@dataclass(frozen=True)
class Window:
    """The instants that decide stages as of a corp-local day."""

    end: datetime                # the first instant after the as-of day: later interactions do not count
    cuts: dict[str, datetime]    # stage -> interactions before this instant are that stage's days old or more


def window(as_of: date, thresholds: Mapping[str, int], zone) -> Window:
    def start(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=zone).astimezone(timezone.utc)

    return Window(end=start(as_of + timedelta(days=1)),
                  cuts={stage: start(as_of - timedelta(days=thresholds[stage] - 1)) for stage in SILENT})


def _mean_order_value() -> tuple[int, int]:
    """(total money, total orders) of the paying customers at the last RFM run; their ratio is the mean order value."""
    money, orders = db.session.execute(select(func.coalesce(func.sum(CustomerRfmScore.monetary_fen), 0),
                                              func.coalesce(func.sum(CustomerRfmScore.frequency), 0))).one()
    return int(money), int(orders)


def _filter_sql(stage: str, rule: Mapping[str, Any], params: dict) -> str:
    kind = rule["kind"]
    if kind == NO_FILTER:
        return "1 = 1"
    if kind == BELOW_MEAN:  # a customer's own mean below everyone's; no paid order counts as below
        params["mean_money"], params["mean_orders"] = _mean_order_value()
        return ("(r.frequency IS NULL OR r.frequency = 0 OR :mean_orders = 0 "
                "OR r.monetary_fen * :mean_orders < :mean_money * r.frequency)")
    column = {SEGMENT: "r.segment", CLASS8: "r.class8"}[kind]
    names = []
    for i, value in enumerate(rule["values"]):
        params[f"{stage}_v{i}"] = value
        names.append(f":{stage}_v{i}")
    return f"{column} IN ({', '.join(names)})"


def stage_sql(config: Mapping[str, Any], win: Window, only: bool) -> tuple[str, dict[str, Any]]:
    """SELECT external_userid, last_at, stage for every known customer (only those in :ids when `only`), and its
    parameters; run it through `bound`."""
    params: dict[str, Any] = {"end": win.end, "epoch": EPOCH, **{f"cut_{s}": win.cuts[s] for s in SILENT}}
    narrow = " AND external_userid IN :ids" if only else ""
    parts = [SIGNAL_SQL[key].format(only=narrow, only_member=narrow.replace("external_userid", "userid"))
             for key in enabled_signals(config)]
    last = (f"LEFT JOIN (SELECT external_userid, max(at) AS last_at FROM ({' UNION ALL '.join(parts)}) u "
            "GROUP BY external_userid) s ON s.external_userid = c.external_userid" if parts
            else "LEFT JOIN (SELECT NULL AS external_userid, CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS last_at) s "
            "ON 1 = 0")
    filters = {stage: _filter_sql(stage, config["filters"][stage], params) for stage in SILENT}
    rfm = ("LEFT JOIN customer_rfm_scores r ON r.external_userid = c.external_userid"
           if any(rule["kind"] != NO_FILTER for rule in config["filters"].values()) else "")
    whens = " ".join(f"WHEN COALESCE(s.last_at, :epoch) < :cut_{stage} AND {filters[stage]} THEN '{stage}'"
                     for stage in reversed(SILENT))
    sql = (f"SELECT c.external_userid AS external_userid, s.last_at AS last_at, "
           f"CASE WHEN c.lost_at IS NOT NULL THEN '{LOST}' {whens} ELSE '{ACTIVE}' END AS stage "
           f"FROM customers c {last} {rfm}" + (" WHERE c.external_userid IN :ids" if only else ""))
    return sql, params


_INSTANTS = ("end", "epoch", "now")


def bound(sql: str, params: Mapping[str, Any]) -> TextClause:
    """The statement with its instants bound as UTC timestamps (and :ids expanded when present)."""
    clause = text(sql).bindparams(*(bindparam(k, type_=UTCDateTime()) for k in params
                                    if k in _INSTANTS or k.startswith("cut_")))
    if "ids" in params:
        clause = clause.bindparams(bindparam("ids", expanding=True))
    return clause


def stages_of(config: Mapping[str, Any], win: Window, external_userids: list[str]) -> list[tuple[str, Any, str]]:
    """(external_userid, stage, last interaction) of the given customers (those the console knows)."""
    sql, params = stage_sql(config, win, only=True)
    clause = bound(sql, {**params, "ids": external_userids}).columns(
        external_userid=String(), last_at=UTCDateTime(), stage=String())
    return [(ext, stage, last) for ext, last, stage in db.session.execute(clause, {**params, "ids": external_userids})]


def entered_on(stage: str, last_at: datetime | None, thresholds: Mapping[str, int], zone, today: date) -> date:
    """The corp-local day a customer first seen now entered `stage`, from their last interaction: its own day for
    活跃, that day plus the stage's threshold for the silent stages (e.g. 沉睡 on the 30th day); today when nothing
    is known (no interaction recorded, or 已流失, which a relation ending decides now). Never after today."""
    if last_at is None or stage == LOST:
        return today
    return min(today, last_at.astimezone(zone).date() + timedelta(days=thresholds.get(stage, 0)))


def _corp_day(value: str | None, zone_name: str) -> str | None:
    """SQLite's corp_day(instant, zone): the corp-local day (ISO) of a UTC instant as SQLite stores it."""
    from zoneinfo import ZoneInfo

    if value is None:
        return None
    instant = datetime.fromisoformat(str(value))
    instant = instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(ZoneInfo(zone_name)).date().isoformat()


def entered_sql(dialect: str, thresholds: Mapping[str, int]) -> str:
    """`entered_on` in SQL over the temporary stages table `n` (stage, last_at), for the daily run's new customers;
    bound with :day and :zone (已流失 and no interaction: :day). On SQLite it first registers corp_day."""
    if dialect == "postgresql":
        local = "CAST(n.last_at AT TIME ZONE :zone AS date)"
        shifted = {stage: f"{local} + {int(thresholds[stage])}" for stage in SILENT}
        earliest = "LEAST"
    else:
        db.session.connection().connection.dbapi_connection.create_function("corp_day", 2, _corp_day,
                                                                            deterministic=True)
        local = "corp_day(n.last_at, :zone)"
        shifted = {stage: f"date({local}, '+{int(thresholds[stage])} days')" for stage in SILENT}
        earliest = "min"
    whens = " ".join(f"WHEN '{stage}' THEN {sql}" for stage, sql in shifted.items())
    return f"COALESCE({earliest}(CASE n.stage WHEN '{ACTIVE}' THEN {local} {whens} END, :day), :day)"
