"""Control endpoints under /_emulator/ (JSON in and out): config, reset, clock, simulated user actions, faults, inspection."""
import secrets
import time

from flask import Blueprint, current_app, jsonify, request

from . import actions, join_actions, massmsg, transfers
from .callbacks import verification_request, verify_url
from .seed import seed_company

bp = Blueprint("emulator_control", __name__, url_prefix="/_emulator")

SIMULATIONS = {
    "add_customer": actions.add_customer,
    "add_half_customer": lambda emu, data: actions.add_customer(emu, {**data, "half": True}),
    "transfer_fail": actions.transfer_fail,
    "msg_audit_approved": actions.msg_audit_approved,
    "transfer_refuse": actions.transfer_refuse,
    "resign": actions.resign,
    "del_follow_user": actions.del_follow_user,
    "del_external_contact": actions.del_external_contact,
    "edit_external_contact": actions.edit_external_contact,
    "group_create": actions.group_create,
    "group_join_by_code": join_actions.join_by_code,
    "group_join": lambda emu, data: actions.group_members(emu, data, joining=True),
    "group_leave": lambda emu, data: actions.group_members(emu, data, joining=False),
    "group_rename": actions.group_rename,
    "group_dismiss": actions.group_dismiss,
    "tag": actions.tag_change,
}
LOGS = ("welcomes", "tag_marks", "remarks", "behavior_queries", "group_stat_queries")


@bp.errorhandler(ValueError)
def _bad_request(exc):
    return jsonify(error=str(exc)), 400


def emu():
    return current_app.extensions["wecom_emulator"]


def body() -> dict:
    data = request.get_json(force=True, silent=True) if request.get_data() else {}
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


@bp.get("/config")
def get_config():
    return jsonify(emu().settings.to_dict())


@bp.post("/config")
def set_config():
    emu().settings.update(body())
    return jsonify(emu().settings.to_dict())


@bp.post("/reset")
def reset():
    e, seed = emu(), body().get("seed", "small")
    with e.company.lock:
        tokens = dict(e.company.tokens)  # issued tokens survive a reset of the company's data
        seed_company(e.company, seed)
        e.company.tokens.update(tokens)
    e.deliverer.clear()
    e.faults.clear()
    e.gettoken_blocks.lift()
    e.rate_limits.clear()
    return jsonify(ok=True, seed=seed)


@bp.post("/save")
def save():
    return jsonify(saved=emu().save(), path=emu().state_file)


@bp.get("/summary")
def summary():
    c = emu().company
    with c.lock:
        return jsonify(users=len(c.users), follow_users=len(c.follow_users), customers=len(c.customers),
                       relations=sum(len(r) for r in c.relations.values()), groups=len(c.groups),
                       tags=c.tag_count(), tag_groups=len(c.tag_groups), contact_ways=len(c.contact_ways),
                       join_ways=len(c.join_ways), group_welcome_templates=len(c.group_welcome_templates),
                       group_msgs=len(c.group_msgs))


@bp.post("/simulate/<action>")
def simulate(action):
    if action not in SIMULATIONS:
        return jsonify(error=f"unknown action {action}; one of {sorted(SIMULATIONS)}"), 404
    return jsonify(SIMULATIONS[action](emu(), body()))


@bp.post("/groupchat/release")
def release_groups():
    """groupchat/get shows every held group change now (or only ``chat_id``'s)."""
    c = emu().company
    with c.lock:
        return jsonify(released=c.release_groups(body().get("chat_id")))


@bp.post("/groupmsg/confirm")
def confirm():
    return jsonify(actions.confirm_groupmsg(emu(), body()))


@bp.post("/groupmsg/member_send")
def member_send():
    return jsonify(actions.member_send(emu(), body()))


@bp.get("/groupmsgs")
def groupmsgs():
    c = emu().company
    with c.lock:
        return jsonify(group_msgs=[{**m, "tasks": list(m["tasks"].values())} for m in c.group_msgs.values()])


@bp.get("/groupmsg/received")
def groupmsg_received():
    """Per recipient: how many mass messages were addressed to it, and how many it received (status 1)."""
    return jsonify(massmsg.received(emu().company))


@bp.post("/groupmsg/audience")
def groupmsg_audience():
    """Bulk customers for mass-send tests and benchmarks: {"userids": [...], "per_user": N, "prefix"?}."""
    data, c = body(), emu().company
    with c.lock:
        added = massmsg.add_audience(c, list(data.get("userids") or []), int(data.get("per_user", 0)),
                                     data.get("prefix", "wmbulk"))
    return jsonify(added={u: len(ids) for u, ids in added.items()})


@bp.get("/transfers")
def transfer_records():
    """Customer handovers and group owner changes as WeCom holds them, and the members who left."""
    c = emu().company
    with c.lock:
        return jsonify(transfers=list(c.transfers), group_transfers=list(c.group_transfers),
                       resigned=list(c.resigned.values()))


@bp.get("/<any(welcomes, tag_marks, remarks, behavior_queries, group_stat_queries):kind>")
def logs(kind):
    c = emu().company
    with c.lock:
        return jsonify({kind: list(c.logs[kind])})


@bp.get("/app_messages")
def app_messages():
    """What members received by message/send (optionally one `userid`'s), and what WeCom dropped silently, why."""
    c, userid = emu().company, request.args.get("userid")
    with c.lock:
        received = {u: list(m) for u, m in c.app_messages.items() if userid in (None, u)}
        dropped = [d for d in c.app_message_drops if userid in (None, d["userid"])]
    return jsonify(received=received, dropped=dropped)


@bp.get("/calls")
def calls():
    c = emu().company
    with c.lock:
        counts = [{"api": api, "errcode": code, "count": n} for (api, code), n in sorted(c.call_counts.items())]
        recent = int(request.args.get("recent", 200))
        return jsonify(counts=counts, recent=list(c.logs["calls"])[-recent:] if recent > 0 else [])


@bp.get("/deliveries")
def deliveries():
    return jsonify(deliveries=emu().deliverer.records(int(request.args.get("since_id", 0))))


@bp.post("/verify_url")
def verify():
    return jsonify(verify_url(emu().settings, body().get("url")))


@bp.get("/verify_url_request")
def verify_request():
    """Only the query WeCom would send (nothing is sent): for testing a verifier directly."""
    return jsonify(verification_request(emu().settings))


@bp.get("/faults")
def get_faults():
    return jsonify(faults=emu().faults.rules(), held=emu().faults.held())


@bp.post("/faults/release")
def release_held_answers():
    """Send the answers held by a `hold_answers` rule (their callers may have gone meanwhile)."""
    return jsonify(released=emu().faults.release())


@bp.post("/faults")
def add_fault():
    return jsonify(emu().faults.set(body()))


@bp.delete("/faults")
def clear_faults():
    emu().faults.clear()
    return jsonify(faults=[])


@bp.get("/clock")
def get_clock():
    return jsonify(now=emu().clock.now(), offset=emu().clock.offset)


@bp.post("/clock")
def move_clock():
    """{"advance": seconds}: the frequency-limit windows (and only they) see time move on at once."""
    clock = emu().clock
    clock.advance(body().get("advance"))
    emu().settle_transfers()  # handovers due by the new time complete now, with their events
    return jsonify(now=clock.now(), offset=clock.offset)


@bp.get("/rate_limits")
def rate_limits():
    """Per API: calls counted in the last minute and hour, and the seconds its 45009 block still lasts."""
    return jsonify(apis=emu().rate_limits.status())


@bp.post("/tokens/invalidate")
def invalidate_tokens():
    c = emu().company
    with c.lock:
        count = len(c.tokens)
        c.tokens.clear()
    return jsonify(invalidated=count)


@bp.post("/secret")
def reset_secret():
    """The admin resets the app's Secret in WeCom: {"secret"?: new value, default a random one}.

    UNCONFIRMED whether WeCom revokes the tokens issued with the old secret; the harder reading for a client is
    that it does, so every issued token answers 40014 from now on and the client must fetch one with the new secret.
    """
    e, new = emu(), body().get("secret") or secrets.token_urlsafe(32)
    if not isinstance(new, str):
        raise ValueError("secret must be a string")
    with e.company.lock:
        e.settings.secret = new
        revoked = len(e.company.tokens)
        e.company.tokens.clear()
    return jsonify(secret=new, revoked=revoked)


@bp.get("/gettoken_blocks")
def gettoken_blocks():
    return jsonify(emu().gettoken_blocks.status(time.time()))


@bp.delete("/gettoken_blocks")
def lift_gettoken_blocks():
    """WeCom's 自助解封 tool: lift the gettoken IP blocks now."""
    return jsonify(lifted=emu().gettoken_blocks.lift())
