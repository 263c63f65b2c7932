"""The registry of callback handlers: capabilities register for (Event, ChangeType); the inbox runs them."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

Handler = Callable[[dict[str, Any]], None]
_HANDLERS: dict[tuple[str, str], list[Handler]] = defaultdict(list)
_URGENT: dict[tuple[str, str], list[Handler]] = defaultdict(list)


def on(event: str, change_type: str, *, urgent: bool = False) -> Callable[[Handler], Handler]:
    """Register `func(payload)` for an event; it runs inside the inbox's transaction and must be idempotent.

    `urgent` handlers (the welcome message: 20 seconds, once) run first, on the welcome lane, and must be
    quick; the others run afterwards as the event's follow-up on the default lane.
    """
    registry = _URGENT if urgent else _HANDLERS

    def register(func: Handler) -> Handler:
        if func not in registry[(event, change_type)]:
            registry[(event, change_type)].append(func)
        return func

    return register


def for_event(event: str, change_type: str, *, urgent: bool = False) -> list[Handler]:
    return list((_URGENT if urgent else _HANDLERS).get((event, change_type), ()))
