"""After submission: staff confirm or never do (reminders, at most 3 a day, then a final state), quota status 3,
not a friend, cancel; every WeCom call over HTTP to the emulator."""
from datetime import timedelta

from app.core.audit import AuditEntry
from app.extensions import db
from app.sending import polling
from app.sending.models import Delivery
from tests.integration.campaign_exec_support import (
    deliveries, dispatch_all, later, make_run, run_status, staff_and_customers, tasks,
)

TIMING = polling.Timing(remind_after=timedelta(hours=2), max_reminds=3, confirm_within=timedelta(hours=72))


def groupmsg(emulator, msgid):
    return next(m for m in emulator.control.get("groupmsgs")["group_msgs"] if m["msgid"] == msgid)


def poll(at=None):
    return polling.poll_due(now=at or later(seconds=61), timing=TIMING)


def test_results_sent_not_friend_and_over_quota(wired, wecom):
    [(sender, mine)] = staff_and_customers(wecom, 1)
    wired.control.config(receive_rule="day")
    wired.control.post("groupmsg/member_send", userid=sender, external_userid=[mine[0]], text="成员自己发的")
    run_id = make_run([(t, sender) for t in mine[:3]] + [("wmstranger", sender)])
    dispatch_all()
    assert deliveries(run_id)["wmstranger"] == ("failed", "not_friend")  # in add_msg_template's fail_list
    [task] = tasks(run_id)
    assert poll() == 1 and tasks(run_id)[0].status == "submitted"  # nobody confirmed yet
    wired.control.post("simulate/del_follow_user", userid=sender, external_userid=mine[1])
    wired.control.confirm(task.msgid)
    poll(later(minutes=3))
    assert deliveries(run_id) == {mine[0]: ("failed", "over_quota"), mine[1]: ("failed", "not_friend"),
                                  mine[2]: ("sent", None), "wmstranger": ("failed", "not_friend")}
    [task] = tasks(run_id)
    assert task.status == "finished" and task.confirmed_at is not None and task.next_poll_at is None
    sent = db.session.query(Delivery).filter_by(run_id=run_id, target_key=mine[2]).one()
    assert sent.sent_at is not None
    assert run_status(run_id) == "finished"


def test_staff_who_never_confirm_get_three_reminders_then_the_task_ends(wired, wecom):
    [(sender, mine)] = staff_and_customers(wecom, 1)
    run_id = make_run([(t, sender) for t in mine[:2]])
    dispatch_all()
    [task] = tasks(run_id)
    start = task.submitted_at
    for hours in range(1, 48):  # the scheduler's tick, every hour of two days
        poll(start + timedelta(hours=hours, minutes=1))
    msg = groupmsg(wired, task.msgid)
    assert len(msg["reminds"]) == 3  # the emulator enforces WeCom's 3 per 24 h: a fourth would have failed
    [task] = tasks(run_id)
    assert task.remind_count == 3 and task.error is None and task.status == "submitted"
    assert run_status(run_id) == "polling"

    poll(start + timedelta(hours=72, minutes=1))
    [task] = tasks(run_id)
    assert task.status == "finished" and "未确认" in task.error
    assert groupmsg(wired, task.msgid)["cancelled"]  # a late confirmation cannot send outside the results
    assert set(deliveries(run_id).values()) == {("failed", "not_confirmed")}
    assert run_status(run_id) == "finished"


def test_cancel_stops_unconfirmed_tasks_and_keeps_what_was_sent(wired, wecom):
    (first, theirs1), (second, theirs2) = staff_and_customers(wecom, 2)
    run_id = make_run([(t, first) for t in theirs1[:2]] + [(t, second) for t in theirs2[:2]])
    dispatch_all()
    by_sender = {t.sender_userid: t for t in tasks(run_id)}
    wired.control.confirm(by_sender[first].msgid)  # the first member already sent

    result = polling.cancel_run(run_id)
    assert result == {"cancelled": True, "skipped": 0, "wecom_tasks": 2, "wecom_failed": 0}
    assert wired.control.call_count("externalcontact/cancel_groupmsg_send") == 2
    assert wired.control.confirm(by_sender[second].msgid)["confirmed"] == []  # too late for the second
    poll()
    outcome = deliveries(run_id)
    assert [outcome[t] for t in theirs1[:2]] == [("sent", None)] * 2
    assert [outcome[t] for t in theirs2[:2]] == [("failed", "cancelled")] * 2
    assert run_status(run_id) == "cancelled"
    assert {t.next_poll_at for t in tasks(run_id)} == {None}
    assert db.session.query(AuditEntry).filter_by(action="campaigns.run_cancelled").count() == 1
    assert polling.cancel_run(run_id)["cancelled"] is False


def test_cancel_before_dispatch_sends_nothing(wired, wecom):
    [(sender, mine)] = staff_and_customers(wecom, 1)
    run_id = make_run([(t, sender) for t in mine[:3]])
    assert polling.cancel_run(run_id)["skipped"] == 3
    dispatch_all()
    assert wired.control.get("groupmsgs")["group_msgs"] == []
    assert set(deliveries(run_id).values()) == {("skipped", "cancelled")}
    assert run_status(run_id) == "cancelled"


def test_a_member_whose_task_shows_confirmed_is_neither_reminded_nor_cancelled(wired, wecom):
    """get_groupmsg_task status 1 (已确认, sending under way) counts as confirmed: no reminder, no give-up, and
    the task is not over before WeCom reports 2 (已发送) with the results."""
    [(sender, mine)] = staff_and_customers(wecom, 1)
    run_id = make_run([(t, sender) for t in mine[:2]])
    dispatch_all()
    [task] = tasks(run_id)
    assert wired.control.confirm(task.msgid, send=False)["confirmed"] == [sender]
    assert {t["status"] for t in wecom.post("externalcontact/get_groupmsg_task", {"msgid": task.msgid})[1]
            ["task_list"]} == {1}
    start = task.submitted_at
    for hours in range(1, 72):
        poll(start + timedelta(hours=hours, minutes=1))
    msg = groupmsg(wired, task.msgid)
    assert msg["reminds"] == [] and not msg["cancelled"]
    [task] = tasks(run_id)
    assert task.status == "confirmed" and task.remind_count == 0 and task.confirmed_at is not None
    assert set(deliveries(run_id).values()) == {("submitted", None)}

    assert wired.control.confirm(task.msgid)["confirmed"] == [sender]  # the messages go out now
    poll(start + timedelta(hours=72, minutes=30))
    assert set(deliveries(run_id).values()) == {("sent", None)}
    assert tasks(run_id)[0].status == "finished" and run_status(run_id) == "finished"


def test_a_group_send_confirmed_but_not_yet_sent_is_not_given_up(wired, wecom):
    """For group sends WeCom lists only sent chats: an empty result list at status 1 means "not yet", not "none"."""
    [(sender, _)] = staff_and_customers(wecom, 1)
    chats = [c["chat_id"] for c in wecom.post("externalcontact/groupchat/list",
                                              {"limit": 1000, "owner_filter": {"userid_list": [sender]}})[1]
             ["group_chat_list"]]
    assert chats, "the small seed gives every member with customers a group"
    run_id = make_run([(c, sender) for c in chats], chat_type="group")
    dispatch_all()
    [task] = tasks(run_id)
    wired.control.confirm(task.msgid, send=False)
    poll(later(minutes=2))
    assert tasks(run_id)[0].status == "confirmed" and set(deliveries(run_id).values()) == {("submitted", None)}
    wired.control.confirm(task.msgid)
    poll(later(minutes=4))
    assert set(deliveries(run_id).values()) == {("sent", None)} and tasks(run_id)[0].status == "finished"
