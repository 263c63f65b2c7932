"""Pure rules of referral tasks: the `state` naming task and inviter, burst detection, the levels reached."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

MAX_STATE = 30  # WeCom: a contact way's state is at most 30 characters (wecom-api.md §4)
PREFIX = "rf"
_STATE = re.compile(r"^rf([0-9a-z]{1,12})-([0-9a-z]{1,12})$")


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def state_for(task_id: int, participant_id: int) -> str:
    """The contact way's state: "rf<task>-<inviter>" in base 36 (at most 27 characters for ids below 36**12)."""
    if task_id < 1 or participant_id < 1:
        raise ValueError("ids must be positive")
    state = f"{PREFIX}{_base36(task_id)}-{_base36(participant_id)}"
    if len(state) > MAX_STATE:
        raise ValueError("ids too large for WeCom's 30-character state")
    return state


def parse_state(state: str | None) -> tuple[int, int] | None:
    """(task id, participant id) of a referral state, None for any other state."""
    match = _STATE.match(state or "")
    return (int(match[1], 36), int(match[2], 36)) if match else None


def is_burst(recent_credit_times: list[datetime], at: datetime, count: int, minutes: int) -> bool:
    """Whether a credit at `at` makes more than `count` credits to one inviter within `minutes` (this one included)."""
    since = at - timedelta(minutes=minutes)
    return sum(since < t <= at for t in recent_credit_times) + 1 > count


def levels_reached(valid_invites: int, needed: list[int]) -> list[int]:
    """The thresholds of the ladder an inviter with `valid_invites` has reached."""
    return [n for n in needed if n <= valid_invites]


def k_factor(new_customers: int, participants: int) -> float | None:
    """New customers per participant (the viral coefficient), None without participants."""
    return new_customers / participants if participants else None
