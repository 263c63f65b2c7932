"""The nightly team snapshot against the emulator over HTTP: one userid per behaviour call, a 180-day backfill in
30-day calls, re-runs that overwrite instead of doubling, resuming after the rate budget ran out, and reply figures
that stay missing where WeCom gave none."""
import time
from datetime import date, timedelta

from sqlalchemy import func, select

from app.core import settings
from app.extensions import db
from app.team import snapshot as team_snapshot
from app.team.models import BehaviorDay, GroupDay
from app.wecom.gateway import WeComGateway
from app.wecom.ratelimit import WindowLimiter


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _queries(emulator) -> list[dict]:
    return emulator.control.get("behavior_queries")["behavior_queries"]


def test_snapshot_backfills_180_days_one_userid_per_call_and_reruns_overwrite(synced):
    members = team_snapshot.members()
    assert len(members) >= 3
    first = team_snapshot.snapshot()
    queries = _queries(synced)
    # several userids would come back summed: every call named exactly one member, and no department
    assert queries and all(len(q["userid"]) == 1 and not q["partyid"] for q in queries)
    assert sorted({q["userid"][0] for q in queries}) == members
    assert len(queries) == len(members) * 6  # 180 days in calls of at most 30
    assert first.refused == {} and not first.stopped
    assert _count(BehaviorDay) == len(members) * 180
    assert _count(GroupDay) == len(members) * 180
    today = date.today()
    oldest = db.session.scalar(select(func.min(BehaviorDay.day)))
    newest = db.session.scalar(select(func.max(BehaviorDay.day)))
    local_today = team_snapshot.local_day(team_snapshot.epoch(today))
    assert (newest - oldest).days == 179 and newest < local_today + timedelta(days=1)

    before = {(r.userid, r.day): (r.chat_cnt, r.reply_percentage) for r in db.session.scalars(select(BehaviorDay))}
    second = team_snapshot.snapshot()
    db.session.expire_all()
    assert second.calls == len(members) + 1  # the last day again: one call per member, one group call
    assert len(_queries(synced)) == len(queries) + len(members)
    assert _count(BehaviorDay) == len(members) * 180 and _count(GroupDay) == len(members) * 180
    after = {(r.userid, r.day): (r.chat_cnt, r.reply_percentage) for r in db.session.scalars(select(BehaviorDay))}
    assert after == before


def test_days_without_replies_keep_their_reply_figures_missing(synced, wecom):
    team_snapshot.snapshot()
    userid = team_snapshot.members()[0]
    rows = db.session.scalars(select(BehaviorDay).where(BehaviorDay.userid == userid).order_by(BehaviorDay.day)).all()
    last = rows[-1].day
    first = last - timedelta(days=29)
    raw = wecom.post("externalcontact/get_user_behavior_data",
                     {"userid": [userid], "start_time": team_snapshot.epoch(first),
                      "end_time": team_snapshot.epoch(last)})[1]["behavior_data"]
    stored = {r.day: r for r in rows if r.day >= first}
    for item in raw:
        row = stored[team_snapshot.local_day(item["stat_time"])]
        assert row.chat_cnt == item["chat_cnt"]
        if "reply_percentage" in item:
            assert float(row.reply_percentage) == item["reply_percentage"]
            assert float(row.avg_reply_minutes) == item["avg_reply_time"]
        else:
            assert row.reply_percentage is None and row.avg_reply_minutes is None
    every = db.session.scalars(select(BehaviorDay)).all()
    assert any(r.chat_cnt and r.reply_percentage is None for r in every)  # chats, yet no reply: not 0 %
    assert all(r.reply_percentage is None for r in every if r.chat_cnt == 0)


def test_snapshot_stopped_by_the_rate_budget_resumes_where_it_stopped(synced):
    base = synced.api_base
    tight = WeComGateway(synced.corp_id, synced.secret, api_base=base,
                         rate_limiter=WindowLimiter(per_minute=1000, per_hour=20)).bulk()  # 15 bulk calls an hour
    stopped = team_snapshot.snapshot(gw=tight)
    assert stopped.stopped and stopped.rows and stopped.calls < stopped.planned
    partial = _count(BehaviorDay)
    assert 0 < partial < len(team_snapshot.members()) * 180
    done = team_snapshot.snapshot()
    assert not done.stopped
    # only what was missing (and the last day) was asked again
    assert done.calls < stopped.planned
    assert _count(BehaviorDay) == len(team_snapshot.members()) * 180


def test_several_userids_come_back_summed_by_the_emulator(wecom):
    users = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"][:2]
    last = int(time.time()) - 86400
    first = last - 6 * 86400

    def rows(userids):
        return wecom.post("externalcontact/get_user_behavior_data",
                          {"userid": userids, "start_time": first, "end_time": last})[1]["behavior_data"]
    one, two, both = rows(users[:1]), rows(users[1:]), rows(users)
    assert len(both) == 7
    for a, b, ab in zip(one, two, both):
        assert ab["chat_cnt"] == a["chat_cnt"] + b["chat_cnt"]
        assert ab["new_contact_cnt"] == a["new_contact_cnt"] + b["new_contact_cnt"]


def test_group_statistics_per_day_and_owners_without_groups(wecom, synced):
    owners = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"]
    day = team_snapshot.epoch(date.today() - timedelta(days=1))
    answer = wecom.post("externalcontact/groupchat/statistic",
                        {"day_begin_time": day, "owner_filter": {"userid_list": owners}})[1]
    listed = {i["owner"] for i in answer["items"]}
    assert listed and answer["total"] == len(listed)
    by_day = wecom.post("externalcontact/groupchat/statistic_group_by_day",
                        {"day_begin_time": day - 2 * 86400, "day_end_time": day,
                         "owner_filter": {"userid_list": owners}})[1]
    assert [i["stat_time"] for i in by_day["items"]] == [day - 2 * 86400, day - 86400, day]
    assert by_day["items"][-1]["data"]["member_total"] == sum(i["data"]["member_total"] for i in answer["items"])
    team_snapshot.snapshot()
    stored = db.session.scalars(select(GroupDay).where(GroupDay.day == team_snapshot.local_day(day))).all()
    assert {g.owner for g in stored} == set(team_snapshot.members())  # owners WeCom left out are stored as zeros
    assert all(g.member_total == 0 for g in stored if g.owner not in listed)
    assert settings.corp_timezone()
