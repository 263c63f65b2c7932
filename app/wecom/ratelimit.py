"""Our budget of WeCom calls per API per corp, in both of WeCom's windows, with a share kept back from bulk work.

WeCom allows each corp 10,000 calls of one API a minute and 150,000 an hour; past either it answers 45009 and
blocks the API for the window (60 s or 60 min; wecom-api.md §10). We budget 9,000 a minute and 140,000 an hour,
counted in per-second (minute window) and per-minute (hour window) buckets over one bucket more than the window,
so every sliding 60 s or 3600 s span stays within the budget. Bulk work (nightly tag write-back, rule tags, bulk
tagging) may use only `bulk_share` of each window: the rest is kept for interactive and event-driven calls such as
a new customer's channel tags. A wait up to `max_wait` (the minute window) is slept; a longer one (the hour
window, or an API WeCom blocked) raises RateBudgetExhausted at once, so a job stops and resumes later instead of
sleeping for an hour. The budget lives in this process, or in Redis so that every process shares it.
"""
from __future__ import annotations

import functools
import logging
import math
import threading
import time
from typing import NamedTuple

from app.wecom.errors import RateBudgetExhausted

log = logging.getLogger("scrm.wecom")

DEFAULT_PER_MINUTE = 9_000   # WeCom: 10,000 calls of one API per corp per minute
DEFAULT_PER_HOUR = 140_000   # WeCom: 150,000 per hour
BULK_SHARE = 0.75            # of each window, for bulk work
MAX_WAIT = 62.0              # seconds `acquire` sleeps at most (a minute window); longer waits raise
MINUTE_BLOCK, HOUR_BLOCK = 60.0, 3600.0
# (name, window seconds, bucket seconds): the window is counted over window/bucket + 1 buckets
WINDOWS = (("minute", 60, 1), ("hour", 3600, 60))


class Budget(NamedTuple):
    """Calls of one API still allowed now, in this minute and this hour."""
    minute: int
    hour: int


def _wait(buckets: dict[int, int], now: float, width: int, span: int, limit: int) -> tuple[float, int]:
    """(seconds until one more call fits, calls used) over the buckets still in the window; old ones removed."""
    current = int(now // width)
    oldest = current - span // width
    for index in [i for i in buckets if i < oldest]:
        del buckets[index]
    used = sum(buckets.values())
    if used < limit:
        return 0.0, used
    freed = 0
    for index in sorted(buckets):
        freed += buckets[index]
        if used - freed < limit:  # the call fits once this bucket has left the window
            return (index + span // width + 1) * width - now, used
    return float(span), used  # limit 0: unreachable for a positive limit


class _Limiter:
    """The shared rules; subclasses keep the counts (`_take`, `_used`, `_block_state`)."""

    def __init__(self, per_minute: int, per_hour: int, bulk_share: float, max_wait: float, sleep):
        if per_minute <= 0 or per_hour <= 0 or not 0 < bulk_share <= 1:
            raise ValueError("per_minute and per_hour must be positive, bulk_share in (0, 1]")
        self.per_minute, self.per_hour, self.bulk_share = per_minute, per_hour, bulk_share
        self.max_wait = max_wait
        self._sleep = sleep

    def limits(self, bulk: bool) -> tuple[int, int]:
        if not bulk:
            return self.per_minute, self.per_hour
        return max(1, int(self.per_minute * self.bulk_share)), max(1, int(self.per_hour * self.bulk_share))

    def acquire(self, key: str, bulk: bool = False) -> float:
        """Count one call of `key`, sleeping while the minute window is full; returns the seconds slept.

        Raises RateBudgetExhausted (no call counted) when WeCom blocked the API or the wait is longer than
        `max_wait`: the hour's budget (or the bulk share of it) is used up."""
        waited = 0.0
        while True:
            wait, window = self._take(key, self.limits(bulk))
            if wait <= 0:
                return waited
            if window == "block" or wait > self.max_wait:
                raise RateBudgetExhausted(key.split(":", 1)[-1], window, wait, bulk)
            self._sleep(wait)
            waited += wait

    def remaining(self, key: str, bulk: bool = True) -> Budget:
        """Calls `key` may still make now in each window (the bulk share when `bulk`); 0 while WeCom blocks it."""
        if self._blocked_for(key) > 0:
            return Budget(0, 0)
        minute, hour = (max(0, limit - n) for limit, n in zip(self.limits(bulk), self._used(key)))
        return Budget(min(minute, hour), hour)

    def blocked(self, key: str) -> float:
        """WeCom answered 45009: stop `key` for its block; returns the seconds until the block ends. Which window
        WeCom blocked is not said: a minute block is assumed, unless a block of this API ended within the last
        minute (the minute was not the cause): then the hour block, 60 min."""
        seconds = self._block(key, MINUTE_BLOCK, HOUR_BLOCK)
        log.warning("wecom %s answered 45009: no calls to it for %.0f s", key, seconds)
        return seconds

    def _take(self, key: str, limits: tuple[int, int]) -> tuple[float, str]:
        raise NotImplementedError

    def _used(self, key: str) -> tuple[int, int]:
        raise NotImplementedError

    def _blocked_for(self, key: str) -> float:
        raise NotImplementedError

    def _block(self, key: str, minute: float, hour: float) -> float:
        """Block `key` for `hour` s if its last block ended within `minute` s before now, else for `minute` s
        (a block still running is kept: calls sent before it began see 45009 too); the seconds it lasts."""
        raise NotImplementedError


class WindowLimiter(_Limiter):
    """The budget of this process (thread-safe); `clock` and `sleep` are injectable for tests."""

    def __init__(self, per_minute: int = DEFAULT_PER_MINUTE, per_hour: int = DEFAULT_PER_HOUR,
                 bulk_share: float = BULK_SHARE, max_wait: float = MAX_WAIT, clock=time.time, sleep=time.sleep):
        super().__init__(per_minute, per_hour, bulk_share, max_wait, sleep)
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
        self._blocks: dict[str, float] = {}  # key -> time its block ends (kept afterwards for escalation)

    def _take(self, key, limits):
        with self._lock:
            now = self._clock()
            if self._blocks.get(key, 0) > now:
                return self._blocks[key] - now, "block"
            counts = self._counts.setdefault(key, ({}, {}))
            for (name, span, width), buckets, limit in zip(WINDOWS, counts, limits):
                wait, _ = _wait(buckets, now, width, span, limit)
                if wait > 0:
                    return wait, name
            for (_, _, width), buckets in zip(WINDOWS, counts):
                index = int(now // width)
                buckets[index] = buckets.get(index, 0) + 1
            return 0.0, ""

    def _used(self, key):
        with self._lock:
            now = self._clock()
            counts = self._counts.setdefault(key, ({}, {}))
            return tuple(_wait(buckets, now, width, span, math.inf)[1]
                         for (_, span, width), buckets in zip(WINDOWS, counts))

    def _blocked_for(self, key):
        with self._lock:
            return max(0.0, self._blocks.get(key, 0) - self._clock())

    def _block(self, key, minute, hour):
        with self._lock:
            now = self._clock()
            end = self._blocks.get(key, -math.inf)
            if end > now:
                return end - now
            self._blocks[key] = now + (hour if now - end <= minute else minute)
            return self._blocks[key] - now


# KEYS: minute buckets (hash), hour buckets (hash), block end (ms). ARGV: minute limit, hour limit.
# Returns {wait_ms, window}; counts the call when wait_ms is 0. Redis' clock, so every process agrees.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local block = tonumber(redis.call('GET', KEYS[3]) or '0') / 1000
if block > now then return {math.ceil((block - now) * 1000), 'block'} end
local windows = {{KEYS[1], 60, 1, tonumber(ARGV[1]), 'minute'}, {KEYS[2], 3600, 60, tonumber(ARGV[2]), 'hour'}}
for _, w in ipairs(windows) do
  local key, span, width, limit = w[1], w[2], w[3], w[4]
  local oldest = math.floor(now / width) - span / width
  local flat = redis.call('HGETALL', key)
  local indexes, counts, used = {}, {}, 0
  for i = 1, #flat, 2 do
    local index = tonumber(flat[i])
    if index < oldest then redis.call('HDEL', key, flat[i]) else
      indexes[#indexes + 1] = index
      counts[index] = tonumber(flat[i + 1])
      used = used + counts[index]
    end
  end
  if used >= limit then
    table.sort(indexes)
    local freed = 0
    for _, index in ipairs(indexes) do
      freed = freed + counts[index]
      if used - freed < limit then return {math.ceil(((index + span / width + 1) * width - now) * 1000), w[5]} end
    end
    return {span * 1000, w[5]}
  end
end
for _, w in ipairs(windows) do
  redis.call('HINCRBY', w[1], tostring(math.floor(now / w[3])), 1)
  redis.call('EXPIRE', w[1], w[2] + 2 * w[3])
end
return {0, ''}
"""

# KEYS: block end (ms). ARGV: minute block s, hour block s. Returns the block's milliseconds left (see _block).
_BLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '-1e18')
if last > now then return last - now end
local minute = tonumber(ARGV[1])
local seconds = (now - last <= minute * 1000) and tonumber(ARGV[2]) or minute
redis.call('SET', KEYS[1], tostring(now + seconds * 1000), 'EX', math.ceil(seconds + minute))
return seconds * 1000
"""


class RedisWindowLimiter(_Limiter):
    """The same budget kept in Redis (atomic Lua scripts, Redis' clock), shared by every process.

    If Redis is unreachable the limiter falls back to an in-process one and logs a warning: a Redis outage slows
    nothing down more than needed and stops no WeCom call."""

    def __init__(self, redis_url: str, per_minute: int = DEFAULT_PER_MINUTE, per_hour: int = DEFAULT_PER_HOUR,
                 bulk_share: float = BULK_SHARE, max_wait: float = MAX_WAIT, prefix: str = "scrm:wecom:rate:",
                 sleep=time.sleep):
        import redis

        super().__init__(per_minute, per_hour, bulk_share, max_wait, sleep)
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        self._take_script = self._redis.register_script(_TAKE)
        self._block_script = self._redis.register_script(_BLOCK)
        self._errors = (redis.RedisError, OSError)
        self._prefix = prefix
        self._fallback = WindowLimiter(per_minute, per_hour, bulk_share, max_wait, sleep=sleep)
        self._degraded = False

    def _keys(self, key: str) -> list[str]:
        return [f"{self._prefix}{key}:{suffix}" for suffix in ("minute", "hour", "block")]

    def _redis_or_fallback(self, run, fallback):
        try:
            result = run()
        except self._errors as exc:
            if not self._degraded:
                log.warning("redis rate limiter unavailable, using an in-process one: %s", exc)
                self._degraded = True
            return fallback()
        if self._degraded:
            log.warning("redis rate limiter available again")
            self._degraded = False
        return result

    def _take(self, key, limits):
        def run():
            wait_ms, window = self._take_script(keys=self._keys(key), args=list(limits))
            return int(wait_ms) / 1000.0, window.decode() if isinstance(window, bytes) else window
        return self._redis_or_fallback(run, lambda: self._fallback._take(key, limits))

    def _used(self, key):
        def run():
            now = float(self._redis.time()[0])
            used = []
            for (_, span, width), name in zip(WINDOWS, self._keys(key)):
                oldest = int(now // width) - span // width
                used.append(sum(int(v) for k, v in self._redis.hgetall(name).items() if int(k) >= oldest))
            return tuple(used)
        return self._redis_or_fallback(run, lambda: self._fallback._used(key))

    def _blocked_for(self, key):
        def run():
            seconds, _ = self._redis.time()
            end = self._redis.get(self._keys(key)[2])
            return max(0.0, int(end or 0) / 1000 - seconds) if end else 0.0
        return self._redis_or_fallback(run, lambda: self._fallback._blocked_for(key))

    def _block(self, key, minute, hour):
        return self._redis_or_fallback(
            lambda: int(self._block_script(keys=[self._keys(key)[2]], args=[minute, hour])) / 1000.0,
            lambda: self._fallback._block(key, minute, hour))


def build_rate_limiter(redis_url: str | None = None, **options) -> _Limiter:
    """A Redis-backed limiter when `redis_url` is given, else an in-process one. Build one per process."""
    if redis_url:
        return RedisWindowLimiter(redis_url, **options)
    return WindowLimiter(**options)


@functools.cache
def default_rate_limiter() -> WindowLimiter:
    """The process-wide in-process limiter used by gateways that were given none."""
    return WindowLimiter()
