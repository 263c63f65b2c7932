"""A customer's first stage starts when their silence reached it (from their real last interaction, in corp-local
days), not on the day the console first staged them."""
from datetime import date, datetime, time, timedelta, timezone

from app.core.db import transaction
from app.extensions import db
from app.lifecycle import movements, stages
from app.lifecycle.models import CustomerStage
from tests.integration.test_lifecycle_stages import AS_OF, ZONE, customer, local, order, recompute_as_of


def since() -> dict[str, tuple[str, date]]:
    db.session.expire_all()
    return {row.external_userid: (row.stage, row.since) for row in db.session.query(CustomerStage)}


def test_the_first_run_dates_each_stage_from_the_last_interaction(app):
    with transaction():
        for ext, days in (("wmact", 3), ("wmwarn", 25), ("wmsleep", 45), ("wmdeep", 200)):
            customer(ext)
            order(ext, local(AS_OF - timedelta(days=days), time(23, 30)))  # late evening: the local day counts
        customer("wmnever")
        customer("wmgone", lost=True)
    recompute_as_of(AS_OF)
    assert since() == {
        "wmact": ("active", AS_OF - timedelta(days=3)),
        "wmwarn": ("warning", AS_OF - timedelta(days=25 - 21)),
        "wmsleep": ("dormant", AS_OF - timedelta(days=45 - 30)),
        "wmdeep": ("deep_dormant", AS_OF - timedelta(days=200 - 90)),
        "wmnever": ("deep_dormant", AS_OF),  # nothing recorded: no day to count from
        "wmgone": ("lost", AS_OF),
    }
    recompute_as_of(AS_OF + timedelta(days=10))  # later moves are dated by the run that sees them
    assert since()["wmwarn"] == ("dormant", AS_OF + timedelta(days=10))


def test_a_customer_first_staged_by_a_signal_is_dated_the_same_way(app):
    with transaction():
        customer("wmsig")
        last = local(AS_OF - timedelta(days=40), time(0, 30))  # 16:30 UTC the day before: the local day counts
        movements.move("wmsig", "dormant", "relation", at=local(AS_OF, time(12)), last_interaction_at=last)
    assert since()["wmsig"] == ("dormant", AS_OF - timedelta(days=10))


def test_entered_on_counts_corp_local_days_and_never_passes_today():
    thresholds = {"warning": 21, "dormant": 30, "deep_dormant": 90}
    late_utc = datetime(2026, 6, 1, 16, 30, tzinfo=timezone.utc)  # 00:30 on 2 June in Shanghai
    assert stages.entered_on("dormant", late_utc, thresholds, ZONE, date(2026, 7, 15)) == date(2026, 7, 2)
    assert stages.entered_on("active", late_utc, thresholds, ZONE, date(2026, 6, 2)) == date(2026, 6, 2)
    assert stages.entered_on("dormant", late_utc, thresholds, ZONE, date(2026, 6, 20)) == date(2026, 6, 20)
    assert stages.entered_on("lost", late_utc, thresholds, ZONE, date(2026, 6, 20)) == date(2026, 6, 20)
