"""A new version going live: customers in the journey carry on at the step of the same identity (moved, reworded,
with steps added and removed around it), never redo a step they did, and an unapproved draft sends nothing."""
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
    assert db.session.scalar(select(func.count()).select_from(JourneyStepLog)) == 4 * 4


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
