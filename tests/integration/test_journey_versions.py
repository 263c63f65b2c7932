"""A new version going live: customers in the journey carry on at the step of the same identity (moved, reworded,
with steps added and removed around it), never redo a step they did, continue a wait they are in from when it began,
and an unapproved draft sends nothing."""
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.journeys import jobs, service
from app.journeys.models import JourneyEntry, JourneySend, JourneyStepLog
from app.sending.models import Delivery
from app.tasks.models import Task
from tests.integration.test_journeys import NOON, journey_from, seed

CARE = {"kind": "task", "title": "一对一关怀", "due_hours": 24}
WAIT = {"kind": "wait", "days": 1}
OLD_TEXT, NEW_TEXT = "好久不见，送您一张回归券", "老朋友，回归券给您留着"


def tasks_by_title() -> dict[str, int]:
    return dict(db.session.execute(select(Task.title, func.count()).group_by(Task.title)).all())


def test_customers_carry_on_by_step_identity_when_a_new_version_goes_live(app):
    seed(4)
    journey = journey_from([CARE, WAIT, {"kind": "message", "text": OLD_TEXT, "category": "promotion"},
                            {"kind": "task", "title": "回访", "due_hours": 24}])
    jobs.tick_one(journey, NOON)  # the care task done, the wait running: everyone waits for the message (index 2)
    assert set(db.session.scalars(select(JourneyEntry.step_index))) == {2}
    care, _wait, message, visit = journey.live["steps"]

    # v3: the message first and reworded, the care task after it, a new task, the wait removed
    draft = dict(journey.draft, steps=[dict(message, text=NEW_TEXT), care,
                                       {"kind": "task", "title": "新增的问候", "due_hours": 24}, visit])
    service.save(journey, journey.name, draft, "operator")
    service.submit(journey, "operator", may_approve=False)
    jobs.tick_one(journey, NOON + timedelta(hours=1))  # pending: nothing moves, nothing is sent
    assert set(db.session.scalars(select(JourneyEntry.step_index))) == {2}
    service.approve(journey, "supervisor", True, journey.version)
    entries = db.session.scalars(select(JourneyEntry)).all()
    assert {(e.step_index, e.version) for e in entries} == {(0, journey.version)}  # the message, now first
    assert {e.due_at for e in entries} == {NOON + timedelta(days=1)}  # still due when the wait said

    jobs.tick_one(journey, NOON + timedelta(days=1, minutes=1))
    [send] = db.session.scalars(select(JourneySend)).all()
    assert send.variants[0]["content"]["text"] == NEW_TEXT  # the approved new wording, to all four
    assert db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.run_id == send.id)) == 4
    jobs.tick_one(journey, send.journey_slot + timedelta(minutes=1))  # the steps after the message
    # the care task is not given twice; the new task and the visit are given once each
    assert tasks_by_title() == {"一对一关怀": 4, "新增的问候": 4, "回访": 4}
    # care, wait, message, new task, visit: each logged once per customer
    assert db.session.scalar(select(func.count()).select_from(JourneyStepLog)) == 5 * 4


def test_a_customer_at_a_removed_step_goes_on_at_the_next_kept_one_or_completes(app):
    seed(2)
    journey = journey_from([CARE, WAIT, {"kind": "task", "title": "第二次关怀", "due_hours": 24},
                            {"kind": "task", "title": "回访", "due_hours": 24}])
    jobs.tick_one(journey, NOON)
    care, wait, second, visit = journey.live["steps"]
    service.save(journey, journey.name, dict(journey.draft, steps=[care, wait, visit]), "supervisor")
    service.submit(journey, "supervisor", may_approve=True)
    assert set(db.session.scalars(select(JourneyEntry.step_index))) == {2}  # the visit, next of those kept

    service.save(journey, journey.name, dict(journey.draft, steps=[care, wait]), "supervisor")
    service.submit(journey, "supervisor", may_approve=True)
    jobs.tick_one(journey, NOON + timedelta(days=1, minutes=1))
    assert {(e.status, e.exit_reason) for e in db.session.scalars(select(JourneyEntry))} == {
        ("completed", "completed")}
    assert tasks_by_title() == {"一对一关怀": 2}


def in_a_three_day_wait(n: int = 2):
    """Customers who did the care task at noon and wait three days for the visit; the journey and its steps."""
    seed(n)
    journey = journey_from([CARE, dict(WAIT, days=3), {"kind": "task", "title": "回访", "due_hours": 24}])
    jobs.tick_one(journey, NOON)
    return journey, journey.live["steps"]


def approve(journey, steps) -> None:
    service.save(journey, journey.name, dict(journey.draft, steps=steps), "operator")
    service.submit(journey, "operator", may_approve=False)
    service.approve(journey, "supervisor", True, journey.version)


def waits() -> set:
    return {(log.at, log.due_at) for log in db.session.scalars(select(JourneyStepLog).where(
        JourneyStepLog.outcome == "wait"))}


def test_a_wait_is_logged_and_a_new_version_that_moves_it_later_does_not_wait_it_again(app):
    journey, (care, wait, visit) = in_a_three_day_wait()
    assert waits() == {(NOON, NOON + timedelta(days=3))}  # when it began and when it ends, per customer

    approve(journey, [care, visit, dict(wait)])  # the wait moved after the visit
    jobs.tick_one(journey, NOON + timedelta(days=3, minutes=1))
    assert tasks_by_title() == {"一对一关怀": 2, "回访": 2}  # the visit when the running wait ended
    # the moved wait was waited already: the customers complete the journey instead of waiting three days more
    assert {(e.status, e.exit_reason) for e in db.session.scalars(select(JourneyEntry))} == {
        ("completed", "completed")}


def test_a_shortened_wait_ends_at_the_next_tick(app):
    journey, (care, wait, visit) = in_a_three_day_wait()
    approve(journey, [care, dict(wait, days=1), visit])
    assert {e.due_at for e in db.session.scalars(select(JourneyEntry))} == {NOON + timedelta(days=1)}
    assert waits() == {(NOON, NOON + timedelta(days=1))}

    jobs.tick_one(journey, NOON + timedelta(days=2))  # a day after it began the new wait is over
    assert tasks_by_title() == {"一对一关怀": 2, "回访": 2}


def test_a_lengthened_wait_extends_the_running_one_and_an_unchanged_one_keeps_its_end(app):
    journey, (care, wait, visit) = in_a_three_day_wait()
    jobs.tick_one(journey, NOON + timedelta(days=1))
    approve(journey, [care, wait, dict(visit, title="回访（新）")])  # the wait kept as it was
    assert {e.due_at for e in db.session.scalars(select(JourneyEntry))} == {NOON + timedelta(days=3)}

    approve(journey, [care, dict(wait, days=5), dict(visit, title="回访（新）")])
    assert waits() == {(NOON, NOON + timedelta(days=5))}  # from when it began, not from the approval
    jobs.tick_one(journey, NOON + timedelta(days=3, minutes=1))
    assert tasks_by_title() == {"一对一关怀": 2}
    jobs.tick_one(journey, NOON + timedelta(days=5, minutes=1))
    assert tasks_by_title() == {"一对一关怀": 2, "回访（新）": 2}
