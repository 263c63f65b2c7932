"""Demo data for 客户继承: two staff members leave the emulator's company (after the first sync, so the console knows
their names), their customers wait in WeCom's unassigned list, backups (AB角) are set, and one on-job transfer waits
for its 24 h takeover."""
from __future__ import annotations

import requests
from flask import current_app
from sqlalchemy import func, select

from app.contacts.models import FollowRelation
from app.extensions import db
from app.transfer import jobs as transfer_jobs, service
from app.transfer.models import ONJOB

LEAVERS = 2


def _control(path: str, **payload) -> dict:
    base = current_app.config["WECOM_API_BASE"].replace("/cgi-bin/", "/_emulator/")
    response = requests.post(base + path, json=payload, timeout=30)
    response.raise_for_status()
    return response.json()


def seed_demo_transfers() -> str:
    """Backups for the busiest members, two of them leave, the unassigned list is read, one on-job transfer."""
    busiest = [u for u, _n in db.session.execute(
        select(FollowRelation.userid, func.count()).where(FollowRelation.ended_at.is_(None))
        .group_by(FollowRelation.userid).order_by(func.count().desc(), FollowRelation.userid).limit(8))]
    leavers, stayers = busiest[2:2 + LEAVERS], busiest[:2] + busiest[2 + LEAVERS:]
    for i, userid in enumerate(busiest):
        service.set_backup(userid, stayers[(stayers.index(userid) + 1) % len(stayers)] if userid in stayers
                           else stayers[i % len(stayers)], "demo")
    for userid in leavers:
        _control("simulate/resign", userid=userid)
    found = transfer_jobs.refresh_unassigned()
    mover = stayers[-1]
    batch = service.plan(service.Selection(ONJOB, mover, "backup", service.customers_of(mover)[:12], []), "demo")
    transfer_jobs.submit(batch.id)
    return (f"已模拟 {LEAVERS} 名员工离职：{found['customers']} 位客户等待离职继承；已设置 AB 角并发起一次在职继承"
            "（见团队绩效旁的「客户继承」页）")
