"""任务宝 credits through real callbacks from the emulator (each delivered twice) and its contact-way API over HTTP."""
import threading
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.contacts.directory import sync_directory
from app.core.db import transaction, utcnow
from app.extensions import db
from app.referral import credits, jobs, service
from app.referral.models import (CreditStatus, ReferralCredit, ReferralLevel, ReferralParticipant,
                                 ReferralReservation, ReferralTask, ReservationStatus, TaskStatus)
from app.staffmsg.models import StaffMessage
from app.wecom import connection, inbox
from app.wecom.errors import WeComError


def add(emu, **data) -> dict:
    """A customer adds a staff member; both deliveries of each callback reach the console's inbox."""
    before = len(emu.control.deliveries())
    result = emu.control.add_customer(duplicate=True, **data)
    emu.control.wait_deliveries(before + len(result["delivery_ids"]))
    return result


def simulate(emu, action: str, **data) -> None:
    before = len(emu.control.deliveries())
    result = emu.control.post(f"simulate/{action}", duplicate=True, **data)
    emu.control.wait_deliveries(before + len(result["delivery_ids"]))


def work() -> None:
    while inbox.work_once():
        pass
    db.session.expire_all()


@pytest.fixture
def staff(wired):
    with transaction():
        sync_directory(connection.gateway(), utcnow())
    return sorted(connection.gateway().get_follow_user_list())[:2]


def running_task(staff, *, levels=((3, 10),), hold_hours=168, burst_count=5, rota=False) -> ReferralTask:
    now = utcnow()
    task = service.create(service.TaskInput(
        name="老带新", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=30),
        staff_userids=list(staff) if rota else [staff[0]],
        levels=[service.LevelInput(needed=n, reward=f"满{n}人礼", stock=s) for n, s in levels],
        hold_hours=hold_hours, burst_count=burst_count))
    service.move(task, "schedule")
    jobs.tick()  # its start time has come
    return db.session.get(ReferralTask, task.id)


def inviter(emu, task, staff) -> ReferralParticipant:
    """An existing customer joins the task; the tick makes their contact way in WeCom."""
    customer = add(emu, userid=staff[1])
    work()
    with transaction():
        joined = service.join(task, customer["external_userid"])
    jobs.tick()
    joined = db.session.get(ReferralParticipant, joined.id)
    assert joined.config_id and joined.state.startswith("rf") and len(joined.state) <= 30
    return joined


def credits_of(participant) -> list[ReferralCredit]:
    db.session.expire_all()
    return db.session.scalars(select(ReferralCredit).where(ReferralCredit.participant_id == participant.id)
                              .order_by(ReferralCredit.id)).all()


def test_a_new_invitee_counts_once_and_an_existing_customer_re_adding_does_not(wired, staff):
    task = running_task(staff)
    me = inviter(wired, task, staff)
    way = connection.gateway().get_contact_way(me.config_id)
    assert (way["state"], way["user"]) == (me.state, [staff[0]])
    known = add(wired, userid=staff[1])  # a customer of the company already
    work()
    new = add(wired, config_id=me.config_id)
    again = add(wired, config_id=me.config_id, external_userid=known["external_userid"])
    work()
    got = {c.invitee: (c.status, c.reason) for c in credits_of(me)}
    assert got == {new["external_userid"]: (CreditStatus.HELD, ""),
                   again["external_userid"]: (CreditStatus.REJECTED, "existing_customer")}
    assert len(credits_of(me)) == 2  # every callback came twice: one credit per add


def test_self_referral_by_unionid_is_not_counted(wired, staff):
    task = running_task(staff)
    me = inviter(wired, task, staff)
    unionid = connection.gateway().get_external_contact(me.external_userid)["external_contact"]["unionid"]
    add(wired, config_id=me.config_id, unionid=unionid)  # the inviter again, under another id
    work()
    [credit] = credits_of(me)
    assert (credit.status, credit.reason) == (CreditStatus.REJECTED, "self_referral")


def test_a_burst_is_flagged_for_review_and_not_paid(wired, staff):
    task = running_task(staff, levels=((3, 10),), hold_hours=0, burst_count=2)
    me = inviter(wired, task, staff)
    for _ in range(3):
        add(wired, config_id=me.config_id)
    work()
    assert [(c.status, c.reason) for c in credits_of(me)] == [
        (CreditStatus.VALID, ""), (CreditStatus.VALID, ""), (CreditStatus.FLAGGED, "burst")]
    assert db.session.scalar(select(func.count()).select_from(ReferralReservation)) == 0  # 2 valid of 3 needed


def test_a_deletion_inside_the_hold_voids_and_one_after_it_does_not(wired, staff):
    task = running_task(staff, levels=((1, 10),), hold_hours=168)
    me = inviter(wired, task, staff)
    early, late = add(wired, config_id=me.config_id), add(wired, config_id=me.config_id)
    work()
    simulate(wired, "del_follow_user", userid=staff[0], external_userid=early["external_userid"])
    work()
    assert jobs.credits.release_due(utcnow() + timedelta(days=8)) == 1  # the hold of `late` is over
    simulate(wired, "del_follow_user", userid=staff[0], external_userid=late["external_userid"])
    work()
    got = {c.invitee: (c.status, c.reason) for c in credits_of(me)}
    assert got == {early["external_userid"]: (CreditStatus.VOIDED, "customer_deleted"),
                   late["external_userid"]: (CreditStatus.VALID, "")}
    [reward] = db.session.scalars(select(ReferralReservation)).all()
    assert reward.status == ReservationStatus.RESERVED and "满1人礼" in reward.staff_notice
    [message] = db.session.scalars(select(StaffMessage).where(StaffMessage.feature == "referral")).all()
    assert (message.userid, message.body) == (staff[0], reward.staff_notice)  # the staff member is told


@pytest.mark.parametrize("workers", [1, 2], ids=["one_after_the_other", "side_by_side"])
def test_the_last_unit_goes_to_one_of_two_inviters_and_the_task_ends_with_its_ways_deleted(app, wired, staff, workers):
    """Both adds came while the task ran: whichever a worker reads first takes the unit and ends the task, and the
    other is still a valid invite that finds the stock gone (not "task not running"), in either order."""
    task = running_task(staff, levels=((1, 1),), hold_hours=0)
    first, second = inviter(wired, task, staff), inviter(wired, task, staff)
    add(wired, config_id=first.config_id)
    add(wired, config_id=second.config_id)
    errors = []

    def worker():
        with app.app_context():
            try:
                while inbox.work_once(limit=1):
                    pass
            except Exception as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    work()
    assert errors == []
    assert sorted(r.status for r in db.session.scalars(select(ReferralReservation))) == [
        ReservationStatus.OUT_OF_STOCK, ReservationStatus.RESERVED]
    assert db.session.scalar(select(ReferralLevel.reserved)) == 1
    task = db.session.get(ReferralTask, task.id)
    assert (task.status, task.ended_reason) == (TaskStatus.ENDED, "stock")
    jobs.tick()
    for participant in (first, second):
        with pytest.raises(WeComError) as gone:
            connection.gateway().get_contact_way(participant.config_id)
        assert gone.value.errcode == 41044
    assert db.session.get(ReferralTask, task.id).ways_deleted_at is not None


def test_a_second_referrer_of_the_same_invitee_gets_nothing(wired, staff):
    task = running_task(staff, rota=True)
    first, second = inviter(wired, task, staff), inviter(wired, task, staff)
    assert (first.userid, second.userid) == (staff[0], staff[1])  # the rota shares the inviters out
    invitee = add(wired, config_id=first.config_id)
    add(wired, config_id=second.config_id, external_userid=invitee["external_userid"])
    work()
    assert [c.status for c in credits_of(first)] == [CreditStatus.HELD]
    assert [(c.status, c.reason) for c in credits_of(second)] == [(CreditStatus.REJECTED, "existing_customer")]


def test_the_progress_link_cannot_be_forged_or_used_for_another_inviter(wired, staff, client):
    task = running_task(staff)
    mine, theirs = inviter(wired, task, staff), inviter(wired, task, staff)
    from app.referral import links
    with current_app.test_request_context():
        url = links.progress_url(mine.id)
    token = url.rsplit("/", 1)[-1]
    page = client.get(f"/referral/p/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and mine.nickname and mine.nickname in text
    assert mine.nickname == theirs.nickname or theirs.nickname not in text
    png = client.get(f"/referral/p/{token}/poster.png")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/referral/p/{forged}").status_code == 404
    from itsdangerous import URLSafeSerializer
    other = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="something.else").dumps({"p": theirs.id})
    assert client.get(f"/referral/p/{other}").status_code == 404
    unsigned = URLSafeSerializer("not-our-secret", salt=links.SALT).dumps({"p": theirs.id})
    assert client.get(f"/referral/p/{unsigned}").status_code == 404


def test_the_invitee_gets_the_tasks_welcome_first(wired, staff):
    from app.welcome import messages
    from app.welcome.models import WelcomeRecord
    messages.save(None, messages.TemplateInput(name="默认", scope="default", text="默认欢迎"))
    invite = messages.save(None, messages.TemplateInput(name="任务宝", scope="channel", text="欢迎，你也能领好礼"))
    task = running_task(staff)
    with transaction():
        db.session.get(ReferralTask, task.id).welcome_template_id = invite.id
    me = inviter(wired, task, staff)
    invitee = add(wired, config_id=me.config_id)
    work()
    sent = {w["external_userid"]: w["text"] for w in wired.control.get("welcomes")["welcomes"]}
    assert sent[invitee["external_userid"]] == "欢迎，你也能领好礼"
    assert sent[me.external_userid] == "默认欢迎"  # the inviter's own add came through no referral way
    record = db.session.scalar(select(WelcomeRecord).where(WelcomeRecord.external_userid == invitee["external_userid"]))
    assert record.template_scope == "referral"


def test_a_relation_ended_inside_the_hold_voids_even_before_its_event_is_handled(wired, staff):
    from app.contacts.models import FollowRelation
    task = running_task(staff, levels=((1, 10),))
    me = inviter(wired, task, staff)
    invitee = add(wired, config_id=me.config_id)
    work()
    [credit] = credits_of(me)
    with transaction():  # the customer left on day 2; the event is late (WeCom may drop or delay callbacks)
        relation = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == invitee["external_userid"]))
        relation.ended_at, relation.ended_by = credit.added_at + timedelta(days=2), "customer"
    assert credits.release_due(utcnow() + timedelta(days=8)) == 0
    [credit] = credits_of(me)
    assert (credit.status, credit.reason) == (CreditStatus.VOIDED, "customer_deleted")
    assert db.session.scalar(select(func.count()).select_from(ReferralReservation)) == 0


def test_counted_invitees_get_the_tasks_tags_in_wecom(wired, staff):
    from app.tags.models import CorpTag
    from app.tags.sync import sync_corp_tags
    with transaction():
        sync_corp_tags(connection.gateway(), utcnow())
    tag = db.session.scalar(select(CorpTag.tag_id).where(CorpTag.deleted_at.is_(None)).order_by(CorpTag.tag_id).limit(1))
    task = running_task(staff)
    with transaction():
        db.session.get(ReferralTask, task.id).invitee_tag_ids = [tag]
    me = inviter(wired, task, staff)
    new = add(wired, config_id=me.config_id)
    again = add(wired, config_id=me.config_id, external_userid=me.external_userid)  # self-referral: not counted
    work()

    def tags_of(ext):
        follows = connection.gateway().get_external_contact(ext)["follow_user"]
        return {t.get("tag_id") for f in follows if f["userid"] == staff[0] for t in f.get("tags", [])}
    assert tag in tags_of(new["external_userid"])
    assert tag not in tags_of(again["external_userid"])
