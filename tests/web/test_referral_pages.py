"""任务宝 pages: the form refuses bad input and saves nothing, the state machine with its audit trail, the review
queue needs a reason, results and the Excel export, and who may open them."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.contacts.models import Staff
from app.core.audit import AuditEntry
from app.core.db import transaction, utcnow
from app.extensions import db
from app.referral import service
from app.referral.models import (CreditStatus, ReferralCredit, ReferralParticipant, ReferralReservation,
                                 ReferralTask, TaskStatus)
from tests.conftest import csrf_token


@pytest.fixture
def staff(app):
    with transaction():
        db.session.add_all([Staff(userid="zhangsan", name="张三", is_follow_user=True),
                            Staff(userid="lisi", name="李四", is_follow_user=True)])
    return ["zhangsan", "lisi"]


def form(**changes):
    base = {"name": "老带新 12 月", "starts_at": "2026-12-10T10:00", "ends_at": "2026-12-31T22:00",
            "staff_userids": ["zhangsan"], "hold_hours": "168", "burst_count": "5", "burst_minutes": "60",
            "needed_0": "3", "reward_0": "定制帆布袋", "stock_0": "100", "kind_0": "staff", "cost_0": "12.50",
            "needed_1": "6", "reward_1": "满减券", "kind_1": "code", "codes_1": "A001\nA002\nA003", "cost_1": "5"}
    base.update(changes)
    return base


def test_the_form_creates_a_draft_with_its_ladder_and_refuses_bad_input(client, signed_in_as, staff):
    signed_in_as("operator")
    token = csrf_token(client, "/referral/new")
    bad = client.post("/referral/new", data=form(csrf_token=token, needed_1="3", ends_at="2026-12-01T10:00"))
    assert bad.status_code == 200 and "data-errors" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ReferralTask)) == 0
    made = client.post("/referral/new", data=form(csrf_token=token))
    assert made.status_code == 302
    task = db.session.scalar(select(ReferralTask))
    assert task.status == TaskStatus.DRAFT and task.hold_hours == 168
    page = client.get(f"/referral/{task.id}").get_data(as_text=True)
    assert "定制帆布袋" in page and "3 / 3" in page and "100 / 100" in page  # the code pool sets its stock


def test_states_move_as_allowed_and_are_audited(client, signed_in_as, staff):
    signed_in_as("operator")
    now = utcnow()
    task = service.create(service.TaskInput("双 12", now + timedelta(hours=1), now + timedelta(days=3), ["zhangsan"],
                                            [service.LevelInput(3, "礼盒", 10)]))
    token = csrf_token(client, f"/referral/{task.id}")
    assert client.post(f"/referral/{task.id}/move/pause", data={"csrf_token": token}).status_code == 302
    assert db.session.get(ReferralTask, task.id).status == TaskStatus.DRAFT  # a draft cannot be paused
    client.post(f"/referral/{task.id}/move/schedule", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(ReferralTask, task.id).status == TaskStatus.SCHEDULED
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("referral.%"))).all()
    assert actions == ["referral.task_created", "referral.task_schedule"]


def test_the_review_queue_needs_a_reason_and_approval_counts_the_credit(client, signed_in_as, staff):
    signed_in_as("operator")
    now = utcnow()
    task = service.create(service.TaskInput("review", now - timedelta(days=10), now + timedelta(days=3),
                                            ["zhangsan"], [service.LevelInput(1, "礼盒", 10)]))
    with transaction():
        me = service.join(task, "wm-inviter")
        for i, status in enumerate((CreditStatus.FLAGGED, CreditStatus.FLAGGED)):
            db.session.add(ReferralCredit(inbox_id=i + 1, task_id=task.id, participant_id=me.id, invitee=f"wm-{i}",
                                          userid="zhangsan", claim=f"wm-{i}", status=status, reason="burst",
                                          added_at=now - timedelta(days=9), hold_until=now - timedelta(days=2)))
    first, second = db.session.scalars(select(ReferralCredit.id).order_by(ReferralCredit.id)).all()
    token = csrf_token(client, f"/referral/{task.id}/review")
    client.post(f"/referral/{task.id}/review/{first}", data={"csrf_token": token, "decision": "approve", "note": ""})
    db.session.expire_all()
    assert db.session.get(ReferralCredit, first).status == CreditStatus.FLAGGED  # no reason, nothing changed
    client.post(f"/referral/{task.id}/review/{first}", data={"csrf_token": token, "decision": "approve",
                                                             "note": "同一门店活动现场扫码，已核实"})
    client.post(f"/referral/{task.id}/review/{second}", data={"csrf_token": token, "decision": "reject",
                                                              "note": "同一手机号注册的小号"})
    db.session.expire_all()
    approved, rejected = db.session.get(ReferralCredit, first), db.session.get(ReferralCredit, second)
    assert (approved.status, approved.review_note) == (CreditStatus.VALID, "同一门店活动现场扫码，已核实")
    assert rejected.status == CreditStatus.VOIDED
    assert db.session.scalar(select(func.count()).select_from(ReferralReservation)) == 1  # the hold was over
    page = client.get(f"/referral/{task.id}/rewards").get_data(as_text=True)
    assert "邀请满 1 人" in page
    export = client.get(f"/referral/{task.id}/export")
    assert export.status_code == 200 and export.mimetype.endswith("sheet")


def test_viewers_cannot_open_referral_pages(client, signed_in_as):
    signed_in_as("viewer")
    assert client.get("/referral/").status_code == 403
    assert client.get("/referral/p/not-a-token").status_code == 404  # public, but only with a signed link


def test_participants_have_one_state_each_within_thirty_characters(app, staff):
    now = utcnow()
    task = service.create(service.TaskInput("s", now, now + timedelta(days=1), ["zhangsan", "lisi"],
                                            [service.LevelInput(1, "礼", 1)], daily_cap=1, backup_userid="lisi"))
    with transaction():
        people = [service.join(task, f"wm-{i}") for i in range(3)]
    assert len({p.state for p in people}) == 3 and all(len(p.state) <= 30 for p in people)
    assert [p.userid for p in people] == ["zhangsan", "lisi", "lisi"]  # the rota, then the backup at the cap
    assert db.session.scalar(select(func.count()).select_from(ReferralParticipant)) == 3


def test_the_segment_joins_as_inviters_through_a_job(client, signed_in_as, staff):
    from app.contacts.models import Customer
    from app.segments import service as segments
    from tests.conftest import run_jobs
    signed_in_as("operator")
    with transaction():
        db.session.add_all([Customer(external_userid="wm-a", name="甲"), Customer(external_userid="wm-b", name="乙"),
                            Customer(external_userid="wm-partner", name="合作方", type=2)])
    everyone = segments.create_segment("全部", "", {"op": "and", "rules": []}, "tester")
    now = utcnow()
    task = service.create(service.TaskInput("人群", now, now + timedelta(days=3), ["zhangsan"],
                                            [service.LevelInput(3, "礼盒", 10)], segment_id=everyone.id))
    token = csrf_token(client, f"/referral/{task.id}")
    assert client.post(f"/referral/{task.id}/enroll-segment", data={"csrf_token": token}).status_code == 302
    run_jobs()
    joined = db.session.scalars(select(ReferralParticipant.external_userid).order_by(ReferralParticipant.id)).all()
    assert joined == ["wm-a", "wm-b"]  # a WeCom user (partner) is no inviter
    assert db.session.scalar(select(ReferralParticipant.nickname).where(ReferralParticipant.external_userid == "wm-a")) == "甲"
