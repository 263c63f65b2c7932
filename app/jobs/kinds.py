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
    abandoned: str | None = None            # "module:function"(**args) when the job fails for good without running
                                            # to its end (heartbeat lost too often): the domain closes its record

    def function(self) -> Callable:
        module, name = self.target.split(":")
        return getattr(importlib.import_module(module), name)

    def wants_handle(self) -> bool:
        return "job" in inspect.signature(self.function()).parameters


KINDS: dict[str, Kind] = {
    "contacts.sync": Kind(N_("全量同步"), "app.contacts.sync:run_job", one_at_a_time=True, cancellable=True,
                          time_limit_seconds=6 * 3600, permission=P.SYNC_RUN),
    "contacts.bulk_tags": Kind(N_("批量打标签"), "app.contacts.bulk_tags:run_job",
                               permission=P.CONTACTS_EDIT),
    "rfm.recompute": Kind(N_("RFM 重算"), "app.rfm.recompute:run_job", one_at_a_time=True, cancellable=True,
                          time_limit_seconds=3 * 3600, permission=P.RFM_VIEW),
    "tags.rules": Kind(N_("规则标签"), "app.tags.rules:run_job", one_at_a_time=True, cancellable=True,
                       permission=P.TAGS_MANAGE),
    "campaigns.check": Kind(N_("群发试算"), "app.campaigns.checks:run_job", permission=P.CAMPAIGNS_VIEW,
                            abandoned="app.campaigns.checks:abandon"),
    "campaigns.plan": Kind(N_("群发规划"), "app.campaigns.planner:plan"),
    "campaigns.schedule": Kind(N_("到期群发的创建与规划"), "app.campaigns.runs:tick", one_at_a_time=True),
    "campaigns.poll": Kind(N_("群发结果查询与提醒"), "app.sending.polling:tick", one_at_a_time=True),
    "campaigns.outside_sends": Kind(N_("导入控制台以外的群发"), "app.sending.outside_sends:scheduled_import",
                                    one_at_a_time=True),
    "rfm.order_import": Kind(N_("订单导入"), "app.rfm.order_import:run_job", time_limit_seconds=3 * 3600,
                             permission=P.ORDERS_IMPORT),
    "team.snapshot": Kind(N_("团队绩效快照"), "app.team.snapshot:run_job", one_at_a_time=True, cancellable=True,
                          time_limit_seconds=2 * 3600),
    "community.invite": Kind(N_("入群邀请的规划"), "app.community.invitations:run_invite",
                             permission=P.COMMUNITY_MANAGE),
    "community.reminders": Kind(N_("入群邀请的提醒"), "app.community.invitations:remind_due", one_at_a_time=True),
    "media.refresh": Kind(N_("续期企业微信素材"), "app.media.service:refresh_in_use", one_at_a_time=True),
    "welcome.refresh_media": Kind(N_("欢迎语素材上传"), "app.welcome.messages:refresh_media"),
}


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
