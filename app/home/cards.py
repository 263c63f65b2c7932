"""The home page's cards: each capability says what an operator should see first; the home page lays them out.

Providers are named here as "module:function" (imported when the page is drawn, as the scheduler names its jobs),
so the home package depends on no capability. A provider takes the signed-in account and returns its cards, already
limited to what that account may see; one that fails is logged and left out, never breaking the page.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Callable

from app.core.permissions import Permission as P

log = logging.getLogger("scrm.home")


@dataclass(frozen=True)
class Card:
    title: str
    value: str
    link: str | None = None
    note: str = ""
    tone: str = ""  # "", "success", "warning", "danger": how much the number asks for attention


@dataclass(frozen=True)
class Provider:
    permission: P
    target: str  # "module:function", called with the account


PROVIDERS: tuple[Provider, ...] = (
    Provider(P.CONTACTS_VIEW, "app.wecom.home_cards:credential_cards"),  # every role: WeCom refuses our calls
    Provider(P.CONTACTS_VIEW, "app.contacts.home_cards:customer_cards"),
    Provider(P.CAMPAIGNS_VIEW, "app.campaigns.home_cards:campaign_cards"),
    Provider(P.WELCOME_MANAGE, "app.welcome.home_cards:welcome_cards"),
    Provider(P.RFM_VIEW, "app.rfm.home_cards:rfm_cards"),
    Provider(P.TASKS_VIEW, "app.tasks.home_cards:task_cards"),
    Provider(P.SYNC_RUN, "app.contacts.home_cards:sync_cards"),
    Provider(P.CALLBACKS_MANAGE, "app.wecom.home_cards:callback_cards"),
    Provider(P.TEAM_VIEW, "app.team.scoreboard:home_cards"),
    Provider(P.COMMUNITY_MANAGE, "app.community.home_cards:activity_cards"),
    Provider(P.TRANSFER_MANAGE, "app.transfer.home_cards:transfer_cards"),
)


def _load(target: str) -> Callable:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def cards_for(user) -> list[Card]:
    """Every card this account may see, in the order of PROVIDERS."""
    found: list[Card] = []
    for provider in PROVIDERS:
        if not user.can(provider.permission):
            continue
        try:
            found.extend(_load(provider.target)(user))
        except Exception:  # a broken number must not take the home page down with it
            log.exception("home card provider %s failed", provider.target)
    return found


def number(n: int | None) -> str:
    """A count as operators read it: thousands separated."""
    return f"{n or 0:,}"
