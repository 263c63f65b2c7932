"""应用SOP over real HTTP against the emulator: groups ticked on the group list and added to a 群SOP by hand get its
next push (once each, also when their tier is the SOP's) and its owner tasks; a group removed again, or dismissed,
drops out, a tier's group cannot be removed by hand; WeCom's monthly per-group quota still stops an added group."""
import calendar
from datetime import timedelta

from sqlalchemy import func, select

from app.community import tiers
from app.community.sop import planner, reach, service
from app.community.sop.models import GroupSop, SopGroup
from app.contacts.models import CustomerGroup
from app.core import settings
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.extensions import db
from app.sending import polling
from app.sending.models import Delivery, SendTask
from app.sending.outside_sends import import_outside_sends
from app.tasks.models import Task
from tests.conftest import csrf_token
from tests.integration.campaign_exec_support import deliveries, dispatch_all
from tests.integration.test_community import empty_group
from tests.integration.test_group_sop import (TIMING, due_minute, item_at, member_sends, occurrences, owners,  # noqa: F401
                                              sop_with)
from tests.integration.test_sync_events import deliver


def audited(action: str) -> list[dict]:
    return [e.details for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                                   .order_by(AuditEntry.id))]


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/contacts/groups"), **data}, follow_redirects=True)


def test_groups_applied_to_an_sop_get_its_next_push_once_each_and_its_tasks(wired, owners, client, signed_in_as):
    first, second = owners
    vip, regular, loose = (empty_group(wired, owner, name) for owner, name in
                           ((first, "VIP一群"), (second, "普通一群"), (first, "未分层群")))
    tiers.set_tier([vip], "vip", "test")
    tiers.set_tier([regular], "regular", "test")
    due = due_minute(utcnow())
    sop, push_id = sop_with("vip", item_at(due), due - timedelta(hours=1))
    sop_with("regular", item_at(due), due - timedelta(hours=1))  # another tier's SOP: a group joins only the chosen
    task_sop = db.session.get(GroupSop, sop.id)
    signed_in_as("community_manager")
    assert "data-bulk-sop" in client.get("/contacts/groups").get_data(as_text=True)
    chosen = _post(client, "/community/groups/sop", chat_ids=[vip, regular, loose], action="apply",
                   next="/contacts/groups").get_data(as_text=True)
    assert "测试 SOP（VIP 群）" in chosen and "测试 SOP（普通群）" in chosen and chosen.count('name="chat_ids"') == 3
    done = _post(client, "/community/groups/sop/apply", chat_ids=[vip, regular, loose], sop_id=sop.id,
                 next="/contacts/groups").get_data(as_text=True)
    assert "「测试 SOP」新加入 2 个群，1 个群原已在其中" in done  # the VIP group is in it through its tier
    again = _post(client, "/community/groups/sop/apply", chat_ids=[regular], sop_id=sop.id, next="/contacts/groups")
    assert "「测试 SOP」新加入 0 个群，1 个群原已在其中" in again.get_data(as_text=True)
    tiers.set_tier([loose], "vip", "test")  # now both in the tier and added by hand
    service.save_item(task_sop, None, item_at(due, "会员日群主点评", "task", "请在群里点评今天的会员日"), due - timedelta(hours=1))

    page = client.get(f"/community/sop/{sop.id}").get_data(as_text=True)
    assert "该SOP现触达 3 个客户群" in page and "普通一群" in page and "（也因分层属于该SOP）" in page
    assert planner.plan_due(due + timedelta(minutes=1)) == 3  # the two SOPs' pushes and the task item
    [occ] = occurrences(push_id)
    per_group = dict(db.session.execute(select(Delivery.target_key, func.count()).where(Delivery.run_id == occ.send_id)
                                        .group_by(Delivery.target_key)).all())
    assert per_group == {vip: 1, regular: 1, loose: 1}
    told = {t.assignee: t.body for t in db.session.scalars(select(Task).where(Task.source == "group_sop"))}
    assert set(told) == {first, second} and "普通一群" in told[second] and "VIP一群、未分层群" in told[first]

    dispatch_all()
    for task in db.session.scalars(select(SendTask).where(SendTask.run_id == occ.send_id)):
        wired.control.confirm(task.msgid, userid=task.sender_userid)
    polling.poll_due(now=utcnow() + timedelta(seconds=61), timing=TIMING)
    assert deliveries(occ.send_id) == {vip: ("sent", None), regular: ("sent", None), loose: ("sent", None)}
    received = wired.control.get("groupmsg/received")["received"]
    assert (received[vip], received[regular], received[loose]) == (1, 1, 1)  # (the regular SOP's push awaits its owner)


def test_removed_and_dismissed_groups_drop_out_and_a_tier_group_is_not_removed_by_hand(wired, owners, client,
                                                                                      signed_in_as, monkeypatch):
    vip, kept, removed, gone = (empty_group(wired, owners[0], name) for name in ("VIP一群", "留下群", "移出群", "解散群"))
    tiers.set_tier([vip], "vip", "test")
    due = due_minute(utcnow())
    sop, item_id = sop_with("vip", item_at(due), due - timedelta(hours=1))
    monkeypatch.setattr(reach, "AUDITED_CHATS", 2)  # the entry names the first groups (sorted) and counts them all
    reach.add(sop, db.session.scalars(select(CustomerGroup).where(CustomerGroup.chat_id.in_([kept, removed, gone])))
              .all(), "test")
    assert audited("community.sop_groups_added") == [{"groups": 3, "chat_ids": sorted([kept, removed, gone])[:2]}]
    signed_in_as("community_manager")
    back = f"/community/sop/{sop.id}"
    answer = _post(client, "/community/groups/sop/remove", chat_ids=[removed, vip], sop_id=sop.id, next=back)
    assert answer.request.path == back
    assert "已从「测试 SOP」移出 1 个手动加入的群；1 个群因分层属于该SOP，需改分层" in answer.get_data(as_text=True)
    assert audited("community.sop_groups_removed") == [{"groups": 1, "chat_ids": [removed]}]  # the tier's vip stays
    deliver(wired, "group_dismiss", chat_id=gone)
    page = client.get(back).get_data(as_text=True)
    assert "该SOP现触达 2 个客户群" in page and "移出群" not in page and "已解散，不再发送" in page
    refused = _post(client, "/community/groups/sop/apply", chat_ids=[removed, gone], sop_id=sop.id, next=back)
    assert "新加入 1 个群，0 个群原已在其中；1 个群已解散，未加入" in refused.get_data(as_text=True)
    _post(client, "/community/groups/sop/remove", chat_ids=[removed], sop_id=sop.id, next=back)

    planner.plan_due(due + timedelta(minutes=1))
    [occ] = occurrences(item_id)
    assert deliveries(occ.send_id) == {vip: ("planned", None), kept: ("planned", None)}
    assert db.session.scalar(select(func.count()).select_from(SopGroup)) == 2  # kept, and the dismissed one


def test_the_monthly_quota_stops_an_added_group_with_its_visible_reason(wired, owners, client, signed_in_as):
    owner = owners[0]
    full, fresh = empty_group(wired, owner, "普通满额群"), empty_group(wired, owner, "普通二群")
    tiers.set_tier([full, fresh], "regular", "test")
    local = utcnow().astimezone(settings.corp_timezone())
    member_sends(wired, owner, full, calendar.monthrange(local.year, local.month)[1])
    import_outside_sends()
    due = due_minute(utcnow())
    sop, item_id = sop_with("vip", item_at(due), due - timedelta(hours=1))  # no VIP group at all
    reach.add(sop, db.session.scalars(select(CustomerGroup).where(CustomerGroup.chat_id.in_([full, fresh]))).all(),
              "test")
    planner.plan_due(due + timedelta(minutes=1))
    [occ] = occurrences(item_id)
    assert deliveries(occ.send_id) == {full: ("skipped", "wecom_quota"), fresh: ("planned", None)}
    signed_in_as("community_manager")
    page = client.get(f"/community/sop/occurrences/{occ.id}").get_data(as_text=True)
    assert "普通满额群" in page and "该群本月已收满企业微信的群发上限" in page
