"""Lifecycle stage recompute benchmark: 1,000,000 customers in a scratch PostgreSQL, their stages recomputed daily.

Target (issue 16): the daily stage recompute for 1,000,000 customers under 60 s on PostgreSQL, movements included.
Each timed run is `recompute.apply_all` in its own transaction, as the job does: the last interaction of every
customer over all five signals (orders, events, group joins, adds, archiving consent), the stage it gives, the
movements of those that changed, and the changed rows. The first run stages everyone (a movement each, from no
stage); the timed runs follow, each `--step` days later (default 1: the nightly job), and their median is the
figure. The WeCom tag marks come after, rate-limited by WeCom, and are not timed.

    .venv/bin/python -m scripts.bench.lifecycle [--customers 1000000] [--orders 5000000] [--repeat 3] [--step 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date, timedelta

from sqlalchemy import text

from app.core.db import transaction
from app.lifecycle import recompute
from scripts.bench.common import scratch_console, scratch_options
from scripts.bench.rfm_recompute import execute_sql, without_order_indexes

STAFF = 200
AS_OF = date(2026, 6, 30)
GENERATE = [
    # one in twenty customers has no relation left (lost)
    """INSERT INTO customers (id, external_userid, name, type, gender, avatar, corp_name, corp_full_name, position,
                              lost_at)
       SELECT i, 'wm' || lpad(i::text, 9, '0'), '客户' || i, 1, i % 3, '', '', '', '',
              CASE WHEN i % 20 = 3 THEN timestamptz '2026-05-01' END
       FROM generate_series(1, :customers) i""",
    """INSERT INTO follow_relations (userid, external_userid, remark, description, remark_corp_name, remark_mobiles,
                                     add_way, state, oper_userid, added_at, tag_ids)
       SELECT 'u' || lpad(((i + j * 37) % :staff)::text, 3, '0'), 'wm' || lpad(i::text, 9, '0'), '', '', '',
              '[]'::json, 1, '', '', timestamptz '2024-07-01' + (i % 700) * interval '1 day', '[]'::json
       FROM generate_series(1, :customers) i, (VALUES (0), (1)) AS pair(j) WHERE j = 0 OR i % 5 = 0""",
    # events: a fifth of the orders' count, over the last year
    """INSERT INTO customer_events (event_id, type, external_userid, occurred_at, properties, received_at)
       SELECT 'E' || n, 'visit', 'wm' || lpad((1 + (n * 6007) % :customers)::text, 9, '0'),
              timestamptz '2025-07-01 00:00+08' + ((n * 15485863) % (365 * 86400)) * interval '1 s', '{}'::json, now()
       FROM generate_series(1::bigint, :orders / 5) n""",
    """INSERT INTO customer_groups (chat_id, name, owner, notice, status, admin_userids, member_version)
       SELECT 'wr' || g, '群' || g, 'u001', '', 0, '[]'::json, '' FROM generate_series(1, 500) g""",
    """INSERT INTO customer_group_members (chat_id, userid, type, name, group_nickname, join_time, join_scene, state)
       SELECT 'wr' || (1 + i % 500), 'wm' || lpad(i::text, 9, '0'), 2, '', '',
              timestamptz '2025-01-01' + ((i::bigint * 7919) % 540) * interval '1 day', 1, ''
       FROM generate_series(1, :customers, 4) i""",
]
ORDERS = """INSERT INTO orders (order_id, external_userid, unionid, mobile, amount_fen, paid_at, status, source,
                               created_at, updated_at)
       SELECT 'O' || n, 'wm' || lpad((1 + (n * 7919) % :customers)::text, 9, '0'), NULL, NULL,
              100 + (n * 104729) % 200000,
              timestamptz '2024-07-01 00:00+08' + ((n * 15485863) % (730 * 86400)) * interval '1 s',
              CASE WHEN n % 10 = 8 THEN 'refunded' ELSE 'paid' END, 'bench', now(), now()
       FROM generate_series(1::bigint, :orders) n"""


def one_run(as_of: date) -> tuple[float, dict]:
    started = time.perf_counter()
    with transaction():
        counts = recompute.apply_all(as_of, "daily")
    elapsed = time.perf_counter() - started
    print(f"  as of {as_of}: {counts['customers']:,} customers, {counts['new']:,} new, {counts['updated']:,} rows "
          f"updated, {counts['moved']:,} movements {counts['movements']}; {elapsed:.1f} s "
          f"(load {os.getloadavg()[0]:.1f})", flush=True)
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_options(parser, repeat=3)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--step", type=int, default=1, help="days between the timed runs")
    args = parser.parse_args()
    params = {"customers": args.customers, "orders": args.orders, "staff": STAFF}

    def generate() -> None:
        execute_sql(GENERATE, params)
        without_order_indexes(lambda: execute_sql([ORDERS], params))
        execute_sql(["ANALYZE"], params)

    with scratch_console(args, f"{args.customers:,} customers with relations, {args.orders:,} orders, events and "
                               "group members", generate):
        print("first run (everyone staged for the first time):")
        first, _ = one_run(AS_OF)
        execute_sql(["VACUUM ANALYZE lifecycle_stages", "VACUUM ANALYZE lifecycle_movements"], {})
        print(f"daily runs, {args.step} day(s) apart:")
        runs = [one_run(AS_OF + timedelta(days=args.step * day)) for day in range(1, args.repeat + 1)]
        median = statistics.median(elapsed for elapsed, _ in runs)
        print(f"daily stage recompute for {args.customers:,} customers: median {median:.1f} s of {args.repeat} "
              f"(first run {first:.1f} s; target < 60 s; machine {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
