"""群SOP over real HTTP against the emulator: WeCom's monthly per-group quota stops an item for a group with a visible
reason (known from sends imported from WeCom, or found when WeCom does not send), a recurring item is planned once per
due time however often the planner runs, a task item gives each owner a task, and execution per owner."""
import calendar
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.campaigns.policy import policies
from app.community import tiers
from app.community.sop import execution, planner, service
from app.community.sop.models import GroupSop, SopItem, SopOccurrence, SopSend
from app.contacts.models import Staff
from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.sending import polling
from app.sending.models import Delivery, SendTask
from app.sending.outside_sends import import_outside_sends
from app.staffmsg.models import StaffMessage
from app.tasks import service as tasks
from app.tasks.models import Task
from tests.integration.campaign_exec_support import deliveries, dispatch_all
from tests.integration.test_community import empty_group
from tests.integration.test_sync_full import full_sync

TIMING = polling.Timing(remind_after=timedelta(hours=2), max_reminds=3, confirm_within=timedelta(hours=72))


@pytest.fixture
def owners(wired):
    """Two staff members with customer contact, after a full sync; no quiet hours (the items' times are now)."""
    full_sync()
    policies.save({"quiet_hours": {"start": "00:00", "end": "00:00"}}, "test")
    return db.session.scalars(select(Staff.userid).where(Staff.is_follow_user.is_(True), Staff.status == 1)
                              .order_by(Staff.userid).limit(2)).all()


def sop_with(tier: str, data: service.ItemInput, made_at) -> tuple[GroupSop, int]:
    sop = service.create("测试 SOP", tier, None, "test", made_at)
    return sop, service.save_item(sop, None, data, made_at).id


def item_at(when, title="会员日开场", kind="push", text="会员日开始啦，VIP 专享 9 折", **schedule) -> service.ItemInput:
    """An item due at `when` (its corp-local day and HH:MM), once unless `recurrence` says otherwise."""
    local = when.astimezone(settings.corp_timezone())
    return service.ItemInput(title, kind, text, [], local.strftime("%H:%M"), schedule.pop("recurrence", "once"),
                             local.date().isoformat(), **schedule)


def due_minute(now):
    """`now` at the start of its minute: an item set for this HH:MM is due then."""
    return now.replace(second=0, microsecond=0)


def member_sends(emulator, owner: str, chat_id: str, count: int) -> None:
    for n in range(count):
        emulator.control.post("groupmsg/member_send", userid=owner, chat_type="group", chat_id_list=[chat_id],
                              text=f"群主自己发的第 {n + 1} 条")


def occurrences(item_id: int) -> list[SopOccurrence]:
    db.session.expire_all()
    return list(db.session.scalars(select(SopOccurrence).where(SopOccurrence.item_id == item_id)
                                   .order_by(SopOccurrence.due_at)))


def test_the_monthly_group_quota_stops_an_sop_item_with_a_visible_reason(wired, owners, client, signed_in_as):
    owner = owners[0]
    known, unknown, fresh = (empty_group(wired, owner, name) for name in ("VIP一群", "VIP二群", "VIP三群"))
    tiers.set_tier([known, unknown, fresh], "vip", "test")
    now = utcnow()
    local = now.astimezone(settings.corp_timezone())
    month = calendar.monthrange(local.year, local.month)[1]  # WeCom: a group gets at most the month's days
    member_sends(wired, owner, known, month)
    over = wired.control.post("groupmsg/member_send", userid=owner, chat_type="group", chat_id_list=[known])
    assert [r["status"] for r in over["results"]] == [3]  # the emulator refuses one more this month
    import_outside_sends()  # the console learns of the owner's own sends, as it does every 30 minutes
    member_sends(wired, owner, unknown, month)  # ... but not yet of these

    _sop, item_id = sop_with("vip", item_at(now), now - timedelta(hours=1))
    assert planner.plan_due(now) == 1
    [occ] = occurrences(item_id)
    assert deliveries(occ.send_id) == {known: ("skipped", "wecom_quota"), unknown: ("planned", None),
                                       fresh: ("planned", None)}
    signed_in_as("community_manager")
    page = client.get(f"/community/sop/occurrences/{occ.id}").get_data(as_text=True)
    assert "VIP一群" in page and "该群本月已收满企业微信的群发上限" in page
    assert "该群本月已收满企业微信的群发上限" in client.get(f"/community/sop/{occ.sop_id}").get_data(as_text=True)

    dispatch_all()
    [task] = db.session.scalars(select(SendTask).where(SendTask.run_id == occ.send_id)).all()
    wired.control.confirm(task.msgid)
    polling.poll_due(now=utcnow() + timedelta(seconds=61), timing=TIMING)
    assert deliveries(occ.send_id) == {known: ("skipped", "wecom_quota"), unknown: ("failed", "not_sent"),
                                       fresh: ("sent", None)}
    received = wired.control.get("groupmsg/received")["received"]
    assert (received[known], received[unknown], received[fresh]) == (month, month, 1)  # only the fresh one got it
    page = client.get(f"/community/sop/occurrences/{occ.id}").get_data(as_text=True)
    assert "企业微信没有发到该群（该群本月的群发条数可能已满" in page and "VIP二群" in page
    listed = client.get(f"/community/sop/list?month={local:%Y-%m}").get_data(as_text=True)
    assert "该群本月已收满企业微信的群发上限" in listed


def test_a_recurring_item_plans_each_occurrence_once_however_often_the_planner_runs(wired, owners):
    chat = empty_group(wired, owners[0], "新人群")
    tiers.set_tier([chat], "newcomer", "test")
    first = due_minute(utcnow()) + timedelta(days=1)
    _sop, item_id = sop_with("newcomer", item_at(first, "21天打卡", recurrence="every", every_days=1, times=3),
                             utcnow())
    assert planner.plan_due(first - timedelta(minutes=1)) == 0  # not due yet
    for _ in range(2):
        planner.plan_due(first + timedelta(minutes=1))
    assert not planner.plan_occurrence(item_id, first, first + timedelta(minutes=2))  # asked directly: no again
    assert [o.due_at for o in occurrences(item_id)] == [first]
    second, third = first + timedelta(days=1), first + timedelta(days=2)
    for _ in range(2):
        planner.plan_due(second + timedelta(minutes=5))
    # the third is noticed two hours late (the worker was down): recorded as missed, never sent late, once
    for _ in range(2):
        planner.plan_due(third + timedelta(hours=2))
    planner.plan_due(third + timedelta(days=5))  # 21 天打卡 of 3 times: nothing after the last
    found = occurrences(item_id)
    assert [(o.due_at, o.status) for o in found] == [(first, "planned"), (second, "planned"), (third, "missed")]
    sends = [o.send_id for o in found]
    assert sends[2] is None and len(set(sends[:2])) == 2
    assert db.session.scalar(select(func.count(SopSend.id))) == 2
    assert db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.target_key == chat)) == 2


def test_a_task_item_gives_each_owner_a_task_and_execution_is_per_owner(wired, owners):
    (first, second) = owners
    chats = [empty_group(wired, first, "新人一群"), empty_group(wired, first, "新人二群"),
             empty_group(wired, second, "新人三群")]
    tiers.set_tier(chats, "newcomer", "test")
    due = due_minute(utcnow())
    _sop, item_id = sop_with("newcomer", item_at(due, "打卡阶段点评", "task", "请在群里点评本阶段打卡情况"),
                             due - timedelta(hours=1))
    for _ in range(2):
        planner.plan_due(due + timedelta(minutes=1))
    [occ] = occurrences(item_id)
    found = db.session.scalars(select(Task).where(Task.source == "group_sop").order_by(Task.assignee)).all()
    assert [(t.assignee, t.title) for t in found] == [(first, "打卡阶段点评"), (second, "打卡阶段点评")]
    assert "新人一群、新人二群" in found[0].body and found[0].due_at == due + planner.TASK_DUE_AFTER
    assert {m.userid for m in db.session.scalars(select(StaffMessage))} >= {first, second}  # told by app message
    tasks.complete(found[0].id, first)
    states = {o.owner: o.state for o in execution.of(occ, due + timedelta(hours=5)).owners}
    assert states == {first: execution.ON_TIME, second: execution.PENDING}
    states = {o.owner: o.state for o in execution.of(occ, due + timedelta(hours=73)).owners}
    assert states == {first: execution.ON_TIME, second: execution.MISSED}


def test_owners_who_confirm_late_or_never_are_shown_so(wired, owners):
    (first, second) = owners
    chats = [empty_group(wired, first, "VIP一群"), empty_group(wired, second, "VIP二群")]
    tiers.set_tier(chats, "vip", "test")
    due = due_minute(utcnow()) - timedelta(hours=3)  # planned three hours ago; the first owner confirms only now
    _sop, item_id = sop_with("vip", item_at(due), due - timedelta(hours=1))
    planner.plan_due(due + timedelta(minutes=1))
    [occ] = occurrences(item_id)
    dispatch_all()
    sent = {t.sender_userid: t for t in db.session.scalars(select(SendTask).where(SendTask.run_id == occ.send_id))}
    assert {o.owner: o.state for o in execution.of(occ).owners} == {first: execution.PENDING,
                                                                     second: execution.PENDING}
    wired.control.confirm(sent[first].msgid, userid=first)
    polling.poll_due(now=utcnow() + timedelta(seconds=61), timing=TIMING)
    polling.poll_due(now=sent[second].submitted_at + timedelta(hours=72, minutes=1), timing=TIMING)
    db.session.expire_all()
    states = {o.owner: o.state for o in execution.of(occ).owners}
    assert states == {first: execution.LATE, second: execution.MISSED}


def test_a_template_item_whose_time_has_passed_starts_the_next_day(app):
    made_at = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
    sop = service.create("新人 21 天打卡", "newcomer", "checkin", "test", made_at)
    starts = dict(db.session.execute(select(SopItem.title, SopItem.start_on).where(SopItem.sop_id == sop.id)).all())
    # 08:00 has passed: the check-in runs its 21 days from tomorrow; the day-7 review (20:00) keeps its day
    assert starts == {"每日打卡提醒": date(2026, 12, 7), "打卡阶段点评": date(2026, 12, 12)}


def test_an_item_is_refused_with_the_field_in_error_and_nothing_saved(app):
    sop = service.create("周末福利", "regular", "weekend", "test")
    before = db.session.scalar(select(func.count()).select_from(SopOccurrence))
    with pytest.raises(service.SopInvalid) as bad:
        service.save_item(sop, None, service.ItemInput("秒杀", "push", "{客户昵称}，秒杀开始", [], "25:00", "weekly",
                                                       "2026-12-01"))
    assert {e.where for e in bad.value.errors} == {"time_of_day", "weekdays", "text"}
    with pytest.raises(service.SopInvalid) as bad:
        service.save_item(sop, None, service.ItemInput("打卡", "push", "打卡", [], "08:00", "every", "2026-12-01",
                                                       every_days=1))
    assert {e.where for e in bad.value.errors} == {"times"}
    db.session.expire_all()
    titles = db.session.scalars(select(SopItem.title).where(SopItem.sop_id == sop.id).order_by(SopItem.id)).all()
    assert titles == ["周末福利预告", "周末秒杀开始"]  # the template's two, nothing more
    assert db.session.scalar(select(func.count()).select_from(SopOccurrence)) == before


def test_a_paused_sop_sends_nothing_planned_and_resumes_without_catching_up(wired, owners):
    chat = empty_group(wired, owners[0], "普通一群")
    tiers.set_tier([chat], "regular", "test")
    due = due_minute(utcnow())
    sop, item_id = sop_with("regular", item_at(due, "早安问候", recurrence="daily"), due - timedelta(hours=1))
    planner.plan_due(due + timedelta(minutes=1))
    service.set_paused(db.session.get(GroupSop, sop.id), True)
    dispatch_all()  # planned before the pause: vetoed when it is cut into tasks
    [occ] = occurrences(item_id)
    assert deliveries(occ.send_id) == {chat: ("skipped", "not_approved")}
    assert db.session.scalar(select(func.count(SendTask.id)).where(SendTask.run_id == occ.send_id)) == 0
    assert execution.of(occ).note == "群SOP 已暂停，本次未发送"
    tomorrow = due + timedelta(days=1)
    assert planner.plan_due(tomorrow + timedelta(minutes=1)) == 0  # paused: nothing planned
    service.set_paused(db.session.get(GroupSop, sop.id), False, tomorrow + timedelta(minutes=10))
    planner.plan_due(tomorrow + timedelta(minutes=11))  # resumed after tomorrow's time: it is not made up ...
    planner.plan_due(tomorrow + timedelta(days=1, minutes=1))  # ... the day after runs again
    assert [o.due_at for o in occurrences(item_id)] == [due, tomorrow + timedelta(days=1)]
