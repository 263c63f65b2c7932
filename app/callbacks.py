"""The table of WeCom callback handlers: for each event type, what runs on the welcome lane and what follows."""
from __future__ import annotations

from app.community import opened as community
from app.contacts import handlers as contacts
from app.lifecycle import signals as lifecycle
from app.referral import credits as referral
from app.transfer import handlers as transfer
from app.wecom.handlers import Route
from app.welcome import handlers as welcome

CONTACT, CHAT, TAG = "change_external_contact", "change_external_chat", "change_external_tag"
# the referral credit first: "new to the company" is judged before the contact handler stores the invitee
_ADDED = Route(urgent=(welcome.welcome_now,), follow_up=(referral.credit_add, contacts.contact_added,
                                                                         referral.tag_invitee, welcome.after_add,
                                                                         lifecycle.contact_added))
_TAGS_CHANGED = Route(follow_up=(contacts.corp_tags_changed,))

# (Event, ChangeType, route): one row per event type; an event type with no row is kept as 无处理程序 (ignored).
ROWS: tuple[tuple[str, str, Route], ...] = (
    (CONTACT, "add_external_contact", _ADDED),
    (CONTACT, "add_half_external_contact", _ADDED),
    (CONTACT, "edit_external_contact", Route(follow_up=(contacts.contact_edited,))),
    (CONTACT, "del_external_contact", Route(follow_up=(contacts.staff_deleted_customer, lifecycle.relation_ended,
                                                       referral.credit_void, transfer.handed_over))),
    (CONTACT, "del_follow_user", Route(follow_up=(contacts.customer_deleted_staff, lifecycle.relation_ended,
                                                  referral.credit_void))),
    (CONTACT, "transfer_fail", Route(follow_up=(contacts.handover_failed, transfer.transfer_failed))),
    (CONTACT, "msg_audit_approved", Route(urgent=(welcome.welcome_after_consent,),
                                          follow_up=(contacts.archiving_approved,
                                                     lifecycle.archiving_approved))),
    (CHAT, "create", Route(follow_up=(contacts.group_changed,))),
    (CHAT, "update", Route(follow_up=(contacts.group_changed, contacts.members_changed, community.group_opened,
                                      lifecycle.group_joined))),
    (CHAT, "dismiss", Route(follow_up=(contacts.group_changed,))),
    (TAG, "create", _TAGS_CHANGED),
    (TAG, "update", _TAGS_CHANGED),
    (TAG, "delete", _TAGS_CHANGED),
    (TAG, "shuffle", _TAGS_CHANGED),
)


def _table() -> dict[tuple[str, str], Route]:
    table: dict[tuple[str, str], Route] = {}
    for event, change_type, route in ROWS:
        if (event, change_type) in table:
            raise ValueError(f"two rows for the callback event {event}/{change_type}")
        table[(event, change_type)] = route
    return table


TABLE = _table()
NO_HANDLERS = Route()


def route_for(event: str, change_type: str) -> Route:
    """The handlers of an event type (none for a type without a row)."""
    return TABLE.get((event, change_type), NO_HANDLERS)
