"""群活跃度 against the emulator over HTTP: group statistics fetched once per owner batch and stored (the health build
fetches nothing), joins and leaves counted by scene from real callbacks, a silent group flagged, and the page's
health scores equal to the export's."""
from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.community import activity, health
from app.community.models import GroupHealth, OwnerHealth
from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, GroupMemberChange, Staff
from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.team import snapshot as team_snapshot
from app.team.models import GroupDay
from tests.conftest import csrf_token, run_jobs
from tests.integration.test_community import empty_group, make_code, scan
from tests.integration.test_sync_events import deliver
from tests.integration.test_sync_full import full_sync


def _stat_queries(emulator) -> list[dict]:
    return emulator.control.get("group_stat_queries")["group_stat_queries"]


def _today() -> date:
    return datetime.now(settings.corp_timezone()).date()


def test_statistics_are_fetched_once_per_owner_batch_and_stored(synced):
    owners = team_snapshot.members()
    team_snapshot.snapshot(parts=("groups",))
    queries = _stat_queries(synced)
    asked = [(q["day_begin_time"], tuple(q["owners"]), q["offset"] or 0) for q in queries]
    assert len(asked) == len(set(asked)) == 180  # one call per day (every owner fits in one batch of 100)
    assert all(sorted(q["owners"]) == owners and q["api"] == "statistic" for q in queries)
    assert db.session.scalar(select(func.count()).select_from(GroupDay)) == len(owners) * 180

    # the health build reads the stored rows: WeCom is not asked again
    written = activity.run_job(days=3)
    assert written["groups"] and written["owners"]
    assert len(_stat_queries(synced)) == len(queries)
    owner_row = db.session.scalars(select(OwnerHealth).where(OwnerHealth.day == activity.yesterday())).first()
    stored = db.session.scalars(select(GroupDay).where(GroupDay.owner == owner_row.owner,
                                                       GroupDay.day > activity.yesterday() - timedelta(days=7))).all()
    assert owner_row.messages_7d == sum(d.msg_total for d in stored)
    assert owner_row.spoke_7d == sum(d.member_has_msg for d in stored)


def test_today_is_refused_and_a_negative_offset_too(wecom, synced):
    owners = team_snapshot.members()
    today = team_snapshot.epoch(_today())
    for body in ({"day_begin_time": today}, {"day_begin_time": today - 86400, "day_end_time": today},
                 {"day_begin_time": today - 86400, "offset": -1}):
        answer = wecom.post("externalcontact/groupchat/statistic", {**body, "owner_filter": {"userid_list": owners}})[1]
        assert answer["errcode"] == 40058, body


@pytest.fixture
def owner(wired):
    full_sync()
    return db.session.scalar(select(CustomerGroup.owner).order_by(CustomerGroup.id))


def test_joins_and_leaves_are_counted_by_scene_from_callbacks(wired, owner):
    chat_id = empty_group(wired, owner, "活跃度群")
    code = make_code([chat_id], "store-42", name="门店")
    scanned = [scan(wired, code)["external_userid"] for _ in range(2)]
    invited = db.session.scalar(select(Customer.external_userid).order_by(Customer.id))
    deliver(wired, "group_join", chat_id=chat_id, members=[invited], join_scene=1)
    deliver(wired, "group_leave", chat_id=chat_id, members=[scanned[0]], quit_scene=0)
    deliver(wired, "group_leave", chat_id=chat_id, members=[invited], quit_scene=1)

    changes = db.session.execute(select(GroupMemberChange.kind, GroupMemberChange.scene, GroupMemberChange.members)
                                 .where(GroupMemberChange.chat_id == chat_id).order_by(GroupMemberChange.id)).all()
    assert [tuple(c) for c in changes] == [("join", 3, 1), ("join", 3, 1), ("join", 0, 1), ("leave", 0, 1),
                                           ("leave", 1, 1)]
    activity.rebuild(_today())
    row = db.session.get(GroupHealth, (chat_id, _today()))
    # members: the owner and one scanned customer; joins: the owner (at creation), two by QR code, one invited
    assert (row.members, row.joins_30d, row.joins_by_qr_30d) == (2, 4, 2)
    assert (row.leaves_30d, row.left_self_30d, row.removed_30d) == (2, 1, 1)
    assert row.leave is None and row.silent is None  # nobody was in it 30 days ago; a new group is not judged


def _group(chat_id: str, owner: str, members: int, days_old: int = 60) -> None:
    created = utcnow() - timedelta(days=days_old)
    db.session.add(CustomerGroup(chat_id=chat_id, name=f"群{chat_id}", owner=owner, created_at=created))
    db.session.add_all(CustomerGroupMember(chat_id=chat_id, userid=f"{chat_id}-m{n}", join_time=created)
                       for n in range(members))


def _stats(owner: str, day: date, had_msg: list[int], groups: int, spoke: int, members: int) -> None:
    db.session.add_all(GroupDay(owner=owner, day=day - timedelta(days=n), chat_total=groups, chat_has_msg=had,
                                member_total=members, member_has_msg=spoke, msg_total=spoke * 3)
                       for n, had in enumerate(reversed(had_msg)))


@pytest.fixture
def groups_with_stats(app):
    """Three owners: one whose only group had no message for 7 days, one whose only group spoke, one with two
    groups of which some had messages (which ones WeCom does not say)."""
    day = activity.yesterday()
    with transaction():
        db.session.add_all(Staff(userid=u, name=n, department_ids=[1], is_follow_user=True)
                           for u, n in (("quiet", "安静"), ("busy", "热闹"), ("mixed", "混合")))
        _group("wr-quiet", "quiet", 20)
        _group("wr-busy", "busy", 40)
        _group("wr-mixed-1", "mixed", 10)
        _group("wr-mixed-2", "mixed", 10)
        _stats("quiet", day, [0] * 7, groups=1, spoke=0, members=20)
        _stats("busy", day, [1] * 7, groups=1, spoke=12, members=40)
        _stats("mixed", day, [1, 0, 0, 0, 0, 0, 0], groups=2, spoke=2, members=20)
    activity.run_job()
    return day


def test_a_silent_group_is_flagged_and_only_where_wecom_tells(groups_with_stats, client, signed_in_as):
    day = groups_with_stats
    rows = {h.chat_id: h for h in db.session.scalars(select(GroupHealth).where(GroupHealth.day == day))}
    assert rows["wr-quiet"].silent == health.SILENT and rows["wr-quiet"].activity == 0
    assert rows["wr-busy"].silent == health.NOT_SILENT and rows["wr-busy"].activity == 100  # 30 % spoke: full marks
    assert rows["wr-mixed-1"].silent is None and rows["wr-mixed-2"].silent is None
    assert db.session.get(OwnerHealth, ("mixed", day)).silent_at_least == 1

    signed_in_as("community_manager")
    listed = client.get("/contacts/groups?silent=1").get_data(as_text=True)
    assert 'data-group="wr-quiet"' in listed and 'data-group="wr-busy"' not in listed
    assert 'data-group="wr-mixed-1"' not in listed
    page = client.get("/community/activity?silent=1").get_data(as_text=True)
    assert 'data-group="wr-quiet"' in page and 'data-group="wr-mixed-1"' not in page
    assert "企业微信只告诉每个群主每天有几个群有消息" in page  # how silence is judged, said on the page


def test_health_scores_on_the_page_match_the_export(groups_with_stats, client, signed_in_as):
    signed_in_as("community_manager")
    html = client.get("/community/activity").get_data(as_text=True)
    shown = {}
    for part in html.split('<tr data-group="')[1:]:
        chat_id, rest = part.split('"', 1)
        shown[chat_id] = int(rest.split('data-score="', 1)[1].split('"', 1)[0])
    response = client.get("/community/activity/export?table=groups")
    sheet = load_workbook(BytesIO(response.data)).active
    header, *rows = list(sheet.values)
    exported = {r[header.index("群ID")]: r[header.index("健康度")] for r in rows}
    assert shown and exported == shown
    assert all(isinstance(v, int) for v in exported.values())  # numbers Excel can sort
    stored = {h.chat_id: h.score for h in db.session.scalars(select(GroupHealth))}
    assert exported == stored
    owners = load_workbook(BytesIO(client.get("/community/activity/export?table=owners").data)).active
    o_header, *o_rows = list(owners.values)
    assert {r[0]: r[o_header.index("健康度")] for r in o_rows} == {
        "安静": db.session.get(OwnerHealth, ("quiet", groups_with_stats)).score,
        "热闹": db.session.get(OwnerHealth, ("busy", groups_with_stats)).score,
        "混合": db.session.get(OwnerHealth, ("mixed", groups_with_stats)).score}

    cells = list(owners.iter_rows())[1:]  # shares as fractions shown as percentages, counts Excel can sum
    share = o_header.index("近7天发言成员占比")
    stored = {o.owner: o for o in db.session.scalars(select(OwnerHealth).where(OwnerHealth.day == groups_with_stats))}
    userid = {"安静": "quiet", "热闹": "busy", "混合": "mixed"}
    assert {r[share].number_format for r in cells} == {"0.0%"}
    assert {r[0].value: r[share].value for r in cells} == {
        name: stored[u].spoke_7d / stored[u].member_days_7d if stored[u].member_days_7d else None
        for name, u in userid.items()}
    members = o_header.index("成员数")
    assert sum(r[members].value for r in cells) == sum(o.members for o in stored.values())
    assert {r[members].number_format for r in cells} == {"#,##0"}


def test_the_home_card_and_a_rebuild_in_the_worker(groups_with_stats, client, signed_in_as):
    signed_in_as("community_manager")
    home = client.get("/").get_data(as_text=True)
    assert "群健康度" in home and "沉默 1 个" in home
    with transaction():
        db.session.query(GroupHealth).delete()
    token = csrf_token(client, "/community/activity")
    assert client.post("/community/activity/rebuild", data={"csrf_token": token}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(GroupHealth)) == 0  # not in the request
    assert run_jobs() == 1
    assert db.session.scalar(select(func.count()).select_from(GroupHealth)) == 4
