"""Decrypted callback XML of the events WeCom sends for user actions (wecom-api.md §5)."""

# Every (Event, ChangeType) this emulator sends (wecom-api.md §5); the event builders below refuse any other.
CONTACT_CHANGES = ("add_external_contact", "add_half_external_contact", "edit_external_contact",
                   "del_external_contact", "del_follow_user", "transfer_fail", "msg_audit_approved")
CHAT_CHANGES = ("create", "update", "dismiss")
TAG_CHANGES = ("create", "update", "delete", "shuffle")
EVENT_TYPES = frozenset([("change_external_contact", c) for c in CONTACT_CHANGES]
                        + [("change_external_chat", c) for c in CHAT_CHANGES]
                        + [("change_external_tag", c) for c in TAG_CHANGES])


def _known(event: str, change_type: str) -> None:
    if (event, change_type) not in EVENT_TYPES:
        raise ValueError(f"the emulator does not send {event}/{change_type} (add it to EVENT_TYPES first)")


def _cdata(value) -> str:
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _field(name: str, value) -> str:
    return f"<{name}>{value if isinstance(value, int) else _cdata(value)}</{name}>"


def event_xml(corp_id: str, event: str, create_time: int, fields: list[tuple[str, object]]) -> str:
    """``<xml>`` with the fixed head (ToUserName=corp id, FromUserName=sys) and ``fields`` in order.

    A list value becomes ``<Name><Item>..</Item>..</Name>`` (the MemChangeList form; UNCONFIRMED
    whether WeCom sends Items or a CSV string, Items is what WxJava's newer fixtures show).
    """
    parts = [_field("ToUserName", corp_id), _field("FromUserName", "sys"),
             _field("CreateTime", create_time), _field("MsgType", "event"), _field("Event", event)]
    for name, value in fields:
        if value is None:
            continue
        if isinstance(value, list):
            items = "".join(f"<Item>{_cdata(v)}</Item>" for v in value)
            parts.append(f"<{name}>{items}</{name}>")
        else:
            parts.append(_field(name, value))
    return "<xml>" + "".join(parts) + "</xml>"


def contact_event(corp_id, create_time, change_type, userid, external_userid, *, state=None,
                  welcome_code=None, source=None, fail_reason=None) -> str:
    """change_external_contact; State/WelcomeCode/Source/FailReason only where WeCom sends them."""
    _known("change_external_contact", change_type)
    return event_xml(corp_id, "change_external_contact", create_time, [
        ("ChangeType", change_type), ("UserID", userid), ("ExternalUserID", external_userid),
        ("State", state), ("WelcomeCode", welcome_code), ("Source", source),
        ("FailReason", fail_reason)])


def chat_event(corp_id, create_time, chat_id, change_type, *, update_detail=None, join_scene=None,
               quit_scene=None, members=None, last_version=None, cur_version=None) -> str:
    """change_external_chat (create / update with UpdateDetail / dismiss)."""
    _known("change_external_chat", change_type)
    fields = [("ChatId", chat_id), ("ChangeType", change_type), ("UpdateDetail", update_detail)]
    if update_detail in ("add_member", "del_member"):
        fields += [("JoinScene", join_scene if update_detail == "add_member" else None),
                   ("QuitScene", quit_scene if update_detail == "del_member" else None),
                   ("MemChangeCnt", len(members)), ("MemChangeList", members)]
    if last_version is not None:
        fields += [("LastMemVer", last_version), ("CurMemVer", cur_version)]
    return event_xml(corp_id, "change_external_chat", create_time, fields)


def tag_event(corp_id, create_time, change_type, tag_id, tag_type) -> str:
    """change_external_tag: Id is the tag or group id, TagType is ``tag`` or ``tag_group``."""
    _known("change_external_tag", change_type)
    return event_xml(corp_id, "change_external_tag", create_time, [
        ("Id", tag_id), ("TagType", tag_type), ("ChangeType", change_type)])
