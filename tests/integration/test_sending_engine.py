"""The send engine used by a sender that is not a push (a test-only origin, as an automation step or a referral task
will be): the same caps, WeCom quota, quiet hours, holdout and never-twice as pushes, counted across both."""
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app import sending
from app.contacts.models import Customer, FollowRelation
from app.core import settings
from app.core.db import transaction
from app.extensions import db
from app.sending import dispatch, dispatch_submit, guards, policies
from app.sending.models import Delivery, Send
from app.wecom.gateway import WeComGateway
from tests.integration.campaign_exec_support import deliveries, dispatch_all, later, staff_and_customers
from tests.integration.test_campaign_plan import NOON, make_campaign, plan_at, seed, statuses

TEXT = "{员工姓名}：您的推荐奖励已到账"


class ProbeSend(Send):
    """A test-only origin: a send with no campaign behind it."""

    __mapper_args__ = {"polymorphic_identity": "test_probe"}


class WithdrawnProbe(Send):
    """A test-only origin whose originating object was switched off after planning."""

    __mapper_args__ = {"polymorphic_identity": "test_probe_withdrawn"}

    def veto(self) -> str | None:
        return "自动化已停用"


def everyone():
    return sending.customers(select(Customer.id.label("customer_id")))


def probe(category: str, now: datetime, *, holdout_key: str = "probe:1", holdout: float = 0,
          when: datetime | None = None, origin=ProbeSend) -> Send:
    with transaction():
        send = origin(status="planning")
        db.session.add(send)
        db.session.flush()
        sending.plan(send, sending.Request(who=everyone(), what=(sending.Variant("A", 100, {"text": TEXT}),),
                                           category=category, holdout_key=holdout_key, holdout_percent=holdout,
                                           when=when), now)
    return send


def reasons(send_id: int) -> set:
    return {status if status != "skipped" else reason for status, reason, *_ in statuses(send_id).values()}


def mark_sent(send_id: int, at: datetime) -> None:
    db.session.execute(Delivery.__table__.update().where(Delivery.run_id == send_id, Delivery.status == "planned")
                       .values(status="sent", sent_at=at))
    db.session.commit()


def test_caps_and_quota_count_pushes_and_other_senders_alike(app, monkeypatch):
    seed(10)
    push = plan_at(make_campaign(name="早上的促销"), NOON - timedelta(hours=2), monkeypatch)
    mark_sent(push.id, NOON - timedelta(hours=2))

    settings.save({"wecom.receive_rule": "day"}, "tester")  # one mass message a day: the push used it
    assert reasons(probe("service", NOON).id) == {"wecom_quota"}
    settings.save({"wecom.receive_rule": "month"}, "tester")

    assert reasons(probe("promotion", NOON).id) == {"cap:promotion_daily"}  # one promotion a day, push or not
    assert reasons(probe("service", NOON).id) == {"planned"}  # not a promotion: 2 of 3 this week
    assert reasons(probe("service", NOON).id) == {"planned"}  # 3 of 3 this week
    # The two planned service sends count toward the pushes' weekly cap as the push itself does.
    content_push = plan_at(make_campaign(name="内容推送", category="content"), NOON, monkeypatch)
    assert reasons(content_push.id) == {"cap:weekly"}


def test_quiet_hours_and_a_later_time_defer_like_a_push(app, monkeypatch):
    seed(3)
    late = datetime(2026, 11, 23, 15, 30, tzinfo=timezone.utc)  # 23:30 in Shanghai
    push = plan_at(make_campaign(), late, monkeypatch)
    send = probe("service", late)
    assert send.status == push.status == "waiting_window"
    assert send.not_before == push.not_before == datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)  # 09:00

    afternoon = probe("service", NOON, when=NOON + timedelta(hours=3))
    assert (afternoon.status, afternoon.not_before) == ("waiting_window", NOON + timedelta(hours=3))
    evening = probe("service", NOON, when=NOON + timedelta(hours=10))  # 22:00: the quiet hours still apply
    assert evening.not_before == datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def test_the_same_holdout_key_holds_out_the_same_customers(app):
    seed(40)
    first = statuses(probe("service", NOON, holdout_key="journey:7", holdout=30).id)
    again = statuses(probe("service", NOON, holdout_key="journey:7", holdout=30).id)
    other = statuses(probe("service", NOON, holdout_key="journey:8", holdout=30).id)
    held = {key for key, (status, *_) in first.items() if status == "holdout"}
    assert held == {key for key in first if guards.in_holdout("journey:7", key, 30)}
    assert 4 <= len(held) <= 24
    assert held == {key for key, (status, *_) in again.items() if status == "holdout"}
    assert held != {key for key, (status, *_) in other.items() if status == "holdout"}


def customers_of_emulator(wecom) -> tuple[str, list[str]]:
    [(sender, theirs)] = staff_and_customers(wecom, 1)
    with transaction():
        policies.store({"quiet_hours": {"start": "00:00", "end": "00:00"}}, "tester")  # sent whenever the test runs
        for external_userid in theirs[:4]:
            db.session.add(Customer(external_userid=external_userid, name=external_userid))
            db.session.add(FollowRelation(userid=sender, external_userid=external_userid))
    return sender, theirs[:4]


def test_never_twice_a_lost_answer_is_looked_up_not_sent_again(wired, wecom):
    sender, theirs = customers_of_emulator(wecom)
    send = probe("service", datetime.now(timezone.utc))
    assert dispatch.start_due_run() == send.id
    [(task_id, maybe_sent)] = dispatch.claim_tasks(10)
    # WeCom creates the message, but its answer arrives after our read timeout.
    wired.control.fault(api="externalcontact/add_msg_template", latency_ms=1500)
    impatient = WeComGateway(wired.corp_id, wired.secret, api_base=wired.api_base, timeout=(1, 0.3), max_attempts=1)
    assert dispatch_submit.submit([(task_id, maybe_sent)], impatient) == {task_id: "submitting"}
    wired.control.clear_faults()
    time.sleep(1.5)  # the emulator finishes the call it was sleeping in

    [(again, maybe_sent)] = dispatch.claim_tasks(10, now=later(seconds=31))
    assert (again, maybe_sent) == (task_id, True)
    assert dispatch_submit.submit([(again, maybe_sent)]) == {task_id: "submitted"}
    dispatch_all()
    [msg] = wired.control.get("groupmsgs")["group_msgs"]
    name = next(u["name"] for u in wecom.all_users() if u["userid"] == sender)
    assert msg["text"]["content"] == f"{name}：您的推荐奖励已到账"
    assert set(wired.control.get("groupmsg/received")["addressed"]) == set(theirs)
    assert set(wired.control.get("groupmsg/received")["addressed"].values()) == {1}
    assert set(deliveries(send.id).values()) == {("submitted", None)}
    db.session.expire_all()
    assert db.session.get(Send, send.id).status == "polling"


def test_an_origin_withdrawn_after_planning_sends_nothing(wired, wecom):
    customers_of_emulator(wecom)
    send = probe("service", datetime.now(timezone.utc), origin=WithdrawnProbe)
    dispatch_all()
    assert wired.control.get("groupmsgs")["group_msgs"] == []
    assert set(deliveries(send.id).values()) == {("skipped", "not_approved")}
    db.session.expire_all()
    assert db.session.get(Send, send.id).error == "自动化已停用"
