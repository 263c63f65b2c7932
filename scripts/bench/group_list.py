"""Group list and 群活跃度 benchmark (issue 19).

`pages` (default): 1,000 customer groups of 200 members in a scratch PostgreSQL, 37 days of group statistics for
their 100 owners, leaves with their scene, and 30 days of health built by the real job (its time printed); then the
group list with its filters (name, tier, owner, size, health band, silent) and, over HTTP as a signed-in admin, the
group list and the 群活跃度 page, each timed after one untimed warm-up call. Target: p95 under 300 ms for every case.
`stats`: the emulator (seed large: 2,000 staff, 1,000 groups) in this process and the team snapshot's group part for
one day (groupchat/statistic, 100 owners a call) through the real gateway and the bulk rate budget, the older days
already stored. Target: under 2 minutes.

    .venv/bin/python -m scripts.bench.group_list [pages] [--groups 1000] [--members 200] [--repeat 7] [--keep]
    .venv/bin/python -m scripts.bench.group_list stats [--repeat 7]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
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
              CASE WHEN m % 10 = 0 AND g % 3 = 0 THEN timestamptz '2026-11-20' END
       FROM generate_series(1, :groups) g, generate_series(1, :members - (g % 150)) m""",
    """INSERT INTO community_group_tiers (chat_id, tier, updated_by, updated_at)
       SELECT 'wr' || lpad(g::text, 6, '0'), (ARRAY['vip', 'regular', 'newcomer'])[1 + g % 3], 'bench', now()
       FROM generate_series(1, :groups) g WHERE g % 4 <> 0""",
    """INSERT INTO team_group_days (owner, day, new_chat_cnt, chat_total, chat_has_msg, new_member_cnt, member_total,
                                    member_has_msg, msg_total, fetched_at)
       SELECT 'u' || lpad(s::text, 3, '0'), current_date - d, 0, :groups / :staff,
              CASE WHEN s % 7 = 0 THEN 0 ELSE (s + d) % (:groups / :staff + 1) END, (s + d) % 9,
              :groups / :staff * 180, CASE WHEN s % 7 = 0 THEN 0 ELSE (s % 5) * 100 + (s * d) % 100 END,
              (s * d) % 1500, now()
       FROM generate_series(0, :staff - 1) s, generate_series(1, 37) d""",
    """INSERT INTO customer_group_member_changes (inbox_id, chat_id, kind, members, scene, occurred_at)
       SELECT g * 1000 + m, 'wr' || lpad(g::text, 6, '0'), 'leave', 1, m % 2, timestamptz '2026-11-20'
       FROM generate_series(1, :groups) g, generate_series(10, :members, 10) m WHERE g % 3 = 0""",
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
    ("health: watch", GroupFilter(health="watch"), 1),
    ("health: healthy, deep page", GroupFilter(health="healthy"), 3),
    ("silent", GroupFilter(silent=True), 1),
    ("silent + tier + size", GroupFilter(silent=True, tier="vip", smallest=60), 1),
]
PAGES = [
    ("GET group list, health fair", "/contacts/groups?health=fair"),
    ("GET group list, silent", "/contacts/groups?silent=1"),
    ("GET 群活跃度", "/community/activity"),
    ("GET 群活跃度, watch", "/community/activity?band=watch"),
    ("GET 群活跃度, silent, page 2", "/community/activity?silent=1&page=2"),
    ("GET 群活跃度, one owner", "/community/activity?owner=u042"),
]


def generate(groups: int, members: int) -> None:
    params = {"groups": groups, "members": members, "staff": STAFF}
    for statement in GENERATE:
        started = time.monotonic()
        with db.engine.begin() as conn:
            conn.execute(text(statement), params if ":" in statement else {})
        print(f"  {statement.split()[0]} {statement.split()[2] if statement[0] == 'I' else ''}: "
              f"{time.monotonic() - started:.1f} s", flush=True)


def build_health() -> None:
    """30 days of group health, by the job itself."""
    from app.community.activity import run_job

    started = time.monotonic()
    written = run_job(days=30)
    print(f"  health job, 30 days: {time.monotonic() - started:.1f} s, {written['groups']:,} group rows", flush=True)


def report_row(name: str, timings: list[float], rows) -> float:
    p95 = percentile(timings, 95)
    print(f"{name:34} {rows:>4} {percentile(timings, 50):8.1f} {p95:8.1f} {max(timings):8.1f}", flush=True)
    return p95


def pages(args) -> None:
    from scripts.bench.team import _signed_in_client

    with scratch_console(args, f"{args.groups:,} groups of up to {args.members} members",
                         lambda: (generate(args.groups, args.members), build_health())):
        group_page(Scope(), GroupFilter(), 1)  # warm-up: the first connection and the mappers, not the query
        print(f"{'case':34} {'rows':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        worst = 0.0
        for name, flt, page in CASES:
            timings, result = timed_calls(lambda: group_page(Scope(), flt, page), args.repeat)
            worst = max(worst, report_row(name, timings, len(result[0].items)))
        client = _signed_in_client()
        for name, url in PAGES:
            client.get(url)  # warm-up: templates compiled

            def get():
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                return response
            timings, answer = timed_calls(get, args.repeat)
            worst = max(worst, report_row(name, timings, answer.get_data(as_text=True).count("<tr data-group=")))
        print(f"\nworst p95 {worst:.1f} ms (target < 300 ms): {'OK' if worst < 300 else 'TOO SLOW'}")


def stats(args) -> None:
    """A day's group statistics for every owner of the large seed, as the nightly snapshot fetches them."""
    from scripts.bench.team import _console, timed_snapshots
    from scripts.wecom_emulator.testing import RunningEmulator

    with RunningEmulator(seed="large") as emu, tempfile.TemporaryDirectory() as tmp:
        app, owners = _console(tmp, emu)
        with app.app_context():
            times = timed_snapshots(owners, args.repeat, "run", parts=("groups",))
            median = statistics.median(times)
            print(f"\na day's group statistics of {owners} owners: median {median:.1f} s over {len(times)} runs "
                  f"(target < 120 s): {'OK' if median < 120 else 'TOO SLOW'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", choices=("pages", "stats"), default="pages")
    scratch_options(parser, repeat=7)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--members", type=int, default=200)
    args = parser.parse_args()
    (stats if args.part == "stats" else pages)(args)


if __name__ == "__main__":
    main()
