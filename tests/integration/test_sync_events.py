"""Customer, group and tag changes made in WeCom reach the console through callbacks, the inbox and the handlers."""
from datetime import datetime, timezone

from sqlalchemy import func, select, update

from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, FollowRelation, Staff

from app.extensions import db
from app.tags.models import CorpTag
from app.wecom import connection, inbox
from tests.integration.test_sync_full import full_sync


def deliver(emulator, action: str, **data) -> dict:
    """The user acts in WeCom; the callback reaches the console and a worker handles it."""
    before = len(emulator.control.deliveries())
    result = emulator.control.post(f"simulate/{action}", **data)
    records = emulator.control.wait_deliveries(before + len(result["delivery_ids"]))
    assert all(a["http_status"] == 200 for r in records[before:] for a in r["attempts"])
    while inbox.work_once():
        pass
    assert db.session.scalar(select(func.count()).where(inbox.CallbackEvent.status != inbox.Status.DONE)) == 0
    return result


def relation(userid: str, external_userid: str) -> FollowRelation:
    db.session.expire_all()
    return db.session.scalar(select(FollowRelation).where(FollowRelation.userid == userid,
                                                          FollowRelation.external_userid == external_userid))


def customer(external_userid: str) -> Customer:
    db.session.expire_all()
    return db.session.scalar(select(Customer).where(Customer.external_userid == external_userid))


def follower() -> str:
    return sorted(connection.gateway().get_follow_user_list())[0]


def test_new_customer_of_an_unknown_staff_member_is_fetched(wired):
    userid = follower()
    added = deliver(wired, "add_customer", userid=userid, state="live-0618")
    rel = relation(userid, added["external_userid"])
    assert (rel.state, rel.add_way, rel.ended_at) == ("live-0618", 1, None)
    assert customer(added["external_userid"]).name
    assert db.session.scalar(select(Staff).where(Staff.userid == userid)).is_follow_user


def test_edit_updates_only_that_relation(wired):
    full_sync()
    userid = follower()
    ext = db.session.scalar(select(FollowRelation.external_userid).where(FollowRelation.userid == userid))
    tag = db.session.scalar(select(CorpTag.tag_id).order_by(CorpTag.tag_id))
    before = relation(userid, ext).tag_ids
    deliver(wired, "edit_external_contact", userid=userid, external_userid=ext, remark="王总",
            description="老客户", add_tag=[tag])
    rel = relation(userid, ext)
    assert (rel.remark, rel.description, rel.tag_ids) == ("王总", "老客户", sorted({*before, tag}))
    assert full_sync().counts["relations"] == {"added": 0, "changed": 0, "removed": 0}


def test_deletion_by_either_side_is_kept_with_who_and_when_and_the_customer_is_lost(wired):
    first, second = sorted(connection.gateway().get_follow_user_list())[:2]
    ext = deliver(wired, "add_customer", userid=first)["external_userid"]
    deliver(wired, "add_customer", userid=second, external_userid=ext)
    start = datetime.now(timezone.utc).replace(microsecond=0)

    deliver(wired, "del_follow_user", userid=first, external_userid=ext)
    by_customer = relation(first, ext)
    assert by_customer.ended_by == "customer" and by_customer.ended_at >= start
    assert customer(ext).lost_at is None  # still followed by the second member

    deliver(wired, "del_external_contact", userid=second, external_userid=ext)
    by_staff = relation(second, ext)
    assert by_staff.ended_by == "staff" and by_staff.ended_at >= start and by_staff.end_source is None
    assert customer(ext).lost_at is not None and customer(ext).name  # history stays

    again = full_sync()  # WeCom still shows the one-way relation the customer ended: it stays ended
    assert relation(first, ext).ended_by == "customer" and customer(ext).lost_at is not None
    assert again.counts["relations"]["changed"] == 0

    deliver(wired, "add_customer", userid=first, external_userid=ext)  # the customer comes back
    assert relation(first, ext).ended_at is None and customer(ext).lost_at is None


def test_deleting_a_customer_the_console_never_saw_is_recorded(wired, live_server):
    userid = follower()
    wired.control.config(callback_url="http://127.0.0.1:9/wecom/callback", callback_attempts=1)  # the add is missed
    ext = wired.control.add_customer(userid=userid)["external_userid"]
    wired.control.wait_deliveries(1)
    wired.control.config(callback_url=f"{live_server}/wecom/callback")
    deliver(wired, "del_external_contact", userid=userid, external_userid=ext)
    rel = relation(userid, ext)
    assert rel.ended_by == "staff" and rel.ended_at is not None and customer(ext).lost_at is not None


def test_group_changes_refetch_the_group(wired):
    full_sync()
    group = db.session.scalars(select(CustomerGroup)).first()
    owner_customers = db.session.scalars(select(FollowRelation.external_userid).where(
        FollowRelation.userid == group.owner)).all()
    present = set(db.session.scalars(select(CustomerGroupMember.userid).where(
        CustomerGroupMember.chat_id == group.chat_id)))
    newcomer = next(e for e in owner_customers if e not in present)
    deliver(wired, "group_join", chat_id=group.chat_id, members=[newcomer])
    member = db.session.scalar(select(CustomerGroupMember).where(CustomerGroupMember.chat_id == group.chat_id,
                                                                 CustomerGroupMember.userid == newcomer))
    assert member.left_at is None and member.type == 2
    deliver(wired, "group_leave", chat_id=group.chat_id, members=[newcomer])
    db.session.expire_all()
    assert db.session.get(CustomerGroupMember, member.id).left_at is not None
    deliver(wired, "group_dismiss", chat_id=group.chat_id)
    db.session.expire_all()
    assert db.session.get(CustomerGroup, group.id).dismissed_at is not None
    created = deliver(wired, "group_create", owner=group.owner, name="新品体验群", members=[newcomer])
    new_group = db.session.scalar(select(CustomerGroup).where(CustomerGroup.chat_id == created["chat_id"]))
    assert new_group.name == "新品体验群"


def _group_with_newcomer():
    """A synced group and one of its owner's customers who is not in it."""
    full_sync()
    group = db.session.scalars(select(CustomerGroup).order_by(CustomerGroup.id)).first()
    present = set(db.session.scalars(select(CustomerGroupMember.userid).where(
        CustomerGroupMember.chat_id == group.chat_id)))
    newcomer = next(e for e in db.session.scalars(select(FollowRelation.external_userid).where(
        FollowRelation.userid == group.owner)) if e not in present)
    return group, newcomer


def arrive(emulator, action: str, **data) -> dict:
    """The user acts in WeCom; the callback reaches the inbox and the worker does what is due now."""
    before = len(emulator.control.deliveries())
    result = emulator.control.post(f"simulate/{action}", **data)
    emulator.control.wait_deliveries(before + len(result["delivery_ids"]))
    while inbox.work_once():
        pass
    return result


def time_passes() -> None:
    """The inbox's clock moves past every event's wait; the worker then does what is due."""
    db.session.execute(update(inbox.CallbackEvent).where(inbox.CallbackEvent.status == inbox.Status.PENDING)
                       .values(available_at=datetime.now(timezone.utc)))
    db.session.commit()
    while inbox.work_once():
        pass


def members(chat_id: str) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(CustomerGroupMember.userid).where(
        CustomerGroupMember.chat_id == chat_id, CustomerGroupMember.left_at.is_(None))))


def group_reads(emulator) -> int:
    return emulator.control.call_count("externalcontact/groupchat/get")


def event_status() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(inbox.CallbackEvent.status).order_by(inbox.CallbackEvent.id)))


def test_a_join_whose_details_arrive_late_ends_with_the_right_members(wired):
    group, newcomer = _group_with_newcomer()
    before, reads = members(group.chat_id), group_reads(wired)
    wired.control.config(group_detail_delay=None)  # WeCom shows the old details until the test releases them
    arrive(wired, "group_join", chat_id=group.chat_id, members=[newcomer])
    assert members(group.chat_id) == before and event_status() == [inbox.Status.PENDING]  # read again later
    time_passes()  # still the old details: a second wait
    assert members(group.chat_id) == before and event_status() == [inbox.Status.PENDING]
    wired.control.post("groupchat/release", chat_id=group.chat_id)
    time_passes()
    assert members(group.chat_id) == before | {newcomer} and event_status() == [inbox.Status.DONE]
    assert group_reads(wired) - reads == 3


def test_details_that_never_arrive_are_read_a_bounded_number_of_times(wired):
    group, newcomer = _group_with_newcomer()
    before, reads = members(group.chat_id), group_reads(wired)
    wired.control.config(group_detail_delay=None)
    arrive(wired, "group_join", chat_id=group.chat_id, members=[newcomer])
    for _ in range(10):
        time_passes()
    assert event_status() == [inbox.Status.DONE]  # settled for what WeCom showed: not an error, not dead
    assert group_reads(wired) - reads == 4
    assert members(group.chat_id) == before  # the nightly reconcile (or the next event) brings the rest
    wired.control.post("groupchat/release")
    full_sync()
    assert members(group.chat_id) == before | {newcomer}


def test_a_rename_is_read_after_wecoms_wait(wired):
    group, _ = _group_with_newcomer()
    reads = group_reads(wired)
    wired.control.config(group_detail_delay=None)
    arrive(wired, "group_rename", chat_id=group.chat_id, name="双十二福利群")
    assert group_reads(wired) == reads  # nothing to compare: no early read
    wired.control.post("groupchat/release")
    time_passes()
    db.session.expire_all()
    assert db.session.get(CustomerGroup, group.id).name == "双十二福利群"
    assert event_status() == [inbox.Status.DONE]


def test_tag_changes_in_wecom_reach_the_console(wired):
    full_sync()
    group_id = connection.gateway().get_corp_tag_list()[0]["group_id"]
    created = deliver(wired, "tag", change_type="create", group_id=group_id, tag=[{"name": "高净值"}])
    tag_id = created["changed"][0]["id"]
    assert db.session.scalar(select(CorpTag.name).where(CorpTag.tag_id == tag_id)) == "高净值"
    deliver(wired, "tag", change_type="delete", id=tag_id)
    db.session.expire_all()
    assert db.session.scalar(select(CorpTag.deleted_at).where(CorpTag.tag_id == tag_id)) is not None


def test_a_customer_who_adds_a_member_during_a_full_sync_is_not_ended_by_it(wired):
    first = follower()
    added = {}

    def add_after_the_first_page(run):
        if run.stage == "customers" and run.state.get("cursor") and not added:
            added.update(deliver(wired, "add_customer", userid=first))  # first's customers were on page one

    run = full_sync(add_after_the_first_page)
    assert added and run.counts["relations"]["removed"] == 0
    rel = relation(first, added["external_userid"])
    assert (rel.ended_at, rel.ended_by) == (None, None)
    assert customer(added["external_userid"]).lost_at is None
    assert full_sync().counts["relations"] == {"added": 0, "changed": 0, "removed": 0}
