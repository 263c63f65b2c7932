"""gettoken: access tokens with a configurable lifetime."""
import secrets

from .apicore import ApiError, api

EXPIRED_KEEP = 86400  # forget expired tokens after a day (until then they answer 42001, not 40014)


@api("gettoken", "GET", token=False)
def gettoken(call):
    corpid, secret = call.args.get("corpid"), call.args.get("corpsecret")
    if not corpid:
        raise ApiError(41002)
    if not secret:
        raise ApiError(41004)
    if corpid != call.settings.corp_id:
        raise ApiError(40013)
    if secret != call.settings.secret:
        raise ApiError(40001)
    tokens = call.company.tokens
    for old in [t for t, exp in tokens.items() if exp + EXPIRED_KEEP < call.now]:
        del tokens[old]
    # The current 91039 page no longer promises the same token within its lifetime: issue a new one
    # each time (earlier tokens stay valid until they expire), so clients must not assume stability.
    token = secrets.token_urlsafe(96)
    ttl = call.settings.token_ttl
    tokens[token] = call.now + ttl
    return {"access_token": token, "expires_in": ttl}
