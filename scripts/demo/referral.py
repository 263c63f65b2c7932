"""The demo's 任务宝: a running task with a 3/6/10 ladder, inviters with contact ways made in the emulator, ten days
of credits (valid, held, voided, flagged), rewards reserved; then new invitees scan inviters' codes now and then."""
from __future__ import annotations

import random
from datetime import timedelta

import requests
from sqlalchemy import select

from app.contacts.models import Customer, Staff
from app.core.db import transaction, utcnow
from app.extensions import db
from app.referral import jobs, rewards, service
from app.referral.models import CreditStatus, ReferralCredit, ReferralParticipant, ReferralTask, TaskStatus
from app.segments.models import Segment
from app.welcome import messages

RULES = ("1. 活动期间，把你的专属海报分享给朋友，朋友扫码添加我们的顾问即算一位邀请。\n"
         "2. 只计入第一次添加我们的新朋友；添加后 7 天内删除好友的不计入。\n"
         "3. 邀请满 3 / 6 / 10 人可领对应奖励，每级数量有限，先到先得，领完即止。\n"
         "4. 如发现刷量等异常行为，我们将取消奖励资格。")


def seed_demo_referral() -> str:
    """Create the demo task once; a line for the demo's output ("" when it exists already)."""
    if db.session.scalar(select(ReferralTask.id).limit(1)) is not None:
        return ""
    followers = db.session.scalars(select(Staff.userid).where(Staff.is_follow_user.is_(True))
                                   .order_by(Staff.userid).limit(2)).all()
    if not followers:
        return ""
    rng, now = random.Random(11), utcnow()
    welcome = messages.save(None, messages.TemplateInput(
        "任务宝欢迎语", "channel", "{客户昵称}您好！感谢朋友的推荐，新人专享的冬季茶礼已为您备好，回复「茶礼」领取。"
        "您也可以生成自己的邀请海报，邀请好友一起领。"))
    task = service.create(service.TaskInput(
        "老带新·冬季茶礼", now - timedelta(days=10), now + timedelta(days=20), list(followers),
        [service.LevelInput(3, "品鉴装小罐茶", 60, cost_fen=1800), service.LevelInput(6, "满 200 减 50 券", 0, "code",
                                                                                  cost_fen=5000,
                                                                                  codes=[f"TEA{n:05d}" for n in range(40)]),
         service.LevelInput(10, "定制紫砂杯", 8, cost_fen=12800)],
        daily_cap=40, hold_hours=168, welcome_template_id=welcome.id, rules_text=RULES,
        segment_id=db.session.scalar(select(Segment.id).where(Segment.name == "高价值活跃客户")),
        milestone_text="恭喜！你已成功邀请 {邀请人数} 位好友，「{奖励}」已为你预留，顾问会尽快联系你。",
        near_text="只差 {还差人数} 位好友就能领「{奖励}」了，加油！"))
    service.move(task, "schedule")
    jobs.tick()  # it has started
    customers = db.session.scalars(select(Customer.external_userid).where(Customer.type == 1)
                                   .order_by(Customer.id).limit(400)).all()
    inviters, invitees = customers[:12], customers[12:]
    with transaction():
        people = [service.join(task, ext) for ext in inviters]
    jobs.create_ways()
    with transaction():
        inbox_id = -1  # seeded credits come from no callback: negative ids never meet a real event's
        for person, n in zip(people, (13, 9, 7, 6, 5, 4, 4, 3, 3, 2, 1, 0)):
            for _ in range(n):
                invitee = invitees.pop()
                added = now - timedelta(days=10 * rng.random() ** 0.5)  # more of them early in the task
                status = CreditStatus.VALID if added <= now - timedelta(days=7) else CreditStatus.HELD
                reason = ""
                if rng.random() < 0.08:
                    status, reason = CreditStatus.VOIDED, "customer_deleted"
                elif person is people[2] and status == CreditStatus.HELD:  # one inviter's busy evening
                    status, reason = CreditStatus.FLAGGED, "burst"
                db.session.add(ReferralCredit(inbox_id=inbox_id, task_id=task.id, participant_id=person.id,
                                              invitee=invitee, userid=person.userid, claim=invitee, status=status,
                                              reason=reason, added_at=added, hold_until=added + timedelta(days=7),
                                              decided_at=added + timedelta(days=7) if status == CreditStatus.VALID
                                              else None))
                inbox_id -= 1
        db.session.flush()
        for person in people:
            rewards.reach_levels(person.id)
    return f"已创建进行中的任务宝「{task.name}」：{len(people)} 位邀请人，每人一个专属活码（见任务宝页）"


def simulate_referral_adds(api_base: str, stop, every_seconds: float = 40.0) -> None:
    """Until `stop` is set: now and then a new customer scans a demo inviter's code (credit, welcome, levels)."""
    ways = db.session.scalars(select(ReferralParticipant.config_id).join(ReferralTask).where(
        ReferralTask.status == TaskStatus.RUNNING, ReferralParticipant.config_id.is_not(None))).all()
    db.session.remove()
    if not ways:
        return
    url, rng = api_base.replace("/cgi-bin/", "/_emulator/simulate/add_customer"), random.Random()
    while not stop.wait(every_seconds):
        try:
            requests.post(url, json={"config_id": rng.choice(ways)}, timeout=5)
        except requests.RequestException:  # the emulator is stopping with the demo
            return
