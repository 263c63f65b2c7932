"""What a callback handler gets and is: the typed payload (WeCom's fields, the inbox's, what handlers pass on)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypedDict


class Carry(TypedDict, total=False):
    """What an urgent handler leaves for the event's follow-ups (merged into the stored payload)."""

    _external_contact: dict[str, Any]  # externalcontact/get's answer, fetched by the welcome: no second call


class Payload(Carry, total=False):
    """A callback event as its handlers get it (wecom-api.md §5 for WeCom's fields, as decrypted: text)."""

    Event: str
    ChangeType: str
    CreateTime: str
    UserID: str
    ExternalUserID: str
    State: str
    WelcomeCode: str
    Source: str
    FailReason: str
    ChatId: str
    UpdateDetail: str
    JoinScene: str
    QuitScene: str
    MemChangeCnt: str
    MemChangeList: list[str] | str
    LastMemVer: str
    CurMemVer: str
    Id: str
    TagType: str
    _inbox_id: int       # the inbox row: records a handler writes are keyed by it, once per event
    _received_at: str    # ISO time the console received the event
    _attempt: int        # on the welcome lane, 2 or more: an earlier attempt may have reached WeCom
    _carry: Carry        # set by an urgent handler for the follow-ups


Handler = Callable[[Payload], None]


@dataclass(frozen=True)
class Route:
    """The handlers of one event type. `urgent` ones (the welcome: 20 seconds, once) run first, on the welcome
    lane, and must be quick; then `follow_up` ones run in this order on the default lane. Every handler runs
    inside the inbox's transaction and must be idempotent."""

    follow_up: tuple[Handler, ...] = ()
    urgent: tuple[Handler, ...] = ()
