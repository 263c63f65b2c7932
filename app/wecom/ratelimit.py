"""Token-bucket rate limiters for WeCom calls: per process, or shared across processes through Redis."""
from __future__ import annotations

import functools
import logging
import threading
import time

log = logging.getLogger("scrm.wecom")

# WeCom allows 10,000 calls per minute per API per corp. With a bucket of `per_minute / 60`
# tokens, any 60 s window sees at most 9,000 + 150 calls: safely under the limit.
DEFAULT_PER_MINUTE = 9000


class _Bucket:
    """Shared loop: `acquire` waits until `try_acquire` grants a token for the key."""

    def __init__(self, per_minute: float, burst: float | None, sleep):
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0  # tokens per second
        self.capacity = float(burst if burst is not None else max(1.0, per_minute / 60.0))
        self._sleep = sleep

    def try_acquire(self, key: str) -> float:
        """Take a token and return 0, or return how many seconds to wait before one is available."""
        raise NotImplementedError

    def acquire(self, key: str) -> float:
        """Block until a token for `key` is taken; return the seconds spent waiting."""
        waited = 0.0
        while (wait := self.try_acquire(key)) > 0:
            self._sleep(wait)
            waited += wait
        return waited


class TokenBucket(_Bucket):
    """In-process token bucket per key (thread-safe)."""

    def __init__(self, per_minute: float = DEFAULT_PER_MINUTE, burst: float | None = None,
                 clock=time.monotonic, sleep=time.sleep):
        super().__init__(per_minute, burst, sleep)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)

    def try_acquire(self, key: str) -> float:
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


_REDIS_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return wait
"""


class RedisTokenBucket(_Bucket):
    """Token bucket kept in Redis (one atomic Lua script, Redis' clock), shared by every process.

    If Redis is unreachable the limiter falls back to an in-process bucket and logs a warning,
    so a Redis outage slows nothing down more than needed and stops no WeCom call.
    """

    def __init__(self, redis_url: str, per_minute: float = DEFAULT_PER_MINUTE, burst: float | None = None,
                 prefix: str = "scrm:wecom:rate:", sleep=time.sleep):
        import redis

        super().__init__(per_minute, burst, sleep)
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        self._script = self._redis.register_script(_REDIS_SCRIPT)
        self._errors = (redis.RedisError, OSError)
        self._prefix = prefix
        self._fallback = TokenBucket(per_minute, burst, sleep=sleep)
        self._degraded = False

    def try_acquire(self, key: str) -> float:
        try:
            wait_ms = int(self._script(keys=[self._prefix + key], args=[self.rate, self.capacity]))
        except self._errors as exc:
            if not self._degraded:
                log.warning("redis rate limiter unavailable, using an in-process bucket: %s", exc)
                self._degraded = True
            return self._fallback.try_acquire(key)
        if self._degraded:
            log.warning("redis rate limiter available again")
            self._degraded = False
        return wait_ms / 1000.0


def build_rate_limiter(redis_url: str | None = None, per_minute: float = DEFAULT_PER_MINUTE,
                       burst: float | None = None) -> _Bucket:
    """A Redis-backed limiter when `redis_url` is given, else an in-process one. Build one per process."""
    if redis_url:
        return RedisTokenBucket(redis_url, per_minute, burst)
    return TokenBucket(per_minute, burst)


@functools.cache
def default_rate_limiter() -> TokenBucket:
    """The process-wide in-process limiter used by gateways that were given none."""
    return TokenBucket()
