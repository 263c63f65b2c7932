"""Results of a run written by hand: the funnel with every reason, staff execution, conversions and the CI."""
from datetime import timedelta

import pytest

from app.campaigns.reporting import results
from app.contacts.models import Staff
from app.contacts.scope import Scope
from app.core.db import transaction
from app.extensions import db
from app.sending.models import SendTask
from tests.integration.campaign_exec_support import T0, add_deliveries, finished_run, new_campaign, paid_order


def test_funnel_and_staff_execution(app):
    with transaction():
        run = finished_run(new_campaign())
        db.session.add_all([Staff(userid="lina", name="李娜"), Staff(userid="wang", name="王强")])
        fast = SendTask(run_id=run.id, sender_userid="lina", variant_key="A", chunk_no=0, status="finished",
                        msgid="msg1", submitted_at=T0, confirmed_at=T0 + timedelta(minutes=30))
        slow = SendTask(run_id=run.id, sender_userid="wang", variant_key="A", chunk_no=0, status="finished",
                        msgid="msg2", submitted_at=T0, remind_count=3)
        db.session.add_all([fast, slow])
        db.session.flush()
        rows = ([dict(target_key=f"s{i}", status="sent", sender_userid="lina", send_task_id=fast.id) for i in range(5)]
                + [dict(target_key="q1", status="failed", fail_reason="over_quota", sender_userid="lina",
                        send_task_id=fast.id),
                   dict(target_key="f1", status="failed", fail_reason="not_friend", sender_userid="lina",
                        send_task_id=fast.id)]
                + [dict(target_key=f"n{i}", status="failed", fail_reason="not_confirmed", sender_userid="wang",
                        send_task_id=slow.id) for i in range(3)]
                + [dict(target_key="o1", status="skipped", skip_reason="opt_out"),
                   dict(target_key="c1", status="skipped", skip_reason="cap:promo_day"),
                   dict(target_key="c2", status="skipped", skip_reason="cap:promo_day"),
                   dict(target_key="h1", status="holdout"), dict(target_key="h2", status="holdout")])
        add_deliveries(run, rows)
    f = results.funnel([run.id], Scope())
    assert (f.audience, f.holdout, f.submitted, f.confirmed, f.sent) == (15, 2, 10, 7, 5)
    assert f.skipped == {"opt_out": 1, "cap:promo_day": 2}
    assert f.failed == {"over_quota": 1, "not_friend": 1, "not_confirmed": 3}
    staff = {s.userid: s for s in results.per_staff([run.id], Scope())}
    assert (staff["lina"].name, staff["lina"].tasks, staff["lina"].confirmed, staff["lina"].median_minutes,
            staff["lina"].recipients, staff["lina"].sent) == ("李娜", 1, 1, 30.0, 7, 5)
    assert (staff["wang"].confirmed, staff["wang"].median_minutes, staff["wang"].reminded) == (0, None, 3)


def test_conversions_against_holdout_hand_computed(app):
    with transaction():
        campaign = new_campaign()
        run = finished_run(campaign)
        treated = [f"t{i}" for i in range(40)]
        holdout = [f"h{i}" for i in range(40)]
        add_deliveries(run, [dict(target_key=t, status="sent", variant_key="A") for t in treated]
                    + [dict(target_key=t, status="holdout") for t in holdout]
                    + [dict(target_key="skipped1", status="skipped", skip_reason="opt_out")])
        for t in treated[:10]:
            paid_order(t, T0 + timedelta(days=1))
        paid_order(treated[10], T0 + timedelta(days=4))             # after the 3-day window
        paid_order(treated[11], T0 - timedelta(hours=1))            # before the push
        paid_order(treated[12], T0 + timedelta(hours=5), "refunded")
        paid_order(treated[0], T0 + timedelta(days=2))              # a second order counts the customer once
        for t in holdout[:5]:
            paid_order(t, T0 + timedelta(days=2, hours=23))
        paid_order("skipped1", T0 + timedelta(hours=1))
    [(key, u)] = results.conversions([run], 3, Scope()).items()
    assert key == "A" and (u.treated_n, u.treated_converted, u.holdout_n, u.holdout_converted) == (40, 10, 40, 5)
    # p1 = .25, p0 = .125, se = sqrt(.25*.75/40 + .125*.875/40) = sqrt(.007421875) = .0861503
    low, high = u.interval
    assert u.difference == pytest.approx(0.125)
    assert low == pytest.approx(0.125 - 1.959964 * 0.0861503, abs=1e-6)
    assert high == pytest.approx(0.125 + 1.959964 * 0.0861503, abs=1e-6)
    assert not u.significant
    wider = results.conversions([run], 5, Scope())["A"]
    assert wider.treated_converted == 11


def test_variants_share_the_holdout_and_small_samples_get_no_interval(app):
    with transaction():
        run = finished_run(new_campaign())
        add_deliveries(run, [dict(target_key=f"a{i}", status="submitted", variant_key="A") for i in range(10)]
                    + [dict(target_key=f"b{i}", status="failed", fail_reason="not_friend", variant_key="B")
                       for i in range(12)]
                    + [dict(target_key=f"h{i}", status="holdout") for i in range(6)])
        paid_order("a1", T0 + timedelta(hours=2))
        paid_order("h1", T0 + timedelta(hours=2))
    uplifts = results.conversions([run], 3, Scope())
    assert {k: (u.treated_n, u.treated_converted, u.holdout_n) for k, u in uplifts.items()} == {
        "A": (10, 1, 6), "B": (12, 0, 6)}
    assert all(u.interval is None for u in uplifts.values())
