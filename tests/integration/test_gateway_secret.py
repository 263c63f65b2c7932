"""A refused Secret as WeCom (the emulator) sees it: gettoken is not hammered, an IP block is not prolonged (§1)."""
import pytest

from app.wecom.errors import WeComAuthError, WeComSecretRejected, WeComTokenBlocked
from app.wecom.gateway import WeComGateway, _TokenCache
from app.wecom.ratelimit import WindowLimiter

API = "externalcontact/get_follow_user_list"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache(clock):
    return _TokenCache(clock=clock)


@pytest.fixture
def limiter(clock):
    """A budget far above what the tests use, on the same clock as the token cache (45009 rests an API)."""
    return WindowLimiter(per_minute=600_000, per_hour=10_000_000, clock=clock)


def make_gateway(emulator, cache, limiter, secret=None, **options):
    options = {"timeout": (1, 2), "rate_limiter": limiter, "max_attempts": 4, "retry_base_delay": 0.001,
               "token_cache": cache, **options}
    return WeComGateway(emulator.corp_id, secret or emulator.secret, api_base=emulator.api_base, **options)


def gettokens(emulator, errcode=None) -> int:
    return emulator.control.call_count("gettoken", errcode)


def test_a_rotated_secret_is_asked_about_once_then_calls_fail_at_once_until_the_settings_change(emulator, cache, limiter):
    old = make_gateway(emulator, cache, limiter)
    follow_users = old.get_follow_user_list()
    new_secret = emulator.control.reset_secret()       # the admin reset the Secret in WeCom's console
    before, api_before = gettokens(emulator), emulator.control.call_count(API)
    for _ in range(50):
        with pytest.raises(WeComSecretRejected) as info:
            old.get_follow_user_list()
        assert info.value.errcode == 40001 and isinstance(info.value, WeComAuthError)
    assert gettokens(emulator) - before == 1 and gettokens(emulator, 40001) == 1
    assert emulator.control.call_count(API) - api_before == 1  # the call that found the old token revoked
    assert old.token_problem().failures == 1 and old.token_problem().retry_in == 60
    fixed = make_gateway(emulator, cache, limiter, secret=new_secret)   # the settings now hold the new secret
    assert fixed.get_follow_user_list() == follow_users
    assert gettokens(emulator, 0) == 2 and fixed.token_problem() is None


def test_the_pause_doubles_up_to_an_hour_and_ends_when_wecom_accepts_the_secret_again(emulator, cache, limiter, clock):
    heard = []
    gw = make_gateway(emulator, cache, limiter, secret="wrong-secret", token_listener=heard.append)
    pauses = []
    for _ in range(8):
        with pytest.raises(WeComSecretRejected):
            gw.get_access_token()
        pauses.append(gw.token_problem().retry_in)
        with pytest.raises(WeComSecretRejected):      # still paused one second before the end: no HTTP
            clock.now += pauses[-1] - 1
            gw.get_access_token()
        clock.now += 1
    assert pauses == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert gettokens(emulator, 40001) == 8 and [p.failures for p in heard] == list(range(1, 9))
    emulator.control.reset_secret("wrong-secret")     # the admin set the secret the console holds
    assert gw.get_access_token() and gw.token_problem() is None and heard[-1] is None


def test_testing_the_connection_asks_gettoken_even_while_paused(emulator, cache, limiter):
    gw = make_gateway(emulator, cache, limiter, secret="wrong-secret")
    with pytest.raises(WeComSecretRejected):
        gw.get_access_token()
    with pytest.raises(WeComSecretRejected):
        gw.get_access_token()
    assert gettokens(emulator) == 1
    with pytest.raises(WeComSecretRejected):
        gw.get_access_token(retry_now=True)
    assert gettokens(emulator) == 2 and gw.token_problem().failures == 2


def test_an_ip_block_on_gettoken_is_not_retried_and_pauses_gettoken(emulator, cache, limiter, clock):
    emulator.control.config(gettoken_block_threshold=3)
    wrong = make_gateway(emulator, cache, limiter, secret="wrong-secret")
    for _ in range(3):
        with pytest.raises(WeComSecretRejected):
            wrong.get_access_token(retry_now=True)
    good = make_gateway(emulator, cache, limiter)  # max_attempts=4, yet the blocked gettoken is asked once
    with pytest.raises(WeComTokenBlocked) as info:
        good.get_follow_user_list()
    assert info.value.errcode == 45009 and "封禁" in info.value.message
    assert gettokens(emulator, 45009) == 1
    for _ in range(20):
        with pytest.raises(WeComTokenBlocked):
            good.get_follow_user_list()
    assert gettokens(emulator, 45009) == 1 and good.token_problem().retry_in == 300
    emulator.control.lift_gettoken_blocks()
    clock.now += 300
    assert good.get_follow_user_list() is not None and good.token_problem() is None
