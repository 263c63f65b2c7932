"""send_welcome_msg: a WelcomeCode works once, within the welcome window (20 s by default) of the add event.

UNCONFIRMED (wecom-api.md §5 is silent): which image `pic_url`s WeCom accepts. The console sends a 群活码's QR as an
image whose pic_url is the join way's `qr_code` (a WeCom-hosted permanent URL, as invitations do in mass messages);
any http(s) pic_url is accepted here, as the welcome and push editors already let operators type image links. Were
WeCom to take only `media/uploadimg` URLs, the QR would have to be uploaded first (one uploadimg per code).
"""
from .apicore import ApiError, api
from .api_media import media_checker
from .content import validate


@api("externalcontact/send_welcome_msg", writes=True)
def send_welcome_msg(call):
    company, body = call.company, call.body
    code = body.get("welcome_code")
    record = company.welcome_codes.get(code) if isinstance(code, str) else None
    entry = {"time": call.now, "welcome_code": code,
             "userid": record and record["userid"], "external_userid": record and record["external_userid"],
             "latency_ms": round((call.now - record["delivered_at"]) * 1000, 1)
             if record and record["delivered_at"] else None,
             "text": (body.get("text") or {}).get("content") if isinstance(body.get("text"), dict) else None,
             "attachments": body.get("attachments") or []}
    try:
        if not code:
            raise ApiError(41049)
        if record is None or call.now > record["issued_at"] + call.settings.welcome_window:
            raise ApiError(41050)
        if record["used_at"]:
            raise ApiError(41051)
        if record.get("needs_consent"):  # the customer has not agreed to chat archiving (会话存档) yet
            raise ApiError(41053, "external user has not agreed to the chat archiving notice")
        if record.get("busy"):  # another app is delivering this welcome right now, and will give up
            record["busy"] -= 1
            raise ApiError(41096, "welcome msg is being distributed")
        validate(body, media_checker(call))  # a content error leaves the code usable
        record["used_at"] = call.now
    except ApiError as err:
        company.log("welcomes", {**entry, "errcode": err.code})
        raise
    company.log("welcomes", {**entry, "errcode": 0})
    return {}
