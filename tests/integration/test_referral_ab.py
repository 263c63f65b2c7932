"""任务宝 A/B of two ladders: inviters split stably 50/50, each climbs their own ladder (adds through the emulator's
contact ways, callbacks over HTTP), and the results page and its Excel export compare the arms with the interval."""
import io
from datetime import datetime, timedelta

from flask import current_app
from openpyxl import load_workbook
from sqlalchemy import select

from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.referral import ab, jobs, links, service
from app.referral.models import (ARM_A, ARM_B, CreditStatus, ReferralCredit, ReferralLevel, ReferralParticipant,
                                 ReferralReservation, ReferralTask)
from tests.integration.test_referral_credits import add, staff, work  # noqa: F401 (fixture)


def ab_task(staff, *, hold_hours=0) -> ReferralTask:
    """Ladder A: a gift at 1 invite; ladder B: a bigger one at 2."""
    now = utcnow()
    task = service.create(service.TaskInput(
        name="阶梯 A/B", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=30),
        staff_userids=[staff[0]], hold_hours=hold_hours,
        levels=[service.LevelInput(1, "A 满1人礼", 100), service.LevelInput(5, "A 满5人礼", 100),
                service.LevelInput(2, "B 满2人大礼", 100, arm=ARM_B)]))
    service.move(task, "schedule")
    jobs.tick()
    return db.session.get(ReferralTask, task.id)


def customers_in_arms(task_id: int, per_arm: int) -> dict[str, list[str]]:
    """Customer ids of each arm (the split is a hash: pick ids until each arm has `per_arm`)."""
    arms: dict[str, list[str]] = {ARM_A: [], ARM_B: []}
    n = 0
    while min(len(v) for v in arms.values()) < per_arm:
        ext = f"wmabinviter{n:04d}"
        arm = ab.arm_for(task_id, ext)
        if len(arms[arm]) < per_arm:
            arms[arm].append(ext)
        n += 1
    return arms


def test_the_split_is_stable_and_about_half_and_half(app, staff):
    task = ab_task(staff)
    ids = [f"wmsplit{n:05d}" for n in range(2000)]
    arms = [ab.arm_for(task.id, ext) for ext in ids]
    assert arms == [ab.arm_for(task.id, ext) for ext in ids]  # the same customer, the same arm, every time
    assert 900 <= arms.count(ARM_B) <= 1100
    other = ab_task(staff)  # another task draws afresh: not the same split
    assert [ab.arm_for(other.id, ext) for ext in ids] != arms
    with transaction():
        joined = [service.join(task, ext) for ext in ids[:50]]
    assert [p.arm for p in joined] == arms[:50]


def test_each_arm_climbs_its_own_ladder_and_the_page_and_export_compare_them(wired, staff, client, signed_in_as):
    task = ab_task(staff)
    arms = customers_in_arms(task.id, 2)
    with transaction():
        people = {ext: service.join(task, ext) for exts in arms.values() for ext in exts}
    jobs.tick()  # their contact ways in WeCom
    db.session.expire_all()
    ways = {ext: db.session.get(ReferralParticipant, p.id).config_id for ext, p in people.items()}
    assert all(ways.values())
    (a1, a2), (b1, b2) = arms[ARM_A], arms[ARM_B]
    for inviter_ext, invitees in ((a1, 1), (a2, 1), (b1, 1), (b2, 2)):
        for _ in range(invitees):
            add(wired, config_id=ways[inviter_ext])
    work()
    valid = dict(db.session.execute(select(ReferralCredit.participant_id, db.func.count()).where(
        ReferralCredit.task_id == task.id, ReferralCredit.status == CreditStatus.VALID)
        .group_by(ReferralCredit.participant_id)).all())
    assert valid == {people[a1].id: 1, people[a2].id: 1, people[b1].id: 1, people[b2].id: 2}
    rewards = {(r.participant_id, r.level_id) for r in db.session.scalars(select(ReferralReservation))}
    levels = {(lv.arm, lv.needed): lv.id for lv in db.session.scalars(
        select(ReferralLevel).where(ReferralLevel.task_id == task.id))}
    # one invite completes ladder A's first level; ladder B's needs two: b1 has not, b2 has
    assert rewards == {(people[a1].id, levels[ARM_A, 1]), (people[a2].id, levels[ARM_A, 1]),
                       (people[b2].id, levels[ARM_B, 2])}

    comparison = ab.compare(task.id)
    assert (comparison.a.participants, comparison.a.completed, comparison.a.valid_per_participant) == (2, 2, 1.0)
    assert (comparison.b.participants, comparison.b.completed, comparison.b.valid_per_participant) == (2, 1, 1.5)
    assert comparison.completion.difference == -0.5 and comparison.k_factor.difference == 0.5
    assert comparison.completion.interval is None  # two inviters an arm: no interval

    signed_in_as("operator")
    page = client.get(f"/referral/{task.id}").get_data(as_text=True)
    section = page[page.index("data-ab>"):page.index("data-ab-method")]
    assert "完成率（%）" in section and "K 因子（人均新客户）" in section and "样本太少" in section
    assert "<td class=\"text-end\">100.0</td><td class=\"text-end\">50.0</td><td class=\"text-end\">-50.0</td>" \
        in section
    book = load_workbook(io.BytesIO(client.get(f"/referral/{task.id}/export-ab").data))
    cells = {r[0].value: r[1:] for r in book.active.iter_rows(min_row=2)}
    rows = {label: tuple(c.value for c in r) for label, r in cells.items()}
    assert rows["邀请人"][:3] == (2, 2, 0) and cells["邀请人"][0].number_format == "#,##0"
    assert rows["完成率"][:3] == (1, 0.5, -0.5) and rows["完成率"][-1] == "样本太少"  # fractions, shown as 100.0%
    assert {c.number_format for c in cells["完成率"][:3]} == {"0.0%"}
    assert rows["人均有效邀请"][:3] == (1, 1.5, 0.5) and cells["人均有效邀请"][0].number_format == "0.000"
    assert client.get(f"/referral/{task.id}/export-ab?format=csv").get_data(as_text=True).count("完成率,1.0,0.5,-0.5,") == 1
    credits_book = load_workbook(io.BytesIO(client.get(f"/referral/{task.id}/export").data))
    header, *credit_rows = credits_book.active.iter_rows()
    header = [c.value for c in header]
    arm_of = {r[header.index("被邀请客户")].value: r[header.index("阶梯")].value for r in credit_rows}
    assert sorted(arm_of.values()) == [ARM_A, ARM_A, ARM_B, ARM_B, ARM_B]
    added = [r[header.index("添加时间")] for r in credit_rows]
    assert all(isinstance(c.value, datetime) and c.number_format == "yyyy-mm-dd hh:mm" for c in added)  # Excel times
    zone = settings.corp_timezone()
    assert sorted(c.value for c in added) == sorted(  # wall-clock times in the corp's timezone, to the second
        a.astimezone(zone).replace(tzinfo=None, microsecond=0)
        for a in db.session.scalars(select(ReferralCredit.added_at).where(ReferralCredit.task_id == task.id)))

    with current_app.test_request_context():
        token = links.token_for(people[b1].id)
    b_page = client.get(f"/referral/p/{token}").get_data(as_text=True)
    assert "B 满2人大礼" in b_page and "A 满1人礼" not in b_page


def test_with_enough_inviters_the_difference_gets_its_interval(app, staff, client, signed_in_as):
    """60 inviters an arm, ladder B bringing twice the invites: the interval excludes zero, shown and exported."""
    task = ab_task(staff)
    arms = customers_in_arms(task.id, 60)
    now, events = utcnow(), iter(range(1, 10**6))
    with transaction():
        for arm, exts in arms.items():
            for n, ext in enumerate(exts):
                inviter = service.join(task, ext)
                brought = (n % 3 + (2 if arm == ARM_B else 0)) if n % 4 else 0  # some bring none
                for k in range(brought):
                    db.session.add(ReferralCredit(
                        inbox_id=next(events), task_id=task.id, participant_id=inviter.id,
                        invitee=f"{ext}-friend{k}", userid=staff[0], claim=f"{ext}-friend{k}",
                        status=CreditStatus.VALID, added_at=now, hold_until=now))
    comparison = ab.compare(task.id)
    assert comparison.a.participants == comparison.b.participants == 60
    low, high = comparison.valid_per_participant.interval
    assert 0 < low < comparison.valid_per_participant.difference < high and comparison.valid_per_participant.significant
    assert comparison.k_factor.interval == comparison.valid_per_participant.interval  # all valid: the same counts
    signed_in_as("operator")
    book = load_workbook(io.BytesIO(client.get(f"/referral/{task.id}/export-ab").data))
    rows = {r[0]: r[1:] for r in book.active.iter_rows(min_row=2, values_only=True)}
    assert rows["人均有效邀请"][3] == round(low, 3) and rows["人均有效邀请"][5] == "是"


def test_a_task_with_one_ladder_shows_no_comparison(app, staff, client, signed_in_as):
    now = utcnow()
    task = service.create(service.TaskInput("单阶梯", now, now + timedelta(days=1), [staff[0]],
                                            [service.LevelInput(3, "礼", 5)]))
    assert ab.compare(task.id) is None
    with transaction():
        assert service.join(task, "wmsolo").arm == ARM_A
    signed_in_as("operator")
    assert "data-ab>" not in client.get(f"/referral/{task.id}").get_data(as_text=True)
    assert client.get(f"/referral/{task.id}/export-ab").status_code == 404
