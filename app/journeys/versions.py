"""A new version going live: the customers in the journey carry on by step identity, not by position.

The rule (also shown on the journey page): a customer waiting for a step continues at the step with the same
identity in the new version, at the same due time; if the new version removed that step, at the next of their
remaining steps it kept (in the old order); if it kept none of them, they complete the journey at the next tick.
Steps the new version added before that point are not run for them. A step they already did is never run for them
again, wherever the new version put it (runner.run_step skips it by identity). Messages already planned keep the
approved text they were planned with: an unapproved draft never reaches a customer.
"""
from __future__ import annotations

from sqlalchemy import case, update

from app.extensions import db
from app.journeys import spec as specs
from app.journeys.models import EntryStatus, Journey, JourneyEntry as E


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
    return db.session.execute(update(E).where(E.journey_id == journey.id, E.status == EntryStatus.ACTIVE)
                              .values(step_index=moved, version=version),
                              execution_options={"synchronize_session": False}).rowcount or 0
