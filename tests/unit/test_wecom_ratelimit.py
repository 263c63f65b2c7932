"""The WeCom call budget: both windows, the bulk share, blocks after 45009; in-process (fake clock) and in Redis."""
import threading
import uuid

import pytest

from app.wecom.errors import RateBudgetExhausted, WeComRateLimited
from app.wecom.ratelimit import (DEFAULT_PER_HOUR, DEFAULT_PER_MINUTE, Budget, RedisWindowLimiter, WindowLimiter,
                                 build_rate_limiter)

REDIS_URL = "redis://127.0.0.1:6379/15"
KEY = "corp:externalcontact/mark_tag"


class FakeClock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def limiter(clock, **options):
    return WindowLimiter(**{"per_minute": 20, "per_hour": 50, "bulk_share": 0.5, **options},
                         clock=clock, sleep=clock.sleep)


def sliding_max(times: list[float], span: float) -> int:
    """The most calls within any half-open span of `span` seconds."""
    times, best, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= span:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_defaults_stay_under_wecom_limits():
    assert DEFAULT_PER_MINUTE < 10_000 and DEFAULT_PER_HOUR < 150_000


def test_no_sliding_minute_or_hour_ever_exceeds_the_budget():
    clock = FakeClock()
    lim = limiter(clock, max_wait=3600)
    times = []
    for _ in range(200):
        lim.acquire(KEY)
        times.append(clock.now)
        clock.now += 0.7  # steady caller, faster than the budget
    assert sliding_max(times, 60) <= 20
    assert sliding_max(times, 3600) <= 50
    assert len(times) == 200  # and it made progress: waits, not refusals


def test_the_minute_window_is_waited_for_the_hour_window_is_refused():
    clock = FakeClock()
    lim = limiter(clock)
    for _ in range(20):
        assert lim.acquire(KEY) == 0
    started = clock.now
    assert lim.acquire(KEY) > 0  # slept until the minute let one more through
    assert 55 <= clock.now - started <= 62
    for _ in range(29):
        lim.acquire(KEY)
    with pytest.raises(RateBudgetExhausted) as info:  # 50 this hour: an hour's wait is not slept
        lim.acquire(KEY)
    assert info.value.window == "hour" and info.value.retry_after > 60 and "本小时" in info.value.message
    assert isinstance(info.value, WeComRateLimited)
    assert lim.remaining(KEY, bulk=False) == Budget(0, 0)


def test_bulk_work_leaves_a_reserve_for_interactive_calls():
    clock = FakeClock()
    lim = limiter(clock)
    granted = 0
    with pytest.raises(RateBudgetExhausted) as info:  # the bulk share of the hour (25 of 50) is used up ...
        while True:
            lim.acquire(KEY, bulk=True)  # sleeps through each minute's share of 10
            granted += 1
    assert granted == 25 and info.value.bulk and info.value.window == "hour"
    assert lim.remaining(KEY, bulk=True).hour == 0
    for _ in range(20):  # ... interactive calls still have the rest
        lim.acquire(KEY)
    assert lim.remaining(KEY, bulk=False).hour == 50 - 25 - 20


def test_apis_are_budgeted_independently():
    clock = FakeClock()
    lim = limiter(clock)
    for _ in range(20):
        lim.acquire(KEY)
    assert lim.remaining(KEY, bulk=False).minute == 0
    assert lim.remaining("corp:externalcontact/get", bulk=False) == Budget(20, 50)


def test_a_45009_block_stops_the_api_then_escalates_to_the_hour():
    clock = FakeClock()
    lim = limiter(clock)
    assert lim.blocked(KEY) == 60
    assert lim.blocked(KEY) == pytest.approx(60)  # a second in-flight 45009 keeps the same block
    with pytest.raises(RateBudgetExhausted) as info:
        lim.acquire(KEY)
    assert info.value.window == "block" and info.value.retry_after == pytest.approx(60)
    assert lim.remaining(KEY) == Budget(0, 0)
    clock.now += 61
    assert lim.acquire(KEY) == 0
    assert lim.blocked(KEY) == 3600  # 45009 right after a minute block: the hour was the cause
    clock.now += 3601
    lim.acquire(KEY)
    clock.now += 120
    assert lim.blocked(KEY) == 60  # long after: a minute block again


def test_concurrent_threads_never_exceed_the_budget():
    clock = FakeClock()  # time stands still: nothing refills
    lim = limiter(clock, per_minute=50, per_hour=1000, max_wait=0)
    granted = []

    def worker():
        for _ in range(20):
            try:
                lim.acquire(KEY)
                granted.append(1)
            except RateBudgetExhausted:
                pass

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 50


def test_rejects_nonsense_limits():
    with pytest.raises(ValueError):
        WindowLimiter(per_minute=0)
    with pytest.raises(ValueError):
        WindowLimiter(bulk_share=1.5)


@pytest.fixture
def redis_url():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc}): the shared budget is untested")
    return REDIS_URL


def redis_pair(redis_url, **options):
    prefix = f"test:{uuid.uuid4().hex}:"
    options = {"per_minute": 6, "per_hour": 8, "bulk_share": 0.5, "max_wait": 0, **options}
    return (RedisWindowLimiter(redis_url, prefix=prefix, **options),
            RedisWindowLimiter(redis_url, prefix=prefix, **options))  # as if in another process


def test_redis_budget_is_shared_between_limiters(redis_url):
    one, two = redis_pair(redis_url)
    for lim in (one, two, one, two, one, two):
        lim.acquire(KEY)
    with pytest.raises(RateBudgetExhausted) as info:  # 6 a minute between the two of them
        one.acquire(KEY)
    assert info.value.window == "minute" and 0 < info.value.retry_after <= 62
    assert two.remaining(KEY, bulk=False) == Budget(0, 2)
    assert two.remaining("corp:other", bulk=False) == Budget(6, 8)


def test_redis_bulk_share_and_blocks_are_shared(redis_url):
    one, two = redis_pair(redis_url)
    for _ in range(3):
        one.acquire(KEY, bulk=True)
    with pytest.raises(RateBudgetExhausted):  # half of 6
        two.acquire(KEY, bulk=True)
    two.acquire(KEY)  # the reserve is there for interactive calls
    assert one.blocked(KEY) == pytest.approx(60, abs=0.01)
    with pytest.raises(RateBudgetExhausted) as info:
        two.acquire(KEY)
    assert info.value.window == "block"
    assert two.remaining(KEY) == Budget(0, 0)


def test_unreachable_redis_falls_back_to_a_local_budget(caplog):
    lim = build_rate_limiter("redis://127.0.0.1:1/0", per_minute=1, per_hour=10, max_wait=0)
    assert isinstance(lim, RedisWindowLimiter)
    lim.acquire(KEY)
    with pytest.raises(RateBudgetExhausted):  # still limited, by the in-process fallback
        lim.acquire(KEY)
    assert "in-process" in caplog.text
