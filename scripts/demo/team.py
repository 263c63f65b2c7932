"""Demo data for the team pages: the snapshot of the emulator's last 180 days, taken the way the nightly job does; the
roll-up built; this month's targets of the largest department (one of them well behind, so an alert shows) and the
alert rules run, as the nightly job does."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from app.contacts.models import Department
from app.core.db import transaction
from app.extensions import db
from app.team import alerts, goals, rollup
from app.team.models import Target
from app.team.report import today
from app.team.snapshot import snapshot


def _largest_led_department() -> int | None:
    members = rollup.selections()
    led = db.session.scalars(select(Department.id).where(Department.removed_at.is_(None))).all()
    led = [d for d in led if (db.session.get(Department, d).leader_userids or [])]
    return max(led, key=lambda d: len(members.get(rollup.department_key(d), ())), default=None)


def seed_demo_targets() -> int:
    """Targets for the month the alert rules look at: adds at one and a half times the pace so far (red), reply rate
    and welcome success at plausible rates."""
    department = _largest_led_department()
    if department is None:
        return 0
    day = today()
    month = (day - timedelta(days=1)).strftime("%Y-%m")
    period = goals.month_to_date(month, day)
    key = rollup.department_key(department)
    figures = rollup.collect(sorted(rollup.selections().get(key, ())), period, key).total().figures
    share = len(period.days) / len(goals.month_days(month).days)
    values = {"adds": Decimal(round(figures["adds"] / share * 1.5) + 10), "reply_rate": Decimal("0.6"),
              "welcome_rate": Decimal("0.95")}
    with transaction():
        for figure, value in values.items():
            db.session.add(Target(month=month, scope_kind="department", scope_value=str(department), figure=figure,
                                  value=value, created_by="demo"))
    return len(values)


def seed_demo_team() -> str:
    """Take the first snapshot (a backfill of 180 days), build the roll-up, set targets and run the alert rules."""
    outcome = snapshot(lambda done, total, message: None)
    rollup.build()
    targets = seed_demo_targets()
    checked = alerts.evaluate()
    return (f"已保存团队绩效快照：{outcome.calls} 次企业微信调用，{outcome.rows} 行；已汇总并设置 {targets} 个本月目标，"
            f"产生 {checked['opened']} 条预警（见团队绩效 › 目标与预警）")
