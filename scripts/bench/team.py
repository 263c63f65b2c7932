"""Team performance benchmark: the overview and a scorecard on a large scratch PostgreSQL, and the nightly snapshot.

`pages`: 2,000 staff in 100 departments, customers with one relation each (5 % ended), 180 days of behaviour and
group snapshots for every member (720,000 rows), welcome records, push tasks, follow-up tasks (60 a member) and paid
orders, generated inside PostgreSQL; then `app.team.report.overview` (whole company and one department) and `scorecard` are timed for 30 and
180 days, in the same run: before (source tables only, without the window indexes), after (indexes, and the nightly
roll-up built; today from the source tables) and today (today's rows summed as the minute job does; the pages too).
Target: p95 under 500 ms.
`snapshot`: the emulator (seed large: 2,000 staff) in this process, the members stored, the 179 older days already
snapshotted, and the nightly `snapshot()` timed (one behaviour call per member for the last day, one group call per
100 members), through the real gateway with the bulk rate budget. Target: under 10 minutes. `--backfill-staff N`
also times a first run (180 days) for N members.

    .venv/bin/python -m scripts.bench.team pages [--customers 1000000] [--repeat 7] [--keep]
    .venv/bin/python -m scripts.bench.team snapshot [--repeat 3] [--backfill-staff 200]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import delete, text

from app.extensions import db
from scripts.bench.common import percentile, scratch_console, scratch_options, timed_calls

STAFF, DEPARTMENTS = 2000, 100

GENERATE = [
    """INSERT INTO departments (id, name, name_en, parent_id, "order", leader_userids)
       SELECT d, '部门' || d, '', CASE WHEN d = 1 THEN 0 ELSE 1 + (d - 2) / 10 END, 0,
              json_build_array('u' || lpad((d * 17 % :staff)::text, 4, '0'))
       FROM generate_series(1, :departments) d""",
    """INSERT INTO staff (userid, name, position, alias, department_ids, status, is_follow_user)
       SELECT 'u' || lpad(s::text, 4, '0'), '员工' || s, '', '', json_build_array(1 + s % :departments), 1, true
       FROM generate_series(0, :staff - 1) s""",
    """INSERT INTO customers (id, external_userid, name, type, gender, avatar, corp_name, corp_full_name, position)
       SELECT i, 'wm' || lpad(i::text, 9, '0'), '客户' || i, 1, 0, '', '', '', '' FROM generate_series(1, :customers) i""",
    """INSERT INTO follow_relations (userid, external_userid, remark, description, remark_corp_name, remark_mobiles,
                                     add_way, state, oper_userid, added_at, tag_ids, ended_at, ended_by)
       SELECT 'u' || lpad((i % :staff)::text, 4, '0'), 'wm' || lpad(i::text, 9, '0'), '', '', '', '[]'::json, 1, '',
              '', now() - (i % 700) * interval '1 day' - (i % 86400) * interval '1 s', '[]'::json,
              CASE WHEN i % 20 = 0 THEN now() - (i % 170) * interval '1 day' END,
              CASE WHEN i % 40 = 0 THEN 'customer' WHEN i % 20 = 0 THEN 'staff' END
       FROM generate_series(1, :customers) i""",
    """INSERT INTO team_behavior_days (userid, day, chat_cnt, message_cnt, reply_percentage, avg_reply_minutes,
                                       negative_feedback_cnt, new_apply_cnt, new_contact_cnt, fetched_at)
       SELECT 'u' || lpad(s::text, 4, '0'), current_date - d, (s + d) % 30, (s + d) % 90,
              CASE WHEN (s + d) % 7 <> 0 THEN 40 + (s * d) % 60 END, CASE WHEN (s + d) % 7 <> 0 THEN 1 + (s + d) % 40 END,
              (s + d) % 3 / 2, (s + d) % 4, (s * d) % 5, now()
       FROM generate_series(0, :staff - 1) s, generate_series(1, 180) d""",
    """INSERT INTO team_group_days (owner, day, new_chat_cnt, chat_total, chat_has_msg, new_member_cnt, member_total,
                                    member_has_msg, msg_total, fetched_at)
       SELECT 'u' || lpad(s::text, 4, '0'), current_date - d, 0, s % 3, (s + d) % 2, (s + d) % 5, (s % 3) * 80,
              (s + d) % 30, (s + d) % 120, now()
       FROM generate_series(0, :staff - 1) s, generate_series(1, 180) d""",
    """INSERT INTO welcome_records (inbox_id, userid, external_userid, state, outcome, reason, received_at)
       SELECT i, 'u' || lpad((i % :staff)::text, 4, '0'), 'wm' || lpad(i::text, 9, '0'), '',
              CASE WHEN i % 10 = 0 THEN 'missed' WHEN i % 13 = 0 THEN 'skipped' ELSE 'sent' END, '',
              now() - (i % 180) * interval '1 day'
       FROM generate_series(1, :customers / 5) i""",
    """INSERT INTO campaigns (id, name, category, chat_type, content, holdout_percent, schedule_kind, weekdays,
                              sender_userids, sender_department_ids, status, version, attribution_days, created_by,
                              created_at, updated_at, group_filter)
       VALUES (1, '基准群发', 'promotion', 'single', '{}'::json, 0, 'now', '[]'::json, '[]'::json, '[]'::json,
               'finished', 1, 3, 'bench', now(), now(), '{}'::json)""",
    """INSERT INTO campaign_runs (id, origin, chat_type, category, holdout_percent, variants, campaign_id, kind,
                                  scheduled_for, campaign_version, status, counts, created_by, created_at)
       SELECT r, 'campaign', 'single', 'promotion', 0, '[]'::json, 1, 'scheduled', now() - r * interval '1 day', 1,
              'finished', '{}'::json, 'bench', now()
       FROM generate_series(1, 60) r""",
    """INSERT INTO campaign_send_tasks (run_id, sender_userid, variant_key, chunk_no, status, fail_list, submitted_at,
                                        confirmed_at, remind_count, attempts, created_at, updated_at)
       SELECT r, 'u' || lpad(s::text, 4, '0'), 'A', 0, CASE WHEN (r + s) % 9 = 0 THEN 'finished' ELSE 'confirmed' END,
              '[]'::json, now() - r * interval '1 day',
              CASE WHEN (r + s) % 9 <> 0 THEN now() - r * interval '1 day' + ((r + s) % 5) * interval '1 hour' END,
              0, 1, now(), now()
       FROM generate_series(1, 60) r, generate_series(0, :staff - 1) s""",
    """INSERT INTO orders (order_id, external_userid, amount_fen, paid_at, status, source, created_at, updated_at)
       SELECT 'SO' || i, 'wm' || lpad((i * 7 % :customers + 1)::text, 9, '0'), 1000 + i % 50000,
              now() - (i % 365) * interval '1 day', CASE WHEN i % 15 = 0 THEN 'refunded' ELSE 'paid' END, 'csv',
              now(), now()
       FROM generate_series(1, :customers / 2) i""",
    """INSERT INTO staff_tasks (assignee, title, body, source, source_key, due_at, state, created_at, created_by,
                                done_at, cancel_reason, escalated_to)
       SELECT 'u' || lpad((i % :staff)::text, 4, '0'), '跟进', '', 'followup_rule', 'bench:' || i,
              now() - (i % 181) * interval '1 day' + interval '12 hours',
              CASE WHEN i % 11 = 0 THEN 'cancelled' WHEN i % 4 = 0 THEN 'open' ELSE 'done' END, now(), 'bench',
              CASE WHEN i % 4 <> 0 AND i % 11 <> 0
                   THEN now() - (i % 181) * interval '1 day' + (i % 30) * interval '1 hour' END, '', '[]'::json
       FROM generate_series(1, :staff * 60) i""",
    "ANALYZE",
]


def generate(customers: int) -> None:
    params = {"customers": customers, "staff": STAFF, "departments": DEPARTMENTS}
    for statement in GENERATE:
        started = time.monotonic()
        with db.engine.begin() as conn:
            conn.execute(text(statement), params if ":" in statement else {})
        print(f"  {' '.join(statement.split()[:3])}: {time.monotonic() - started:.1f} s", flush=True)


WINDOW_INDEXES = {"ix_follow_relations_added_at": "follow_relations (added_at)",
                  "ix_follow_relations_ended_at": "follow_relations (ended_at)",
                  "ix_campaign_send_tasks_submitted_at": "campaign_send_tasks (submitted_at)"}


def _time_cases(report, admin, label: str, repeat: int) -> dict[str, tuple[float, float]]:
    """{case: (p50, p95)} of the overview and a scorecard for 30 and 180 days ending today."""
    out = {}
    for days in (30, 180):
        period = report.Period(report.today() - timedelta(days=days - 1), report.today())
        cases = [(f"overview, whole company, {days} days", lambda: report.overview(admin, None, period)),
                 (f"overview, department 2 and below, {days} days", lambda: report.overview(admin, 2, period)),
                 (f"scorecard u0042, {days} days", lambda: report.scorecard(admin, "u0042", period))]
        for name, call in cases:
            timings, _answer = timed_calls(call, repeat)
            out[name] = (percentile(timings, 50), percentile(timings, 95))
            print(f"{label:7} {name:44} {out[name][0]:8.1f} {out[name][1]:8.1f} {max(timings):8.1f}", flush=True)
    return out



def _signed_in_client():
    """A test client signed in as a new admin (the pages as a browser gets them, template and all)."""
    import re

    from flask import current_app

    from app.core import accounts

    if accounts.find_user("bench-admin") is None:  # a database kept by an earlier run (--database) has it
        accounts.create_user("bench-admin", "bench-password-1", "admin")
    client = current_app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/auth/login").get_data(as_text=True))
    client.post("/auth/login", data={"username": "bench-admin", "password": "bench-password-1",
                                     "csrf_token": token.group(1)})
    return client


def _time_pages(repeat: int) -> dict[str, tuple[float, float]]:
    """{case: (p50, p95)} of GET /team/ (with the monthly star, target tiles and alerts) and a scorecard page, today's
    rows summed afresh before each case (as the minute job keeps them)."""
    from flask import current_app

    from app.team import live, report

    client, out = _signed_in_client(), {}
    for days in (30, 180):
        span = f"start={(report.today() - timedelta(days=days - 1)).isoformat()}&end={report.today().isoformat()}"
        for name, url in ((f"page /team/, whole company, {days} days", f"/team/?{span}"),
                          (f"page /team/?dept=2, {days} days", f"/team/?dept=2&{span}"),
                          (f"page /team/staff/u0042, {days} days", f"/team/staff/u0042?{span}")):
            def get():
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            with current_app.app_context():  # its own session: the client's signed-in user is not expired
                live.refresh()
            timings, _answer = timed_calls(get, repeat)
            out[name] = (percentile(timings, 50), percentile(timings, 95))
            print(f"{'today':7} {name:44} {out[name][0]:8.1f} {out[name][1]:8.1f} {max(timings):8.1f}", flush=True)
    return out


def pages(args) -> None:
    from app.team import live, report, rollup

    admin = SimpleNamespace(role="admin", wecom_userid=None)
    with scratch_console(args, f"{STAFF:,} staff, {args.customers:,} customers, 180 days of snapshots",
                         lambda: generate(args.customers)):
        with db.engine.begin() as conn:
            for name in WINDOW_INDEXES:
                conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
            conn.execute(text("DELETE FROM team_rollup_days"))
        print(f"{'':7} {'case':44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        before = _time_cases(report, admin, "before", args.repeat)
        started = time.monotonic()
        with db.engine.begin() as conn:
            for name, on in WINDOW_INDEXES.items():
                conn.execute(text(f"CREATE INDEX {name} ON {on}"))
        print(f"\nwindow indexes created in {time.monotonic() - started:.1f} s", flush=True)
        started = time.monotonic()
        built = rollup.build()
        print(f"roll-up built in {time.monotonic() - started:.1f} s: {built}\n", flush=True)
        after = _time_cases(report, admin, "after", args.repeat)
        refreshes = []
        for _i in range(3):
            started = time.monotonic()
            built = live.refresh()
            refreshes.append((time.monotonic() - started) * 1000)
        print(f"\ntoday's rows (the minute job) summed in {statistics.median(refreshes):.0f} ms (median of 3): "
              f"{built}\n", flush=True)
        today = _time_cases(report, admin, "today", args.repeat)
        today.update(_time_pages(args.repeat))
        print(f"\n{'case':44} {'before p50':>11} {'after p50':>10} {'after p95':>10} {'today p50':>10} "
              f"{'today p95':>10}")
        for name, (p50, p95) in today.items():
            was = f"{before[name][0]:11.1f}" if name in before else f"{'':11}"
            then = f"{after[name][0]:10.1f} {after[name][1]:10.1f}" if name in after else f"{'':10} {'':10}"
            print(f"{name:44} {was} {then} {p50:10.1f} {p95:10.1f}")
        worst = max(p95 for _p50, p95 in today.values())
        print(f"\nworst p95 with today's rows {worst:.1f} ms (target < 500 ms): {'OK' if worst < 500 else 'TOO SLOW'}")


def _console(tmp: str, emu):
    from app import create_app
    from app.contacts.models import Staff
    from app.core import settings
    from config import TestConfig

    app = create_app(type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/team.sqlite3",
                                                          "WECOM_API_BASE": emu.api_base}))
    with app.app_context():
        db.create_all()
        settings.save({"wecom.corp_id": emu.corp_id, "wecom.secret": emu.secret}, "bench")
        users = emu.emulator.company.follow_users
        db.session.add_all([Staff(userid=u, name=u, department_ids=[1], is_follow_user=True) for u in users])
        db.session.commit()
    return app, len(users)


def _prefill_all_but_last_day(members: int) -> None:
    """Every member's 179 older days, as a completed first run leaves them."""
    from app.team.models import BehaviorDay, GroupDay
    from app.team.snapshot import members as member_ids, window

    from app.core.db import utcnow
    from app.team.report import today
    start, last = window(today())
    db.session.execute(delete(BehaviorDay))
    db.session.execute(delete(GroupDay))
    days = [start + timedelta(days=n) for n in range((last - start).days)]
    now = utcnow()
    for userid in member_ids():
        db.session.execute(BehaviorDay.__table__.insert(), [{"userid": userid, "day": d, "chat_cnt": 1,
                                                             "message_cnt": 1, "negative_feedback_cnt": 0,
                                                             "new_apply_cnt": 0, "new_contact_cnt": 0,
                                                             "fetched_at": now} for d in days])
        db.session.execute(GroupDay.__table__.insert(), [{"owner": userid, "day": d, "new_chat_cnt": 0,
                                                          "chat_total": 0, "chat_has_msg": 0, "new_member_cnt": 0,
                                                          "member_total": 0, "member_has_msg": 0, "msg_total": 0,
                                                          "fetched_at": now} for d in days])
    db.session.commit()


def timed_snapshots(members: int, repeat: int, label: str, parts: tuple[str, ...] | None = None) -> list[float]:
    """Seconds of `repeat` nightly snapshots (of `parts`, else all), each after the older days are prefilled; each
    printed."""
    from app.team.snapshot import PARTS, snapshot

    times = []
    for i in range(repeat):
        _prefill_all_but_last_day(members)
        started = time.monotonic()
        outcome = snapshot(lambda done, total, message: None, parts=parts or PARTS)
        times.append(time.monotonic() - started)
        print(f"{label} {i + 1}: {times[-1]:.1f} s, {outcome.calls} calls, {outcome.rows} rows, "
              f"refused {len(outcome.refused)}, stopped: {outcome.stopped or 'no'}", flush=True)
    return times


def snapshot_bench(args) -> None:
    from app.team.snapshot import snapshot
    from scripts.wecom_emulator.testing import RunningEmulator

    with RunningEmulator(seed="large") as emu, tempfile.TemporaryDirectory() as tmp:
        app, members = _console(tmp, emu)
        with app.app_context():
            times = timed_snapshots(members, args.repeat, "nightly run")
            median = statistics.median(times)
            print(f"\nnightly snapshot of {members} members: median {median:.1f} s over {len(times)} runs "
                  f"(target < 600 s): {'OK' if median < 600 else 'TOO SLOW'}")
            if args.backfill_staff:
                from app.contacts.models import Staff
                from app.team.models import BehaviorDay, GroupDay

                keep = [u for u in sorted(emu.emulator.company.follow_users)][:args.backfill_staff]
                db.session.execute(delete(BehaviorDay))
                db.session.execute(delete(GroupDay))
                db.session.execute(delete(Staff).where(Staff.userid.not_in(keep)))
                db.session.commit()
                started = time.monotonic()
                outcome = snapshot(lambda done, total, message: None)
                took = time.monotonic() - started
                print(f"first run (180-day backfill) of {len(keep)} members: {took:.1f} s, {outcome.calls} calls; "
                      f"x{members / len(keep):.0f} for {members}: ~{took * members / len(keep) / 60:.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    scratch_options(sub.add_parser("pages"), repeat=7)
    snap = sub.add_parser("snapshot")
    snap.add_argument("--repeat", type=int, default=3)
    snap.add_argument("--backfill-staff", type=int, default=0)
    args = parser.parse_args()
    (pages if args.part == "pages" else snapshot_bench)(args)


if __name__ == "__main__":
    main()
