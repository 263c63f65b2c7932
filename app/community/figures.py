"""Pure arithmetic of the community pages: seats left behind a code, the nearly-full alert, retention in a group."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

# Members a group holds before a join code passes it by. WeCom's document gives no capacity (wecom-api.md §8);
# joins by QR code stop at 200 (500 is the invitation limit), the figure the emulator uses too: the harder reading.
GROUP_CAPACITY = 200
NEARLY_FULL = 0.9  # a code is nearly full when every group behind it holds 90 % of the capacity or more
RETENTION_DAYS = 7


@dataclass(frozen=True)
class Fill:
    groups: int
    members: int
    seats_left: int
    nearly_full: bool
    full: bool


def fill(member_counts: Iterable[int], capacity: int = GROUP_CAPACITY) -> Fill:
    """How full the groups behind a code are: seats left (never negative per group), nearly full when every group
    holds at least 90 % of the capacity, full when none has a seat left. No groups: full (nobody can join)."""
    counts = list(member_counts)
    seats = sum(max(0, capacity - n) for n in counts)
    nearly = all(n >= capacity * NEARLY_FULL for n in counts)
    return Fill(len(counts), sum(counts), seats, nearly, seats == 0)


@dataclass
class Retention:
    joins: int = 0
    leaves: int = 0
    eligible: int = 0  # joined at least RETENTION_DAYS ago
    kept: int = 0      # ... and still in the group RETENTION_DAYS after joining

    @property
    def rate(self) -> float | None:
        return self.kept / self.eligible if self.eligible else None

    def add(self, joined_at: datetime | None, left_at: datetime | None, now: datetime,
            days: int = RETENTION_DAYS) -> None:
        self.joins += 1
        self.leaves += left_at is not None
        if joined_at is None:
            return
        mark = joined_at + timedelta(days=days)
        if mark <= now:
            self.eligible += 1
            self.kept += left_at is None or left_at > mark
