"""RFM tag write-back benchmark: the nightly write-back of N changed customers (one mark_tag each) against the WeCom
emulator in its own process, with WeCom's real limits (10,000 calls/min and 150,000/h per API, 45009 past them).

Target (issue 12): 100,000 changed tags written without a single 45009. The write-back runs in the gateway's bulk
lane, so it may use only its share (default 75 %) of the console's budget (9,000/min, 140,000/h): about 6,750
mark_tag calls a minute and 105,000 an hour, the rest kept for new customers' channel tags. The report gives the
time, the calls WeCom answered (by errcode), the time spent in calls (the rest is the database and waiting for the minute budget), and the share of the
hour's limits used. 100,000 customers take about 15 minutes at that pace; `--customers` runs a smaller size.
Measured 2026-12-05 (SQLite, 2 shared cores): 100,000 in 865 s, 100,000 answered 0 and none 45009, 1.26 ms per call
(about 47,000 calls/min unthrottled), 66.7 % of WeCom's hourly 150,000 used.

    .venv/bin/python -m scripts.bench.rfm_writeback [--customers 100000] [--staff 100] [--database sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import time

from sqlalchemy import insert

from app.contacts.models import Customer, FollowRelation
from app.core.db import transaction, utcnow
from app.extensions import db
from app.rfm import writeback
from app.rfm.models import CustomerRfmScore, RfmRun
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from app.wecom import connection
from scripts.bench.common import emulator_console, free_port
from scripts.wecom_emulator.testing import ControlClient

MARK = "externalcontact/mark_tag"
CHUNK = 5000


def generate(control: ControlClient, customers: int, staff: int) -> int:
    """The same customers in WeCom (one relation each, no tags) and here, every one owed its RFM tags."""
    userids = [f"rb{i:03d}" for i in range(staff)]
    per_user = customers // staff
    control.post("groupmsg/audience", userids=userids, per_user=per_user, prefix="wmrfm")
    segments, classes, now = list(SEGMENT_LABELS), list(CLASS_LABELS), utcnow()
    with transaction():
        run = RfmRun(status="running", stage="tags", started_by="bench")
        db.session.add(run)
        db.session.flush()
        ids = [(u, f"wmrfm{u}x{n}") for u in userids for n in range(per_user)]
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            db.session.execute(insert(Customer), [
                {"external_userid": ext, "name": f"客户{ext[-6:]}", "type": 1, "gender": 0, "avatar": "",
                 "corp_name": "", "corp_full_name": "", "position": ""} for _, ext in chunk])
            db.session.execute(insert(FollowRelation), [
                {"userid": u, "external_userid": ext, "remark": "", "description": "", "remark_corp_name": "",
                 "remark_mobiles": [], "add_way": 1, "state": "", "oper_userid": ext, "added_at": now,
                 "tag_ids": []} for u, ext in chunk])
            db.session.execute(insert(CustomerRfmScore), [
                {"external_userid": ext, "recency_days": i % 365, "frequency": 1 + i % 5, "monetary_fen": 10000,
                 "r_score": 3, "f_score": 3, "m_score": 3, "segment": segments[i % len(segments)],
                 "class8": classes[i % len(classes)], "run_id": run.id, "mark_state": "pending", "updated_at": now}
                for i, (_, ext) in enumerate(chunk, start)])
    return run.id


def report(control: ControlClient, customers: int, seconds: float, calling: float, counts: dict, problem) -> None:
    answered = {c["errcode"]: c["count"] for c in control.get("calls", recent=0)["counts"] if c["api"] == MARK}
    ok, limited = answered.get(0, 0), answered.get(45009, 0)
    print(f"customers {customers:,}: {seconds:.0f} s ({seconds / 60:.1f} min), of which {calling:.0f} s in mark_tag "
          f"calls ({calling / max(1, ok + limited) * 1000:.2f} ms each); the rest is the database and waiting for "
          f"the next minute's budget")
    print(f"  mark_tag answered: {answered} -> 45009: {limited}")
    print(f"  rate: {ok / seconds * 60:,.0f} calls/min overall; write-back result {counts}; problem: {problem}")
    print(f"  hour used: {ok:,} calls = {ok / 150_000:.1%} of WeCom's 150,000, {ok / 105_000:.1%} of the bulk share "
          f"(105,000); {ok / 140_000:.1%} of the console's 140,000")
    per_minute = 6_750
    print(f"  at the bulk pace ({per_minute:,}/min), 100,000 changed customers take about "
          f"{100_000 / per_minute:.1f} min when each minute's share is sent in under a minute")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--staff", type=int, default=100)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with emulator_console(args.database, free_port()) as (app, control, proc, base), app.app_context():
        print(f"database {args.database}, emulator pid {proc.pid} on {base}; limits "
              f"{ {k: v for k, v in control.config().items() if k.startswith('rate')} }", flush=True)
        run_id = generate(control, args.customers, args.staff)
        in_calls = []  # milliseconds of each mark_tag call: the rest of the time is the database and waiting
        connection.gateway().add_observer(lambda api, _code, ms: in_calls.append(ms) if api == MARK else None)
        last = [time.monotonic()]

        def tick(run: RfmRun) -> None:
            if time.monotonic() - last[0] > 10:
                last[0] = time.monotonic()
                print(f"  {run.done:,} / {run.total:,}", flush=True)

        started = time.monotonic()
        counts, problem = writeback.write_tags(run_id, tick)
        seconds = time.monotonic() - started
        report(control, args.customers, seconds, sum(in_calls) / 1000, counts, problem)

if __name__ == "__main__":
    main()
