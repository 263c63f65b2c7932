"""Our own exceptions for WeCom calls and callbacks, and the errcode -> exception table."""
from __future__ import annotations

import math


class WeComError(Exception):
    """A WeCom API call failed. `message` is a short explanation an operator can read."""

    message = "企业微信接口调用失败"

    def __init__(self, errcode: int | None, errmsg: str = "", api: str = "", message: str | None = None):
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api
        if message is not None:
            self.message = message
        super().__init__(f"{self.message} (api={api or '-'}, errcode={errcode}, errmsg={errmsg})")


class WeComBusy(WeComError):
    message = "企业微信系统繁忙，请稍后重试"


class WeComNetworkError(WeComError):
    message = "无法连接企业微信服务器，请检查网络后重试"


class WeComTimeout(WeComNetworkError):
    message = "企业微信接口响应超时"


class WeComAuthError(WeComError):
    message = "企业微信凭证无效：请检查 CorpID、Secret 是否正确，应用是否被停用"


class WeComRateLimited(WeComError):
    """Too many calls: WeCom answered 45009/45033, or our budget refused the call. `retry_after`: seconds to wait,
    when known."""

    message = "企业微信接口调用过于频繁（频率或并发超限），请稍后重试"

    def __init__(self, errcode: int | None, errmsg: str = "", api: str = "", message: str | None = None,
                 retry_after: float | None = None):
        super().__init__(errcode, errmsg, api, message)
        self.retry_after = retry_after


class RateBudgetExhausted(WeComRateLimited):
    """Our budget of calls for the API is used up for `window` ("minute", "hour", or "block": WeCom blocked it
    after a 45009); nothing was sent to WeCom."""

    def __init__(self, api: str, window: str, retry_after: float, bulk: bool = False):
        minutes = max(1, math.ceil(retry_after / 60))
        if window == "block":
            message = f"企业微信已暂停接口 {api} 的调用（45009 频率超限），约 {minutes} 分钟后恢复"
        else:
            period = "本小时" if window == "hour" else "本分钟"
            share = "（批量任务只用其中一部分，其余留给实时操作）" if bulk else ""
            message = f"{period}接口 {api} 的调用额度已用完{share}，约 {minutes} 分钟后恢复"
        super().__init__(None, f"{window} budget used up", api, message, retry_after)
        self.window, self.bulk = window, bulk


class WeComSecretRejected(WeComAuthError):
    """gettoken refused the CorpID or Secret; the gateway stops asking until the settings change or a pause ends."""

    message = ("企业微信拒绝了当前 Secret：请检查企业 ID (CorpID) 与应用 Secret 是否正确、应用是否已启用；"
               "在修改设置之前，向企业微信获取 access_token 的调用已暂停")


class WeComTokenBlocked(WeComRateLimited):
    """gettoken answered 45009: after repeated bad secrets WeCom blocks the server's IP for about an hour."""

    message = "企业微信已暂时封禁本服务器调用 gettoken，约 1 小时后自动解除；期间企业微信相关功能无法使用"


class WeComPermissionDenied(WeComError):
    message = "应用没有调用该接口的权限，或对象不在应用可见范围内（请检查「客户联系」可调用应用与可见范围）"


class WeComInvalidArgument(WeComError):
    message = "请求参数不合法"


class TooManyRecipients(WeComInvalidArgument):
    message = "单次群发最多 10,000 个客户，请分批创建群发任务"


class WeComMediaRejected(WeComInvalidArgument):
    message = "企业微信不接受这个素材：文件类型或大小不符合要求，或素材 media_id 已失效（临时素材 3 天有效）"


class WeComNotFriend(WeComError):
    message = "该成员与客户之间不存在好友关系"


class WelcomeCodeExpired(WeComError):
    message = "欢迎语凭证（welcome_code）已过期或无效：须在客户添加后 20 秒内发送"


class WelcomeAlreadySent(WeComError):
    message = "该客户已收到欢迎语或已开始聊天，不能再发送欢迎语"


class WelcomeBeingSent(WeComError):
    message = "另一个应用正在向该客户发送欢迎语"


class CallbackSignatureError(Exception):
    """The msg_signature of a WeCom callback does not match: not from WeCom, or a wrong Token."""


class CallbackDecryptError(Exception):
    """A WeCom callback could not be decrypted or parsed (wrong EncodingAESKey/CorpID or a malformed body)."""


TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
# -1 system busy (WeCom: retry at most 3 times) and 45033 concurrency (fewer calls in flight after a pause). Not
# 45009: WeCom blocks the API for the whole window, and only system errors should be retried (wecom-api.md §10).
RETRYABLE_ERRCODES = frozenset({-1, 45033})

_BY_ERRCODE: dict[int, type[WeComError]] = {
    -1: WeComBusy,
    40001: WeComAuthError, 40013: WeComAuthError, 40014: WeComAuthError, 42001: WeComAuthError,
    41001: WeComAuthError, 41002: WeComAuthError, 41004: WeComAuthError,
    45009: WeComRateLimited, 45033: WeComRateLimited,
    48002: WeComPermissionDenied, 60011: WeComPermissionDenied, 60020: WeComPermissionDenied,
    84074: WeComPermissionDenied,
    84061: WeComNotFriend,
    40003: WeComInvalidArgument, 40031: WeComInvalidArgument, 40058: WeComInvalidArgument,
    40068: WeComInvalidArgument, 40071: WeComInvalidArgument, 40096: WeComInvalidArgument,
    41041: WeComInvalidArgument, 41042: WeComInvalidArgument, 41043: WeComInvalidArgument,
    41044: WeComInvalidArgument, 41046: WeComInvalidArgument, 41047: WeComInvalidArgument,
    41048: WeComInvalidArgument, 41049: WeComInvalidArgument, 60111: WeComInvalidArgument,
    600018: WeComInvalidArgument,
    40004: WeComMediaRejected, 40005: WeComMediaRejected, 40006: WeComMediaRejected, 40007: WeComMediaRejected,
    40009: WeComMediaRejected, 40011: WeComMediaRejected, 41006: WeComMediaRejected, 44001: WeComMediaRejected,
    41050: WelcomeCodeExpired,
    41051: WelcomeAlreadySent,
    41096: WelcomeBeingSent,
}


def error_for(errcode: int | None, errmsg: str = "", api: str = "") -> WeComError:
    """The exception for a WeCom errcode (the base WeComError when the code is not in the table)."""
    return _BY_ERRCODE.get(errcode, WeComError)(errcode, errmsg, api)
