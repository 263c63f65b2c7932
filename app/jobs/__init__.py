"""Background work: the web and the scheduler enqueue jobs, workers claim and run them (see below)."""
# The public API (import from `app.jobs`):
#
#   job = enqueue("contacts.sync", {"started_by": "alice"}, requested_by="alice")
#       Commits a queued job and wakes a worker (PostgreSQL NOTIFY). One-at-a-time kinds (and any `unique="key"`
#       given) raise JobBusy while a job with that key is waiting or running; `exc.job` is that job.
#   active(kind) / latest(kind): the waiting-or-running job of a one-at-a-time kind / its newest job.
#   progress_of(job): the dict the progress API (GET /jobs/<id>/progress) returns and static/progress.js reads.
#
# A kind is a line in app/jobs/kinds.py KINDS (or `register(name, Kind(...))`): a label for the 后台任务 page and a
# "module:function" target, called in the worker with the job's args as keyword arguments, plus `job=<handle>` if
# it has a parameter named `job`. The handle has `progress(done, total, message, **detail)` (raises JobCancelled
# once a cancel was asked or the time limit passed) and `cancel_requested()`. A function that raises fails the job
# with the exception's text as its error; its return value, if a dict, is the job's result.
#
# The rules live here and nowhere else: one-at-a-time (a partial unique index on the active jobs' key), the dead
# worker (queue.reap: a running job without a heartbeat for LOST_AFTER is queued again, or failed after its
# attempts), cancel and retry (the admin page 后台任务, /jobs), and the end of the domain record a job drives: a kind
# that drives one (a sync run, a recompute, an import ...) names `on_give_up`, called with the job whenever it ends
# failed or cancelled for good, however it got there (queue.given_up).
from app.jobs.kinds import Kind, register
from app.jobs.queue import JobBusy, JobStateError, enqueue, progress_of
from app.jobs.queue import active_with_key as active, latest_with_key as latest
from app.jobs.runner import JobCancelled

__all__ = ["Kind", "register", "JobBusy", "JobStateError", "enqueue", "progress_of", "active", "latest",
           "JobCancelled"]
