"""API bearer tokens: issued once, stored only as a hash, scoped by role, revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_, Permission, Role, role_allows
from app.extensions import db

TOKEN_PREFIX = "scrm_"


class ApiToken(db.Model):
    """A named credential for an integration; only the SHA-256 of the token is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    def can(self, permission: Permission) -> bool:
        return self.revoked_at is None and role_allows(self.role, permission)


class TokenError(UserError):
    """A token could not be issued; the message says why."""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue(name: str, role: str, created_by: str) -> tuple[ApiToken, str]:
    """Create a token and return it with its raw value, which is never shown again."""
    name = name.strip()
    if not name:
        raise TokenError(N_("令牌名称不能为空"))
    if role not in {r.value for r in Role}:
        raise TokenError(N_("未知角色：%(role)s；可选：%(choices)s"), role=role, choices=", ".join(r.value for r in Role))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction():
        if db.session.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
            raise TokenError(N_("名为 %(name)s 的令牌已存在"), name=name)
        token = ApiToken(name=name, role=role, token_hash=_digest(raw), hint=raw[-4:],
                         created_by=created_by)
        db.session.add(token)
        record("api_token.issued", target=name, details={"role": role})
    return token, raw


def authenticate(raw: str) -> ApiToken | None:
    """The live token with this value, its last use noted; None for unknown or revoked ones."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        with transaction():  # noted at most once a minute, not on every call
            token.last_used_at = now
    return token


def revoke(token: ApiToken) -> None:
    with transaction():
        token.revoked_at = utcnow()
        record("api_token.revoked", target=token.name)
