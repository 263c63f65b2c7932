"""Campaign dispatch benchmark: planned runs sent to the WeCom emulator (its own process) over real HTTP.

Part 1, a large run (default 200,000 customers over 50 staff): cutting the outbox into send tasks, submitting
them with add_msg_template (10,000 per call at most), then polling get_groupmsg_task / get_groupmsg_send_result
after the emulator confirmed every task. Part 2, many small tasks (5 customers each, one add_msg_template per
staff member), `--repeat` runs per gateway limit (default: the gateway's 9,000/min, 600/min, none). Each run
sends at most `--small-staff` tasks and at most `--seconds` worth at its limit; its line gives the calls per
minute achieved, the most the limiter allows for that many calls (`limit` calls in any minute, at once), the CPU per call of the console process and of the emulator, and the load
average. The dispatcher (batches of claimed tasks sent side by side, answers saved together) is fast enough when
the limited runs reach their limiter's ceiling and the unlimited ones stay above WeCom's 10,000 calls/min.

    .venv/bin/python -m scripts.bench.campaign_dispatch [--database sqlite|postgresql] [--customers 200000]
        [--staff 50] [--small-staff 2000] [--seconds 30] [--repeat 3] [--workers 1] [--port 7410]
        [--limits 9000,600,0]
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import bindparam, text

from app.campaigns.models import Campaign, CampaignRun
from app.contacts.models import Staff
from app.core.db import transaction, utcnow
from app.extensions import db
from app.sending import dispatch, polling
from app.sending.models import Delivery
from app.wecom.gateway import WeComGateway
from app.wecom.ratelimit import DEFAULT_PER_MINUTE, WindowLimiter
from scripts.bench.common import emulator_console
from scripts.wecom_emulator.settings import Settings

UNLIMITED = 10_000_000


def planned_run(stem: str, staff: int, per_user: int, prefix: str) -> int:
    """A campaign and a planned run: staff {stem}0.. each with per_user deliveries {prefix}{userid}x{n}."""
    with transaction():
        content = {"text": "{客户昵称}好，我是{员工姓名}，新品上市"}
        campaign = Campaign(name=f"bench {prefix}", content=content, created_by="bench", version=1,
                            approved_version=1, status="running")
        db.session.add(campaign)
        db.session.flush()
        run = CampaignRun(campaign_id=campaign.id, kind="manual", scheduled_for=utcnow(), campaign_version=1,
                          status="planned", created_by="bench", chat_type="single", holdout_key=str(campaign.id),
                          variants=[{"key": "A", "percent": 100, "content": content}])
        db.session.add(run)
        db.session.flush()
        # One set-based INSERT (as the planner writes the outbox); the same SQL on SQLite and PostgreSQL.
        db.session.execute(text(
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < :staff - 1), "
            "n(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM n WHERE j < :per_user - 1) "
            "INSERT INTO campaign_deliveries (run_id, target_key, sender_userid, variant_key, status, updated_at) "
            "SELECT :run, :prefix || :stem || s.i || 'x' || n.j, :stem || s.i, 'A', 'planned', :now FROM s, n "
            "ORDER BY s.i, n.j").bindparams(bindparam("now", utcnow(), type_=Delivery.__table__.c.updated_at.type),
                                           staff=staff, per_user=per_user, run=run.id, prefix=prefix, stem=stem))
        return run.id


def counting_gateway(emu: Settings, api_base: str, per_minute: float) -> tuple[WeComGateway, Counter]:
    calls: Counter = Counter()
    lock = threading.Lock()

    def count(api, errcode, _ms):
        with lock:
            calls[(api, errcode)] += 1

    gw = WeComGateway(emu.corp_id, emu.secret, api_base=api_base, rate_limiter=WindowLimiter(per_minute, per_minute * 60),
                      observers=[count])
    return gw, calls


def submit_all(app, gw, workers: int) -> float:
    """Worker loops (each its own session, SKIP LOCKED on PostgreSQL) until every task is submitted; seconds.
    One loop is what one worker process runs."""
    def work():
        with app.app_context():
            idle = 0
            while idle < 2:
                idle = 0 if dispatch.work_once(gw=gw) else idle + 1
            db.session.remove()

    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - started


def per_minute(count: int, seconds: float) -> str:
    return f"{count} calls in {seconds:.2f} s = {count / seconds * 60:,.0f} calls/min" if seconds else f"{count} calls"


def large_run(app, control, emu, api_base, args) -> None:
    userids = [f"big{i}" for i in range(args.staff)]
    per_user = args.customers // args.staff
    control.post("groupmsg/audience", userids=userids, per_user=per_user, prefix="wmbig")
    control.config(auto_confirm_seconds=0)  # every member confirms at once: polling finds final results
    with app.app_context():
        db.session.add_all(Staff(userid=u, name=f"成员{u}") for u in userids)
        db.session.commit()
        run_id = planned_run("big", args.staff, per_user, "wmbig")
        gw, calls = counting_gateway(emu, api_base, DEFAULT_PER_MINUTE)
        started = time.monotonic()
        dispatch.start_due_run()
        cut = time.monotonic() - started
        submitted = submit_all(app, gw, args.workers)
        adds = calls[("externalcontact/add_msg_template", 0)]
        started = time.monotonic()
        while polling.poll_due(now=utcnow() + timedelta(minutes=2), gw=gw, limit=10_000):
            pass
        polled = time.monotonic() - started
        status = db.session.get(CampaignRun, run_id).status
        sent = db.session.query(Delivery).filter_by(run_id=run_id, status="sent").count()
    reads = sum(n for (api, code), n in calls.items() if code == 0 and "groupmsg" in api)
    print(f"large run: {per_user * args.staff:,} deliveries over {args.staff} staff")
    print(f"  cut into send tasks (one transaction): {cut:.2f} s")
    print(f"  submit: {per_minute(adds, submitted)} (add_msg_template), {args.workers} worker(s)")
    print(f"  poll to final: {per_minute(reads, polled)} (get_groupmsg_task + get_groupmsg_send_result)")
    print(f"  run status {status}, {sent:,} delivered; total dispatch+poll {cut + submitted + polled:.1f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ceiling(calls: int, limit: int) -> float:
    """The most calls per minute a budget of `limit` in any minute lets `calls` calls reach (`limit` at once, the
    next `limit` a minute later, ...)."""
    return math.inf if calls <= limit else calls / ((calls - 1) // limit)


def small_tasks(app, control, emu_proc, emu, api_base, args) -> None:
    userids = [f"sm{i}" for i in range(args.small_staff)]
    control.config(auto_confirm_seconds=None)
    control.post("groupmsg/audience", userids=userids, per_user=5, prefix="wmsm")
    print(f"many small tasks: 5 customers each, one add_msg_template per staff member, {args.workers} worker(s)")
    for limit in [int(x) or UNLIMITED for x in args.limits.split(",")]:
        staff = min(args.small_staff, max(1, int(limit / 60 * args.seconds)))
        label = "no limit" if limit == UNLIMITED else f"limiter {limit:,}/min"
        rates = []
        for _ in range(args.repeat):
            with app.app_context():
                planned_run("sm", staff, 5, "wmsm")
                gw, calls = counting_gateway(emu, api_base, limit)
                dispatch.start_due_run()
                console, emulator = time.process_time(), cpu_seconds(emu_proc.pid)
                seconds = submit_all(app, gw, args.workers)
                console, emulator = time.process_time() - console, cpu_seconds(emu_proc.pid) - emulator
            adds = calls[("externalcontact/add_msg_template", 0)]
            rates.append(adds / seconds * 60)
            top = "" if limit == UNLIMITED else f" (limiter ceiling {ceiling(adds, limit):,.0f})"
            print(f"  {label:>20}: {per_minute(adds, seconds)}{top}; CPU per call: console "
                  f"{console / adds * 1000:.1f} ms, emulator {emulator / adds * 1000:.1f} ms; "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
        print(f"  {label:>20}: median {statistics.median(rates):,.0f} calls/min over {len(rates)} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--small-staff", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30,
                        help="small tasks: at most this long a run at its limit (600/min: 300 tasks)")
    parser.add_argument("--repeat", type=int, default=3, help="small-task runs per limit (the median is given)")
    parser.add_argument("--workers", type=int, default=1, help="worker loops, each a thread (1 on SQLite)")
    parser.add_argument("--port", type=int, default=7410)
    parser.add_argument("--limits", default=f"{DEFAULT_PER_MINUTE},600,0",
                        help="gateway limits (calls/min) for the small tasks; 0 = none")
    args = parser.parse_args()
    if args.database == "sqlite":
        args.workers = 1
    with emulator_console(args.database, args.port) as (app, control, proc, base):
        emu = Settings()
        control.config(rate_limits=False)  # the dispatcher's own speed is measured, above WeCom's 10,000/min too
        print(f"database {args.database}, emulator pid {proc.pid} on {base}")
        large_run(app, control, emu, base + "/cgi-bin/", args)
        small_tasks(app, control, proc, emu, base + "/cgi-bin/", args)

if __name__ == "__main__":
    main()
