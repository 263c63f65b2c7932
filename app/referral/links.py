"""The inviter's personal progress link: the participant id signed with the app's secret (no login, unforgeable;
a link names one inviter, so it cannot be turned into another's)."""
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
