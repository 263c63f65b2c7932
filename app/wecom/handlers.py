"""The registry of callback handlers: capabilities register for (Event, ChangeType); the inbox runs them."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

Handler = Callable[[dict[str, Any]], None]
_HANDLERS: dict[tuple[str, str, bool], list[Handler]] = defaultdict(list)


def on(event: str, change_type: str, *, urgent: bool = False) -> Callable[[Handler], Handler]:
    """Register `func(payload)` for an event; it runs inside the inbox's transaction and must be idempotent.

    `urgent` handlers (the welcome message: 20 seconds, once) run first, on the welcome lane, and must be
    quick; the others run afterwards as the event's follow-up on the default lane.
    """

    def register(func: Handler) -> Handler:
        if func not in _HANDLERS[(event, change_type, urgent)]:
            _HANDLERS[(event, change_type, urgent)].append(func)
        return func

    return register


def for_event(event: str, change_type: str, *, urgent: bool = False) -> list[Handler]:
    return list(_HANDLERS.get((event, change_type, urgent), ()))
