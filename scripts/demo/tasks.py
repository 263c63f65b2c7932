"""Demo data for 跟进任务: two follow-up rules and two weeks of tasks for the staff (done on time, late, overdue,
open), the demo supervisor's team included, so the list, the SLA figures and the overdue view have something to show."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from app.contacts.models import FollowRelation
from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.tags.models import CorpTag
from app.tasks import rules
from app.tasks.models import DONE, FOLLOWUP_RULE, Task
from app.tasks.service import create_task

TITLES = ("跟进潜在客户：了解需求并推荐方案", "一对一关怀：询问近况，送上回购券", "回访售后：确认商品使用情况",
          "邀请参加会员日活动")


def seed_demo_tasks(console_url: str, supervisor: str | None) -> str:
    """Rules and tasks, once (nothing when tasks exist already); the console address for the messages' links. The
    demo supervisor (`supervisor`, a userid) gets two open tasks of their own, shown on 我的任务."""
    if "console.url" not in settings.stored_keys():
        settings.save({"console.url": console_url}, "demo")
    if db.session.scalar(select(func.count()).select_from(Task)):
        return "跟进任务已存在，未重复生成"
    tag = db.session.scalar(select(CorpTag).where(CorpTag.name == "潜在客户", CorpTag.deleted_at.is_(None)))
    if tag is not None:
        rules.save_rule(name="潜在客户 24 小时跟进", trigger=rules.TAG_ADDED, due_hours=24,
                        task_title="跟进潜在客户：了解需求并推荐方案", tag_id=tag.tag_id, actor="demo")
    rules.save_rule(name="不能失去的客户沉睡后一对一关怀", trigger=rules.STAGE_ENTERED, due_hours=24,
                    task_title="一对一关怀：询问近况，送上回购券", stage="dormant", rfm_filter="cant_lose", actor="demo")
    rng, now = random.Random("demo-tasks"), utcnow()
    relations = list(db.session.execute(select(FollowRelation.userid, FollowRelation.external_userid)
                                        .where(FollowRelation.ended_at.is_(None)).order_by(FollowRelation.id)))
    picked = rng.sample(relations, min(240, len(relations)))
    picked += [r for r in relations if r[0] == supervisor][:2]
    with transaction():
        for n, (userid, external_userid) in enumerate(picked):
            created = now - timedelta(hours=rng.uniform(1, 14 * 24) if n < 240 else rng.uniform(1, 20))
            due = created + timedelta(hours=24)
            task = create_task(userid, rng.choice(TITLES), due, source=FOLLOWUP_RULE,
                               source_key=f"demo:{n}", external_userid=external_userid, created_by="demo",
                               deliver=due > now)
            task.created_at = created
            if due <= now and rng.random() < 0.9:  # most past tasks were done, a few of them late; the rest are
                task.state, task.done_by = DONE, userid  # overdue, and the first sweep tells their supervisors
                task.done_at = created + timedelta(hours=rng.uniform(0.5, 23.5) if rng.random() < 0.8 else 30)
    return f"已创建 2 条跟进规则与 {len(picked)} 个跟进任务（见跟进任务页）"
