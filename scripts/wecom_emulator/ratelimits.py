"""WeCom's base frequency limits per API per corp (wecom-api.md §10), counted on the emulator's adjustable clock.

Each corp may call one API at most `rate_per_minute` (10,000) times a minute and `rate_per_hour` (150,000) an hour.
Past either, the API answers 45009 "api freq out of limit": a minute-level block lasts 60 s, an hour-level block
60 min. Choices where the document is silent (UNCONFIRMED), each the harder one for a client:
- the windows slide (any 60 s / any 3600 s), so a client cannot burst twice across a clock minute's edge;
- refused calls count too: a client that keeps calling during a block fills the next window before it opens.
"""
import threading
import time
from collections import deque

from .apicore import ApiError

MINUTE, HOUR = 60, 3600


class Clock:
    """Wall time plus an offset that tests move forward (POST /_emulator/clock) instead of waiting."""

    def __init__(self):
        self._lock = threading.Lock()
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise ValueError("advance must be a number of seconds >= 0")
        with self._lock:
            self.offset += seconds
        return self.offset


class _Api:
    """One API's calls of the last hour in per-second buckets, the running counts, and the block's end."""

    def __init__(self):
        self.seconds: deque[list] = deque()   # [second, calls], oldest first
        self.minute = self.hour = 0
        self.blocked_until = 0.0

    def count(self, second: int) -> None:
        if self.seconds and self.seconds[-1][0] == second:
            self.seconds[-1][1] += 1
        else:
            self.seconds.append([second, 1])
        self.minute += 1
        self.hour += 1

    def slide(self, second: int) -> None:
        """Drop what left the hour; recount the minute (at most 60 buckets)."""
        while self.seconds and self.seconds[0][0] <= second - HOUR:
            self.hour -= self.seconds.popleft()[1]
        minute = 0
        for start, calls in reversed(self.seconds):
            if start <= second - MINUTE:
                break
            minute += calls
        self.minute = minute


class RateLimits:
    """Counts calls per API path (the emulator is one corp) and raises 45009 while a path is blocked."""

    def __init__(self, settings, clock: Clock):
        self._settings, self._clock = settings, clock
        self._lock = threading.Lock()
        self._apis: dict[str, _Api] = {}

    def check(self, path: str) -> None:
        settings = self._settings
        if not settings.rate_limits:
            return
        now = self._clock.now()
        second = int(now)
        with self._lock:
            api = self._apis.setdefault(path, _Api())
            api.slide(second)
            api.count(second)  # refused calls count as well (see the module docstring)
            if now < api.blocked_until:
                raise ApiError(45009, f"{path} blocked for {api.blocked_until - now:.0f} s more")
            if api.hour > settings.rate_per_hour:
                api.blocked_until = now + HOUR
                raise ApiError(45009, f"more than {settings.rate_per_hour} calls of {path} within an hour")
            if api.minute > settings.rate_per_minute:
                api.blocked_until = now + MINUTE
                raise ApiError(45009, f"more than {settings.rate_per_minute} calls of {path} within a minute")

    def clear(self) -> None:
        with self._lock:
            self._apis.clear()

    def status(self) -> dict:
        """Per API: calls in the last minute and hour, and seconds of block left (0: not blocked)."""
        now = self._clock.now()
        with self._lock:
            for api in self._apis.values():
                api.slide(int(now))
            return {path: {"minute": a.minute, "hour": a.hour, "blocked_for": max(0.0, round(a.blocked_until - now, 1))}
                    for path, a in sorted(self._apis.items())}
