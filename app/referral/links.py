"""The inviter's personal progress link: the participant id signed with the app's secret (no login, unforgeable;
a link names one inviter, so it cannot be turned into another's). A link made before the customer joins (the
launch push, the invitee's welcome) names the task and the customer instead: the first open makes them an inviter."""
from __future__ import annotations

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "referral.progress.v1"  # a signature made for anything else never opens a progress page


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(participant_id: int) -> str:
    return _serializer().dumps({"p": participant_id})


def participant_id_of(token: str) -> int | None:
    """The inviter a token was made for, or None for anything forged, altered or made for another purpose."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    value = data.get("p") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def progress_url(participant_id: int) -> str:
    return url_for("referral.progress", token=token_for(participant_id), _external=True)


def token_for_customer(task_id: int, external_userid: str) -> str:
    return _serializer().dumps({"t": task_id, "c": external_userid})


def customer_of(token: str) -> tuple[int, str] | None:
    """(task id, external_userid) a customer's token was made for, or None (forged, altered, another kind)."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    task_id, external_userid = data.get("t"), data.get("c")
    if not (isinstance(task_id, int) and not isinstance(task_id, bool) and task_id > 0
            and isinstance(external_userid, str) and 0 < len(external_userid) <= 64):
        return None
    return task_id, external_userid


PATH = "/referral/p/"  # the progress page's route (public_views.progress), for links made outside a request


def customer_url(base_url: str, task_id: int, external_userid: str) -> str:
    """The customer's progress link on the console's public address (系统设置 › 控制台访问地址)."""
    return f"{base_url.rstrip('/')}{PATH}{token_for_customer(task_id, external_userid)}"
