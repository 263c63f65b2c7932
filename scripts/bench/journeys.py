"""Journey planning benchmark: the due message step of a journey for 100,000 customers planned into send tasks on a
scratch PostgreSQL (target < 30 s).

The company is generated as in the contact list benchmark (customers, two relations each, 5 % lost). Each repetition
makes a new running journey (its first step a 1:1 message, 10 % holdout, every exit signal) with 100,000 entries due
now, then times what the minute tick and the worker do with them: `runner.run_step` (step log, one slot send planned
through the engine with opt-outs, caps, WeCom quota, quiet hours and holdout, entries advanced) and the engine's
`start_due_run` at the slot (the exit re-check of every recipient, then the send cut into add_msg_template tasks
per staff member).

    .venv/bin/python -m scripts.bench.journeys [--customers 200000] [--entries 100000] [--repeat 3] [--keep]
"""
from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import func, select, text

from app.core.db import utcnow
from app.extensions import db
from app.journeys import runner, service
from app.journeys.models import JourneySend
from app.sending import dispatch
from app.sending.models import SendTask
from scripts.bench.common import scratch_console, scratch_options
from scripts.bench.contacts_list import generate

ENTER = """
INSERT INTO journey_entries (journey_id, customer_id, external_userid, owner_userid, version, held, status,
                             step_index, due_at, entered_at)
SELECT :journey, c.id, c.external_userid,
       (SELECT r.userid FROM follow_relations r WHERE r.external_userid = c.external_userid AND r.ended_at IS NULL
        ORDER BY r.added_at DESC NULLS LAST, r.id DESC LIMIT 1),
       1, (('x' || substr(md5(:key || ':' || c.external_userid), 1, 8))::bit(32)::bigint % 10000) < 1000,
       'active', 0, :now, :now
FROM customers c WHERE c.lost_at IS NULL ORDER BY c.id LIMIT :entries
"""


def new_journey(number: int):
    journey = service.create(f"基准旅程 {number}", "wakeup", "bench")
    service.submit(journey, "bench", may_approve=True)
    return journey


def once(number: int, entries: int) -> tuple[float, float, int, int]:
    journey = new_journey(number)
    now = utcnow()
    db.session.execute(text(ENTER), {"journey": journey.id, "key": journey.holdout_key, "now": now,
                                     "entries": entries})
    db.session.commit()
    db.session.execute(text("ANALYZE journey_entries"))
    db.session.commit()
    started = time.monotonic()
    moved = runner.run_step(journey, 0, now)
    planned = time.monotonic() - started
    send = db.session.scalars(select(JourneySend).where(JourneySend.journey_id == journey.id)).one()
    started = time.monotonic()
    dispatch.start_due_run(now=send.journey_slot)
    cut = time.monotonic() - started
    tasks = db.session.scalar(select(func.count()).select_from(SendTask).where(SendTask.run_id == send.id))
    db.session.execute(text("UPDATE campaign_runs SET status = 'cancelled' WHERE id = :id"), {"id": send.id})
    db.session.commit()
    return planned, cut, moved, tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_options(parser, repeat=3)
    parser.set_defaults(customers=200_000)
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    with scratch_console(args, f"{args.customers:,} customers and {2 * args.customers:,} relations",
                         lambda: generate(args.customers)):
        totals = []
        for number in range(1, args.repeat + 1):
            planned, cut, moved, tasks = once(number, args.entries)
            totals.append(planned + cut)
            print(f"run {number}: plan {planned:.1f} s + cut into {tasks} send tasks {cut:.1f} s = "
                  f"{planned + cut:.1f} s for {moved:,} entries", flush=True)
        median = statistics.median(totals)
        print(f"\nmedian {median:.1f} s over {len(totals)} runs (target < 30 s): {'OK' if median < 30 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
