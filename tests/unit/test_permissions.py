"""The role matrix decided for the console."""
from app.core.permissions import Permission as P, Role, role_allows


def test_admin_has_every_permission():
    assert all(role_allows("admin", p) for p in P)


def test_viewer_can_only_look():
    assert role_allows("viewer", P.CONTACTS_VIEW)
    for p in (P.CONTACTS_EDIT, P.CONTACTS_EXPORT, P.CAMPAIGNS_EDIT, P.SETTINGS_MANAGE, P.USERS_MANAGE,
              P.CONTACTS_VIEW_MOBILE):
        assert not role_allows("viewer", p)


def test_only_supervisors_and_admins_approve_sends():
    approvers = {r.value for r in Role if role_allows(r.value, P.CAMPAIGNS_APPROVE)}
    assert approvers == {"admin", "supervisor"}


def test_community_managers_send_to_groups_but_do_not_manage_tags():
    assert role_allows("community_manager", P.GROUPS_SEND)
    assert not role_allows("community_manager", P.TAGS_MANAGE)
    assert not role_allows("operator", P.GROUPS_SEND)


def test_unknown_role_grants_nothing():
    assert not role_allows("root", P.CONTACTS_VIEW)


def test_only_roles_that_push_to_customers_send_1to1_and_read_only_starts_no_dry_run():
    senders = {r.value for r in Role if role_allows(r.value, P.CUSTOMERS_SEND)}
    assert senders == {"admin", "operator"}
    checkers = {r.value for r in Role if role_allows(r.value, P.CAMPAIGNS_CHECK)}
    assert checkers == {"admin", "operator", "community_manager", "supervisor"}
