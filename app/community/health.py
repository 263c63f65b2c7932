"""The group health score (健康度) and silence rule, as pure arithmetic; the 群活跃度 page prints the same definition.

A group's score (0–100) on a day D is the weighted mean of four parts, each 0–100, over windows ending with D:

- 活跃 activity (40 %): the share of members who spoke, over the last 7 days (members who spoke / members, summed
  over the days), where 30 % or more is full marks. WeCom's groupchat/statistic gives this per group OWNER, never
  per group (wecom-api.md §8), so a group's activity is its owner's across all their groups; a group known to be
  silent scores 0.
- 增长 growth (20 %): net members gained in 30 days (joins minus leaves) against the members 30 days ago: no change
  is 50, +10 % or more is 100, −10 % or worse is 0.
- 留存 retention (20 %): of the members who joined 7 to 37 days ago, the share still in the group 7 days after
  joining.
- 退群 leave rate (20 %): members who left in 30 days against the members 30 days ago: none is 100, 10 % or more
  is 0.

A part without data (no figures from WeCom for the owner, nobody joined to retain, an empty group) is left out and
the others are reweighted, so a score always rests on what is known. An owner's score is the mean of their groups'
scores weighted by members (an empty group counts as one).

Silence (沉默群, no member spoke for 7 days): WeCom tells per owner and day how many of the owner's groups had a
message (chat_has_msg), not which. Over 7 days at most the sum of those counts spoke, so at least
groups − sum were silent; a group is flagged silent only when that is all of the owner's groups (no message in any
of them for 7 days). When some group of the owner had messages, which ones stayed silent cannot be known: the group
is "unknown", and the owner shows "at least N silent". A group younger than 7 days, or an owner with a day missing
from the statistics, is not judged.
"""
from __future__ import annotations

from dataclasses import dataclass

WEIGHTS = {"activity": 40, "growth": 20, "retention": 20, "leave": 20}
FULL_ACTIVITY = 0.30     # speakers / members at which activity is full marks
GROWTH_SPAN = 0.10       # ± this net change in 30 days is 100 / 0 (no change: 50)
LEAVE_ZERO = 0.10        # this leave rate in 30 days or more scores 0
SILENT_DAYS = 7
HEALTHY, WATCH = 70, 40  # bands: ≥ 70 健康, 40–69 一般, < 40 需关注

SILENT, NOT_SILENT = 1, 0  # a group's silence; None: cannot be known from WeCom's figures


def _clamp(x: float) -> float:
    return max(0.0, min(100.0, x))


def activity_part(speakers: int, members: int) -> float | None:
    return _clamp(speakers / members / FULL_ACTIVITY * 100) if members else None


def growth_part(joins: int, leaves: int, base: int) -> float | None:
    if not base and not joins:
        return None
    return _clamp(50 + (joins - leaves) / max(base, 1) / GROWTH_SPAN * 50)


def retention_part(kept: int, eligible: int) -> float | None:
    return kept / eligible * 100 if eligible else None


def leave_part(leaves: int, base: int) -> float | None:
    if not base:
        return None
    return _clamp(100 - leaves / base / LEAVE_ZERO * 100)


@dataclass(frozen=True)
class Parts:
    activity: float | None
    growth: float | None
    retention: float | None
    leave: float | None

    def score(self) -> int | None:
        """The weighted mean of the parts that have data, rounded; None when none has."""
        known = {k: getattr(self, k) for k in WEIGHTS if getattr(self, k) is not None}
        if not known:
            return None
        weight = sum(WEIGHTS[k] for k in known)
        return round(sum(v * WEIGHTS[k] for k, v in known.items()) / weight)


def band(score: int | None) -> str:
    """healthy / fair / watch, or "" without a score."""
    if score is None:
        return ""
    return "healthy" if score >= HEALTHY else "fair" if score >= WATCH else "watch"


def silent_at_least(days: list[tuple[int, int]]) -> int | None:
    """How many of an owner's groups surely had no message over `days` ((chat_has_msg, chat_total) per day, the
    last day's total counting); None when a day is missing."""
    if len(days) < SILENT_DAYS:
        return None
    return max(0, days[-1][1] - sum(had for had, _ in days))


def silence(days: list[tuple[int, int]], old_enough: bool) -> int | None:
    """A group's silence from its owner's figures over the last 7 days (see the module docstring)."""
    least = silent_at_least(days) if old_enough else None
    if least is None:
        return None
    groups = days[-1][1]
    if groups and least >= groups:
        return SILENT
    if groups == 1 or any(total and had >= total for had, total in days):
        return NOT_SILENT  # the only group had a message, or on some day every group of the owner had one
    return None
