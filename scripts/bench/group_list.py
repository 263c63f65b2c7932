"""Group list and 群活跃度 benchmark (issue 19).

`pages` (default): 1,000 customer groups of 200 members in a scratch PostgreSQL (the owner among them), their
customers and as many in no group with follow relations carrying 20 corp tags (one common, one frequent, the rest
rare), 37 days of group statistics for their 100 owners, leaves with their scene, and 30 days of health built by the
real job (its time printed); then the group list with its filters (name, tier, owner, size, health band, silent,
customers' tags) and, over HTTP as a signed-in admin, the group list and the 群活跃度 page, each timed after one
untimed warm-up call. Target: p95 under 300 ms for every case.
`stats`: the emulator (seed large: 2,000 staff, 1,000 groups) in this process and the team snapshot's group part for
one day (groupchat/statistic, 100 owners a call) through the real gateway and the bulk rate budget, the older days
already stored. Target: under 2 minutes.

    .venv/bin/python -m scripts.bench.group_list [pages] [--groups 1000] [--members 200] [--outside 125000]
                                                 [--repeat 7] [--keep]
    .venv/bin/python -m scripts.bench.group_list stats [--repeat 7]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from sqlalchemy import text

from app.contacts.group_pages import GroupFilter, group_page
from app.contacts.group_tags import ALL, CustomerTags
from app.contacts.scope import Scope
from app.extensions import db
from scripts.bench.common import percentile, scratch_console, scratch_options, timed_calls

STAFF = 100
TAGS = 20

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
    # the owner is in the group too: a staff member, who is never counted as a customer
    """INSERT INTO customer_group_members (chat_id, userid, type, name, group_nickname, join_time, join_scene, state)
       SELECT chat_id, owner, 1, '', '', created_at, 0, '' FROM customer_groups""",
    """INSERT INTO corp_tag_groups (group_id, name, "order") VALUES ('bench', '基准标签', 0)""",
    """INSERT INTO corp_tags (tag_id, group_id, name, "order")
       SELECT 'bt' || lpad(k::text, 2, '0'), 'bench', '标签' || k, 0 FROM generate_series(0, :tags - 1) k""",
    # the customers in the groups and as many again in none
    """INSERT INTO customers (external_userid, name, type, gender, avatar, corp_name, corp_full_name, position)
       SELECT e, '客户', 1, 0, '', '', '', ''
       FROM (SELECT DISTINCT userid AS e FROM customer_group_members WHERE type = 2
             UNION ALL SELECT 'wo' || i FROM generate_series(1, :outside) i) c""",
    # a relation each, a second staff member's for one in five, one in twenty ended; bt00 on about 30 % of the
    # relations, bt01 10 %, bt02 3 %, every other tag 1 %
    """INSERT INTO follow_relations (userid, external_userid, remark, description, remark_corp_name, remark_mobiles,
                                     add_way, state, oper_userid, added_at, tag_ids, ended_at, ended_by)
       SELECT 'u' || lpad(((c.id + j * 37) % :staff)::text, 3, '0'), c.external_userid, '', '', '', '[]'::json, 1, '',
              '', timestamptz '2026-01-01',
              (SELECT coalesce(json_agg('bt' || lpad(k::text, 2, '0')), '[]'::json) FROM generate_series(0, :tags - 1) k
               WHERE (c.id * 7919 + j * 4271 + k * 104729) % 1000
                     < CASE k WHEN 0 THEN 300 WHEN 1 THEN 100 WHEN 2 THEN 30 ELSE 10 END),
              CASE WHEN j = 0 AND c.id % 20 = 0 THEN timestamptz '2026-10-01' END,
              CASE WHEN j = 0 AND c.id % 20 = 0 THEN 'customer' END
       FROM customers c, (VALUES (0), (1)) AS pair(j) WHERE j = 0 OR c.id % 5 = 0""",
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
    ("tag: common (30 %)", GroupFilter(tags=CustomerTags(("bt00",))), 1),
    ("tag: rare (1 %)", GroupFilter(tags=CustomerTags(("bt07",))), 1),
    ("tags: any of 3, deep page", GroupFilter(tags=CustomerTags(("bt01", "bt02", "bt07"))), 10),
    ("tags: all of 2", GroupFilter(tags=CustomerTags(("bt00", "bt01"), ALL)), 1),
    ("tags: all of 3", GroupFilter(tags=CustomerTags(("bt00", "bt01", "bt02"), ALL)), 1),
    ("tag share >= 30 %", GroupFilter(tags=CustomerTags(("bt00",), share=30)), 1),
    ("tags all + share >= 5 %, page 3", GroupFilter(tags=CustomerTags(("bt00", "bt01"), ALL, 5)), 3),
    ("tag share + tier + owner", GroupFilter(tier="regular", owner="u010", tags=CustomerTags(("bt01",), share=10)), 1),
    ("tag + silent + size", GroupFilter(silent=True, smallest=60, tags=CustomerTags(("bt02",))), 1),
]
PAGES = [
    ("GET group list, health fair", "/contacts/groups?health=fair"),
    ("GET group list, silent", "/contacts/groups?silent=1"),
    ("GET group list, 2 tags all, share", "/contacts/groups?tag=bt00&tag=bt01&tag_mode=all&tag_share=5"),
    ("GET group list, tag, page 5", "/contacts/groups?tag=bt01&page=5"),
    ("GET 群活跃度", "/community/activity"),
    ("GET 群活跃度, watch", "/community/activity?band=watch"),
    ("GET 群活跃度, silent, page 2", "/community/activity?silent=1&page=2"),
    ("GET 群活跃度, one owner", "/community/activity?owner=u042"),
]


def generate(groups: int, members: int, outside: int) -> None:
    params = {"groups": groups, "members": members, "staff": STAFF, "tags": TAGS, "outside": outside}
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
                         lambda: (generate(args.groups, args.members, args.outside), build_health())):
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
    parser.add_argument("--outside", type=int, default=125_000, help="customers in no group")
    args = parser.parse_args()
    (stats if args.part == "stats" else pages)(args)


if __name__ == "__main__":
    main()
