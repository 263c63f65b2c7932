"""The 后台任务 page with a week of minute jobs: scheduled successes fold into a row per kind (count, last result,
the latest runs when opened), failures are always listed one by one, filters by kind, state and who started it,
and pages of 50."""
from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

from app.core.db import transaction, utcnow
from app.extensions import db
from app.jobs import listing
from app.jobs.models import Job
from tests.conftest import csrf_token


class Rows(HTMLParser):
    """The rows of the page: `jobs` (the one-by-one table: job id -> row text), `folds` (kind -> row text) and
    `opened` (kind -> the job ids listed when the folded row is opened)."""

    def __init__(self, html: str):
        super().__init__()
        self.jobs: dict[int, str] = {}
        self.folds: dict[str, str] = {}
        self.opened: dict[str, list[int]] = {}
        self._tables: list[str] = []
        self._rows: list[tuple[str, str | int]] = []  # open rows: (where, key)
        self._text: dict[tuple[str, str | int], list[str]] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._tables.append("jobs" if "data-jobs" in attrs else "folds" if "data-folds" in attrs else "inner")
        elif tag == "tr" and self._tables:
            where = self._tables[-1]
            if where == "folds" and "data-fold" in attrs:
                self._rows.append(("folds", attrs["data-fold"]))
            elif where == "jobs" and "data-job" in attrs:
                self._rows.append(("jobs", int(attrs["data-job"])))
            elif where == "inner" and "data-job" in attrs and self._rows and self._rows[-1][0] == "folds":
                self.opened.setdefault(self._rows[-1][1], []).append(int(attrs["data-job"]))
                self._rows.append(("inner", int(attrs["data-job"])))
            else:
                self._rows.append(("other", ""))

    def handle_endtag(self, tag):
        if tag == "table" and self._tables:
            self._tables.pop()
        elif tag == "tr" and self._rows:
            where, key = self._rows.pop()
            text = " ".join("".join(self._text.pop((where, key), [])).split())
            if where == "jobs":
                self.jobs[key] = text
            elif where == "folds":
                self.folds[key] = text

    def handle_data(self, data):
        for row in self._rows:
            self._text.setdefault(row, []).append(data)


def add_jobs(kind: str, count: int, *, state: str = "succeeded", requested_by: str = "scheduler", error=None,
             result=None, minutes_ago: int = 0) -> list[int]:
    """`count` jobs that ran a minute apart, the newest `minutes_ago` minutes ago (as the scheduler leaves them)."""
    now = utcnow()
    jobs = []
    for n in range(count):
        at = now - timedelta(minutes=minutes_ago + count - n)
        jobs.append(Job(kind=kind, args={}, state=state, requested_by=requested_by, created_at=at, started_at=at,
                        finished_at=at + timedelta(seconds=2), heartbeat_at=at, attempts=1, error=error,
                        result=result if result is None else {**result, "n": n}))
    with transaction():
        db.session.add_all(jobs)
    return [job.id for job in jobs]


def page(client, query: str = "") -> Rows:
    response = client.get(f"/jobs/{query}")
    assert response.status_code == 200
    return Rows(response.get_data(as_text=True))


def test_minute_jobs_fold_into_a_row_per_kind_and_failures_stay_in_sight(app, client, signed_in_as):
    admin = signed_in_as("admin")
    polls = add_jobs("campaigns.poll", 130, result={"polled": 3}, minutes_ago=5)
    failed = add_jobs("campaigns.poll", 2, state="failed", error="企业微信接口超时（errcode -1）", minutes_ago=1)
    dispatches = add_jobs("staffmsg.dispatch", 40, result={"sent": 1})
    manual = add_jobs("rfm.recompute", 1, requested_by=admin.username, result={"run_id": 7})
    follow_up = add_jobs("campaigns.plan", 1, requested_by="campaigns")
    waiting = add_jobs("tags.rules", 1, state="queued", requested_by=admin.username)

    rows = page(client)
    assert set(rows.folds) == {"campaigns.poll", "staffmsg.dispatch"}
    poll_row = rows.folds["campaigns.poll"]
    assert "群发结果查询与提醒" in poll_row and "130" in poll_row and '"n": 129' in poll_row  # the last result
    assert "2 次" in poll_row  # its failures, linked
    assert rows.opened["campaigns.poll"] == polls[::-1][:listing.FOLD_RECENT]  # opened: the newest runs
    assert set(rows.jobs) == {*failed, *manual, *follow_up, *waiting}  # no scheduled success one by one
    order = list(rows.jobs)
    assert order[0] == waiting[0] and order[1:3] == failed[::-1]  # waiting, then failures, then the rest
    assert "企业微信接口超时" in rows.jobs[failed[0]] and "定时" in rows.jobs[failed[0]]
    assert "手动" in rows.jobs[manual[0]] and admin.username in rows.jobs[manual[0]]
    assert "其他任务接续" in rows.jobs[follow_up[0]]
    assert not set(dispatches) & set(rows.jobs)


def test_a_chosen_kind_lists_each_run_failures_first_fifty_a_page(app, client, signed_in_as):
    signed_in_as("admin")
    polls = add_jobs("campaigns.poll", 120, result={"polled": 3}, minutes_ago=5)
    failed = add_jobs("campaigns.poll", 1, state="failed", error="超时")
    add_jobs("staffmsg.dispatch", 5)

    first = page(client, "?kind=campaigns.poll")
    assert not first.folds and len(first.jobs) == listing.PAGE_SIZE
    assert list(first.jobs)[:2] == [failed[0], polls[-1]]
    html = client.get("/jobs/?kind=campaigns.poll").get_data(as_text=True)
    assert "共 121 条，第 1 / 3 页" in html and "/jobs/?page=2&amp;kind=campaigns.poll" in html
    last = page(client, "?kind=campaigns.poll&page=3")
    assert set(last.jobs) == set(polls[:21])


def test_filters_by_state_and_by_who_started_it(app, client, signed_in_as):
    admin = signed_in_as("admin")
    add_jobs("campaigns.poll", 20)
    failed = add_jobs("campaigns.poll", 3, state="failed", error="超时")
    mine = add_jobs("contacts.sync", 2, requested_by=admin.username)
    cli = add_jobs("rfm.order_import", 1, requested_by="cli")

    assert set(page(client, "?state=failed").jobs) == set(failed)
    manual = page(client, "?origin=manual")
    assert set(manual.jobs) == {*mine, *cli} and not manual.folds
    scheduled = page(client, "?origin=scheduled")
    assert set(scheduled.jobs) == set(failed) and set(scheduled.folds) == {"campaigns.poll"}
    html = client.get("/jobs/?origin=manual").get_data(as_text=True)
    assert 'data-state-link="failed">失败 <span class="badge text-bg-light">0</span>' in html  # counts follow it


def test_a_filter_value_that_means_nothing_is_named_and_left_out(app, client, signed_in_as):
    signed_in_as("admin")
    failed = add_jobs("campaigns.poll", 1, state="failed", error="超时")
    response = client.get("/jobs/?kind=no.such&state=failed")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "没有这种任务类型：「no.such」，已忽略这个筛选条件" in html
    assert set(Rows(html).jobs) == set(failed)


def test_retry_returns_to_the_filtered_page(app, client, signed_in_as):
    signed_in_as("admin")
    failed = add_jobs("campaigns.poll", 1, state="failed", error="超时")
    where = "/jobs/?state=failed"
    response = client.post(f"/jobs/{failed[0]}/retry", data={"csrf_token": csrf_token(client, where), "next": where})
    assert response.status_code == 302 and response.headers["Location"] == where
    assert db.session.get(Job, failed[0]).state == "queued"
