"""A month of lifecycle history for the demo: the daily recompute replayed for each of the last 30 days."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import delete, select

from app.core import settings
from app.core.db import transaction
from app.extensions import db
from app.lifecycle import recompute
from app.lifecycle.models import CustomerStage, LifecycleRun, StageMovement

DAYS = 30


def seed_lifecycle_history() -> int:
    """Replay the daily run as of each of the last DAYS days (orders after a day do not count for it), so the page
    shows customers crossing 21/30/90 days and coming back when they bought; once. Returns the movements kept."""
    if db.session.scalar(select(LifecycleRun.id).limit(1)) is not None:
        return 0
    zone = settings.corp_timezone()
    today = datetime.now(zone).date()
    with transaction():  # the orders seeded just now staged their buyers as of today: start the story a month back
        db.session.execute(delete(StageMovement))
        db.session.execute(delete(CustomerStage))
    moved = 0
    for back in range(DAYS, -1, -1):
        day = today - timedelta(days=back)
        with transaction():
            counts = recompute.apply_all(day, "daily", datetime.combine(day, time(4, 30), tzinfo=zone))
        moved += counts["moved"] if back < DAYS else 0
    run = recompute.begin("demo", today)
    recompute.execute(run.id)
    return moved
