"""Roles and the permissions each one grants; pure data, imported by views, the API and tests."""
from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    """Something a console account or API token may be allowed to do."""

    CONTACTS_VIEW = "contacts.view"
    CONTACTS_EDIT = "contacts.edit"
    CONTACTS_EXPORT = "contacts.export"
    CONTACTS_VIEW_MOBILE = "contacts.view_mobile"
    GROUPS_VIEW = "groups.view"
    GROUPS_SEND = "groups.send"
    CUSTOMERS_SEND = "customers.send"  # 1:1 pushes to customers (group pushes need only CAMPAIGNS_EDIT)
    TAGS_MANAGE = "tags.manage"
    RFM_VIEW = "rfm.view"
    ORDERS_IMPORT = "orders.import"
    SEGMENTS_MANAGE = "segments.manage"
    CAMPAIGNS_VIEW = "campaigns.view"
    CAMPAIGNS_EDIT = "campaigns.edit"
    CAMPAIGNS_CHECK = "campaigns.check"  # start a dry run (background work): not for read-only accounts
    CAMPAIGNS_APPROVE = "campaigns.approve"
    WELCOME_MANAGE = "welcome.manage"
    MEDIA_VIEW = "media.view"
    MEDIA_MANAGE = "media.manage"  # upload and delete library files
    WAKEUP_VIEW = "wakeup.view"  # 沉睡唤醒 read-only: lifecycle stages, journeys and their results
    WAKEUP_MANAGE = "wakeup.manage"  # change them: stage settings, recompute, journeys' drafts, pause, archive
    REFERRAL_MANAGE = "referral.manage"
    TEAM_VIEW = "team.view"
    TEAM_MANAGE = "team.manage"  # targets and ranking weights (supervisors: of the departments they lead)
    TASKS_VIEW = "tasks.view"      # the 跟进任务 list (supervisors: their departments); everyone sees their own tasks
    TASKS_MANAGE = "tasks.manage"  # follow-up rules, tasks created by hand, cancel; complete anyone's task
    TRANSFER_MANAGE = "transfer.manage"  # 客户继承: hand customers and groups of staff who left or move to others
    SYNC_RUN = "sync.run"
    SETTINGS_MANAGE = "settings.manage"
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW = "audit.view"
    TOKENS_MANAGE = "tokens.manage"
    CALLBACKS_MANAGE = "callbacks.manage"
    COMMUNITY_MANAGE = "community.manage"  # 社群运营: join codes, group welcome, tiers, invitations into groups
    JOBS_MANAGE = "jobs.manage"  # the 后台任务 page: every background job, retry and cancel


class Role(StrEnum):
    """The five roles of the console."""

    ADMIN = "admin"
    OPERATOR = "operator"
    COMMUNITY_MANAGER = "community_manager"
    SUPERVISOR = "supervisor"
    VIEWER = "viewer"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset({
        P.CONTACTS_VIEW, P.CONTACTS_EDIT, P.CONTACTS_EXPORT, P.CONTACTS_VIEW_MOBILE,
        P.GROUPS_VIEW, P.TAGS_MANAGE, P.RFM_VIEW, P.ORDERS_IMPORT, P.SEGMENTS_MANAGE,
        P.CAMPAIGNS_VIEW, P.CAMPAIGNS_EDIT, P.CAMPAIGNS_CHECK, P.CUSTOMERS_SEND, P.WELCOME_MANAGE, P.WAKEUP_VIEW, P.WAKEUP_MANAGE,
        P.REFERRAL_MANAGE, P.MEDIA_VIEW, P.MEDIA_MANAGE, P.TASKS_VIEW, P.TASKS_MANAGE,
    }),
    Role.COMMUNITY_MANAGER: frozenset({
        P.CONTACTS_VIEW, P.GROUPS_VIEW, P.GROUPS_SEND, P.CAMPAIGNS_VIEW, P.CAMPAIGNS_EDIT, P.CAMPAIGNS_CHECK,
        P.WELCOME_MANAGE, P.MEDIA_VIEW, P.MEDIA_MANAGE, P.COMMUNITY_MANAGE,
    }),
    Role.SUPERVISOR: frozenset({
        P.CONTACTS_VIEW, P.CONTACTS_VIEW_MOBILE, P.GROUPS_VIEW, P.RFM_VIEW,
        P.CAMPAIGNS_VIEW, P.CAMPAIGNS_CHECK, P.CAMPAIGNS_APPROVE, P.TEAM_VIEW, P.TEAM_MANAGE, P.MEDIA_VIEW,
        P.TASKS_VIEW, P.TRANSFER_MANAGE, P.WAKEUP_VIEW,
    }),
    Role.VIEWER: frozenset({P.CONTACTS_VIEW, P.GROUPS_VIEW, P.RFM_VIEW, P.CAMPAIGNS_VIEW, P.MEDIA_VIEW, P.TASKS_VIEW}),
}

def N_(message: str) -> str:
    """Mark a string for translation where it is defined; it is translated where it is shown."""
    return message


ROLE_LABELS = {
    Role.ADMIN: N_("管理员"),
    Role.OPERATOR: N_("私域运营"),
    Role.COMMUNITY_MANAGER: N_("社群运营"),
    Role.SUPERVISOR: N_("主管"),
    Role.VIEWER: N_("只读"),
}


def role_allows(role: str, permission: Permission) -> bool:
    """Whether the role (by its key) grants the permission; unknown roles grant nothing."""
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
