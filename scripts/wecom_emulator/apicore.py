"""Shared plumbing of the /cgi-bin API: route registry, WeCom errors, body parsing, token check, cursors and limits."""
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Callable

from flask import Response, request

MESSAGES = {
    -1: "system busy", 40001: "invalid credential", 40003: "invalid userid",
    40013: "invalid corpid", 40014: "invalid access_token", 40031: "invalid userid list", 48001: "api unauthorized",
    40050: "invalid chatid", 40058: "invalid Request Parameter", 40068: "invalid tagid",
    40071: "UserTag Name Already Exist", 40096: "invalid external userid",
    41001: "access_token missing", 41002: "corpid missing", 41004: "corpsecret missing",
    41009: "missing userid", 41041: "exceed max user limit", 41042: "invalid style",
    41043: "missing config_id", 41044: "invalid config_id", 41046: "missing msgid",
    41047: "invalid msgid", 41048: "no valid external userid to send",
    41045: "contact way count exceeds limit", 41049: "missing welcome_code", 41050: "invalid welcome_code, expired or not found",
    41051: "externaluser has started chatting", 42001: "access_token expired",
    44004: "empty content", 45002: "content size out of limit", 45009: "api freq out of limit",
    45033: "api concurrent out of limit", 47001: "data format error",
    41054: "user not activated", 40004: "invalid media type", 40005: "invalid file type",
    40006: "invalid file size", 40007: "invalid media_id", 40009: "invalid image size", 40011: "invalid video size",
    41006: "media_id missing", 44001: "empty media data", 60111: "userid not found", 60123: "invalid party id", 84061: "not external contact", 81017: "user count in visible range exceeds limit, use owner_filter",
    40056: "invalid agentid", 40008: "invalid message type", 81013: "user & party & tag all invalid",
    60011: "no privilege to access/modify contact/party/agent", 600018: "invalid start endtime",
    40097: "handover user is not dimission", 84074: "no external contact permission",
    40128: "customer transferred too frequently", 40129: "customer is being transferred",  # codes UNCONFIRMED
    90500: "group owner has not resigned", 90501: "not a customer group", 90502: "group owner has resigned",
    90503: "group transfer count of the day exceeds limit", 90507: "group transferred too frequently",
}


class ApiError(Exception):
    """A WeCom error answer: HTTP 200 with errcode/errmsg and any extra (empty list) fields."""

    def __init__(self, code: int, hint: str = "", **extra):
        super().__init__(code, hint)
        self.code, self.hint, self.extra = code, hint, extra

    def body(self) -> dict:
        msg = MESSAGES.get(self.code, "error")
        hint = f", hint: [{self.hint}]" if self.hint else ""
        return {"errcode": self.code,
                "errmsg": f"{msg}{hint}, from ip: 127.0.0.1, more info at "
                          f"https://open.work.weixin.qq.com/devtool/query?e={self.code}",
                **self.extra}


@dataclass
class Route:
    path: str
    method: str
    handler: Callable
    writes: bool
    token: bool
    empty: dict = field(default_factory=dict)
    body: str = "json"     # "multipart": an upload, read by the handler from request.files


ROUTES: dict[str, Route] = {}


def api(path: str, method: str = "POST", *, writes: bool = False, token: bool = True,
        empty: dict | None = None, body: str = "json"):
    """Register a WeCom API handler ``fn(call) -> dict``; ``empty`` = list fields errors still carry;
    ``body="multipart"`` for uploads (the handler reads request.files)."""
    def register(fn):
        ROUTES[path] = Route(path, method, fn, writes, token, empty or {}, body)
        return fn
    return register


@dataclass
class Call:
    """One API request as seen by a handler."""
    emu: object            # server.Emulator
    args: dict
    body: dict
    now: float

    @property
    def company(self):
        return self.emu.company

    @property
    def settings(self):
        return self.emu.settings


def json_response(body: dict, status: int = 200) -> Response:
    resp = Response(json.dumps(body, ensure_ascii=False), status=status,
                    mimetype="application/json")
    if body.get("errcode"):
        resp.headers["error-code"] = str(body["errcode"])
        resp.headers["error-msg"] = body["errmsg"].encode("ascii", "replace").decode()
    return resp


def parse_body() -> dict:
    """JSON body whatever the Content-Type says (wechatpy sends none); empty means {}."""
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(47001, "body is not JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(47001, "body is not a JSON object")
    return data


def check_token(company, token: str | None, now: float) -> None:
    """Token only from the query string: 41001 missing, 40014 unknown/revoked, 42001 expired."""
    if not token:
        raise ApiError(41001)
    expires = company.tokens.get(token)
    if expires is None:
        raise ApiError(40014)
    if expires <= now:
        raise ApiError(42001)


def dispatch(emu, path: str) -> Response:
    """Run one /cgi-bin call: faults, token, frequency limits, method, body, handler; log it; answer WeCom-style."""
    started = time.monotonic()
    route = ROUTES.get(path)
    try:
        if route is None:
            # As every WeCom error: HTTP 200 with an errcode (wechatpy turns a non-2xx status into errcode None).
            # UNCONFIRMED which code WeCom gives an unknown path; 48001 "api unauthorized" is the documented code
            # for an API the caller may not use, and maps to no retryable or token error in any client.
            raise ApiError(48001, f"unknown api {path}")
        emu.faults.before_call(path)
        emu.settle_transfers()  # handovers due by now complete before WeCom answers anything
        now = time.time()
        with emu.company.lock:
            if route.token:
                check_token(emu.company, request.args.get("access_token"), now)
            emu.rate_limits.check(path)
            if request.method != route.method:
                raise ApiError(40058, f"{path} must be called with {route.method}")
            body = parse_body() if request.method == "POST" and route.body == "json" else {}
            result = route.handler(Call(emu, request.args, body, now))
            if route.writes:
                emu.company.dirty = True
        answer = {"errcode": 0, "errmsg": "ok", **result}
    except ApiError as err:
        empty = route.empty if route else {}
        answer = {**err.body(), **{k: v for k, v in empty.items() if k not in err.extra}}
    emu.record_call(path, request.method, answer["errcode"], time.monotonic() - started)
    if answer["errcode"] == 0:
        emu.faults.after_call(path)  # done at WeCom; its answer may be held back (a lost answer)
    return json_response(answer)


# -- parameter helpers ----------------------------------------------------------------------
def text(body: dict, key: str, *, required: bool = False, max_chars: int | None = None,
         missing: int = 40058) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise ApiError(missing, f"{key} missing")
        return ""
    if not isinstance(value, str):
        raise ApiError(40058, f"{key} must be a string")
    if max_chars is not None and len(value) > max_chars:
        raise ApiError(40058, f"{key} exceeds {max_chars} characters")
    return value


def str_list(body: dict, key: str, *, max_items: int | None = None, code: int = 40058) -> list:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(code, f"{key} must be a list of strings")
    if max_items is not None and len(value) > max_items:
        raise ApiError(code, f"{key} holds more than {max_items} items")
    return value


def integer(body: dict, key: str, default: int | None = None, *, required: bool = False) -> int | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise ApiError(40058, f"{key} missing")
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
        raise ApiError(40058, f"{key} must be an integer")
    return int(value)


def limit(body: dict, default: int, maximum: int, *, clamp: bool = False, required: bool = False) -> int:
    """Page size; above ``maximum`` it is clamped when WeCom documents clamping, else an error."""
    value = integer(body, "limit", None, required=required)
    if value is None or (value == 0 and not required):
        return default
    if value < 1 or (value > maximum and not clamp):
        raise ApiError(40058, f"limit must be 1..{maximum}")
    return min(value, maximum)


def encode_cursor(scope: str, position) -> str:
    raw = json.dumps([scope, position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str, default):
    """Position stored in an opaque cursor issued for the same query ``scope``; bad cursor -> 40058."""
    if not cursor:
        return default
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_scope, position = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ApiError(40058, "invalid cursor") from exc
    if got_scope != scope:
        raise ApiError(40058, "cursor belongs to another query")
    return position


def page(items: list, body: dict, scope: str, size: int) -> tuple[list, str]:
    """Offset paging over a list with an opaque cursor; next cursor '' when done."""
    start = decode_cursor(body.get("cursor"), scope, 0)
    if not isinstance(start, int) or start < 0:
        raise ApiError(40058, "invalid cursor")
    chunk = items[start:start + size]
    end = start + len(chunk)
    return chunk, (encode_cursor(scope, end) if end < len(items) else "")


def require_user(company, userid: str | None) -> dict:
    if not userid:
        raise ApiError(41009)
    user = company.users.get(userid)
    if user is None:
        raise ApiError(60111, f"userid {userid} not found")
    return user
