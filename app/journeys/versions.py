"""A new version going live: the customers in the journey carry on by step identity, not by position.

The rule (also shown on the journey page): a customer waiting for a step continues at the step with the same
identity in the new version, at the same due time; if the new version removed that step, at the next of their
remaining steps it kept (in the old order); if it kept none of them, they complete the journey at the next tick.
Steps the new version added before that point are not run for them. A step they already did is never run for them
again, wherever the new version put it (runner.run_step skips it by identity). A wait they are in is never started
again: one the new version made longer or shorter is measured from when it began (a shorter one that is over ends at
the next tick). Messages already planned keep the approved text they were planned with: an unapproved draft never
reaches a customer.
"""
from __future__ import annotations

from sqlalchemy import case, exists, select, update
from sqlalchemy.orm import aliased

from app.extensions import db
from app.journeys import spec as specs
from app.journeys.models import EntryStatus, Journey, JourneyEntry as E, JourneyStepLog as L
from app.journeys.runner import waited_until


def carried(old: dict, new: dict) -> dict[int, int]:
    """{the next step of an entry in `old`: its next step in `new`} for every position, including past the end."""
    old_ids, new_ids = specs.step_ids(old), specs.step_ids(new)
    position = {step_id: index for index, step_id in enumerate(new_ids)}
    return {k: next((position[s] for s in old_ids[k:] if s in position), len(new_ids))
            for k in range(len(old_ids) + 1)}


def carry(journey: Journey, old: dict | None, new: dict, version: int) -> int:
    """Move the journey's active entries from `old` to `new` (caller's transaction); how many entries."""
    if not old:
        return 0
    moved = case(*((E.step_index == k, v) for k, v in carried(old, new).items()), else_=len(new["steps"]))
    count = db.session.execute(update(E).where(E.journey_id == journey.id, E.status == EntryStatus.ACTIVE)
                               .values(step_index=moved, version=version),
                               execution_options={"synchronize_session": False}).rowcount or 0
    for step_id, step in changed_waits(old, new).items():
        retime(journey, step_id, step)
    return count


def changed_waits(old: dict, new: dict) -> dict[str, dict]:
    """{identity: the new wait} for the waits of `old` that `new` kept with another length or time of day."""
    before = {i: s for i, s in zip(specs.step_ids(old), old["steps"]) if s["kind"] == "wait"}
    timing = {i: (s["days"], s.get("at")) for i, s in before.items()}
    return {i: s for i, s in zip(specs.step_ids(new), new["steps"])
            if s["kind"] == "wait" and i in timing and (s["days"], s.get("at")) != timing[i]}


def retime(journey: Journey, step_id: str, step: dict) -> None:
    """The active entries in this wait (it is the last step they did) due when it ends as `step` measures it from
    when it began; the wait's log says the new end too."""
    later = aliased(L)
    in_wait = [L.journey_id == journey.id, L.step_id == step_id, L.outcome == "wait",
               ~exists().where(later.entry_id == L.entry_id, later.id > L.id)]
    active = select(E.id).where(E.journey_id == journey.id, E.status == EntryStatus.ACTIVE)
    for (began,) in db.session.execute(select(L.at).where(*in_wait, L.entry_id.in_(active)).distinct()).all():
        ends = waited_until(began, step["days"], step.get("at"))
        logs = select(L.entry_id).where(*in_wait, L.at == began)
        db.session.execute(update(E).where(E.id.in_(logs), E.status == EntryStatus.ACTIVE).values(due_at=ends),
                           execution_options={"synchronize_session": False})
        db.session.execute(update(L).where(*in_wait, L.at == began, L.entry_id.in_(active)).values(due_at=ends),
                           execution_options={"synchronize_session": False})
