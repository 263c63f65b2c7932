"""The job kinds: what each kind calls, whether it is one-at-a-time or cancellable, who may watch it."""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Callable

from app.core.permissions import N_, Permission as P


@dataclass(frozen=True)
class Kind:
    """How a job kind is run. `target` is "module:function", imported when the job runs (no import cycles); it is
    called with the job's args as keyword arguments, plus `job=<handle>` when it has a parameter named `job`."""

    label: str                              # shown on 后台任务 (marked with N_, translated where shown)
    target: str
    one_at_a_time: bool = False             # at most one waiting or running job of this kind, on all workers
    cancellable: bool = False               # long work that checks `job.cancel_requested()` / calls `progress`
    time_limit_seconds: int = 3600          # past this, the job is asked to stop (as by a cancel) and fails
    max_attempts: int = 3                   # runs a lost heartbeat may cost before the job fails
    permission: P | None = None             # besides admins, who may read its progress
    on_give_up: str | None = None           # "module:function"(job), called once the job ended failed or cancelled
                                            # for good (see queue.given_up): the domain closes the record it drives

    def function(self) -> Callable:
        return resolve(self.target)

    def wants_handle(self) -> bool:
        return "job" in inspect.signature(self.function()).parameters


KINDS: dict[str, Kind] = {
    "contacts.sync": Kind(N_("全量同步"), "app.contacts.sync:run_job", one_at_a_time=True, cancellable=True,
                          time_limit_seconds=6 * 3600, permission=P.SYNC_RUN, on_give_up="app.contacts.sync:give_up"),
    "contacts.bulk_tags": Kind(N_("批量打标签"), "app.contacts.bulk_tags:run_job",
                               permission=P.CONTACTS_EDIT),
    "rfm.recompute": Kind(N_("RFM 重算"), "app.rfm.recompute:run_job", one_at_a_time=True, cancellable=True,
                          time_limit_seconds=3 * 3600, permission=P.RFM_VIEW, on_give_up="app.rfm.recompute:give_up"),
    "tags.rules": Kind(N_("规则标签"), "app.tags.rules:run_job", one_at_a_time=True, cancellable=True,
                       permission=P.TAGS_MANAGE, on_give_up="app.tags.rules:give_up"),
    "campaigns.check": Kind(N_("群发试算"), "app.campaigns.editor.checks:run_job", permission=P.CAMPAIGNS_VIEW,
                            on_give_up="app.campaigns.editor.checks:give_up"),
    "campaigns.plan": Kind(N_("群发规划"), "app.campaigns.execution.planner:plan",
                           on_give_up="app.campaigns.execution.runs:plan_given_up"),
    "campaigns.schedule": Kind(N_("到期群发的创建与规划"), "app.campaigns.execution.runs:tick", one_at_a_time=True),
    "campaigns.poll": Kind(N_("群发结果查询与提醒"), "app.sending.polling:tick", one_at_a_time=True),
    "campaigns.outside_sends": Kind(N_("导入控制台以外的群发"), "app.sending.outside_sends:scheduled_import",
                                    one_at_a_time=True),
    "rfm.order_import": Kind(N_("订单导入"), "app.rfm.order_import:run_job", cancellable=True,
                             time_limit_seconds=3 * 3600, permission=P.ORDERS_IMPORT,
                             on_give_up="app.rfm.order_import:give_up"),
    "team.snapshot": Kind(N_("团队绩效快照"), "app.team.snapshot:run_job", one_at_a_time=True, cancellable=True,
                          time_limit_seconds=2 * 3600),
    "team.rollup": Kind(N_("团队绩效汇总与预警"), "app.team.rollup:run_job", one_at_a_time=True,
                        permission=P.TEAM_VIEW),
    "team.today": Kind(N_("今日团队绩效"), "app.team.live:run_job", one_at_a_time=True, permission=P.TEAM_VIEW),
    "transfer.submit": Kind(N_("提交客户继承"), "app.transfer.jobs:submit", cancellable=True,
                            permission=P.TRANSFER_MANAGE),
    "transfer.poll": Kind(N_("查询继承结果"), "app.transfer.jobs:poll", one_at_a_time=True,
                          permission=P.TRANSFER_MANAGE),
    "transfer.unassigned": Kind(N_("读取离职成员的客户"), "app.transfer.jobs:refresh_unassigned", one_at_a_time=True,
                                cancellable=True, permission=P.TRANSFER_MANAGE),
    "community.invite": Kind(N_("入群邀请的规划"), "app.community.invitations:run_invite",
                             permission=P.COMMUNITY_MANAGE),
    "community.sop_plan": Kind(N_("群SOP：安排到期的群发与群主任务"), "app.community.sop.planner:plan_due",
                               one_at_a_time=True),
    "community.reminders": Kind(N_("入群邀请的提醒"), "app.community.invitations:remind_due", one_at_a_time=True),
    "community.health": Kind(N_("群活跃度与健康度"), "app.community.activity:run_job", one_at_a_time=True,
                             permission=P.COMMUNITY_MANAGE),
    "community.opened_groups": Kind(N_("企业微信为满员群活码新建的群：加入活码并沿用分层"),
                                    "app.community.opened:adopt_all", one_at_a_time=True),
    "media.refresh": Kind(N_("续期企业微信素材"), "app.media.service:refresh_in_use", one_at_a_time=True),
    "journeys.tick": Kind(N_("客户旅程：退出、进入与到期步骤"), "app.journeys.jobs:tick", one_at_a_time=True,
                          permission=P.WAKEUP_MANAGE),
    "journeys.tags": Kind(N_("客户旅程：打标签步骤写入企业微信"), "app.journeys.tagging:send_owed", one_at_a_time=True,
                          permission=P.WAKEUP_MANAGE),
    "referral.tick": Kind(N_("任务宝：开始与结束、考察期到期、活码创建、核对与删除、邀请人标签、里程碑消息"), "app.referral.jobs:tick",
                          one_at_a_time=True),
    "referral.enroll": Kind(N_("任务宝：从人群加入邀请人"), "app.referral.jobs:enroll", permission=P.REFERRAL_MANAGE),
    "referral.launch": Kind(N_("任务宝：规划推送（每人专属链接）"), "app.referral.launch:run",
                            permission=P.REFERRAL_MANAGE),
    "staffmsg.dispatch": Kind(N_("发送员工应用消息"), "app.staffmsg.dispatch:run_job", one_at_a_time=True),
    "tasks.sweep": Kind(N_("跟进任务提醒与逾期上报"), "app.tasks.sweep:run_job", one_at_a_time=True),
    "tasks.rules": Kind(N_("跟进规则生成任务"), "app.tasks.rules:run_job", one_at_a_time=True),
    "lifecycle.recompute": Kind(N_("生命周期阶段重算"), "app.lifecycle.recompute:run_job", one_at_a_time=True,
                                permission=P.WAKEUP_MANAGE),
    "lifecycle.tags": Kind(N_("写入生命周期标签"), "app.lifecycle.writeback:run_job", one_at_a_time=True,
                           cancellable=True, permission=P.WAKEUP_MANAGE),
    "welcome.channel_import": Kind(N_("从企业微信导入渠道活码"), "app.welcome.channels:run_import", one_at_a_time=True,
                                   cancellable=True, permission=P.WELCOME_MANAGE),
    "welcome.refresh_media": Kind(N_("欢迎语素材上传"), "app.welcome.messages:refresh_media"),
}


def resolve(target: str) -> Callable:
    """The function named by "module:function"."""
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def register(name: str, kind: Kind) -> None:
    """Add a kind (a package that owns its kind may register it at import; prefer a line in KINDS above)."""
    if name in KINDS and KINDS[name] != kind:
        raise ValueError(f"job kind {name} is registered already")
    KINDS[name] = kind


def get(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}") from None
