"""gettoken: access tokens with a configurable lifetime, and the IP block after repeated bad credentials."""
import secrets

from flask import request

from .apicore import ApiError, api

EXPIRED_KEEP = 86400  # forget expired tokens after a day (until then they answer 42001, not 40014)


@api("gettoken", "GET", token=False)
def gettoken(call):
    corpid, secret = call.args.get("corpid"), call.args.get("corpsecret")
    ip, blocks = request.remote_addr or "", call.emu.gettoken_blocks
    bad = (40013 if corpid and corpid != call.settings.corp_id else
           40001 if secret and secret != call.settings.secret else None)
    if blocks.blocked(ip, call.now):
        if bad:  # still counted: retrying during the block keeps it going (see ipblock.GettokenBlocks)
            blocks.refused(ip, call.now, call.settings.gettoken_block_threshold)
        raise ApiError(45009, "gettoken blocked for this IP after repeated invalid corpid/corpsecret")
    if not corpid:
        raise ApiError(41002)
    if not secret:
        raise ApiError(41004)
    if bad:
        blocks.refused(ip, call.now, call.settings.gettoken_block_threshold)
        raise ApiError(bad)
    tokens = call.company.tokens
    for old in [t for t, exp in tokens.items() if exp + EXPIRED_KEEP < call.now]:
        del tokens[old]
    # The current 91039 page no longer promises the same token within its lifetime: issue a new one
    # each time (earlier tokens stay valid until they expire), so clients must not assume stability.
    token = secrets.token_urlsafe(96)
    ttl = call.settings.token_ttl
    tokens[token] = call.now + ttl
    return {"access_token": token, "expires_in": ttl}
