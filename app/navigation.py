"""The console's navigation: every capability of the product, the page it opens and who sees it."""
from __future__ import annotations

from dataclasses import dataclass

from app.core.permissions import N_, Permission as P


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    permission: P
    endpoint: str
    section: str = "work"
    also: tuple[str, ...] = ()  # other pages that belong to this item (it is highlighted there too)

    def is_current(self, endpoint: str | None) -> bool:
        return endpoint == self.endpoint or endpoint in self.also


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("contacts", N_("客户"), P.CONTACTS_VIEW, "contacts.index",
            also=("contacts.customer", "contacts.staff")),
    NavItem("groups", N_("客户群"), P.GROUPS_VIEW, "contacts.groups", also=("contacts.group",)),
    NavItem("community", N_("社群运营"), P.COMMUNITY_MANAGE, "community.index",
            also=("community.code_new", "community.code_edit", "community.code_poster", "community.welcomes",
                  "community.welcome_new", "community.welcome_edit", "community.tiers", "community.invitations",
                  "community.invitation_new", "community.invitation", "community.sops", "community.sop_list",
                  "community.sop_new", "community.sop", "community.sop_item_new", "community.sop_item_edit",
                  "community.sop_occurrence", "community.activity")),
    NavItem("tags", N_("标签"), P.TAGS_MANAGE, "tags.index",
            also=("tags.delete", "tags.new_rule", "tags.rule")),
    NavItem("rfm", N_("RFM 分层"), P.RFM_VIEW, "rfm.index", also=("rfm.customers",)),
    NavItem("orders", N_("订单导入"), P.ORDERS_IMPORT, "rfm.import_orders", also=("rfm.map_orders",)),
    NavItem("segments", N_("人群"), P.SEGMENTS_MANAGE, "segments.index",
            also=("segments.new", "segments.edit", "segments.members", "segments.save", "segments.update")),
    NavItem("campaigns", N_("群发"), P.CAMPAIGNS_VIEW, "campaigns.index",
            also=("campaigns.new", "campaigns.edit", "campaigns.detail", "campaigns.preview_page",
                  "campaigns.approvals_queue", "campaigns.policy_settings", "campaigns.opt_outs", "campaigns.results",
                  "community.invitation_review", "referral.launch_review")),  # review pages of the approvals queue
    NavItem("welcome", N_("欢迎语"), P.WELCOME_MANAGE, "welcome.index",
            also=("welcome.channels", "welcome.channel_new", "welcome.channel_edit", "welcome.templates",
                  "welcome.template_new", "welcome.template_edit")),
    NavItem("media", N_("素材库"), P.MEDIA_VIEW, "media.index"),
    NavItem("wakeup", N_("沉睡唤醒"), P.WAKEUP_VIEW, "lifecycle.index",
            also=("lifecycle.customers", "lifecycle.settings", "journeys.index", "journeys.edit", "journeys.detail",
                  "journeys.results")),
    NavItem("referral", N_("任务宝"), P.REFERRAL_MANAGE, "referral.index",
            also=("referral.new", "referral.edit", "referral.detail", "referral.review", "referral.rewards",
                  "referral.launch", "referral.poster_page")),
    NavItem("team", N_("团队绩效"), P.TEAM_VIEW, "team.overview",
            also=("team.scorecard",)),
    NavItem("tasks", N_("跟进任务"), P.TASKS_VIEW, "tasks.index",
            also=("tasks.overdue", "tasks.rules", "tasks.detail", "tasks.mine", "tasks.new")),
    NavItem("transfer", N_("客户继承"), P.TRANSFER_MANAGE, "transfer.resigned",
            also=("transfer.onjob", "transfer.batch", "transfer.backups")),
    NavItem("settings", N_("系统设置"), P.SETTINGS_MANAGE, "admin.settings", "admin"),
    NavItem("wordlist", N_("敏感词库"), P.SETTINGS_MANAGE, "wordlist.index", "admin", also=("wordlist.import_words",)),
    NavItem("users", N_("账号与角色"), P.USERS_MANAGE, "admin.users", "admin", also=("admin.user_edit",)),
    NavItem("tokens", N_("API 令牌"), P.TOKENS_MANAGE, "admin.tokens", "admin"),
    NavItem("audit", N_("审计日志"), P.AUDIT_VIEW, "admin.audit", "admin"),
    NavItem("staffmsg", N_("应用消息"), P.SETTINGS_MANAGE, "staffmsg.index", "admin"),
    NavItem("callbacks", N_("回调事件"), P.CALLBACKS_MANAGE, "wecom.events", "admin"),
    NavItem("jobs", N_("后台任务"), P.JOBS_MANAGE, "jobs.index", "admin"),
    NavItem("sync", N_("同步"), P.SYNC_RUN, "contacts.sync_runs", "admin", also=("contacts.sync_run",)),
)


def visible_items(user, section: str) -> list[NavItem]:
    """The items of a section this account may use."""
    return [item for item in NAV_ITEMS if item.section == section and user.can(item.permission)]
