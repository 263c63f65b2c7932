"""Contact list benchmark: 1,000,000 customers and 2,000,000 relations in a scratch PostgreSQL, then the list timed.

The data is generated inside PostgreSQL (INSERT ... SELECT over generate_series), then the real list code
(`app.contacts.contact_list.load_page`: the page, its relations and the capped count) is timed for the first page
and a deep page, with and without filters. Target: p95 under 300 ms for every case.

    .venv/bin/python -m scripts.bench.contacts_list [--customers 1000000] [--repeat 7] [--keep]
"""
from __future__ import annotations

import argparse
import time

from sqlalchemy import text

from app.contacts.contact_list import Filters, load_page
from app.contacts.scope import Scope
from app.extensions import db
from scripts.bench.common import percentile, scratch_console, scratch_options, timed_calls

STAFF, DEPARTMENTS, TAGS, CHANNELS = 200, 20, 40, 50

GENERATE = [
    """INSERT INTO departments (id, name, name_en, parent_id, "order", leader_userids)
       SELECT d, '部门' || d, '', CASE WHEN d = 1 THEN 0 ELSE 1 + (d - 2) / 5 END, 0, '[]'::json
       FROM generate_series(1, :departments) d""",
    """INSERT INTO staff (userid, name, position, alias, department_ids, status, is_follow_user)
       SELECT 'u' || lpad(s::text, 3, '0'), '员工' || s, '', '', json_build_array(1 + s % :departments), 1, true
       FROM generate_series(0, :staff - 1) s""",
    """INSERT INTO corp_tag_groups (group_id, name, "order") VALUES ('bench', '基准标签', 0)""",
    """INSERT INTO corp_tags (tag_id, group_id, name, "order")
       SELECT 't' || t, 'bench', '标签' || t, 0 FROM generate_series(0, :tags - 1) t""",
    """INSERT INTO customers (id, external_userid, name, type, gender, avatar, corp_name, corp_full_name, position,
                              lost_at)
       SELECT i, 'wm' || lpad(i::text, 9, '0'), '客户' || i, 1, i % 3, '',
              CASE WHEN i % 7 = 0 THEN '公司' || (i % 5000) ELSE '' END, '', '',
              CASE WHEN i % 20 = 0 THEN timestamptz '2026-11-01' - (i % 700) * interval '1 day' END
       FROM generate_series(1, :customers) i""",
    """SELECT setval(pg_get_serial_sequence('customers', 'id'), :customers)""",
    """INSERT INTO follow_relations (userid, external_userid, remark, description, remark_corp_name, remark_mobiles,
                                     add_way, state, oper_userid, added_at, tag_ids, ended_at, ended_by)
       SELECT 'u' || lpad((CASE WHEN j = 0 THEN i % :staff ELSE (i + 1 + i % 50) % :staff END)::text, 3, '0'),
              'wm' || lpad(i::text, 9, '0'),
              CASE WHEN i % 4 = 0 THEN '备注' || i ELSE '' END, '', '',
              CASE WHEN i % 2 = 0 THEN json_build_array('138' || lpad((i::bigint * 7919 % 100000000)::text, 8, '0'))
                   ELSE '[]'::json END,
              (i + j) % 6, CASE WHEN i % 10 < 3 THEN 'ch-' || (i % :channels) ELSE '' END, '',
              timestamptz '2026-11-01' - ((i * 37 + j * 11) % 730) * interval '1 day' - (i % 86400) * interval '1 s',
              CASE WHEN (i + j) % 3 = 0 THEN ('["t' || ((i + j) % :tags) || '", "t' || ((i + j + 7) % :tags) || '"]')::json
                   ELSE '[]'::json END,
              CASE WHEN i % 20 = 0 THEN timestamptz '2026-11-01' - (i % 700) * interval '1 day' END,
              CASE WHEN i % 20 = 0 THEN 'customer' END
       FROM generate_series(1, :customers) i, (VALUES (0), (1)) AS pair(j)""",
    "ANALYZE",
]

CASES = [
    ("first page, no filter", {}, 1),
    ("deep page (2,000), no filter", {}, 2000),
    ("first page, staff", {"staff": "u042"}, 1),
    ("deep page (100), staff", {"staff": "u042"}, 100),
    ("first page, department", {"department": "3"}, 1),
    ("first page, tag", {"tag": "t7"}, 1),
    ("deep page (200), tag", {"tag": "t7"}, 200),
    ("first page, channel state", {"state": "ch-12"}, 1),
    ("first page, add way", {"add_way": "3"}, 1),
    ("first page, added between", {"since": "2025-06-01", "until": "2025-06-30"}, 1),
    ("first page, lost", {"lost": "yes"}, 1),
    ("first page, search name", {"q": "客户4242"}, 1),
    ("first page, search remark", {"q": "备注4244"}, 1),
    ("first page, search mobile", {"q": "138 3359 2398"}, 1),  # customer 4242's remark mobile
    ("first page, search mobile's last 4", {"q": "2398"}, 1),
    ("first page, sort by name", {"sort": "name"}, 1),
    ("first page, staff + tag + state", {"staff": "u012", "tag": "t12", "state": "ch-12"}, 1),
]


def generate(customers: int) -> None:
    params = {"customers": customers, "staff": STAFF, "departments": DEPARTMENTS, "tags": TAGS,
              "channels": CHANNELS}
    for statement in GENERATE:
        started = time.monotonic()
        with db.engine.begin() as conn:
            conn.execute(text(statement), params if ":" in statement else {})
        print(f"  {statement.split()[0]} {statement.split()[2] if statement[0] == 'I' else ''}: "
              f"{time.monotonic() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_options(parser, repeat=7)
    args = parser.parse_args()
    with scratch_console(args, f"{args.customers:,} customers and {2 * args.customers:,} relations",
                         lambda: generate(args.customers)):
        print(f"{'case':34} {'rows':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        worst = 0.0
        for name, filters, page in CASES:
            timings, result = timed_calls(lambda: load_page(Filters.from_args(filters), Scope(), page, True),
                                          args.repeat)
            shown = len(result.customers)
            p95 = percentile(timings, 95)
            worst = max(worst, p95)
            print(f"{name:34} {shown:>4} {percentile(timings, 50):8.1f} {p95:8.1f} {max(timings):8.1f}",
                  flush=True)
        print(f"\nworst p95 {worst:.1f} ms (target < 300 ms): {'OK' if worst < 300 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
