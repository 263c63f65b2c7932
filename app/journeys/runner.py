"""Running due steps: every entry due at a step moves on in one transaction per step with what the step did.

A message step plans one send per time slot through the engine (it batches per staff member into add_msg_template
tasks and applies caps, quota, quiet hours, opt-outs and the journey's holdout); entries due before the slot's send
is cut join it. The step's log rows, the send's outbox and the entries' advance commit together: a worker killed
mid-step leaves nothing behind, and the rerun does the step once (the log is unique per entry and step).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import case, exists, insert, literal, select, update

from app import sending
from app.core import settings
from app.core.db import UTCDateTime, transaction
from app.extensions import db
from app.journeys import conditions, spec as specs
from app.journeys.models import (EntryStatus, Journey, JourneyEntry as E, JourneySend, JourneyStatus,
                                 JourneyStepLog as L)
from app.sending.models import RunStatus

OPEN = (RunStatus.PLANNING, RunStatus.PLANNED, RunStatus.WAITING_WINDOW)


def _due(journey: Journey, index: int, now: datetime) -> list:
    return [E.journey_id == journey.id, E.status == EntryStatus.ACTIVE, E.step_index == index, E.due_at <= now]


def step_id(journey: Journey, index: int) -> str:
    return specs.step_ids(journey.live)[index]


def _log(journey: Journey, index: int, where: list, outcome, now: datetime, send_id: int | None = None) -> None:
    rows = select(literal(journey.id), E.id, literal(index), literal(step_id(journey, index)), outcome,
                  literal(send_id), literal(now, UTCDateTime()))
    db.session.execute(insert(L).from_select(["journey_id", "entry_id", "step_index", "step_id", "outcome", "send_id",
                                              "at"], rows.where(*where)))


def _advance(where: list, index: int, **values) -> None:
    db.session.execute(update(E).where(*where).values(step_index=index + 1, **values),
                       execution_options={"synchronize_session": False})


def waited_until(due: datetime, days: int, at: str | None) -> datetime:
    """`days` corp-local days after `due`, at `at` (HH:MM) if given; never before `due`."""
    tz = settings.corp_timezone()
    local = due.astimezone(tz) + timedelta(days=days)
    if at:
        hour, minute = map(int, at.split(":"))
        local = datetime.combine(local.date(), time(hour, minute), tzinfo=tz)
        if local <= due:
            local += timedelta(days=1)
    return local.astimezone(due.tzinfo)


def slot_after(now: datetime, slots: list[str]) -> datetime:
    """The first of the journey's daily send times (corp time) at or after now."""
    tz = settings.corp_timezone()
    local = now.astimezone(tz)
    for day in range(2):
        for hhmm in sorted(slots or ["10:00"]):
            hour, minute = map(int, hhmm.split(":"))
            at = datetime.combine(local.date() + timedelta(days=day), time(hour, minute), tzinfo=tz)
            if at >= local:
                return at.astimezone(now.tzinfo)
    raise AssertionError("a slot exists within two days")


def _slot_send(journey: Journey, index: int, slot: datetime, slots: list[str]) -> JourneySend:
    """The open send of this step at this slot (locked), or a new one; a slot already cut moves to the next."""
    while True:
        send = db.session.scalars(select(JourneySend).where(
            JourneySend.journey_id == journey.id, JourneySend.journey_step == index,
            JourneySend.journey_slot == slot).with_for_update()).first()
        if send is None:
            send = JourneySend(journey_id=journey.id, journey_step=index, journey_slot=slot,
                               journey_version=journey.live_version, status=RunStatus.PLANNING)
            db.session.add(send)
            db.session.flush()
            return send
        if send.status in OPEN and send.journey_version == journey.live_version:
            return send
        slot = slot_after(slot + timedelta(minutes=1), slots)


def _message(journey: Journey, index: int, step: dict, where: list, now: datetime) -> None:
    spec = journey.live
    slot = slot_after(now, spec.get("slots"))
    send = _slot_send(journey, index, slot, spec.get("slots"))
    # held-out entries are logged as such but stay in the send: the engine counts them as its holdout
    _log(journey, index, where, case((E.held, literal("held")), else_=literal("message")), now, send.id)
    members = select(E.customer_id.label("customer_id")).where(
        E.id.in_(select(L.entry_id).where(L.send_id == send.id)))
    sending.plan(send, sending.Request(
        who=sending.customers(members),
        what=(sending.Variant("A", 100, {"text": step["text"], "attachments": step.get("attachments") or []}),),
        category=step.get("category", "promotion"), holdout_key=journey.holdout_key,
        holdout_percent=spec.get("holdout_percent", 0), when=send.journey_slot), now)
    _advance(where, index, due_at=send.journey_slot)


def _wait(journey: Journey, index: int, step: dict, where: list) -> None:
    """The wait begins when the entry was due at it: logged with when it ends, the entry due then."""
    for (began,) in db.session.execute(select(E.due_at).where(*where).distinct()).all():
        ends = waited_until(began, step["days"], step.get("at"))
        rows = select(literal(journey.id), E.id, literal(index), literal(step["id"]), literal("wait"), E.due_at,
                      literal(ends, UTCDateTime())).where(*where, E.due_at == began)
        db.session.execute(insert(L).from_select(["journey_id", "entry_id", "step_index", "step_id", "outcome", "at",
                                                  "due_at"], rows))
        _advance(where + [E.due_at == began], index, due_at=ends)


def run_step(journey: Journey, index: int, now: datetime) -> int:
    """One step for every entry due at it, in one transaction; how many entries moved. The journey's row is read
    again under a lock first, so a version approved meanwhile (versions.carry) is seen whole or not at all; entries
    that already did this step (by identity, under an earlier version) move past it without doing it again."""
    from app.journeys import actions, tagging

    with transaction():
        db.session.refresh(journey, with_for_update=True)
        if journey.status != JourneyStatus.ACTIVE or index >= len(journey.live["steps"]):
            return 0
        step = dict(journey.live["steps"][index], id=step_id(journey, index))
        due = _due(journey, index, now)
        did = exists().where(L.entry_id == E.id, L.step_id == step["id"])
        # moved past it first, so no longer due here (the step's own log rows would match `did` too)
        moved = db.session.execute(update(E).where(*due, did).values(step_index=index + 1),
                                   execution_options={"synchronize_session": False}).rowcount or 0
        if condition := step.get("if"):
            failing = due + [~conditions.holds(condition)]
            if step.get("otherwise") == "exit":
                moved += db.session.execute(update(E).where(*failing).values(
                    status=EntryStatus.COMPLETED, exit_reason="condition", ended_at=now),
                    execution_options={"synchronize_session": False}).rowcount or 0
            else:
                _log(journey, index, failing, literal("skipped"), now)
                moved += db.session.execute(update(E).where(*failing).values(step_index=index + 1),
                                            execution_options={"synchronize_session": False}).rowcount or 0
        count = db.session.scalar(select(db.func.count()).select_from(E).where(*due)) or 0
        if count:
            if step["kind"] == "wait":
                _wait(journey, index, step, due)
            elif step["kind"] == "message":
                _message(journey, index, step, due, now)
            elif step["kind"] == "tag":
                tagging.plan(journey, index, step, due, now)
            else:
                actions.run(journey, index, step, due, now)
        return moved + count


def finish(journey: Journey, now: datetime) -> int:
    """Entries past the last step have completed the journey once its last step's time has come (a last message
    waiting for its slot keeps its customer in, so an order meanwhile still exits them)."""
    with transaction():
        return db.session.execute(update(E).where(
            E.journey_id == journey.id, E.status == EntryStatus.ACTIVE, E.due_at <= now,
            E.step_index >= len(journey.live["steps"])).values(status=EntryStatus.COMPLETED,
                                                               exit_reason="completed", ended_at=now),
            execution_options={"synchronize_session": False}).rowcount or 0


def run_due(journey: Journey, now: datetime) -> int:
    """Every step in timeline order: an entry goes through all the steps due for it in one pass (a version with more
    steps approved meanwhile runs its further steps at the next tick)."""
    moved = sum(run_step(journey, i, now) for i in range(len(journey.live["steps"])))
    return moved + finish(journey, now)
