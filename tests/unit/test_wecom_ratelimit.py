"""Token buckets: in-process (fake clock) and Redis-backed (skipped without Redis)."""
import threading
import uuid

import pytest

from app.wecom.ratelimit import DEFAULT_PER_MINUTE, RedisTokenBucket, TokenBucket, build_rate_limiter

REDIS_URL = "redis://127.0.0.1:6379/15"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_default_stays_under_wecom_limit_of_10000_per_minute():
    bucket = TokenBucket()
    assert bucket.capacity + bucket.rate * 60 < 10_000
    assert DEFAULT_PER_MINUTE < 10_000


def test_burst_then_waits_for_refill():
    clock = FakeClock()
    bucket = TokenBucket(per_minute=60, burst=3, clock=clock, sleep=clock.sleep)
    assert [bucket.try_acquire("a") for _ in range(3)] == [0, 0, 0]
    assert bucket.try_acquire("a") == pytest.approx(1.0)
    clock.now += 0.5
    assert bucket.try_acquire("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.try_acquire("a") == 0


def test_acquire_sleeps_exactly_until_a_token_is_free():
    clock = FakeClock()
    bucket = TokenBucket(per_minute=120, burst=1, clock=clock, sleep=clock.sleep)
    assert bucket.acquire("a") == 0
    start = clock.now
    assert bucket.acquire("a") == pytest.approx(0.5)
    assert clock.now - start == pytest.approx(0.5)


def test_keys_are_limited_independently():
    clock = FakeClock()
    bucket = TokenBucket(per_minute=60, burst=1, clock=clock, sleep=clock.sleep)
    assert bucket.try_acquire("corp:externalcontact/list") == 0
    assert bucket.try_acquire("corp:externalcontact/list") > 0
    assert bucket.try_acquire("corp:externalcontact/get") == 0


def test_concurrent_threads_never_exceed_the_burst():
    clock = FakeClock()  # time stands still: only the burst can be granted
    bucket = TokenBucket(per_minute=600, burst=50, clock=clock, sleep=clock.sleep)
    granted = []

    def worker():
        granted.extend(1 for _ in range(20) if bucket.try_acquire("k") == 0)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 50


def test_rejects_a_non_positive_rate():
    with pytest.raises(ValueError):
        TokenBucket(per_minute=0)


@pytest.fixture
def redis_url():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc}); the Redis rate limiter is untested")
    return REDIS_URL


def test_redis_bucket_is_shared_between_limiters(redis_url):
    prefix = f"test:{uuid.uuid4().hex}:"
    one = RedisTokenBucket(redis_url, per_minute=60, burst=2, prefix=prefix)
    two = RedisTokenBucket(redis_url, per_minute=60, burst=2, prefix=prefix)  # as if in another process
    assert one.try_acquire("corp:api") == 0
    assert two.try_acquire("corp:api") == 0
    wait = one.try_acquire("corp:api")
    assert 0.9 <= wait <= 1.0
    assert two.try_acquire("corp:other") == 0


def test_redis_bucket_refills_over_time(redis_url):
    bucket = RedisTokenBucket(redis_url, per_minute=6000, burst=1, prefix=f"test:{uuid.uuid4().hex}:")
    assert bucket.acquire("k") == 0
    assert 0 < bucket.acquire("k") <= 0.05  # 100 tokens/s: the next one within ~10 ms


def test_unreachable_redis_falls_back_to_a_local_bucket(caplog):
    bucket = build_rate_limiter("redis://127.0.0.1:1/0", per_minute=60, burst=1)
    assert isinstance(bucket, RedisTokenBucket)
    assert bucket.try_acquire("k") == 0
    assert bucket.try_acquire("k") > 0  # still limited, by the in-process fallback
    assert "in-process" in caplog.text
