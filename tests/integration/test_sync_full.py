"""A full sync copies the emulator's company into the console, changes nothing the second time, and resumes."""
from sqlalchemy import func, select

from app.contacts import sync
from app.contacts.groups import list_group_chats
from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, Department, FollowRelation, Staff, SyncRun
from app.extensions import db
from app.tags.models import CorpTag
from app.wecom import connection

BATCH_API = "externalcontact/batch/get_by_user"


def full_sync(progress=None) -> SyncRun:
    return sync.execute(sync.begin("test").id, progress)


def wecom_relations() -> dict[tuple[str, str], dict]:
    gw = connection.gateway()
    return {(i["follow_info"]["userid"], i["external_contact"]["external_userid"]): i["follow_info"]
            for i in gw.iter_contacts_by_users(gw.get_follow_user_list())}


def console_should_know(control) -> set[str]:
    """Members the console must have: everyone in the app's visible range, and every follow user."""
    return {u["userid"] for u in control.users() if not u["outside_range"] or u["follow_user"]}


def assert_matches_wecom(control) -> None:
    gw = connection.gateway()
    wecom = wecom_relations()
    ours = {(r.userid, r.external_userid): r for r in db.session.scalars(select(FollowRelation))}
    assert set(ours) == set(wecom)
    for key, follow in wecom.items():
        mine = ours[key]
        assert (mine.remark, mine.description, mine.add_way, mine.state, mine.tag_ids, mine.ended_at) == (
            follow.get("remark", ""), follow.get("description", ""), follow["add_way"], follow.get("state", ""),
            sorted(follow["tag_id"]), None)
        assert int(mine.added_at.timestamp()) == follow["createtime"]
    customers = db.session.scalars(select(Customer.external_userid)).all()
    assert len(customers) == len(set(customers)) == len({ext for _, ext in wecom})
    assert db.session.scalar(select(func.count()).where(Customer.lost_at.is_not(None))) == 0
    assert set(db.session.scalars(select(Staff.userid))) == console_should_know(control)
    assert set(db.session.scalars(select(CorpTag.tag_id))) == {
        t["id"] for g in gw.get_corp_tag_list() for t in g["tag"]}
    chats = list_group_chats(gw, lambda: sorted(u["userid"] for u in control.users()))
    assert db.session.scalar(select(func.count()).select_from(CustomerGroup)) == len(chats)
    for chat_id, _status in chats:
        detail = gw.get_group_chat(chat_id)
        group = db.session.scalar(select(CustomerGroup).where(CustomerGroup.chat_id == chat_id))
        assert (group.name, group.owner, group.dismissed_at) == (detail["name"], detail["owner"], None)
        members = db.session.scalars(select(CustomerGroupMember.userid).where(
            CustomerGroupMember.chat_id == chat_id, CustomerGroupMember.left_at.is_(None))).all()
        assert sorted(members) == sorted(m["userid"] for m in detail["member_list"])


def test_full_sync_copies_the_company(wired):
    seen = []
    run = full_sync(lambda r: seen.append(sync.percent(r)))
    assert run.status == sync.SUCCEEDED and run.finished_at is not None and run.errors == []
    assert seen == sorted(seen) and seen[-1] == 100
    summary = wired.control.get("summary")
    assert run.counts["customers"]["added"] == summary["customers"]
    assert run.counts["relations"]["added"] == summary["relations"] > summary["customers"]  # several staff, one customer
    assert_matches_wecom(wired.control)


def test_second_sync_changes_nothing(wired):
    full_sync()
    again = full_sync()
    assert again.status == sync.SUCCEEDED
    assert again.counts and all(c == {"added": 0, "changed": 0, "removed": 0} for c in again.counts.values())
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 2


def test_wecom_error_mid_customers_ends_nothing_the_other_stages_run_and_the_next_sync_is_whole(wired):
    def break_after_first_page(run):
        if run.stage == "customers" and run.state.get("cursor"):
            wired.control.set_fault({"api": BATCH_API, "fail_next": 1, "fail_code": 60011})

    failed = full_sync(break_after_first_page)
    assert failed.status == sync.FAILED and failed.stage == sync.DONE
    assert [(e["stage"], "60011" in e["message"]) for e in failed.errors] == [("customers", True)]
    first_page = db.session.scalar(select(func.count()).select_from(FollowRelation))
    assert 0 < first_page == failed.counts["relations"]["added"] < wired.control.get("summary")["relations"]
    assert db.session.scalar(select(func.count()).where(FollowRelation.ended_at.is_not(None))) == 0
    assert db.session.scalar(select(func.count()).where(Customer.lost_at.is_not(None))) == 0
    assert failed.counts["groups"]["added"] == wired.control.get("summary")["groups"]  # the stage after still ran

    again = full_sync()
    assert again.id != failed.id and again.status == sync.SUCCEEDED and again.errors == []
    assert_matches_wecom(wired.control)


def test_an_interrupted_sync_resumes_from_the_cursor(wired):
    def stop_after_first_page(run):
        if run.stage == "customers" and run.state.get("cursor"):
            raise KeyboardInterrupt

    try:
        full_sync(stop_after_first_page)
    except KeyboardInterrupt:
        pass
    stopped = db.session.scalar(select(SyncRun))
    assert stopped.status == sync.FAILED and stopped.stage == "customers" and stopped.state["cursor"]

    resumed = full_sync()
    assert resumed.id == stopped.id and resumed.attempts == 2 and resumed.status == sync.SUCCEEDED
    assert wired.control.call_count("department/list") == 1  # earlier stages were not repeated
    pages = wired.control.call_count(BATCH_API, errcode=0)
    assert pages == -(-wired.control.get("summary")["relations"] // 100)  # every page read once
    assert_matches_wecom(wired.control)


def test_sync_records_relations_wecom_no_longer_has_and_marks_the_customer_lost(wired):
    full_sync()
    single = db.session.execute(select(FollowRelation.userid, FollowRelation.external_userid)
                                .group_by(FollowRelation.external_userid, FollowRelation.userid)
                                .having(func.count() == 1)).first()
    others = db.session.scalar(select(func.count()).where(FollowRelation.external_userid == single[1]))
    wired.control.post("simulate/del_external_contact", userid=single[0], external_userid=single[1])
    run = full_sync()
    relation = db.session.scalar(select(FollowRelation).where(FollowRelation.userid == single[0],
                                                              FollowRelation.external_userid == single[1]))
    assert (relation.ended_by, relation.end_source) == ("staff", "reconcile") and relation.ended_at is not None
    assert run.counts["relations"]["removed"] == 1
    customer = db.session.scalar(select(Customer).where(Customer.external_userid == single[1]))
    assert (customer.lost_at is not None) == (others == 1)


def test_cli_shows_progress_and_fails_loudly(wired, app):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["scrm", "sync", "--full"])
    assert ok.exit_code == 0, ok.output
    assert "客户与跟进关系" in ok.output and "客户: 新增 300" in ok.output and "完成" in ok.output  # no tty: stage lines
    wired.control.set_fault({"api": "department/list", "fail_next": 1, "fail_code": 60011})
    bad = runner.invoke(args=["scrm", "sync", "--full"])
    assert bad.exit_code != 0 and "失败" in bad.output and "60011" in bad.output


def test_department_leaders_are_synced_for_supervisor_scope(wired):
    full_sync()
    wecom = {d["id"]: d.get("department_leader") or [] for d in connection.gateway().list_departments()}
    stored = dict(db.session.execute(select(Department.id, Department.leader_userids)).all())
    assert stored == wecom and any(stored.values())
