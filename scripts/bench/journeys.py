"""Journey benchmarks on a scratch PostgreSQL: planning the due message step of a journey for 100,000 customers into
send tasks (target < 30 s), and with `--measure exit` an order to its customer's exit from the journey (target 5 s).

The company is generated as in the contact list benchmark (customers, two relations each, 5 % lost). Each repetition
makes a new running journey (its first step a 1:1 message, 10 % holdout, every exit signal) with 100,000 entries due
now, then times what the minute tick and the worker do with them: `runner.run_step` (step log, one slot send planned
through the engine with opt-outs, caps, WeCom quota, quiet hours and holdout, entries advanced) and the engine's
`start_due_run` at the slot (the exit re-check of every recipient, then the send cut into add_msg_template tasks
per staff member).

    .venv/bin/python -m scripts.bench.journeys [--customers 200000] [--entries 100000] [--repeat 3] [--keep]

`--measure exit`: a running journey with every exit signal and 100,000 customers in it; the console serves the API
over real HTTP (a threaded server in this process). Each run posts `--orders` orders one at a time, each for a
different customer in the journey, named in one of three ways (external_userid; only the unionid; only a remark
mobile, matched by the API call itself), and times from sending the request until another database connection sees
the customer's entry exited. Prints per way and run the median, then the median of the runs.

    .venv/bin/python -m scripts.bench.journeys --measure exit [--customers 200000] [--orders 20] [--repeat 5]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import threading
import time
from datetime import datetime

from sqlalchemy import func, select, text

from app.core import settings
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


WAYS = ("external_userid", "unionid", "mobile")


def _order(way: str, number: int, ext: str, customer_id: int) -> dict:
    who = {"external_userid": {"external_userid": ext}, "unionid": {"unionid": f"un{customer_id}"},
           "mobile": {"mobile": "138" + str(customer_id * 7919 % 100_000_000).zfill(8)}}[way]
    return {"order_id": f"bench-exit-{way}-{number}-{ext}", "amount": "66.00", "status": "paid",
            "paid_at": datetime.now(settings.corp_timezone()).strftime("%Y-%m-%d %H:%M:%S"), **who}


def _exited(engine, entry_id: int) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT status FROM journey_entries WHERE id = :id"), {"id": entry_id}).scalar() \
            == "exited"


def exit_latency(args) -> None:
    """Order-to-exit latency over real HTTP, by the way the order names its customer (see the module docstring)."""
    import requests
    from flask import current_app
    from werkzeug.serving import make_server

    from app.core import tokens

    db.session.execute(text("UPDATE customers SET unionid = 'un' || id WHERE id % 2 = 1"))  # mobiles: the even ids
    journey = new_journey(0)
    db.session.execute(text(ENTER), {"journey": journey.id, "key": journey.holdout_key, "now": utcnow(),
                                     "entries": args.entries})
    token = tokens.issue("bench", "operator", created_by="bench")[1]
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = make_server("127.0.0.1", 0, current_app._get_current_object(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/orders"
    headers = {"Authorization": f"Bearer {token}"}
    # customers in the journey with their way of being named: odd ids have a unionid, even ids a remark mobile
    rows = db.session.execute(text(
        "SELECT e.id, e.external_userid, c.id FROM journey_entries e JOIN customers c ON c.id = e.customer_id "
        "WHERE e.journey_id = :j AND e.status = 'active' ORDER BY e.id"), {"j": journey.id}).all()
    db.session.commit()
    pools = {"external_userid": rows[0::4], "unionid": [r for r in rows[1::4] if r[2] % 2 == 1],
             "mobile": [r for r in rows[2::4] if r[2] % 2 == 0]}
    medians: dict[str, list[float]] = {way: [] for way in WAYS}
    try:
        for run in range(1, args.repeat + 1):
            line = []
            for way in WAYS:
                timings = []
                for number in range(args.orders):
                    entry_id, ext, customer_id = pools[way].pop()
                    started = time.monotonic()
                    answer = requests.post(url, json={"orders": [_order(way, number, ext, customer_id)]},
                                           headers=headers, timeout=30)
                    answer.raise_for_status()
                    while not _exited(db.engine, entry_id):
                        if time.monotonic() - started > 60:
                            raise SystemExit(f"entry {entry_id} ({way}) did not exit within 60 s")
                        time.sleep(0.005)
                    timings.append((time.monotonic() - started) * 1000)
                medians[way].append(statistics.median(timings))
                line.append(f"{way} p50 {statistics.median(timings):.0f} ms max {max(timings):.0f} ms")
            print(f"run {run}: " + "; ".join(line), flush=True)
    finally:
        server.shutdown()
    worst = max(statistics.median(values) for values in medians.values())
    for way in WAYS:
        print(f"median of the runs' medians, {way}: {statistics.median(medians[way]):.0f} ms")
    print(f"\nslowest way {worst:.0f} ms (target < 5,000 ms): {'OK' if worst < 5000 else 'TOO SLOW'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_options(parser, repeat=3)
    parser.set_defaults(customers=200_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--measure", choices=("plan", "exit"), default="plan")
    parser.add_argument("--orders", type=int, default=20, help="orders per way and run (--measure exit)")
    args = parser.parse_args()
    with scratch_console(args, f"{args.customers:,} customers and {2 * args.customers:,} relations",
                         lambda: generate(args.customers)):
        if args.measure == "exit":
            exit_latency(args)
            return
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
