"""The company's WeCom connection built from the settings: the gateway and the callback cipher, cached per process,
and what WeCom last said about the credentials (a refused Secret, a blocked IP), shared by all processes."""
from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

from flask import current_app, has_app_context
from sqlalchemy import event

from app.core import settings
from app.core.errors import UserError
from app.core.permissions import N_
from app.wecom import token_status
from app.wecom.gateway import CallbackCipher, TokenProblem, WeComGateway
from app.wecom.ratelimit import Budget, build_rate_limiter

MARK_TAG = "externalcontact/mark_tag"
SETTINGS_TTL = 5.0  # seconds a process trusts its copy of the credentials (other processes see changes this late)
T = TypeVar("T")


class NotConfigured(UserError):
    """WeCom credentials are missing; the message names them."""


class _Cache:
    """Objects built from the settings. Each one's inputs are read again at most every SETTINGS_TTL seconds, and
    the object is rebuilt only when they changed: a welcome costs no settings queries, and the gateway keeps its
    HTTP connections to WeCom open."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, tuple, object]] = {}  # name -> (inputs read at, inputs, object)

    def get(self, name: str, inputs: Callable[[], tuple], build: Callable[[tuple], T]) -> T:
        entry = self._values.get(name)
        if entry and time.monotonic() - entry[0] < SETTINGS_TTL:
            return entry[2]
        key = inputs()
        with self._lock:
            entry = self._values.get(name)
            value = entry[2] if entry and entry[1] == key else build(key)
            self._values[name] = (time.monotonic(), key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_cache = _Cache()


def _credentials(*keys: str) -> tuple[str, ...]:
    values = tuple(settings.get(k) for k in keys)
    missing = [k for k, v in zip(keys, values) if not v]
    if missing:
        raise NotConfigured(N_("企业微信未配置：%(fields)s"), fields=", ".join(settings.SPECS[k].label for k in missing))
    return values


def _rate_limiter():
    """The app's budget of WeCom calls, one per process (shared through Redis across processes when REDIS_URL is
    set), built from the config the first time it is needed."""
    limiter = current_app.extensions.get("wecom_rate_limiter")
    if limiter is None:
        config = current_app.config
        built = build_rate_limiter(config.get("REDIS_URL"), per_minute=config["WECOM_RATE_PER_MINUTE"],
                                   per_hour=config["WECOM_RATE_PER_HOUR"], bulk_share=config["WECOM_BULK_SHARE"])
        limiter = current_app.extensions.setdefault("wecom_rate_limiter", built)  # a racing thread's stays
    return limiter


def _gateway_inputs() -> tuple:
    return (*_credentials("wecom.corp_id", "wecom.secret"), current_app.config["WECOM_API_BASE"], _rate_limiter())


def _build_gateway(inputs: tuple) -> WeComGateway:
    corp_id, secret, api_base, limiter = inputs
    app = current_app._get_current_object()

    def store(problem: TokenProblem | None) -> None:
        if has_app_context():
            token_status.record_soon(gw.credentials_id, problem)
        else:  # the gateway used on a thread of its own
            with app.app_context():
                token_status.record(gw.credentials_id, problem)

    gw = WeComGateway(corp_id, secret, api_base=api_base, rate_limiter=limiter, token_listener=store)
    return gw


def gateway(bulk: bool = False) -> WeComGateway:
    """The gateway for the configured corp (raises NotConfigured when credentials are missing); `bulk=True` for
    bulk work, which leaves part of each API's budget to interactive and event-driven calls."""
    gw = _cache.get("gateway", _gateway_inputs, _build_gateway)
    return gw.bulk() if bulk else gw


def mark_tag_budget() -> Budget | None:
    """mark_tag calls bulk work may still make this minute and this hour (shown where an operator starts bulk
    tagging); None when WeCom is not configured."""
    try:
        return gateway().budget(MARK_TAG)
    except NotConfigured:
        return None


def credentials_problem() -> token_status.CredentialsProblem | None:
    """Whether WeCom refused the configured credentials (kind REJECTED) or blocked this server's gettoken (BLOCKED),
    as any process last found out; None when all is well as far as is known, or nothing is configured."""
    try:
        credentials_id = gateway().credentials_id
    except (NotConfigured, settings.SettingsError):
        return None
    return token_status.current(credentials_id)


def callback_cipher() -> CallbackCipher:
    """The cipher for callbacks; acknowledging an event costs no settings queries."""
    return _cache.get("cipher", lambda: _credentials("wecom.token", "wecom.aes_key", "wecom.corp_id"),
                      lambda inputs: CallbackCipher(*inputs))


def forget() -> None:
    """Drop cached credentials (done by itself when this process changes a setting)."""
    _cache.clear()


@event.listens_for(settings.Setting, "after_insert")
@event.listens_for(settings.Setting, "after_update")
@event.listens_for(settings.Setting, "after_delete")
def _setting_changed(*_args) -> None:
    forget()
