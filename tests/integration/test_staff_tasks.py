"""Staff tasks against the emulator over real HTTP: idempotent creation, delivery by app message, a reminder and an
overdue escalation to the supervisor each sent once, follow-up rules, and the 24 h SLA across the corp midnight."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.contacts.models import Department, FollowRelation, Staff
from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.lifecycle import movements
from app.rfm.models import CustomerRfmScore
from app.staffmsg import dispatch
from app.staffmsg.models import StaffMessage
from app.tags.marking import Change, mark
from app.tags.models import CorpTag
from app.tasks import rules, sla, sweep
from app.tasks.models import DONE, Task
from app.tasks.service import TaskError, complete, create_task
from app.wecom import connection

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def corp(synced, app):
    """The console after a full sync of the emulator's small company, able to send app messages."""
    settings.save({"wecom.agent_id": synced.agent_id, "console.url": "https://scrm.example.com"}, "test")
    connection.forget()
    return synced


def _send_messages() -> dict:
    result = dispatch.run_job(avoid_busy_minutes=False)
    db.session.expire_all()
    return result


def _member_and_leader() -> tuple[str, str]:
    """A staff member who is not a leader, and the leader of their department."""
    for dept in [d for d in db.session.scalars(select(Department).order_by(Department.id)) if d.leader_userids]:
        for staff in db.session.scalars(select(Staff)):
            if dept.id in staff.department_ids and staff.userid not in dept.leader_userids:
                return staff.userid, dept.leader_userids[0]
    raise AssertionError("the small seed has departments with a leader and a member")


def test_creating_twice_with_one_source_key_gives_one_task_and_one_message(corp):
    userid, _leader = _member_and_leader()
    due = utcnow() + timedelta(hours=24)
    with transaction():
        first = create_task(userid, "回访高意向客户", due, source="journey", source_key="journey:1:step:2:wmA")
    with transaction():
        again = create_task(userid, "别的标题", due + timedelta(hours=1), source="journey",
                            source_key="journey:1:step:2:wmA")
    assert again.id == first.id and again.title == "回访高意向客户"
    assert db.session.scalar(select(func.count()).select_from(Task)) == 1
    _send_messages()
    received = corp.control.app_messages(userid)["received"][userid]
    assert len(received) == 1
    assert received[0]["content"]["title"] == "新任务：回访高意向客户"
    assert received[0]["content"]["url"] == f"https://scrm.example.com/tasks/{first.id}"


def test_bad_tasks_are_refused_and_nothing_is_written(corp):
    userid, _leader = _member_and_leader()
    with pytest.raises(TaskError):
        create_task("no-such-member", "回访", utcnow())
    with pytest.raises(TaskError):
        create_task(userid, " ", utcnow())
    with pytest.raises(TaskError):
        create_task(userid, "回访", datetime(2026, 12, 6, 9, 0))  # no timezone
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_overdue_task_is_escalated_to_the_supervisor_once(corp):
    userid, leader = _member_and_leader()
    with transaction():
        task = create_task(userid, "一对一关怀", utcnow() - timedelta(minutes=1), deliver=False)
    for _run in range(3):
        sweep.run_job()
    db.session.expire_all()
    assert db.session.get(Task, task.id).escalated_to == [leader]
    _send_messages()
    _send_messages()
    to_leader = corp.control.app_messages(leader)["received"][leader]
    assert [m["content"]["title"] for m in to_leader] == ["团队有 1 个跟进任务逾期"]
    assert to_leader[0]["content"]["url"].endswith(f"/tasks/{task.id}")
    to_member = corp.control.app_messages(userid)["received"][userid]
    assert [m["content"]["title"] for m in to_member] == ["1 个跟进任务已逾期"]


def test_a_leaders_overdue_task_goes_one_level_up(corp):
    nested = next(d for d in db.session.scalars(select(Department).order_by(Department.id))
                  if d.parent_id not in (None, 0, 1) and d.leader_userids)
    parent = db.session.get(Department, nested.parent_id)
    with transaction():
        task = create_task(nested.leader_userids[0], "一对一关怀", utcnow() - timedelta(minutes=1), deliver=False)
    sweep.run_job()
    db.session.expire_all()
    assert db.session.get(Task, task.id).escalated_to == parent.leader_userids


def test_reminder_before_due_comes_once(corp):
    userid, _leader = _member_and_leader()
    with transaction():
        task = create_task(userid, "回访", utcnow() + timedelta(minutes=90), deliver=False)
        task.created_at = utcnow() - timedelta(hours=22)
    sweep.run_job()
    sweep.run_job()
    _send_messages()
    titles = [m["content"]["title"] for m in corp.control.app_messages(userid)["received"][userid]]
    assert titles == ["1 个跟进任务即将到期"]


def test_a_task_done_is_neither_reminded_nor_escalated(corp):
    userid, _leader = _member_and_leader()
    with transaction():
        task = create_task(userid, "回访", utcnow() + timedelta(seconds=1), deliver=False)
    complete(task.id, "tester")
    sweep.run_job()
    assert db.session.scalar(select(func.count()).select_from(StaffMessage)) == 0


def _tag_and_relation() -> tuple[str, tuple[str, str]]:
    """A live corp tag and a current relation that does not carry it."""
    tag = db.session.scalar(select(CorpTag).where(CorpTag.deleted_at.is_(None)).order_by(CorpTag.id))
    relation = next(r for r in db.session.scalars(select(FollowRelation).where(FollowRelation.ended_at.is_(None))
                                                  .order_by(FollowRelation.id)) if tag.tag_id not in r.tag_ids)
    return tag.tag_id, (relation.userid, relation.external_userid)


def test_a_tag_added_creates_one_follow_up_for_that_relation_only(corp):
    tag_id, (userid, external_userid) = _tag_and_relation()
    rule = rules.save_rule(name="高意向 24 小时跟进", trigger=rules.TAG_ADDED, due_hours=24, task_title="跟进高意向客户",
                           tag_id=tag_id, actor="tester")
    assert rules.run_job()["created"] == {str(rule.id): 0}  # who carried the tag before the rule: no task
    mark([Change(userid, external_userid, add=(tag_id,))], "contacts.tags_marked")  # through WeCom (the emulator)
    started = utcnow()
    assert rules.run_job()["created"] == {str(rule.id): 1}
    finished = utcnow()
    assert rules.run_job()["created"] == {str(rule.id): 0}
    task = db.session.scalar(select(Task))
    assert (task.assignee, task.external_userid, task.source) == (userid, external_userid, "followup_rule")
    assert started + timedelta(hours=24) <= task.due_at <= finished + timedelta(hours=24)


def test_a_cant_lose_customer_entering_dormant_gets_one_care_task(corp):
    rule = rules.save_rule(name="不能失去客户沉睡关怀", trigger=rules.STAGE_ENTERED, due_hours=24, task_title="一对一关怀",
                           stage="dormant", rfm_filter="cant_lose", actor="tester")
    relations = list(db.session.scalars(select(FollowRelation).where(FollowRelation.ended_at.is_(None))
                                        .order_by(FollowRelation.id).limit(2)))
    valued, ordinary = relations[0].external_userid, relations[1].external_userid
    with transaction():
        for ext, segment in ((valued, "cant_lose"), (ordinary, "hibernating")):
            db.session.add(CustomerRfmScore(external_userid=ext, frequency=6, monetary_fen=100000, segment=segment,
                                            run_id=1))
        entered = movements.move(valued, "dormant", "daily")
        movements.move(ordinary, "dormant", "daily")
    assert rules.run_job()["created"] == {str(rule.id): 1}
    assert rules.run_job()["created"] == {str(rule.id): 0}
    task = db.session.scalar(select(Task))
    assert task.external_userid == valued and task.due_at == entered.at + timedelta(hours=24)


def test_24h_sla_across_the_corp_midnight(corp):
    """Added at 06:30 on 12-06 in Shanghai (22:30 on 12-05 in UTC): due 06:30 on 12-07 local, so it counts on the
    local day 12-07 (a UTC day would say 12-06). Done at 00:10 local on 12-07, across the local midnight: on time.
    Its twin done at 06:31 is late."""
    userid, _leader = _member_and_leader()
    created = datetime(2026, 12, 6, 6, 30, tzinfo=SHANGHAI)
    due = created + timedelta(hours=24)
    with transaction():
        on_time = create_task(userid, "跟进 A", due, deliver=False)
        late = create_task(userid, "跟进 B", due, deliver=False)
        for task, done in ((on_time, datetime(2026, 12, 7, 0, 10, tzinfo=SHANGHAI)),
                           (late, datetime(2026, 12, 7, 6, 31, tzinfo=SHANGHAI))):
            task.created_at, task.state, task.done_at, task.done_by = created, DONE, done, userid
    days = sla.daily(datetime(2026, 12, 5).date(), datetime(2026, 12, 8).date(), [userid])
    assert days == {userid: {datetime(2026, 12, 7).date(): (1, 2)}}
    assert sla.totals(datetime(2026, 12, 7).date(), datetime(2026, 12, 7).date()) == {userid: (1, 2)}
    assert sla.rate(1, 2) == 0.5
