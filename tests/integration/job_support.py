"""Test support for the jobs: a slow job kind (steps, each a committed heartbeat of progress, until cancelled or
done), a real worker process (`python -m tests.integration.job_support DB_URL API_BASE`) for the kill -9 tests, with
short leases and two send threads, and an enqueue from another process (`... enqueue DB_URL TOTAL`)."""
from __future__ import annotations

import sys
import time
from datetime import timedelta

from app.jobs import Kind, kinds

STEPS = "test.steps"
LOST_AFTER_IN_WORKERS = timedelta(seconds=3)  # the worker processes below notice a dead one quickly
LEASE_IN_WORKERS = timedelta(seconds=3)  # ... and take over a dead one's send tasks as quickly
SUBMIT_THREADS_IN_WORKERS = 2  # two add_msg_template calls in flight: a batch of more is partly called at a kill


def steps(job, total: int = 10_000) -> dict:
    """Count to `total`, reporting each step; stops when asked (progress raises JobCancelled)."""
    for n in range(total):
        job.progress(n, total, "计数")
        time.sleep(0.005)
    return {"counted": total}


def register() -> None:
    kinds.register(STEPS, Kind("测试计数", f"{__name__}:steps", one_at_a_time=True, cancellable=True))


def main(database_url: str, api_base: str) -> None:
    """A worker process on `database_url` whose dead-worker rule applies after LOST_AFTER_IN_WORKERS."""
    from app import create_app, worker
    from app.jobs import queue, runner
    from app.sending import dispatch, dispatch_submit
    from config import TestConfig

    register()
    queue.LOST_AFTER = LOST_AFTER_IN_WORKERS
    runner.REAP_SECONDS = 0.5
    dispatch.LEASE, dispatch_submit.CALL_WINDOW = LEASE_IN_WORKERS, LEASE_IN_WORKERS / 2
    dispatch_submit.SUBMIT_THREADS = SUBMIT_THREADS_IN_WORKERS
    config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, "WECOM_API_BASE": api_base})
    worker.run_forever(create_app(config))


def enqueue_from_another_process(database_url: str, total: str) -> None:
    """What the web does, from its own process: enqueue (and NOTIFY)."""
    from app import create_app
    from app.jobs import enqueue
    from config import TestConfig

    register()
    with create_app(type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url})).app_context():
        enqueue(STEPS, {"total": int(total)}, requested_by="web")


if __name__ == "__main__":
    if sys.argv[1] == "enqueue":
        enqueue_from_another_process(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1], sys.argv[2])
