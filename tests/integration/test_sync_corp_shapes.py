"""A full sync brings in a real corp of any shape: nested departments, follow users outside the visible range, more
than 1,000 people (groups listed by owner), a stage that keeps failing; and events name members it reads once."""
from sqlalchemy import func, select

from app.contacts import sync
from app.contacts.models import CustomerGroup, FollowRelation, Staff
from app.extensions import db
from tests.integration.test_sync_events import deliver
from tests.integration.test_sync_full import assert_matches_wecom, full_sync

GROUP_LIST = "externalcontact/groupchat/list"


def staff_by_userid() -> dict[str, Staff]:
    db.session.expire_all()
    return {s.userid: s for s in db.session.scalars(select(Staff))}


def test_staff_of_nested_departments_none_in_the_root_and_all_their_customers_arrive(wired):
    users = wired.control.users()
    assert not any(1 in u["department"] for u in users)  # the root department has no members of its own
    run = full_sync()
    assert run.status == sync.SUCCEEDED
    assert set(staff_by_userid()) == {u["userid"] for u in users}
    assert_matches_wecom(wired.control)
    assert wired.control.call_count("user/list") == 4  # one call per department, root included


def test_a_follow_user_outside_the_visible_range_keeps_every_customer(wired):
    follow = sorted(u["userid"] for u in wired.control.users() if u["follow_user"])
    hidden = follow[0]
    wired.control.post(f"users/{hidden}/range", outside=True)
    full_sync()
    staff = staff_by_userid()
    assert staff[hidden].is_follow_user and staff[hidden].removed_at is None
    assert staff[hidden].name == hidden  # WeCom will not say more about a member outside the visible range
    assert db.session.scalar(select(func.count()).where(FollowRelation.userid == hidden)) > 0
    assert_matches_wecom(wired.control)  # every relation of every follow user, the hidden one's included

    # Known by name before it left the visible range: the name stays.
    wired.control.post(f"users/{hidden}/range", outside=False)
    name = next(u["name"] for u in wired.control.users() if u["userid"] == hidden)
    full_sync()
    wired.control.post(f"users/{hidden}/range", outside=True)
    assert full_sync().counts["staff"] == {"added": 0, "changed": 0, "removed": 0}
    assert staff_by_userid()[hidden].name == name


def test_more_than_1000_people_lists_groups_by_owner_in_chunks_of_100(wired):
    wired.control.post("users", count=1100, department_id=2)  # 6 + 1,100 people, all with customer contact
    run = full_sync()
    assert run.status == sync.SUCCEEDED, run.errors
    assert wired.control.call_count(GROUP_LIST, errcode=81017) == 1
    assert wired.control.call_count(GROUP_LIST, errcode=0) == 12  # 1,106 owners, 100 a call
    assert len(staff_by_userid()) == 1106
    assert_matches_wecom(wired.control)


def test_a_stage_that_keeps_failing_never_keeps_the_others_from_running(wired):
    wired.control.set_fault({"api": GROUP_LIST, "error_rate": 1.0, "errcodes": [60011]})
    first = full_sync()
    assert first.status == sync.FAILED and [e["stage"] for e in first.errors] == ["groups"]
    assert "60011" in first.errors[0]["message"] and first.errors[0]["summary"].endswith("（错误码 60011）")
    assert db.session.scalar(select(func.count()).select_from(CustomerGroup)) == 0

    wired.control.post("simulate/add_customer", userid=sorted(staff_by_userid())[0])
    second = full_sync()
    assert second.id != first.id and second.status == sync.FAILED
    assert second.counts["relations"]["added"] == 1  # customers were read again, not stuck behind the groups

    wired.control.clear_faults()
    third = full_sync()
    assert third.status == sync.SUCCEEDED and third.errors == []
    assert_matches_wecom(wired.control)


def test_a_member_named_by_an_event_is_read_once_not_with_the_directory(wired):
    full_sync()
    [newcomer] = wired.control.post("users", count=1, department_id=2)["added"]
    before = {api: wired.control.call_count(api) for api in ("department/list", "user/list", "user/get")}
    added = deliver(wired, "add_customer", userid=newcomer)
    deliver(wired, "edit_external_contact", userid=newcomer, external_userid=added["external_userid"],
            remark="新朋友")
    assert staff_by_userid()[newcomer].is_follow_user
    assert staff_by_userid()[newcomer].name == f"员工{newcomer[-6:]}"
    assert wired.control.call_count("user/get") - before["user/get"] == 1
    assert wired.control.call_count("department/list") == before["department/list"]
    assert wired.control.call_count("user/list") == before["user/list"]
