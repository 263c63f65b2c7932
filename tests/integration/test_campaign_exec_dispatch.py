"""Dispatching a run through the emulator: chunks above 10,000, text per sender, never twice after a crash
(between a call and its commit, or in the middle of a batch of concurrent calls)."""
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from app.campaigns.models import Campaign, CampaignRun
from app.contacts.models import Staff
from app.extensions import db
from app.sending import dispatch, dispatch_submit
from app.sending.models import SendTask
from app.wecom.gateway import WeComGateway
from tests.integration.campaign_exec_support import (
    deliveries, dispatch_all, later, make_run, run_status, staff_and_customers, tasks,
)

ROOT = Path(__file__).resolve().parents[2]


def received(emulator) -> dict:
    return emulator.control.get("groupmsg/received")


def test_chunks_of_at_most_ten_thousand_per_sender(wired, wecom):
    (big, _), (small, theirs) = staff_and_customers(wecom, 2)
    bulk = wired.control.post("groupmsg/audience", userids=[big], per_user=10_001)
    assert bulk["added"] == {big: 10_001}
    many = [f"wmbulk{big}x{n}" for n in range(10_001)]
    run_id = make_run([(t, big) for t in many] + [(t, small) for t in theirs[:3]],
                      holdout=[(theirs[3], small)])
    dispatch_all()

    msgs = wired.control.get("groupmsgs")["group_msgs"]
    sizes = sorted(len(rows) for m in msgs for rows in m["results"].values())
    assert sizes == [1, 3, 10_000]
    counts = received(wired)["addressed"]
    assert len(counts) == 10_004 and set(counts.values()) == {1} and theirs[3] not in counts
    by_sender = {m["tasks"][0]["userid"]: m["text"]["content"] for m in msgs}
    names = {u["userid"]: u["name"] for u in wecom.all_users()}
    assert by_sender[small] == f"您好，我是{names[small]}，双十二会员价已开启"
    assert [(t.sender_userid, t.chunk_no, t.status) for t in tasks(run_id)] == sorted(
        [(big, 0, "submitted"), (big, 1, "submitted"), (small, 0, "submitted")])
    outcome = deliveries(run_id)
    assert sum(1 for s in outcome.values() if s == ("submitted", None)) == 10_004
    assert outcome[theirs[3]] == ("holdout", None)
    assert run_status(run_id) == "polling"
    dispatch_all()  # a second pass sends nothing more
    assert len(wired.control.get("groupmsgs")["group_msgs"]) == 3


def test_push_variables_reach_wecom_as_the_senders_name_and_a_neutral_you(wired, wecom):
    [(sender, theirs)] = staff_and_customers(wecom, 1)
    make_run([(t, sender) for t in theirs[:2]], text="{客户昵称}好，我是{员工姓名}，{{双十二}}会员价已开启")
    dispatch_all()
    [msg] = wired.control.get("groupmsgs")["group_msgs"]
    name = next(u["name"] for u in wecom.all_users()
                if u["userid"] == sender)
    assert msg["tasks"][0]["userid"] == sender
    assert msg["text"]["content"] == f"您好，我是{name}，{{双十二}}会员价已开启"


def test_lost_answer_is_looked_up_not_sent_again(wired, wecom):
    [(sender, mine)] = staff_and_customers(wecom, 1)
    run_id = make_run([(t, sender) for t in mine[:5]])
    dispatch.start_due_run()
    [(task_id, maybe_sent)] = dispatch.claim_tasks(10)
    assert not maybe_sent
    # WeCom creates the message, but its answer arrives after our read timeout.
    wired.control.fault(api="externalcontact/add_msg_template", latency_ms=1500)
    impatient = WeComGateway(wired.corp_id, wired.secret, api_base=wired.api_base, timeout=(1, 0.3), max_attempts=1)
    assert dispatch_submit.submit([(task_id, maybe_sent)], impatient) == {task_id: "submitting"}
    wired.control.clear_faults()
    time.sleep(1.5)  # the emulator finishes the call it was sleeping in
    assert len(wired.control.get("groupmsgs")["group_msgs"]) == 1

    assert dispatch.claim_tasks(10) == []  # the short lease after a lost answer has not passed yet
    [(again, maybe_sent)] = dispatch.claim_tasks(10, now=later(seconds=31))
    assert again == task_id and maybe_sent
    assert dispatch_submit.submit([(again, maybe_sent)]) == {task_id: "submitted"}

    msgs = wired.control.get("groupmsgs")["group_msgs"]
    assert len(msgs) == 1 and set(received(wired)["addressed"].values()) == {1}
    db.session.expire_all()
    task = db.session.get(SendTask, task_id)
    assert task.msgid == msgs[0]["msgid"] and task.attempts == 2
    assert set(deliveries(run_id).values()) == {("submitted", None)}


WORKER = """
import sys
from app import create_app
from config import TestConfig
from app.sending import dispatch, dispatch_submit
config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": sys.argv[1], "WECOM_API_BASE": sys.argv[2]})
dispatch_submit.SUBMIT_THREADS = int(sys.argv[3])
with create_app(config).app_context():
    dispatch.work_once()
"""


def start_worker(app, wired, threads: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, app.config["SQLALCHEMY_DATABASE_URI"], wired.api_base,
                             str(threads)], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_worker_killed_between_call_and_commit_never_sends_twice(app, wired, wecom):
    (first, theirs1), (second, theirs2) = staff_and_customers(wecom, 2)
    run_id = make_run([(t, first) for t in theirs1[:4]] + [(t, second) for t in theirs2[:4]])
    # The call reaches WeCom and hangs there; the worker is killed (SIGKILL) while it waits for the answer.
    wired.control.fault(api="externalcontact/add_msg_template", latency_ms=2500)
    worker = start_worker(app, wired, threads=1)
    try:
        _wait(lambda: {t.status for t in tasks(run_id)} == {"submitting"}, timeout=120)  # a loaded CI starts slowly
        time.sleep(0.8)  # the first add_msg_template is in flight
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    wired.control.clear_faults()
    _wait(lambda: len(wired.control.get("groupmsgs")["group_msgs"]) == 1)  # WeCom did create it
    assert {t.msgid for t in tasks(run_id)} == {None}  # ... but we never learned its msgid

    dispatch_all()  # a restarted worker: the leases have not passed, so nothing is touched yet
    assert len(wired.control.get("groupmsgs")["group_msgs"]) == 1
    claimed = dispatch.claim_tasks(10, now=later(minutes=6))
    assert len(claimed) == 2 and all(maybe for _, maybe in claimed)
    dispatch_submit.submit(claimed)

    msgs = wired.control.get("groupmsgs")["group_msgs"]
    assert len(msgs) == 2
    counts = received(wired)["addressed"]
    assert len(counts) == 8 and set(counts.values()) == {1}
    assert sorted(t.msgid for t in tasks(run_id)) == sorted(m["msgid"] for m in msgs)
    assert set(deliveries(run_id).values()) == {("submitted", None)}


def test_worker_killed_in_the_middle_of_a_concurrent_batch_never_sends_twice(app, wired, wecom):
    senders = [f"wmbatch{i}" for i in range(5)]
    wired.control.post("groupmsg/audience", userids=senders, per_user=3)
    customers = {s: [f"wmbulk{s}x{n}" for n in range(3)] for s in senders}
    run_id = make_run([(t, s) for s in senders for t in customers[s]])
    # One batch of five tasks, three calls at a time, each hanging at WeCom: the worker is killed while the first
    # three are in flight, so WeCom creates those and the last two are never called.
    wired.control.fault(api="externalcontact/add_msg_template", latency_ms=2500)
    worker = start_worker(app, wired, threads=3)
    try:
        _wait(lambda: {t.status for t in tasks(run_id)} == {"submitting"}, timeout=120)
        time.sleep(0.8)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    wired.control.clear_faults()
    time.sleep(3)  # the calls in flight finish at WeCom
    created = len(wired.control.get("groupmsgs")["group_msgs"])
    assert 0 < created <= 3
    assert {(t.status, t.msgid) for t in tasks(run_id)} == {("submitting", None)}

    dispatch_all()  # under their leases nothing is touched
    assert len(wired.control.get("groupmsgs")["group_msgs"]) == created
    claimed = dispatch.claim_tasks(10, now=later(minutes=6))
    assert len(claimed) == 5 and all(maybe for _, maybe in claimed)
    assert set(dispatch_submit.submit(claimed).values()) == {"submitted"}

    msgs = wired.control.get("groupmsgs")["group_msgs"]
    assert len(msgs) == 5
    assert received(wired)["addressed"] == {t: 1 for s in senders for t in customers[s]}
    assert sorted(t.msgid for t in tasks(run_id)) == sorted(m["msgid"] for m in msgs)
    assert set(deliveries(run_id).values()) == {("submitted", None)}


def test_tasks_a_batch_had_no_time_left_for_are_looked_up_before_they_are_sent(wired, wecom, monkeypatch):
    [(sender, mine)] = staff_and_customers(wecom, 1)
    run_id = make_run([(t, sender) for t in mine[:2]])
    monkeypatch.setattr(dispatch_submit, "CALL_WINDOW", timedelta(0))  # the lease could end before an answer
    dispatch_all()
    assert wired.control.get("groupmsgs")["group_msgs"] == []
    assert {(t.status, t.msgid) for t in tasks(run_id)} == {("submitting", None)}
    monkeypatch.undo()

    claimed = dispatch.claim_tasks(10, now=later(minutes=6))
    assert [maybe for _, maybe in claimed] == [True]
    dispatch_submit.submit(claimed)
    assert len(wired.control.get("groupmsgs")["group_msgs"]) == 1
    assert set(deliveries(run_id).values()) == {("submitted", None)}


def test_refused_task_fails_its_deliveries_with_the_reason(wired, wecom):
    [(sender, mine)] = staff_and_customers(wecom, 1)
    strangers = ["wmnotafriend1", "wmnotafriend2"]
    run_id = make_run([(t, sender) for t in strangers])
    dispatch_all()
    [task] = tasks(run_id)
    assert task.status == "failed" and "41048" in task.error
    assert deliveries(run_id) == {t: ("failed", "not_friend") for t in strangers}
    assert run_status(run_id) == "finished"


def test_run_waits_for_not_before(wired, wecom):
    [(sender, mine)] = staff_and_customers(wecom, 1)
    run_id = make_run([(mine[0], sender)])
    run = db.session.get(CampaignRun, run_id)
    run.not_before, run.status = later(hours=1), "waiting_window"
    db.session.commit()
    assert dispatch.start_due_run() is None
    assert dispatch.start_due_run(now=later(hours=1, seconds=1)) == run_id
    assert run_status(run_id) == "dispatching"


def test_campaign_edited_after_planning_is_not_sent(wired, wecom):
    [(sender, mine)] = staff_and_customers(wecom, 1)
    run_id = make_run([(t, sender) for t in mine[:2]])
    campaign = db.session.get(Campaign, db.session.get(CampaignRun, run_id).campaign_id)
    campaign.version, campaign.content = 2, {"text": "改过的内容"}
    db.session.commit()
    dispatch_all()
    assert wired.control.get("groupmsgs")["group_msgs"] == []
    assert run_status(run_id) == "failed"
    assert set(deliveries(run_id).values()) == {("skipped", "not_approved")}


def test_an_edit_after_the_run_was_cut_into_tasks_never_reaches_wecom(wired, wecom):
    [(sender, mine)] = staff_and_customers(wecom, 1)
    run_id = make_run([(t, sender) for t in mine[:2]], text="{员工姓名}：双十二会员价已开启")
    assert dispatch.start_due_run() == run_id  # cut into tasks with the approved text
    campaign = db.session.get(Campaign, db.session.get(CampaignRun, run_id).campaign_id)
    campaign.version, campaign.content = 2, {"text": "改过、未审批的内容"}
    db.session.query(Staff).filter(Staff.userid == sender).update({"name": "改名后"})
    db.session.commit()
    dispatch_all()
    [msg] = wired.control.get("groupmsgs")["group_msgs"]
    assert msg["text"]["content"].endswith("：双十二会员价已开启") and "改" not in msg["text"]["content"]
