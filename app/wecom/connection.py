"""The company's WeCom connection built from the settings: the gateway and the callback cipher, cached per process."""
from __future__ import annotations

import functools
import threading
import time

from flask import current_app

from app.core import settings
from app.core.errors import UserError
from app.core.permissions import N_
from app.wecom.gateway import CallbackCipher, WeComGateway
from app.wecom.ratelimit import build_rate_limiter

SETTINGS_TTL = 5.0  # seconds a process trusts its copy of the credentials (other processes see changes this late)


class NotConfigured(UserError):
    """WeCom credentials are missing; the message names them."""


class _Cache:
    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, tuple, object]] = {}

    def get(self, name: str, key: tuple, build):
        with self._lock:
            entry = self._values.get(name)
            if entry and entry[1] == key and time.monotonic() - entry[0] < SETTINGS_TTL:
                return entry[2]
        value = build()
        with self._lock:
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


@functools.cache
def _rate_limiter(redis_url: str | None):
    """One limiter per process (shared through Redis across processes when REDIS_URL is set)."""
    return build_rate_limiter(redis_url)


def gateway() -> WeComGateway:
    """The gateway for the configured corp (raises NotConfigured when credentials are missing)."""
    corp_id, secret = _credentials("wecom.corp_id", "wecom.secret")
    api_base = current_app.config["WECOM_API_BASE"]
    redis_url = current_app.config.get("REDIS_URL")
    return _cache.get("gateway", (corp_id, secret, api_base, redis_url), lambda: WeComGateway(
        corp_id, secret, api_base=api_base, rate_limiter=_rate_limiter(redis_url)))


def callback_cipher() -> CallbackCipher:
    """The cipher for callbacks; cached briefly so acknowledging an event costs no settings queries."""
    probe = _cache.get("cipher_settings", (), lambda: _credentials("wecom.token", "wecom.aes_key", "wecom.corp_id"))
    return _cache.get("cipher", probe, lambda: CallbackCipher(*probe))


def forget() -> None:
    """Drop cached credentials (after settings change in this process)."""
    _cache.clear()
