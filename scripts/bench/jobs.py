"""Jobs benchmark: enqueue-to-start latency with an idle `scrm worker` (PostgreSQL LISTEN/NOTIFY), and how many
queries an idle worker runs.

On a scratch PostgreSQL database migrated to head, one real worker process (production config) waits idle; this
process enqueues a quick job (`media.refresh`, nothing in use: no WeCom call) as the web would, waits until it ended,
stays idle a random 50-200 ms, and again. The latency is the job's started_at - created_at, both database rows'
times written by the two processes (same host clock). Then, with nothing enqueued, the idle rates: transactions per
second of the whole worker process (pg_stat_database: welcome lane, main loop and jobs thread), and statements per
second of the jobs thread alone (counted in-process on a second database session).

    .venv/bin/python -m scripts.bench.jobs [--jobs 200 --runs 5 --idle-seconds 20]
"""
from __future__ import annotations

import argparse
import random
import statistics
import threading
import time

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from scripts.bench.common import POSTGRES, console_env, percentile, summary
from scripts.scratch_db import create_scratch_database, drop_scratch_database


def latencies(app, jobs: int) -> list[float]:
    """Milliseconds from enqueue to start of `jobs` quick jobs, each enqueued while the worker is idle."""
    from app.extensions import db
    from app.jobs import enqueue
    from app.jobs.models import Job

    found = []
    with app.app_context():
        for _ in range(jobs):
            time.sleep(random.uniform(0.05, 0.2))  # the worker is idle, waiting for a NOTIFY
            job_id = enqueue("media.refresh", requested_by="bench").id
            deadline = time.monotonic() + 30
            while True:
                db.session.expire_all()
                job = db.session.get(Job, job_id)
                db.session.commit()
                if job.state not in ("queued", "running"):
                    break
                assert time.monotonic() < deadline, f"job #{job_id} did not run"
                time.sleep(0.005)
            assert job.state == "succeeded", (job.state, job.error)
            found.append((job.started_at - job.created_at).total_seconds() * 1000)
    return found


def worker_transactions_per_second(url: str, seconds: float) -> float:
    """Commits + rollbacks per second in the scratch database while only the idle worker uses it."""
    name = make_url(url).database
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def count() -> int:
        with server.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return conn.scalar(text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :d"),
                               {"d": name})

    time.sleep(2)  # statistics are flushed by the backends about once a second
    before, started = count(), time.monotonic()
    time.sleep(seconds)
    time.sleep(1.5)
    after = count()
    server.dispose()
    return (after - before) / (time.monotonic() - started - 1.5)


def jobs_thread_statements_per_second(app, seconds: float) -> float:
    """Statements per second of an idle jobs thread (listener.work with its LISTEN thread), run in this process."""
    from app.extensions import db
    from app.jobs import listener

    counted = [0]

    def on_execute(*_args):
        if threading.current_thread().name == "bench-jobs":
            counted[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    stop = threading.Event()
    threads = [threading.Thread(target=listener.work, args=(app, stop), name="bench-jobs"),
               threading.Thread(target=listener.listen, args=(app, stop), name="bench-listen")]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    from app.jobs import queue
    queue.WAKE.set()
    for thread in threads:
        thread.join(30)
    event.remove(engine, "before_cursor_execute", on_execute)
    return counted[0] / seconds


def main() -> None:
    import subprocess

    from app import create_app
    from config import TestConfig
    from scripts.bench.common import BIN, ROOT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument("--server", default=POSTGRES)
    args = parser.parse_args()
    url = create_scratch_database(args.server, prefix="scrm_bench")
    env = console_env(url)
    try:
        subprocess.run([BIN / "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        worker = subprocess.Popen([BIN / "flask", "--app", "wsgi", "scrm", "worker"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            app = create_app(type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
            latencies(app, 1)  # warm-up: the worker process has started and listens
            p99s = []
            for run in range(1, args.runs + 1):
                found = latencies(app, args.jobs)
                p99s.append(percentile(found, 99))
                print(f"run {run}: enqueue-to-start ms {summary(found)}", flush=True)
            print(f"enqueue-to-start p99, median of {args.runs} runs: {statistics.median(p99s):.1f} ms "
                  f"(target < 200 ms)")
            with app.app_context():
                from app.extensions import db
                db.engine.dispose()
            rate = worker_transactions_per_second(url, args.idle_seconds)
            print(f"idle worker process (welcome lane, main loop, jobs): {rate:.1f} transactions/s")
        finally:
            worker.terminate()
            worker.wait(30)
        print(f"idle jobs thread alone: {jobs_thread_statements_per_second(app, args.idle_seconds):.2f} statements/s")
        with app.app_context():
            from app.extensions import db
            db.engine.dispose()
    finally:
        drop_scratch_database(args.server, url)


if __name__ == "__main__":
    main()
