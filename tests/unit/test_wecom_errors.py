"""Errcode -> exception mapping and the messages an operator reads."""
import pytest

from app.wecom.errors import (
    WeComAuthError, WeComBusy, WeComError, WeComInvalidArgument, WeComNotFriend, WeComPermissionDenied,
    WeComRateLimited, WelcomeAlreadySent, WelcomeBeingSent, WelcomeCodeExpired, error_for,
)


@pytest.mark.parametrize("errcode, cls", [
    (-1, WeComBusy), (40001, WeComAuthError), (40014, WeComAuthError), (42001, WeComAuthError),
    (45009, WeComRateLimited), (45033, WeComRateLimited), (84061, WeComNotFriend),
    (48002, WeComPermissionDenied), (40096, WeComInvalidArgument), (41050, WelcomeCodeExpired),
    (41051, WelcomeAlreadySent), (41096, WelcomeBeingSent),
])
def test_known_errcodes_map_to_their_exception(errcode, cls):
    error = error_for(errcode, "boom", "externalcontact/list")
    assert type(error) is cls
    assert (error.errcode, error.errmsg, error.api) == (errcode, "boom", "externalcontact/list")


def test_unknown_errcode_is_the_base_error_with_details_in_the_text():
    error = error_for(12345, "strange", "user/list")
    assert type(error) is WeComError
    assert "12345" in str(error) and "user/list" in str(error) and "strange" in str(error)


def test_every_error_has_a_chinese_message_for_operators():
    assert "20 秒" in error_for(41050).message
    assert "频繁" in error_for(45009).message
    assert error_for(41051).message != error_for(41050).message
    assert error_for(45009).message in str(error_for(45009, "api freq out of limit", "x"))
