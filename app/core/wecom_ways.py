"""What the console's WeCom QR configs (渠道活码 contact ways, 群活码 join ways) share: a name, a state unique among
their kind, and deletion that takes a config WeCom no longer knows as deleted."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select

from app.extensions import db
from app.wecom.errors import WeComError

MAX_NAME = 64
MAX_STATE = 30          # WeCom: state ≤ 30 characters
MAX_REMARK = 30         # the part of the name WeCom keeps as the config's remark
UNKNOWN_CONFIG = 41044  # WeCom: invalid config_id


@dataclass(frozen=True)
class Wording:
    """The msgids (marked N_ by the caller) a kind of config refuses a name or state with."""
    name: str   # missing or longer than MAX_NAME
    state: str  # missing or longer than MAX_STATE
    taken: str  # another config of the kind has the state


def new_state(prefix: str) -> str:
    """A fresh state suggestion for a new config (rename it after the store or channel)."""
    return prefix + secrets.token_hex(4)


def check_name_and_state(errors: dict, model, current, name: str, state: str, wording: Wording) -> None:
    """Put into `errors` what is wrong with the name and the state of `current` (None: a new config) of `model`."""
    if not name.strip() or len(name) > MAX_NAME:
        errors["name"] = wording.name
    if not state or len(state) > MAX_STATE:
        errors["state"] = wording.state
    elif db.session.scalar(select(model.id).where(model.state == state, model.id != (current.id if current else -1))):
        errors["state"] = wording.taken


def delete_in_wecom(delete: Callable[[str], object], config_id: str) -> None:
    """Delete the config in WeCom; one WeCom no longer knows counts as deleted."""
    try:
        delete(config_id)
    except WeComError as exc:
        if exc.errcode != UNKNOWN_CONFIG:
            raise
