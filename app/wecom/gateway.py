"""The only door to WeCom: wechatpy with token cache, rate limit, bounded retries, logging, errors; callback crypto."""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import requests
import xmltodict
from wechatpy.enterprise import WeChatClient, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException

from app.wecom.errors import (
    RETRYABLE_ERRCODES, TOKEN_ERRCODES, CallbackDecryptError, CallbackSignatureError, TooManyRecipients,
    WeComAuthError, WeComError, WeComInvalidArgument, WeComNetworkError, WeComNotFriend, WeComRateLimited,
    WeComSecretRejected, WeComTimeout, WeComTokenBlocked, error_for,
)
from app.wecom.ratelimit import Budget, default_rate_limiter

log = logging.getLogger("scrm.wecom")

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com/cgi-bin/"
MAX_TEMPLATE_RECIPIENTS = 10_000  # add_msg_template: external_userid per call
MAX_USERIDS_PER_BATCH = 100       # batch/get_by_user: userid_list per call
MAX_OWNERS_PER_GROUP_LIST = 100   # groupchat/list: owner_filter.userid_list per call
MAX_APP_MESSAGE_USERS = 1000      # message/send: members in touser per call
MAX_TRANSFER_ITEMS = 100          # transfer_customer / groupchat/transfer: customers or groups per call

Observer = Callable[[str, int | None, float], None]


@dataclass(frozen=True)
class TokenProblem:
    """Why gettoken is paused for a set of credentials: `error` is WeComSecretRejected or WeComTokenBlocked."""

    error: WeComError
    failures: int     # refusals in a row
    retry_in: float   # seconds until gettoken is tried again


# gettoken refusals pause further gettokens for the same credentials: (first pause, longest pause) in seconds,
# doubling in between. WeCom blocks an IP for an hour after about 2000 bad-secret gettokens in an hour (wecom-api.md
# §1), and before this every failing call fetched again. A rejected secret is asked about again after 1, 2, 4 ...
# minutes, then hourly: 6 gettokens in the first hour and one an hour after that, per process, far below
# the block even with many workers, while a fix made in the WeCom console (app re-enabled) is noticed within
# minutes; new credentials in the settings are tried at once. During an IP block (45009) nothing succeeds for
# about an hour, so the pauses start at 5 minutes.
PAUSES: dict[type[WeComError], tuple[float, float]] = {WeComSecretRejected: (60.0, 3600.0),
                                                      WeComTokenBlocked: (300.0, 3600.0)}
TokenListener = Callable[[TokenProblem | None], None]


class _TokenCache:
    """Access tokens per (api_base, corp_id, secret), shared by the gateways of a process; one fetch at a time.

    A gettoken refused with WeComSecretRejected or WeComTokenBlocked pauses gettoken for that key (see PAUSES):
    until the pause ends, asking for a token raises the same kind of error at once, without any HTTP call.
    `clock` (monotonic seconds) is injectable so tests need not wait.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._fetch_locks: dict[tuple, threading.Lock] = {}
        self._tokens: dict[tuple, tuple[str, float]] = {}  # key -> (token, clock time to refresh at)
        self._refusals: dict[tuple, tuple[WeComError, int, float, float]] = {}  # key -> (error, failures, pause, until)

    def _valid(self, key) -> str | None:
        entry = self._tokens.get(key)
        return entry[0] if entry and self._clock() < entry[1] else None

    def problem(self, key) -> TokenProblem | None:
        """The refusal pausing gettoken for `key`, if any (kept after the pause ends until a fetch succeeds)."""
        refusal = self._refusals.get(key)
        if refusal is None:
            return None
        error, failures, _pause, until = refusal
        return TokenProblem(error, failures, max(0.0, until - self._clock()))

    def _raise_if_paused(self, key) -> None:
        refusal = self._refusals.get(key)
        if refusal and self._clock() < refusal[3]:
            error = refusal[0]
            raise type(error)(error.errcode, error.errmsg, error.api) from None

    def get(self, key, fetch: Callable[[], tuple[str, int]], notify: TokenListener | None = None, *,
            retry_now: bool = False) -> str:
        """A valid token for `key`, fetched when missing; `notify(problem or None)` after every fetch.
        `retry_now` fetches even while a refusal pauses gettoken (an operator testing the connection)."""
        token = self._valid(key)
        if token:
            return token
        if not retry_now:
            self._raise_if_paused(key)
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(key, threading.Lock())
        with fetch_lock:
            token = self._valid(key)
            if token:
                return token
            if not retry_now:
                self._raise_if_paused(key)  # another thread was refused while this one waited
            try:
                token, expires_in = fetch()
            except tuple(PAUSES) as exc:
                self._refuse(key, exc)
                self._notify(notify, self.problem(key))
                raise
            self._refusals.pop(key, None)
            # Refresh shortly before expiry: 5 minutes early, or 10 % early for short-lived tokens.
            self._tokens[key] = (token, self._clock() + expires_in - min(300.0, expires_in / 10))
        self._notify(notify, None)
        return token

    def _refuse(self, key, error: WeComError) -> None:
        first, longest = PAUSES[type(error)]
        previous = self._refusals.get(key)
        same_kind = previous is not None and type(previous[0]) is type(error)
        failures, pause = (previous[1] + 1, min(longest, previous[2] * 2)) if same_kind else (1, first)
        self._refusals[key] = (error, failures, pause, self._clock() + pause)
        log.warning("wecom gettoken refused (errcode=%s, %d in a row): no gettoken for %.0f s unless the "
                    "credentials change", error.errcode, failures, pause)

    @staticmethod
    def _notify(notify: TokenListener | None, problem: TokenProblem | None) -> None:
        if notify is None:
            return
        try:
            notify(problem)
        except Exception:
            log.exception("wecom token listener %r failed", notify)

    def invalidate(self, key, token: str) -> None:
        """Forget `token` unless another thread already replaced it."""
        with self._lock:
            if key in self._tokens and self._tokens[key][0] == token:
                del self._tokens[key]


_TOKENS = _TokenCache()


class _Client(WeChatClient):
    """wechatpy's client pointed at `api_base`, taking its token from our cache, with its own retry off."""

    def __init__(self, corp_id: str, secret: str, api_base: str, timeout, token: Callable[[], str]):
        # auto_retry=False: wechatpy's token retry recurses without limit; the gateway refreshes once.
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base
        self._token = token
        # The environment's proxy and CA bundle, read once: requests would read every variable again on each
        # call (over a millisecond of CPU, most of a welcome's HTTP cost). WeCom needs no .netrc credentials.
        session = self._http
        environment = session.merge_environment_settings(api_base, {}, None, None, None)
        session.proxies, session.verify = environment["proxies"], environment["verify"]
        session.trust_env = False

    @property
    def access_token(self) -> str:
        return self._token()

    def fetch_access_token(self) -> dict:
        # wechatpy 1.8.18 hard-codes https://qyapi.weixin.qq.com/cgi-bin/gettoken and sends it without a
        # timeout. Params as a list of pairs make `_request` leave out the access_token query parameter.
        return self.get("gettoken", params=[("corpid", self.corp_id), ("corpsecret", self.secret)])

    def _decode_result(self, res):
        try:
            return json.loads(res.content.decode("utf-8", "ignore"), strict=False)
        except ValueError:
            raise WeChatClientException(None, f"HTTP {res.status_code}: response is not JSON",
                                        client=self, request=res.request, response=res) from None


def _strip(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("errcode", "errmsg")}


def _present(**fields) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


CONTACT_WAY_WINDOW = 90 * 86400  # list_contact_way: the longest window of one listing (wecom-api.md §4)


def iterate_pages(page: Callable[..., tuple[list, str]], **kwargs) -> Iterator:
    """Yield every item of a cursor-paged WeCom list, calling `page(cursor=..., **kwargs)` until the cursor is empty."""
    cursor = ""
    while True:
        items, next_cursor = page(cursor=cursor, **kwargs)
        yield from items
        if not next_cursor:
            return
        if next_cursor == cursor:
            raise WeComError(None, f"cursor {cursor!r} did not advance", message="企业微信分页游标没有前进，已停止翻页")
        cursor = next_cursor


class WeComGateway:
    """Typed methods for the WeCom APIs the product uses; every one goes through `_call`.

    `timeout` is (connect, read) seconds. Errcodes -1/45033 and network errors are retried up to
    `max_attempts` calls in all, waiting `retry_base_delay * 2**n` (capped, with jitter). A rejected token
    (40001/40014/42001) is refreshed once. Calls that create something are not retried after a read timeout.
    A refused gettoken pauses further ones (see `_TokenCache`); `token_listener(problem or None)` hears after every
    gettoken whether the credentials work.
    Every call first takes one from the rate limiter's budget of its API (see app/wecom/ratelimit.py); 45009 is not
    retried: it raises WeComRateLimited with `retry_after`, and the limiter refuses the API until WeCom's block
    ends. `bulk()` is the same gateway for bulk work, which may use only part of each window's budget.
    """

    def __init__(self, corp_id: str, secret: str, api_base: str = DEFAULT_API_BASE, timeout=(3.05, 10.0),
                 rate_limiter=None, max_attempts: int = 4, retry_base_delay: float = 0.5,
                 retry_max_delay: float = 8.0, observers: Iterable[Observer] = (),
                 token_cache: _TokenCache | None = None, token_listener: TokenListener | None = None):
        if not corp_id or not secret:
            raise ValueError("WeCom corp_id and secret are required")
        api_base = api_base if api_base.endswith("/") else api_base + "/"
        self.corp_id = corp_id
        self._token_key = (api_base, corp_id, hashlib.sha256(secret.encode()).hexdigest())
        self._tokens = token_cache or _TOKENS
        self._token_listener = token_listener
        self._client = _Client(corp_id, secret, api_base, timeout, self._token)
        self._limiter = rate_limiter or default_rate_limiter()
        self._max_attempts = max(1, max_attempts)
        self._base_delay = retry_base_delay
        self._max_delay = retry_max_delay
        self._observers = list(observers)
        self._bulk = False

    def bulk(self) -> WeComGateway:
        """This gateway for bulk work (nightly write-back, rule tags, bulk tagging): its calls may use only the bulk
        share of each window, so interactive and event-driven calls of the same API always find budget left;
        when the share is used up a call raises RateBudgetExhausted instead of waiting long."""
        twin = copy.copy(self)
        twin._bulk = True
        return twin

    def budget(self, api: str, bulk: bool = True) -> Budget:
        """Calls of `api` still allowed now in this minute and this hour (the bulk share by default)."""
        return self._limiter.remaining(f"{self.corp_id}:{api}", bulk=bulk)

    def add_observer(self, observer: Observer) -> None:
        """Call `observer(api, errcode, ms)` after every HTTP call to WeCom (errcode None: no WeCom answer)."""
        self._observers.append(observer)

    # -- shared mechanism -------------------------------------------------------------------------

    @property
    def credentials_id(self) -> str:
        """Names this gateway's (api_base, corp_id, secret) without revealing the secret: for stored status."""
        return hashlib.sha256("\n".join(self._token_key).encode()).hexdigest()

    def token_problem(self) -> TokenProblem | None:
        """Why this process pauses gettoken for these credentials (None: no refusal since the last success)."""
        return self._tokens.problem(self._token_key)

    def _token(self, retry_now: bool = False) -> str:
        return self._tokens.get(self._token_key, self._fetch_token, self._token_listener, retry_now=retry_now)

    def _fetch_token(self) -> tuple[str, int]:
        try:
            result = self._call("gettoken", self._client.fetch_access_token, with_token=False)
        except WeComAuthError as exc:  # 40001/40013/41002/41004: the secret or corp id is wrong, reset or disabled
            raise WeComSecretRejected(exc.errcode, exc.errmsg, exc.api) from None
        except WeComRateLimited as exc:
            if exc.errcode != 45009:
                raise
            raise WeComTokenBlocked(exc.errcode, exc.errmsg, exc.api) from None
        return result["access_token"], int(result.get("expires_in", 7200))

    def _call(self, api: str, invoke: Callable[[], Any], *, idempotent: bool = True, with_token: bool = True):
        """Run one API call: rate limit, token, retries with backoff, one token refresh, logging, our errors."""
        attempt, refreshed, key = 0, False, f"{self.corp_id}:{api}"
        while True:
            attempt += 1
            token = self._token() if with_token else None
            self._limiter.acquire(key, bulk=self._bulk)  # RateBudgetExhausted when the wait would be long
            started = time.monotonic()
            try:
                result = invoke()
            except WeChatClientException as exc:
                self._record(api, exc.errcode, started)
                if with_token and exc.errcode in TOKEN_ERRCODES and not refreshed:
                    self._tokens.invalidate(self._token_key, token)
                    refreshed, attempt = True, attempt - 1  # the refresh does not use up a retry
                    continue
                if exc.errcode == 45009:  # blocked for the window: no retry, and no call of it here until it ends
                    rest = self._limiter.blocked(key)
                    raise WeComRateLimited(45009, str(exc.errmsg), api, retry_after=rest) from None
                error, transient = self._client_error(exc, api)
                if api == "gettoken" and isinstance(error, WeComRateLimited):
                    transient = False  # §1: pressing gettoken while WeCom limits it risks the IP block: not even 45033
            except requests.RequestException as exc:
                self._record(api, None, started)
                error = (WeComTimeout if isinstance(exc, requests.Timeout) else WeComNetworkError)(
                    None, type(exc).__name__, api)  # str(exc) may hold the URL with token or secret
                transient = idempotent or isinstance(exc, requests.ConnectTimeout)
            else:
                self._record(api, 0, started)
                return result
            if not transient or attempt >= self._max_attempts:
                raise error from None
            delay = min(self._max_delay, self._base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            log.info("wecom %s retry %d/%d in %.3fs after errcode=%s", api, attempt, self._max_attempts - 1,
                     delay, error.errcode)
            time.sleep(delay)

    @staticmethod
    def _client_error(exc: WeChatClientException, api: str) -> tuple[WeComError, bool]:
        if exc.errcode is not None:
            return error_for(exc.errcode, str(exc.errmsg), api), exc.errcode in RETRYABLE_ERRCODES
        status = exc.response.status_code if exc.response is not None else None
        errmsg = exc.errmsg or f"HTTP {status}"
        return WeComNetworkError(None, errmsg, api), status is not None and (status >= 500 or status == 429)

    def _record(self, api: str, errcode: int | None, started: float) -> None:
        ms = (time.monotonic() - started) * 1000
        log.log(logging.INFO if errcode == 0 else logging.WARNING, "wecom %s errcode=%s ms=%.1f", api, errcode, ms)
        for observer in self._observers:
            try:
                observer(api, errcode, ms)
            except Exception:
                log.exception("wecom observer %r failed", observer)

    def _get(self, api: str, **params) -> dict:
        return self._call(api, lambda: self._client.get(api, params=_present(**params)))

    def _post(self, api: str, data: dict, *, idempotent: bool = True) -> dict:
        return self._call(api, lambda: self._client.post(api, data=data), idempotent=idempotent)

    def _post_page(self, api: str, data: dict, items_key: str) -> tuple[list, str]:
        result = self._post(api, data)
        return result.get(items_key) or [], result.get("next_cursor") or ""

    # -- token, staff, departments ----------------------------------------------------------------

    def get_access_token(self, retry_now: bool = False) -> str:
        """The cached access token (fetched with gettoken when missing or about to expire). `retry_now` asks
        gettoken even while an earlier refusal pauses it: for an operator's 测试连接, never for automatic work."""
        return self._token(retry_now)

    def list_departments(self, department_id: int | None = None) -> list[dict]:
        """The department and every department below it in the app's visible range (the whole tree by default)."""
        return self._call("department/list", lambda: self._client.department.get(department_id))

    # WeCom ignores fetch_child now (wecom-api.md §9): a member list is one department's own members, so the
    # methods below take no such flag; walk the departments to read everyone.

    def list_users(self, department_id: int) -> list[dict]:
        """The department's own members with their details (not those of the departments below it)."""
        return self._call("user/list", lambda: self._client.user.list(department_id))

    def list_users_simple(self, department_id: int) -> list[dict]:
        """The department's own members: userid, name, department, open_userid."""
        return self._call("user/simplelist", lambda: self._client.user.list(department_id, simple=True))

    def get_user(self, userid: str) -> dict:
        """One member's details; WeComPermissionDenied (60011) when they are outside the app's visible range."""
        return _strip(self._get("user/get", userid=userid))

    # -- customers ----------------------------------------------------------------------------------

    def get_follow_user_list(self) -> list[str]:
        api = "externalcontact/get_follow_user_list"
        return self._call(api, self._client.external_contact.get_follow_user_list).get("follow_user") or []

    def list_external_contacts(self, userid: str) -> list[str]:
        """external_userids of a member's customers; a member without customers (84061) gives []."""
        try:
            result = self._call("externalcontact/list", lambda: self._client.external_contact.list(userid))
        except WeComNotFriend:
            return []
        return result.get("external_userid") or []

    def get_external_contact(self, external_userid: str) -> dict:
        """{"external_contact": {...}, "follow_user": [...]}, following the cursor over >500 follow users."""
        result = self._get("externalcontact/get", external_userid=external_userid)
        follow_users = list(result.get("follow_user") or [])
        while result.get("next_cursor"):
            result = self._get("externalcontact/get", external_userid=external_userid, cursor=result["next_cursor"])
            follow_users += result.get("follow_user") or []
        return {"external_contact": result["external_contact"], "follow_user": follow_users}

    def batch_get_by_user_page(self, userids: list[str], cursor: str = "", limit: int = 100) -> tuple[list, str]:
        """One page of {"external_contact", "follow_info"} for at most 100 members: (items, next_cursor)."""
        if len(userids) > MAX_USERIDS_PER_BATCH:
            raise WeComInvalidArgument(None, f"{len(userids)} userids > {MAX_USERIDS_PER_BATCH}",
                                       "externalcontact/batch/get_by_user",
                                       message="批量获取客户详情每次最多 100 个成员")
        data = {"userid_list": list(userids), "cursor": cursor, "limit": limit}
        return self._post_page("externalcontact/batch/get_by_user", data, "external_contact_list")

    def iter_contacts_by_users(self, userids: Iterable[str], limit: int = 100) -> Iterator[dict]:
        """Every customer relation of the members, 100 members per call chain."""
        userids = list(userids)
        for start in range(0, len(userids), MAX_USERIDS_PER_BATCH):
            chunk = userids[start:start + MAX_USERIDS_PER_BATCH]
            yield from iterate_pages(self.batch_get_by_user_page, userids=chunk, limit=limit)

    def update_remark(self, userid: str, external_userid: str, *, remark: str | None = None,
                      description: str | None = None, remark_company: str | None = None,
                      remark_mobiles: list[str] | None = None, remark_pic_mediaid: str | None = None) -> None:
        data = _present(userid=userid, external_userid=external_userid, remark=remark, description=description,
                        remark_company=remark_company, remark_mobiles=remark_mobiles,
                        remark_pic_mediaid=remark_pic_mediaid)
        self._post("externalcontact/remark", data)

    # -- corp tags ----------------------------------------------------------------------------------

    def get_corp_tag_list(self, tag_ids: list[str] | None = None, group_ids: list[str] | None = None) -> list[dict]:
        """Tag groups with their tags (all of them when no ids are given)."""
        data = _present(tag_id=tag_ids or None, group_id=group_ids or None)
        return self._post("externalcontact/get_corp_tag_list", data).get("tag_group") or []

    def add_corp_tag(self, tags: list[dict], group_id: str | None = None, group_name: str | None = None,
                     order: int | None = None) -> dict:
        """Add tags ([{"name", "order"?}]) to a group by id, or by name (created if missing); returns the group."""
        return self._call("externalcontact/add_corp_tag", lambda: self._client.external_contact.add_corp_tag(
            group_id, group_name, order, tags))["tag_group"]

    def edit_corp_tag(self, tag_or_group_id: str, name: str | None = None, order: int | None = None) -> None:
        self._call("externalcontact/edit_corp_tag",
                   lambda: self._client.external_contact.edit_corp_tag(tag_or_group_id, name, order))

    def del_corp_tag(self, tag_ids: list[str] | None = None, group_ids: list[str] | None = None) -> None:
        self._call("externalcontact/del_corp_tag",
                   lambda: self._client.external_contact.del_corp_tag(tag_ids or None, group_ids or None))

    def mark_tag(self, userid: str, external_userid: str, add_tag: list[str] = (), remove_tag: list[str] = ()) -> None:
        self._call("externalcontact/mark_tag", lambda: self._client.external_contact.mark_tag(
            userid, external_userid, list(add_tag), list(remove_tag)))

    # -- contact ways (渠道活码) -----------------------------------------------------------------------

    def add_contact_way(self, type: int, scene: int, **options) -> dict:
        """Create a 「联系我」 config (options: state, user, party, remark, skip_verify, ...); {"config_id", "qr_code"}."""
        data = {"type": type, "scene": scene, **options}
        return _strip(self._post("externalcontact/add_contact_way", data, idempotent=False))

    def get_contact_way(self, config_id: str) -> dict:
        return self._call("externalcontact/get_contact_way",
                          lambda: self._client.external_contact.get_contact_way(config_id))["contact_way"]

    def update_contact_way(self, config_id: str, **changes) -> None:
        """Change only the given fields (wechatpy's version always resets skip_verify)."""
        self._post("externalcontact/update_contact_way", {"config_id": config_id, **changes})

    def del_contact_way(self, config_id: str) -> None:
        self._call("externalcontact/del_contact_way",
                   lambda: self._client.external_contact.del_contact_way(config_id))

    def list_contact_way_page(self, start_time: int | None = None, end_time: int | None = None,
                              cursor: str = "", limit: int = 100) -> tuple[list, str]:
        """([{"config_id"}], next_cursor); WeCom defaults to the last 90 days."""
        data = _present(start_time=start_time, end_time=end_time, cursor=cursor, limit=limit)
        return self._post_page("externalcontact/list_contact_way", data, "contact_way")

    def iter_contact_ways(self, start_time: int | None = None, end_time: int | None = None) -> Iterator[dict]:
        """Configs created from `start_time` to `end_time` (epoch seconds; WeCom's default: the last 90 days), one
        90-day window after another: WeCom lists at most 90 days a call."""
        if start_time is None:
            yield from iterate_pages(self.list_contact_way_page, end_time=end_time)
            return
        end_time = int(time.time()) if end_time is None else end_time
        while start_time <= end_time:
            window_end = min(start_time + CONTACT_WAY_WINDOW, end_time)
            yield from iterate_pages(self.list_contact_way_page, start_time=start_time, end_time=window_end)
            start_time = window_end + 1

    # -- group join codes (群活码) and group welcome templates (入群欢迎语), wecom-api.md §13 -----------------

    def add_join_way(self, config: dict) -> str:
        """Create a 「加入群聊」 config (scene, chat_id_list ≤5, state, auto_create_room, ...); its config_id."""
        return self._post("externalcontact/groupchat/add_join_way", config, idempotent=False)["config_id"]

    def get_join_way(self, config_id: str) -> dict:
        """The config as WeCom has it, with `qr_code`; `chat_id_list` may hold groups WeCom opened itself."""
        return self._post("externalcontact/groupchat/get_join_way", {"config_id": config_id})["join_way"]

    def update_join_way(self, config_id: str, config: dict) -> None:
        """Replace the whole config (send every field: what is left out may fall back to its default)."""
        self._post("externalcontact/groupchat/update_join_way", {"config_id": config_id, **config})

    def del_join_way(self, config_id: str) -> None:
        self._post("externalcontact/groupchat/del_join_way", {"config_id": config_id})

    def add_group_welcome_template(self, content: dict, notify: bool) -> str:
        """`content`: {"text": {"content"}, and at most one of image/link/miniprogram/file/video}; its template_id."""
        data = {**content, "notify": int(notify)}
        return self._post("externalcontact/group_welcome_template/add", data, idempotent=False)["template_id"]

    def edit_group_welcome_template(self, template_id: str, content: dict) -> None:
        """Replace the template's whole content."""
        self._post("externalcontact/group_welcome_template/edit", {"template_id": template_id, **content})

    def get_group_welcome_template(self, template_id: str) -> dict:
        return _strip(self._post("externalcontact/group_welcome_template/get", {"template_id": template_id}))

    def del_group_welcome_template(self, template_id: str) -> None:
        self._post("externalcontact/group_welcome_template/del", {"template_id": template_id})

    # -- customer groups ----------------------------------------------------------------------------

    def list_group_chats_page(self, status_filter: int = 0, owner_userids: list[str] | None = None,
                              cursor: str = "", limit: int = 1000) -> tuple[list, str]:
        """([{"chat_id", "status"}], next_cursor)."""
        result = self._call("externalcontact/groupchat/list", lambda: self._client.external_contact_group_chat.list(
            status_filter, owner_userids, cursor or None, limit))
        return result.get("group_chat_list") or [], result.get("next_cursor") or ""

    def iter_group_chats(self, status_filter: int = 0, owner_userids: list[str] | None = None) -> Iterator[dict]:
        return iterate_pages(self.list_group_chats_page, status_filter=status_filter, owner_userids=owner_userids)

    def get_group_chat(self, chat_id: str, need_name: bool = True) -> dict:
        data = {"chat_id": chat_id, "need_name": int(need_name)}
        return self._post("externalcontact/groupchat/get", data)["group_chat"]

    def group_chat_statistic(self, day_begin_time: int, day_end_time: int | None = None,
                             owner_userids: list[str] | None = None, order_by: int = 1, order_asc: int = 0,
                             offset: int = 0, limit: int = 500) -> dict:
        """{"total", "next_offset", "items": [{"owner", "data"}]} (offset paging; done when next_offset == total)."""
        return _strip(self._call("externalcontact/groupchat/statistic",
                                 lambda: self._client.external_contact_group_chat.statistic(
                                     day_begin_time, day_end_time, owner_userids, order_by, order_asc, offset, limit)))

    def iter_group_chat_statistic(self, day_begin_time: int, day_end_time: int | None,
                                  owner_userids: list[str]) -> Iterator[dict]:
        """Every {"owner", "data"} item for at most 100 owners, page after page; owners without groups may be absent."""
        if not 0 < len(owner_userids) <= MAX_OWNERS_PER_GROUP_LIST:
            raise ValueError(f"groupchat/statistic takes 1..{MAX_OWNERS_PER_GROUP_LIST} owners per call")
        offset = 0
        while True:
            page = self.group_chat_statistic(day_begin_time, day_end_time, list(owner_userids), offset=offset,
                                             limit=1000)
            items = page.get("items") or []
            yield from items
            offset += len(items)
            if not items or offset >= int(page.get("total") or 0):
                return

    # -- transfers (继承, wecom-api.md §11) ----------------------------------------------------------------

    @staticmethod
    def _transfer_chunk(items: list[str], api: str) -> None:
        if not 0 < len(items) <= MAX_TRANSFER_ITEMS:
            raise WeComInvalidArgument(None, f"{len(items)} items", api, message="每次转接 1 至 100 个客户或客户群")

    def transfer_customers(self, handover: str, takeover: str, external_userids: list[str], *, resigned: bool,
                           success_msg: str | None = None) -> dict[str, int]:
        """Start handing ≤100 customers over (在职 or 离职继承): {external_userid: errcode} (0: started). Not retried
        after a read timeout; a second call answers "being transferred" for what the first started."""
        api = "externalcontact/resigned/transfer_customer" if resigned else "externalcontact/transfer_customer"
        self._transfer_chunk(external_userids, api)
        data = {"handover_userid": handover, "takeover_userid": takeover, "external_userid": list(external_userids)}
        if success_msg and not resigned:
            data["transfer_success_msg"] = success_msg
        answer = self._post(api, data, idempotent=False)
        return {c["external_userid"]: int(c.get("errcode") or 0) for c in answer.get("customer") or []}

    def transfer_result_page(self, handover: str, takeover: str, *, resigned: bool,
                             cursor: str = "") -> tuple[list, str]:
        """([{"external_userid", "status", "takeover_time"}], next_cursor) of the pair's handovers."""
        api = "externalcontact/resigned/transfer_result" if resigned else "externalcontact/transfer_result"
        data = {"handover_userid": handover, "takeover_userid": takeover, "cursor": cursor}
        return self._post_page(api, data, "customer")

    def iter_transfer_results(self, handover: str, takeover: str, *, resigned: bool) -> Iterator[dict]:
        return iterate_pages(self.transfer_result_page, handover=handover, takeover=takeover, resigned=resigned)

    def unassigned_page(self, cursor: str = "", page_size: int = 1000) -> tuple[list, str]:
        """([{"handover_userid", "external_userid", "dimission_time"}], next_cursor ("" on the last page))."""
        answer = self._post("externalcontact/get_unassigned_list", {"cursor": cursor, "page_size": page_size})
        return answer.get("info") or [], "" if answer.get("is_last") else answer.get("next_cursor") or ""

    def iter_unassigned(self) -> Iterator[dict]:
        """The customers of members who left, waiting for 离职继承."""
        return iterate_pages(self.unassigned_page)

    def transfer_groups(self, chat_ids: list[str], new_owner: str, *, resigned: bool) -> dict[str, int]:
        """Give ≤100 groups a new owner (groupchat/transfer for owners who left, onjob_transfer otherwise):
        {chat_id: errcode} of the groups that failed (the others moved)."""
        api = "externalcontact/groupchat/transfer" if resigned else "externalcontact/groupchat/onjob_transfer"
        self._transfer_chunk(chat_ids, api)
        answer = self._post(api, {"chat_id_list": list(chat_ids), "new_owner": new_owner}, idempotent=False)
        return {f["chat_id"]: int(f.get("errcode") or 0) for f in answer.get("failed_chat_list") or []}

    # -- mass messages (群发) and welcome -------------------------------------------------------------

    def add_msg_template(self, template: dict) -> dict:
        """Create a mass-send task; {"msgid", "fail_list"}. More than 10,000 recipients is refused: chunk first."""
        recipients = len(template.get("external_userid") or ())
        if recipients > MAX_TEMPLATE_RECIPIENTS:
            raise TooManyRecipients(None, f"{recipients} external_userid > {MAX_TEMPLATE_RECIPIENTS}",
                                    "externalcontact/add_msg_template")
        return _strip(self._call("externalcontact/add_msg_template",
                                 lambda: self._client.external_contact.add_msg_template(template), idempotent=False))

    def get_groupmsg_list_page(self, chat_type: str, start_time: int, end_time: int, creator: str | None = None,
                               filter_type: int = 2, cursor: str = "", limit: int = 100) -> tuple[list, str]:
        data = _present(chat_type=chat_type, start_time=start_time, end_time=end_time, creator=creator,
                        filter_type=filter_type, cursor=cursor, limit=limit)
        return self._post_page("externalcontact/get_groupmsg_list_v2", data, "group_msg_list")

    def iter_groupmsg_list(self, chat_type: str, start_time: int, end_time: int, creator: str | None = None,
                           filter_type: int = 2) -> Iterator[dict]:
        return iterate_pages(self.get_groupmsg_list_page, chat_type=chat_type, start_time=start_time,
                             end_time=end_time, creator=creator, filter_type=filter_type)

    def get_groupmsg_task_page(self, msgid: str, cursor: str = "", limit: int = 1000) -> tuple[list, str]:
        """([{"userid", "status", "send_time"}], next_cursor)."""
        data = {"msgid": msgid, "cursor": cursor, "limit": limit}
        return self._post_page("externalcontact/get_groupmsg_task", data, "task_list")

    def iter_groupmsg_tasks(self, msgid: str) -> Iterator[dict]:
        return iterate_pages(self.get_groupmsg_task_page, msgid=msgid)

    def get_groupmsg_send_result_page(self, msgid: str, userid: str, cursor: str = "",
                                      limit: int = 1000) -> tuple[list, str]:
        """([{"external_userid" | "chat_id", "userid", "status", "send_time"}], next_cursor)."""
        data = {"msgid": msgid, "userid": userid, "cursor": cursor, "limit": limit}
        return self._post_page("externalcontact/get_groupmsg_send_result", data, "send_list")

    def iter_groupmsg_send_results(self, msgid: str, userid: str) -> Iterator[dict]:
        return iterate_pages(self.get_groupmsg_send_result_page, msgid=msgid, userid=userid)

    def remind_groupmsg_send(self, msgid: str) -> None:
        self._post("externalcontact/remind_groupmsg_send", {"msgid": msgid}, idempotent=False)

    def cancel_groupmsg_send(self, msgid: str) -> None:
        self._post("externalcontact/cancel_groupmsg_send", {"msgid": msgid})

    def send_welcome_msg(self, welcome_code: str, text: str | None = None,
                         attachments: list[dict] | None = None) -> None:
        """Send the welcome message for a WelcomeCode (valid 20 s, once): WelcomeCodeExpired, WelcomeAlreadySent."""
        template = _present(welcome_code=welcome_code, text={"content": text} if text else None,
                            attachments=attachments or None)
        self._call("externalcontact/send_welcome_msg",
                   lambda: self._client.external_contact.send_welcome_msg(template), idempotent=False)

    # -- app messages to staff (应用消息) -------------------------------------------------------------

    def send_app_message(self, agent_id: str, userids: list[str], msgtype: str, content: dict,
                         duplicate_check_seconds: int = 1800) -> dict:
        """message/send from the app `agent_id` to at most 1,000 members: {"msgid", "invaliduser": [userids]}.

        WeCom drops messages past 30 a minute or 1,000 an hour per member WITHOUT an error (wecom-api.md §13): the
        caller keeps its own per-member count (app/staffmsg/dispatch.py). WeCom's duplicate check is on, so a retry
        after a read timeout cannot show a member the same message twice within `duplicate_check_seconds`; that is
        what makes the call safe to retry. A call where no member is valid raises WeComError 81013."""
        if not 0 < len(userids) <= MAX_APP_MESSAGE_USERS:
            raise WeComInvalidArgument(None, f"{len(userids)} members (1..{MAX_APP_MESSAGE_USERS} per call)",
                                       "message/send")
        data = {"touser": "|".join(userids), "msgtype": msgtype, "agentid": int(agent_id), msgtype: content,
                "enable_duplicate_check": 1, "duplicate_check_interval": duplicate_check_seconds}
        result = self._post("message/send", data)
        invalid = [u for u in (result.get("invaliduser") or "").split("|") if u]
        return {"msgid": result.get("msgid", ""), "invaliduser": invalid}

    # -- media (素材) ---------------------------------------------------------------------------------

    def upload_media(self, kind: str, filename: str, data: bytes) -> dict:
        """Upload temporary media (`kind` image|voice|video|file): {"type", "media_id", "created_at"}; the media_id
        lives 3 days. Not retried after a read timeout: a second upload only makes another media_id, but the
        caller decides."""
        return _strip(self._call("media/upload", lambda: self._client.media.upload(kind, (filename, data)),
                                 idempotent=False))

    def upload_image(self, filename: str, data: bytes) -> str:
        """Upload a JPG/PNG for a permanent URL (link covers); WeCom allows 1,000 a day and 3,000 a month."""
        return self._call("media/uploadimg", lambda: self._client.media.upload_img((filename, data)),
                          idempotent=False)["url"]

    def get_user_behavior_data(self, userid: str, start_time: int, end_time: int) -> list[dict]:
        """One member's daily behaviour rows (at most 30 days within the last 180). Exactly one userid per call:
        WeCom adds several members' figures up into one row per day (wecom-api.md §9)."""
        if not isinstance(userid, str) or not userid:
            raise TypeError("get_user_behavior_data takes one userid: several would come back summed")
        return self._call("externalcontact/get_user_behavior_data",
                          lambda: self._client.external_contact.get_user_behavior_data(
                              [userid], start_time, end_time)).get("behavior_data") or []


class CallbackCipher:
    """Verifies and decrypts WeCom callbacks (URL check and event POSTs) with the app's Token and EncodingAESKey."""

    def __init__(self, token: str, aes_key: str, corp_id: str):
        try:
            self._crypto = WeChatCrypto(token, aes_key, corp_id)
        except (AssertionError, ValueError) as exc:
            raise ValueError("EncodingAESKey must be the 43 characters shown in the WeCom console") from exc

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The plaintext echostr to answer WeCom's GET verification with."""
        return self._run(lambda: self._crypto.check_signature(msg_signature, timestamp, nonce, echostr))

    def decrypt_event(self, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> dict:
        """The decrypted event's fields as a flat dict of strings (repeated <Item> children become a list)."""
        plaintext = self._run(lambda: self._crypto.decrypt_message(body, msg_signature, timestamp, nonce))
        try:
            fields = xmltodict.parse(plaintext)["xml"]
        except Exception as exc:
            raise CallbackDecryptError(f"decrypted callback is not WeCom XML: {type(exc).__name__}") from None
        if fields is not None and not isinstance(fields, dict):  # <xml>text</xml>: no fields at all
            raise CallbackDecryptError("decrypted callback is not WeCom XML: <xml> holds no elements")
        return {key: self._flat(value) for key, value in (fields or {}).items()}

    @staticmethod
    def _run(decrypt: Callable[[], str]) -> str:
        try:
            return decrypt()
        except InvalidSignatureException:
            raise CallbackSignatureError("msg_signature does not match") from None
        except Exception as exc:  # bad XML, bad base64, wrong key or corp id: wechatpy raises many kinds
            raise CallbackDecryptError(f"cannot decrypt callback: {type(exc).__name__}") from None

    @staticmethod
    def _flat(value):
        if value is None:
            return ""
        if isinstance(value, dict) and set(value) == {"Item"}:
            items = value["Item"]
            return [str(i) for i in items] if isinstance(items, list) else [str(items)]
        return value  # a string; any other nested element stays as xmltodict parsed it
