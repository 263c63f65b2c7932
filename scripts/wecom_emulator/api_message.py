"""message/send: app messages (应用消息) from the self-built app to internal members — wecom-api.md §13, [DOC 90236].

Facts from the document: `touser` "a|b", `toparty`, `totag`; `agentid` of the app; types text, textcard, markdown
(template cards are not emulated); each member receives at most 30 a minute and 1,000 an hour, and **messages beyond
are dropped without an error**; `enable_duplicate_check` with `duplicate_check_interval` (default 1800 s); the answer
`{"invaliduser", "invalidparty", "invalidtag", "unlicenseduser", "msgid"}`.

UNCONFIRMED, each chosen the harder way for a client:
- a member over the limit is dropped silently: the answer is errcode 0, the member is not in `invaliduser`, and
  only /_emulator/app_messages shows the drop (a client must keep its own count);
- a duplicate (same member, same type and content within the interval, when the check is on) is dropped as silently;
- the windows slide (any 60 s / any 3600 s) on the emulator's clock, and dropped messages do not count;
- unknown members, members outside the app's visible range and members not active (status ≠ 1) are `invaliduser`;
  when nobody at all is valid the answer is 81013 "user & party & tag all invalid";
- a wrong `agentid` is 40056; sizes: text/markdown content ≤2,048 bytes, textcard title ≤128 and description ≤512
  bytes, url ≤2,048 bytes (45002 beyond, 44004 when empty; the sizes SDKs quote from DOC 90236); at most 1,000
  members in `touser` (40031 beyond); `totag` is not emulated (every tag is `invalidtag`).
"""
import hashlib
import json

from .apicore import ApiError, api

PER_MINUTE, PER_HOUR = 30, 1000
MAX_TOUSER = 1000
DEFAULT_DUPLICATE_INTERVAL, MAX_DUPLICATE_INTERVAL = 1800, 4 * 3600
SIZES = {"text": {"content": 2048}, "markdown": {"content": 2048},
         "textcard": {"title": 128, "description": 512, "url": 2048}}


def _content(body: dict) -> tuple[str, dict]:
    kind = body.get("msgtype")
    if kind not in SIZES:
        raise ApiError(40008, f"msgtype must be one of {sorted(SIZES)}")
    content = body.get(kind)
    if not isinstance(content, dict):
        raise ApiError(44004, f"{kind} missing")
    for key, max_bytes in SIZES[kind].items():
        value = content.get(key)
        if not isinstance(value, str) or not value:
            raise ApiError(44004, f"{kind}.{key} empty")
        if len(value.encode()) > max_bytes:
            raise ApiError(45002, f"{kind}.{key} longer than {max_bytes} bytes")
    return kind, {k: content[k] for k in (*SIZES[kind], "btntxt") if k in content}


def _recipients(call) -> tuple[list[str], list[str], list[str], list[str]]:
    """(valid members, invalid users, invalid parties, invalid tags)."""
    company, body = call.company, call.body
    users = [u for u in str(body.get("touser") or "").split("|") if u]
    if len(users) > MAX_TOUSER:
        raise ApiError(40031, f"touser holds more than {MAX_TOUSER} members")
    parties = [p for p in str(body.get("toparty") or "").split("|") if p]
    tags = [t for t in str(body.get("totag") or "").split("|") if t]
    known_parties = {str(d["id"]) for d in company.departments}
    bad_parties = [p for p in parties if p not in known_parties]
    members = [u["userid"] for u in company.users.values() if {str(d) for d in u["department"]} & set(parties)]
    valid, invalid = [], []
    for userid in dict.fromkeys(users + members):
        user = company.users.get(userid)
        ok = user is not None and not user.get("outside_range") and user.get("status", 1) == 1
        (valid if ok else invalid).append(userid)
    return valid, [u for u in invalid if u in users], bad_parties, tags


@api("message/send", writes=True)
def send(call):
    body = call.body
    if str(body.get("agentid", "")) != str(call.settings.agent_id):
        raise ApiError(40056, "invalid agentid")
    kind, content = _content(body)
    valid, bad_users, bad_parties, bad_tags = _recipients(call)
    if not valid:
        raise ApiError(81013, "user & party & tag all invalid", invaliduser="|".join(bad_users),
                       invalidparty="|".join(bad_parties), invalidtag="|".join(bad_tags))
    interval = int(body.get("duplicate_check_interval") or DEFAULT_DUPLICATE_INTERVAL)
    if not 0 < interval <= MAX_DUPLICATE_INTERVAL:
        raise ApiError(40058, f"duplicate_check_interval must be 1..{MAX_DUPLICATE_INTERVAL}")
    check_duplicates = bool(body.get("enable_duplicate_check"))
    now = call.emu.clock.now()
    digest = hashlib.sha256(json.dumps([kind, content], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    log = call.company.app_messages
    msgid = f"msg{len(log) + len(call.company.app_message_drops) + 1:010d}"
    for userid in valid:
        mine = [m for m in log.get(userid, []) if m["time"] > now - 3600]
        reason = None
        if check_duplicates and any(m["digest"] == digest and m["time"] > now - interval for m in mine):
            reason = "duplicate"
        elif sum(1 for m in mine if m["time"] > now - 60) >= PER_MINUTE:
            reason = "over 30 a minute"
        elif len(mine) >= PER_HOUR:
            reason = "over 1000 an hour"
        entry = {"msgid": msgid, "time": now, "msgtype": kind, "content": content, "digest": digest}
        if reason:
            call.company.app_message_drops.append({**entry, "userid": userid, "reason": reason})
        else:
            log.setdefault(userid, []).append(entry)
    return {"invaliduser": "|".join(bad_users), "invalidparty": "|".join(bad_parties),
            "invalidtag": "|".join(bad_tags), "unlicenseduser": "", "msgid": msgid}
