"""Welcome benchmark: a burst of customer adds (each callback delivered twice) against gunicorn + worker processes.

The emulator simulates `--rate` adds a second for `--seconds`; WeCom delivers every callback twice.
Checked: every WelcomeCode used exactly once with success, none too late (41050), and the time from the
console's receipt of the event to WeCom's answer to send_welcome_msg (target p99 < 2 s). The welcome
template uses {客户昵称} and {员工姓名}, so each welcome also reads the new customer from WeCom. The burst
starts once every worker process has greeted a warm-up add; CPU time per add is measured for each process.
With --with-jobs, every run measures the burst twice, each time on a fresh database and emulator holding the demo
company (20,000 customers, each with a paid order in the database): alone, and with a full sync and an RFM recompute
enqueued as jobs when the burst starts (the welcome lane must not wait for them; the jobs are still running when the
burst ends, which is printed, with how long each took). The medians of both are printed side by side.

    .venv/bin/python -m scripts.bench.welcome [--rate 50 --seconds 60] [--database sqlite|postgresql --workers 2]
                                              [--with-jobs]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

from sqlalchemy import create_engine, text

from scripts.bench.callbacks import _followers
from scripts.bench.common import POSTGRES, console_env, console_processes, percentile, summary
from scripts.scratch_db import create_scratch_database, drop_scratch_database
from scripts.wecom_emulator.actions import add_customer
from scripts.wecom_emulator.testing import RunningEmulator

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TEMPLATE = "{客户昵称}你好，我是{员工姓名}，欢迎来到我们的门店！"


def add_template(engine) -> None:
    """The default welcome template, written straight into the migrated database."""
    now = time.strftime("%Y-%m-%d %H:%M:%S+00:00", time.gmtime())
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO welcome_templates (name, scope, userids, text, attachments, enabled, "
                          "created_at, updated_at) VALUES ('默认', 'default', '[]', :text, '[]', :yes, "
                          ":now, :now)"), {"text": TEMPLATE, "yes": True, "now": now})


def cpu_by_role(database: str) -> Counter:
    """CPU seconds used so far by this process (the emulator and the pacing), by its child processes (web:
    gunicorn, worker) and by the PostgreSQL backends whose process title names `database`, from /proc (Linux)."""
    processes: dict[int, tuple[int, bytes, float]] = {}  # pid -> (parent pid, command line, CPU seconds)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            processes[int(entry.name)] = (int(fields[1]), cmdline, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    ours, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        ours.add(pid)
        todo += [child for child, (parent, _, _) in processes.items() if parent == pid]
    used: Counter = Counter()
    for pid, (_, cmdline, seconds) in processes.items():
        if pid == os.getpid():
            used["bench+emulator"] += seconds
        elif pid in ours:
            used["web" if b"gunicorn" in cmdline else "worker"] += seconds
        elif cmdline.startswith(b"postgres:") and f" {database} ".encode() in cmdline:
            used["postgresql"] += seconds
    return used


def settled(engine) -> int:
    """Adds whose welcome has an outcome."""
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM welcome_records WHERE outcome <> 'sending'"))


def warm_up(emu, engine, userids: list[str], workers: int) -> set[str]:
    """One add per worker process, greeted before the burst: the workers run (starting one takes seconds on a
    loaded machine, and a burst fired earlier would queue behind that start) and hold an access token.
    Returns the warm-up WelcomeCodes, left out of the figures."""
    codes = {emu.control.add_customer(userid=userids[0])["welcome_code"] for _ in range(workers)}
    deadline = time.monotonic() + 120
    while settled(engine) < workers:
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not greet the warm-up adds within 120 s")
        time.sleep(0.2)
    return codes


def fire(emu, adds: Callable[[int], dict], count: int, rate: float) -> float:
    """`count` adds paced at `rate` a second, simulated inside the emulator (an HTTP control call per add
    would be load WeCom never has); the callbacks go out from the emulator's delivery pool as usual.
    `adds(i)`: what the i-th add is (the emulator's add_customer data)."""
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        add_customer(emu.emulator, adds(i))
    return time.monotonic() - start


def add_orders(engine, external_userids: list[str]) -> None:
    """A paid order for each customer, written straight into the migrated database: the recompute's work."""
    now = time.strftime("%Y-%m-%d %H:%M:%S+00:00", time.gmtime())
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO orders (order_id, external_userid, amount_fen, paid_at, status, source, "
                          "created_at, updated_at) VALUES (:order_id, :who, :fen, :now, 'paid', 'api', :now, :now)"),
                     [{"order_id": f"B{n}", "who": who, "fen": 1000 + n % 90_000, "now": now}
                      for n, who in enumerate(external_userids)])


def enqueue_jobs(database_url: str) -> None:
    """A full sync and an RFM recompute, enqueued as the console's buttons do."""
    from app import create_app
    from app.jobs import enqueue
    from config import TestConfig

    with create_app(type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url})).app_context():
        for kind in ("contacts.sync", "rfm.recompute"):
            enqueue(kind, {"started_by": "bench"}, requested_by="bench")


def jobs_running(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT kind FROM jobs WHERE requested_by = 'bench' AND state = 'running'")))


def report_jobs(engine) -> None:
    with engine.connect() as conn:
        for kind, state, took in conn.execute(text(
                "SELECT kind, state, finished_at - created_at FROM jobs WHERE requested_by = 'bench' ORDER BY id")):
            print(f"  job {kind}: {state}, enqueue to end {took}")


def run(rate: float, seconds: int, database_url: str, workers: int, with_jobs: bool = False,
        busy_company: bool = False, scenario: Callable | None = None) -> dict:
    """One burst; `busy_company`: the demo company with an order per customer (the --with-jobs comparison).
    `scenario(database_url, emu, userids)`, when given, prepares the console before the burst (e.g. the referral
    benchmark's task and inviters) and returns (adds(i) -> add data, check(engine) -> dict of figures added to the
    result)."""
    count = int(rate * seconds)
    engine = create_engine(database_url)
    with RunningEmulator(seed="demo" if busy_company else "small", duplicate_delivery=True) as emu:
        env = console_env(database_url, WECOM_CORP_ID=emu.corp_id, WECOM_SECRET=emu.secret,
                          WECOM_TOKEN=emu.token, WECOM_AES_KEY=emu.aes_key, WECOM_API_BASE=emu.api_base)
        with console_processes(env, queue_workers=workers) as base:
            add_template(engine)
            if busy_company:
                with emu.emulator.company.lock:
                    add_orders(engine, sorted(emu.emulator.company.customers))
            emu.control.config(callback_url=f"{base}/wecom/callback")
            userids = [u["userid"] for u in _followers(emu)]
            warm = warm_up(emu, engine, userids, workers)
            adds, check = (scenario(database_url, emu, userids) if scenario
                           else (lambda i: {"userid": userids[i % len(userids)]}, None))
            database = engine.url.database.rsplit("/", 1)[-1]
            cpu_before = cpu_by_role(database)
            if with_jobs:
                enqueue_jobs(database_url)
            took = fire(emu, adds, count, rate)
            if with_jobs:
                print(f"  jobs still running when the burst ended: {', '.join(jobs_running(engine)) or 'none'}")
            last, quiet_since = -1, time.monotonic()
            while settled(engine) < count + len(warm) and time.monotonic() - quiet_since < 30:  # 30 s: no progress
                now_settled = settled(engine)
                if now_settled != last:
                    last, quiet_since = now_settled, time.monotonic()
                time.sleep(0.5)
            cpu = cpu_by_role(database)
            cpu.subtract(cpu_before)
            if with_jobs:
                report_jobs(engine)
            sent = [w for w in emu.control.get("welcomes")["welcomes"] if w["welcome_code"] not in warm]
            with engine.connect() as conn:
                rows = [(outcome, ms) for code, outcome, ms in conn.execute(text(
                    "SELECT welcome_code, outcome, latency_ms FROM welcome_records")) if code not in warm]
                inbox = conn.scalar(text("SELECT count(*) FROM wecom_callback_events")) - len(warm)
                deliveries = conn.scalar(text("SELECT sum(deliveries) FROM wecom_callback_events")) - 2 * len(warm)
            checked = check(engine) if check else {}
    engine.dispose()
    ok = Counter(w["welcome_code"] for w in sent if w["errcode"] == 0)
    errors = Counter(w["errcode"] for w in sent if w["errcode"] != 0)
    latency = [ms for _, ms in rows if ms is not None]
    from_wecom = [w["latency_ms"] for w in sent if w["errcode"] == 0 and w["latency_ms"] is not None]
    result = {"adds": count, "took": took, "inbox": inbox, "deliveries": deliveries or 0,
              "codes_once": sum(1 for n in ok.values() if n == 1), "codes_twice": sum(1 for n in ok.values() if n > 1),
              "errors": dict(errors), "outcomes": dict(Counter(o for o, _ in rows)),
              "p50": percentile(latency, 50), "p95": percentile(latency, 95), "p99": percentile(latency, 99),
              "max": max(latency, default=float("nan")), **checked}
    print(f"  {count} adds in {took:.1f}s ({count / took:.1f}/s); callbacks received {result['deliveries']} "
          f"into {inbox} inbox rows (adds never received: {count - inbox}); outcomes {result['outcomes']}; "
          f"WeCom errors {result['errors'] or 'none'}")
    print(f"  WelcomeCodes used once: {result['codes_once']}/{count}, more than once: {result['codes_twice']}")
    print("  CPU ms per add: " + ", ".join(f"{role} {seconds * 1000 / count:.1f}" for role, seconds in sorted(cpu.items()))
          + f" (the machine has {os.cpu_count()} cores: {os.cpu_count() * 1000 / rate:.0f} ms per add at this rate)")
    print(f"  receipt -> send_welcome_msg answered, ms   {summary(latency)}")
    print(f"  WeCom's first delivery -> send, ms         {summary(from_wecom)}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--with-jobs", action="store_true",
                        help="each run twice on the demo company: alone, and while a full sync and a recompute run")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} python {platform.python_version()}; "
          f"database: {args.database}; worker processes: {args.workers}")
    modes = (False, True) if args.with_jobs else (False,)  # with --with-jobs: alone, then with the jobs
    results: dict[bool, list[dict]] = {mode: [] for mode in modes}
    for n in range(1, args.runs + 1):
        for with_jobs in modes:
            print(f"run {n}/{args.runs}" + (f", {'with' if with_jobs else 'without'} the sync and recompute jobs"
                                             if args.with_jobs else ""))
            results[with_jobs].append(one_run(args, with_jobs))
    for with_jobs in modes:
        med = {k: statistics.median(r[k] for r in results[with_jobs]) for k in ("p50", "p95", "p99", "max")}
        all_once = all(r["codes_once"] == r["adds"] and not r["codes_twice"] and not r["errors"]
                       for r in results[with_jobs])
        label = ("with jobs:    " if with_jobs else "without jobs: ") if args.with_jobs else ""
        print(f"{label}median of {len(results[with_jobs])} runs: receipt->send p50={med['p50']:.0f} "
              f"p95={med['p95']:.0f} p99={med['p99']:.0f} max={med['max']:.0f} ms; every code used exactly once in "
              f"every run: {all_once}; p99 < 2000 ms: {med['p99'] < 2000}")


def one_run(args, with_jobs: bool) -> dict:
    """One burst on a fresh database (a scratch SQLite file or PostgreSQL database)."""
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return run(args.rate, args.seconds, f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.workers, with_jobs,
                       args.with_jobs)
    url = create_scratch_database(POSTGRES, prefix="scrm_bench")
    try:
        return run(args.rate, args.seconds, url, args.workers, with_jobs, args.with_jobs)
    finally:
        drop_scratch_database(POSTGRES, url)

if __name__ == "__main__":
    main()
