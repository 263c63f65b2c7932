"""RFM recompute benchmark: 1,000,000 customers with relations and orders in a scratch PostgreSQL, recomputed 3 times.

Target (issue 5): the in-product recompute for 1,000,000 customers under 30 s on PostgreSQL, tag diff included.
Each run is what `recompute.execute` does before it calls WeCom: `match` (orders without external_userid),
`score` (the GROUP BY, the vectorised scorer, staging by COPY, the upsert keeping previous values and mark
states) and the tag diff (`writeback.customers_to_mark`: who must be re-marked). The mark_tag calls themselves
are rate-limited by WeCom and come after; they are not timed. Between runs the benchmark plays WeCom: every
customer's tags are taken as written (tagged_* and the relations' tag ids), and the next run is one day later,
as the nightly job is.

    .venv/bin/python -m scripts.bench.rfm_recompute [--customers 1000000] [--orders 10000000] [--runs 3] [--keep]

`--runs` is `--repeat` under the name the issue's notes use.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date, timedelta

from sqlalchemy import text

from app.core.db import transaction
from app.extensions import db
from app.rfm import recompute, writeback
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from scripts.bench.common import scratch_console, scratch_options

STAFF = 200
AS_OF = date(2026, 6, 30)
IDS = {"segment": {key: f"rfm-seg-{key}" for key in SEGMENT_LABELS},
       "class8": {key: f"rfm-cls-{key}" for key in CLASS_LABELS}}

GENERATE = [
    """INSERT INTO customers (id, external_userid, name, type, gender, avatar, corp_name, corp_full_name, position)
       SELECT i, 'wm' || lpad(i::text, 9, '0'), '客户' || i, 1, i % 3, '', '', '', ''
       FROM generate_series(1, :customers) i""",
    """INSERT INTO follow_relations (userid, external_userid, remark, description, remark_corp_name, remark_mobiles,
                                     add_way, state, oper_userid, added_at, tag_ids)
       SELECT 'u' || lpad(((i + j * 37) % :staff)::text, 3, '0'), 'wm' || lpad(i::text, 9, '0'), '', '', '',
              '[]'::json, 1, '', '', timestamptz '2025-01-01' + (i % 500) * interval '1 day', '[]'::json
       FROM generate_series(1, :customers) i, (VALUES (0), (1)) AS pair(j) WHERE j = 0 OR i % 5 = 0""",
    # orders: customer i gets about orders/customers; two years of history; 8 in 10 paid; 1 in 1000 unmatched
    """INSERT INTO orders (order_id, external_userid, unionid, mobile, amount_fen, paid_at, status, source,
                           created_at, updated_at)
       SELECT 'O' || n,
              CASE WHEN n % 1000 = 7 THEN NULL ELSE 'wm' || lpad((1 + (n * 7919) % :customers)::text, 9, '0') END,
              CASE WHEN n % 1000 = 7 THEN 'union-nobody-' || n END, NULL,
              100 + (n * 104729) % 200000,
              timestamptz '2024-07-01 00:00+08' + ((n * 15485863) % (730 * 86400)) * interval '1 s',
              CASE WHEN n % 10 = 8 THEN 'refunded' WHEN n % 10 = 9 THEN 'cancelled' ELSE 'paid' END,
              'bench', now(), now()
       FROM generate_series(1::bigint, :orders) n""",
    "ANALYZE",
]
WECOM_CARRIES_THE_TAGS = [  # what the marking stage would leave behind, without calling WeCom
    """UPDATE customer_rfm_scores SET tagged_segment = segment, tagged_class8 = class8, mark_state = 'done'
       WHERE mark_state <> 'done'""",
    """UPDATE follow_relations r SET tag_ids = json_build_array('rfm-seg-' || s.segment, 'rfm-cls-' || s.class8)
       FROM customer_rfm_scores s WHERE s.external_userid = r.external_userid AND s.segment IS NOT NULL""",
    "VACUUM ANALYZE customer_rfm_scores",
    "VACUUM ANALYZE follow_relations",
]


def execute_sql(statements: list[str], params: dict) -> None:
    for statement in statements:
        started = time.monotonic()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(statement), params)
        print(f"  {' '.join(statement.split()[:3])}: {time.monotonic() - started:.1f} s", flush=True)


def without_order_indexes(action) -> None:
    """Run `action` with the orders table's secondary indexes dropped, then build them again (faster than
    maintaining them row by row while 10,000,000 orders go in)."""
    with db.engine.begin() as conn:
        unique = conn.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                   "WHERE conrelid = 'orders'::regclass AND contype = 'u'")).all()
        indexes = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'orders' AND "
                                    "indexname NOT IN (SELECT conname FROM pg_constraint "
                                    "WHERE conrelid = 'orders'::regclass)")).all()
        for name, _definition in unique:
            conn.execute(text(f'ALTER TABLE orders DROP CONSTRAINT "{name}"'))
        for name, _definition in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
    action()
    started = time.monotonic()
    with db.engine.begin() as conn:
        for name, definition in unique:
            conn.execute(text(f'ALTER TABLE orders ADD CONSTRAINT "{name}" {definition}'))
        for _name, definition in indexes:
            conn.execute(text(definition))
    print(f"  indexes of orders built again: {time.monotonic() - started:.1f} s", flush=True)


def one_run(as_of: date) -> dict[str, float]:
    """The stages of `recompute.execute` up to the WeCom calls, each in its own transaction as there."""
    timings = {}
    run_id = recompute.begin("bench", as_of).id
    started = time.perf_counter()
    with transaction():
        run = db.session.get(recompute.RfmRun, run_id)
        run.counts = {"matched": recompute.match_orders()}
    timings["match"] = time.perf_counter() - started
    started = time.perf_counter()
    with transaction():
        run = db.session.get(recompute.RfmRun, run_id)
        counts = recompute.store_scores(run)
        run.counts = {**run.counts, **counts}
    timings["score"] = time.perf_counter() - started
    started = time.perf_counter()
    to_mark = writeback.customers_to_mark(IDS)
    db.session.rollback()
    timings["tag diff"] = time.perf_counter() - started
    with transaction():
        run = db.session.get(recompute.RfmRun, run_id)
        run.status, run.stage = recompute.SUCCEEDED, "done"
    timings["total"] = sum(timings.values())
    print(f"  as of {as_of}: {counts['customers']:,} customers scored ({counts['new']:,} new, {counts['moved']:,} "
          f"moved), {len(to_mark):,} to re-mark; " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
          + f" (load {os.getloadavg()[0]:.1f})", flush=True)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_options(parser, repeat=3)
    parser.add_argument("--runs", dest="repeat", type=int, default=argparse.SUPPRESS, help="the same as --repeat")
    parser.add_argument("--orders", type=int, default=10_000_000)
    args = parser.parse_args()
    params = {"customers": args.customers, "orders": args.orders, "staff": STAFF}

    def generate() -> None:
        execute_sql(GENERATE[:2], params)
        without_order_indexes(lambda: execute_sql(GENERATE[2:3], params))
        execute_sql(GENERATE[3:], params)

    with scratch_console(args, f"{args.customers:,} customers, their relations and {args.orders:,} orders", generate):
        print("first run (on a fresh database everyone is new), then WeCom is taken to carry every tag:")
        runs = [one_run(AS_OF)]
        for day in range(1, args.repeat):
            execute_sql(WECOM_CARRIES_THE_TAGS, {})
            runs.append(one_run(AS_OF + timedelta(days=day)))
        print("median of the runs: " + ", ".join(f"{stage} {statistics.median(r[stage] for r in runs):.1f} s"
                                                 for stage in runs[0]))
        total = statistics.median(r["total"] for r in runs)
        print(f"recompute for {args.customers:,} customers: median {total:.1f} s (target < 30 s; machine "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
