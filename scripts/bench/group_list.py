"""Group list benchmark: 1,000 customer groups of 200 members (issue 19) in a scratch PostgreSQL, then the group list
with its filters (name, tier, owner, size) timed after one untimed warm-up call. Target: p95 under 300 ms for every case.

    .venv/bin/python -m scripts.bench.group_list [--groups 1000] [--members 200] [--repeat 7] [--keep]
"""
from __future__ import annotations

import argparse
import time

from sqlalchemy import text

from app.contacts.group_pages import GroupFilter, group_page
from app.contacts.scope import Scope
from app.extensions import db
from scripts.bench.common import percentile, scratch_console, scratch_options, timed_calls

STAFF = 100

GENERATE = [
    """INSERT INTO staff (userid, name, position, alias, department_ids, status, is_follow_user)
       SELECT 'u' || lpad(s::text, 3, '0'), '员工' || s, '', '', '[1]'::json, 1, true
       FROM generate_series(0, :staff - 1) s""",
    """INSERT INTO customer_groups (chat_id, name, owner, notice, status, admin_userids, member_version, created_at)
       SELECT 'wr' || lpad(g::text, 6, '0'), '会员群' || g, 'u' || lpad((g % :staff)::text, 3, '0'), '', 0,
              '[]'::json, '', timestamptz '2026-11-01' - g * interval '1 hour'
       FROM generate_series(1, :groups) g""",
    """INSERT INTO customer_group_members (chat_id, userid, type, name, group_nickname, join_time, join_scene, state,
                                           left_at)
       SELECT 'wr' || lpad(g::text, 6, '0'), 'wm' || g || '-' || m, 2, '', '',
              timestamptz '2026-11-01' - m * interval '1 hour', 3, CASE WHEN m % 3 = 0 THEN 'code-' || (g % 50) ELSE '' END,
              CASE WHEN m % 10 = 0 THEN timestamptz '2026-11-20' END
       FROM generate_series(1, :groups) g, generate_series(1, :members - (g % 150)) m""",
    """INSERT INTO community_group_tiers (chat_id, tier, updated_by, updated_at)
       SELECT 'wr' || lpad(g::text, 6, '0'), (ARRAY['vip', 'regular', 'newcomer'])[1 + g % 3], 'bench', now()
       FROM generate_series(1, :groups) g WHERE g % 4 <> 0""",
    "ANALYZE",
]

CASES = [
    ("first page, no filter", GroupFilter(), 1),
    ("last page, no filter", GroupFilter(), 20),
    ("tier vip", GroupFilter(tier="vip"), 1),
    ("no tier", GroupFilter(tier="none"), 1),
    ("owner", GroupFilter(owner="u042"), 1),
    ("size at least 150", GroupFilter(smallest=150), 1),
    ("size 60..120, deep page", GroupFilter(smallest=60, largest=120), 5),
    ("tier + owner + size + name", GroupFilter(q="会员群1", tier="regular", owner="u010", smallest=50), 1),
]


def generate(groups: int, members: int) -> None:
    params = {"groups": groups, "members": members, "staff": STAFF}
    for statement in GENERATE:
        started = time.monotonic()
        with db.engine.begin() as conn:
            conn.execute(text(statement), params if ":" in statement else {})
        print(f"  {statement.split()[0]} {statement.split()[2] if statement[0] == 'I' else ''}: "
              f"{time.monotonic() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_options(parser, repeat=7)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--members", type=int, default=200)
    args = parser.parse_args()
    with scratch_console(args, f"{args.groups:,} groups of up to {args.members} members",
                         lambda: generate(args.groups, args.members)):
        group_page(Scope(), GroupFilter(), 1)  # warm-up: the first connection and the mappers, not the query
        print(f"{'case':30} {'rows':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        worst = 0.0
        for name, flt, page in CASES:
            timings, result = timed_calls(lambda: group_page(Scope(), flt, page), args.repeat)
            p95 = percentile(timings, 95)
            worst = max(worst, p95)
            print(f"{name:30} {len(result[0].items):>4} {percentile(timings, 50):8.1f} {p95:8.1f} "
                  f"{max(timings):8.1f}", flush=True)
        print(f"\nworst p95 {worst:.1f} ms (target < 300 ms): {'OK' if worst < 300 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
