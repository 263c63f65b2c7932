"""任务宝 contact ways WeCom made whose answer we never stored: a worker killed while add_contact_way's answer is on
its way leaves a way that the tick adopts (never a second one); ways of ours nobody needs are deleted, others left
alone, across WeCom's 90-day listing windows and its offset cursor. Over real HTTP against the emulator."""
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.db import transaction, utcnow
from app.extensions import db
from app.referral import jobs, reconcile, service
from app.referral.rules import state_for
from app.referral.models import ReferralParticipant, ReferralTask
from app.wecom import connection
from app.wecom.errors import WeComError
from tests.integration.test_jobs import ROOT, kill_9, wait_until
from tests.integration.test_referral_credits import add, credits_of, staff, work  # noqa: F401 (fixture)

ADD = "externalcontact/add_contact_way"
DAY = 86400


def long_task(staff, name="老带新") -> ReferralTask:
    """A running task that ends in a year (a tick 100 days on does not end it)."""
    now = utcnow()
    task = service.create(service.TaskInput(name, now - timedelta(hours=1), now + timedelta(days=365), [staff[0]],
                                            [service.LevelInput(3, "礼", 10)], hold_hours=0))
    service.move(task, "schedule")
    jobs.tick()
    return db.session.get(ReferralTask, task.id)


def ways_in_wecom() -> dict[str, dict]:
    """Every contact way WeCom lists from two days ago to 101 days on (past the emulator's clock moved 100 days)."""
    api, now = connection.gateway(), int(time.time())
    return {w["config_id"]: api.get_contact_way(w["config_id"])
            for w in api.iter_contact_ways(now - 2 * DAY, now + 101 * DAY)}


def with_state(state: str) -> list[str]:
    return [c for c, way in ways_in_wecom().items() if way["state"] == state]


def participant(participant_id: int) -> ReferralParticipant:
    db.session.expire_all()
    return db.session.get(ReferralParticipant, participant_id)


def test_a_worker_killed_mid_creation_leaves_a_way_that_is_adopted_not_made_twice(app, wired, staff):
    task = long_task(staff)
    with transaction():
        me = service.join(task, "wmkilledmidway")
    wired.control.fault(api=ADD, hold_answers=1)
    worker = subprocess.Popen([sys.executable, "-m", "tests.integration.referral_support",
                               app.config["SQLALCHEMY_DATABASE_URI"], wired.api_base], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: wired.control.held() == 1, "WeCom to have made the way while the worker waits")
    finally:
        kill_9(worker)
    assert wired.control.release_held() == 1  # the answer goes to a dead process
    wired.control.clear_faults()
    made = with_state(me.state)
    assert len(made) == 1  # in WeCom, unknown here
    pending = participant(me.id)
    assert (pending.config_id, pending.way_error) == (None, None) and pending.way_requested_at is not None

    calls = wired.control.call_count(ADD)
    jobs.tick()  # inside the grace period the request may still be in flight: nothing is made again
    assert wired.control.call_count(ADD) == calls and participant(me.id).config_id is None

    result = jobs.tick(utcnow() + reconcile.GRACE + timedelta(minutes=1))
    assert result["ways_adopted"] == 1 and result["ways_created"] == 0
    adopted = participant(me.id)
    assert adopted.config_id == made[0] and adopted.qr_code and adopted.way_requested_at is None
    assert with_state(me.state) == made and wired.control.call_count(ADD) == calls  # still one way, none made
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "referral.ways_reconciled"))
    assert entry.details == {"adopted": [me.state], "deleted": []}
    add(wired, config_id=made[0])  # the adopted way credits its inviter
    work()
    assert [c.status for c in credits_of(adopted)] == ["valid"]


def test_ways_of_ours_nobody_needs_are_deleted_across_windows_and_pages_and_others_are_left(app, wired, staff):
    """Orphans made 100 days ago (beyond one 90-day listing) among more ways than one page holds: the one its
    inviter still needs is adopted; a duplicate of a known way, one of an ended task and one of an inviter gone are
    deleted; a channel with a look-alike state and every other way stay; a request WeCom never saw is asked again."""
    task, ended = long_task(staff), long_task(staff, "已结束的任务")
    with transaction():
        has_one = service.join(task, "wmreconcile0")
    jobs.create_ways()
    with transaction():  # requests whose answers were lost (create_ways leaves them alone)
        needs, never_seen = service.join(task, "wmreconcile1"), service.join(task, "wmreconcile2")
        old = service.join(ended, "wmreconcileold")
        for inviter in (needs, never_seen, old):
            inviter.way_requested_at = utcnow()
    service.move(db.session.get(ReferralTask, ended.id), "end")
    has_one = participant(has_one.id)
    api = connection.gateway()
    others = [api.add_contact_way(1, 2, state=f"store_{n}", user=[staff[0]])["config_id"] for n in range(95)]
    look_alike = api.add_contact_way(1, 2, state=needs.state, user=[staff[0]], remark="门店渠道")["config_id"]

    def orphan(inviter, task_id):
        return api.add_contact_way(1, 2, state=inviter.state, user=[staff[0]],
                                   remark=reconcile.remark_for(task_id))["config_id"]

    adoptable = orphan(needs, task.id)
    doomed = [orphan(has_one, task.id), orphan(old, ended.id)] + [orphan(needs, task.id) for _ in range(8)]
    for n in range(3):  # states of inviters this console does not have
        doomed.append(api.add_contact_way(1, 2, state=state_for(task.id, 10**6 + n), user=[staff[0]],
                                          remark=reconcile.remark_for(task.id))["config_id"])
    never_way = [c for c, w in ways_in_wecom().items() if w["state"] == never_seen.state]
    # 111 ways in the window reconcile lists: the page boundary (100) falls among the orphans
    assert len(ways_in_wecom()) > 100 and never_way == []
    wired.control.advance_clock(100 * DAY)

    result = jobs.tick(utcnow() + timedelta(days=100))
    db.session.expire_all()
    # adopted: the first of needs' ways WeCom lists (the oldest); the rest of them are duplicates
    assert participant(needs.id).config_id == adoptable and result["ways_adopted"] == 1
    left = ways_in_wecom()
    assert set(doomed).isdisjoint(left) and result["orphans_deleted"] == len(doomed)
    assert {adoptable, look_alike, has_one.config_id, *others} <= set(left)
    asked_again = participant(never_seen.id)
    assert asked_again.config_id in left and asked_again.way_requested_at is None and result["ways_created"] == 1
    assert participant(old.id).config_id is None and participant(old.id).way_requested_at is None
    for config_id in doomed[:2]:
        with pytest.raises(WeComError) as gone:
            api.get_contact_way(config_id)
        assert gone.value.errcode == 41044


def test_the_emulator_lists_ninety_days_at_most_on_its_clock_with_an_offset_cursor(wired, staff):
    """wecom-api.md §4 and our harder readings: the default window is the last 90 days (emulator clock); a longer
    window is cut to its last 90 days without an error; the cursor is an offset, so a deletion between pages
    shifts the rest; our gateway walks 90-day windows and finds them all."""
    api = connection.gateway()
    start = int(time.time()) - 1
    made = [api.add_contact_way(1, 2, state=f"aged_{n}", user=[staff[0]])["config_id"] for n in range(3)]
    wired.control.advance_clock(100 * DAY)
    now = start + 100 * DAY + 10
    assert set(made).isdisjoint(c["config_id"] for c in api.iter_contact_ways())
    items, _cursor = api.list_contact_way_page(start_time=start, end_time=now)
    assert set(made).isdisjoint(c["config_id"] for c in items)  # cut to the last 90 days, no error
    assert set(made) <= {c["config_id"] for c in api.iter_contact_ways(start, now)}  # window after window
    listed = [c["config_id"] for c in api.list_contact_way_page(start_time=start, end_time=start + DAY, limit=1000)[0]]
    first, cursor = api.list_contact_way_page(start_time=start, end_time=start + DAY, limit=1)
    assert first[0]["config_id"] == listed[0]
    api.del_contact_way(listed[0])
    second, _cursor = api.list_contact_way_page(start_time=start, end_time=start + DAY, cursor=cursor, limit=1)
    assert second[0]["config_id"] == listed[2]  # listed[1] was skipped: the offset moved past it
