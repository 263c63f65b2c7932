"""Jobs yield the CPU to welcomes: in a worker, the jobs thread runs at a lower CPU priority (nice) than the welcome
threads and the main loop of the same process, so a sync or a recompute does not hold up a burst of adds."""
import os
import sys
import threading

import pytest

from app.jobs import Kind, enqueue, kinds, listener
from tests.integration.test_jobs import job, wait_until, worker_in_process

PRIORITY = "test.priority"
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")


def own_niceness(job) -> dict:
    """What the job's thread runs at, and what the welcome threads of the same process run at."""
    welcome = [t for t in threading.enumerate() if t.name.startswith("welcome-")]
    return {"job": os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
            "welcome": sorted({os.getpriority(os.PRIO_PROCESS, t.native_id) for t in welcome})}


def test_a_job_runs_below_the_welcome_threads_of_its_worker(app):
    kinds.register(PRIORITY, Kind("测试优先级", f"{__name__}:own_niceness"))
    queued = enqueue(PRIORITY, {}, requested_by="test")
    base = os.getpriority(os.PRIO_PROCESS, 0)
    with worker_in_process(app):
        wait_until(lambda: job(queued.id).state not in ("queued", "running"), "the job to end")
    assert job(queued.id).state == "succeeded"
    assert job(queued.id).result == {"job": min(base + listener.JOB_NICENESS, 19), "welcome": [base]}
