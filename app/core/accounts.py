"""Console accounts: the model, password hashing, sign-in with lockout, and account administration."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import String, case, func, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_, Permission, Role, role_allows
from app.extensions import db

MIN_PASSWORD_LENGTH = 10


class User(UserMixin, db.Model):
    """A person who signs in to the console."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    wecom_userid: Mapped[str | None] = mapped_column(String(64))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of disabled accounts
        return self.is_enabled

    def can(self, permission: Permission) -> bool:
        return self.is_enabled and role_allows(self.role, permission)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class AccountError(UserError):
    """An account operation was refused; the message says why, in the UI language."""


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    error: str | None  # a key: bad_credentials, locked, disabled


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(N_("密码至少需要 %(length)s 个字符"), length=MIN_PASSWORD_LENGTH)


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


_dummy_hashes: dict[str, str] = {}


def _password_matches(stored_hash: str | None, password: str) -> bool:
    """One hash check whether or not the account exists: an unknown name must not answer faster than a known one."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = _hash("no account has this password")
    matches = check_password_hash(stored_hash or _dummy_hashes[method], password)
    return matches and stored_hash is not None


def _claim_attempt(username: str, now: datetime):
    """Count this attempt as a failure before its password is checked, in one conditional UPDATE; the row claimed
    (id, password hash, and the failure count details for the audit), or None for an unknown or locked account.

    Counting first makes parallel attempts safe on SQLite and PostgreSQL alike: each UPDATE sees the previous one's
    count (the row is written one at a time), so no more than LOGIN_MAX_FAILURES checks run before the lock, the
    attempt that reaches the limit sets it, and a locked account's password is never checked. The UPDATE is the
    transaction's first statement, so SQLite takes its write lock before reading anything. A right password clears
    the count afterwards.
    """
    cfg = current_app.config
    reaches_limit = User.failed_logins + 1 >= cfg["LOGIN_MAX_FAILURES"]
    lock_until = now + timedelta(seconds=cfg["LOGIN_LOCKOUT_SECONDS"])
    claimed = db.session.execute(
        update(User)
        .where(func.lower(User.username) == username.strip().lower(),
               or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_logins=case((reaches_limit, 0), else_=User.failed_logins + 1),
                locked_until=case((reaches_limit, lock_until), else_=None))
        .returning(User.id, User.password_hash, User.failed_logins, User.locked_until)
        .execution_options(synchronize_session=False)).one_or_none()
    if claimed is None:
        return None
    if claimed.locked_until is not None:
        details = {"failures": cfg["LOGIN_MAX_FAILURES"], "locked_until": claimed.locked_until.isoformat()}
    else:
        details = {"failures": claimed.failed_logins}
    return claimed.id, claimed.password_hash, details


def sign_in(username: str, password: str) -> SignInResult:
    """Check credentials, count failures, lock after too many, and audit every attempt.

    Two short transactions around the (slow) password check, so no lock is held while hashing.
    """
    now = utcnow()
    with transaction():
        claim = _claim_attempt(username, now)
        user = db.session.get(User, claim[0]) if claim else find_user(username)
    if user is not None and claim is None:
        with transaction():
            record("auth.login_failed", target=user.username, details={"reason": "locked"})
        return SignInResult(None, "locked")
    matches = _password_matches(claim[1] if claim else None, password)
    with transaction():
        if user is None:
            record("auth.login_failed", target=username, details={"reason": "unknown_user"})
            return SignInResult(None, "bad_credentials")
        details = claim[2]
        if not matches:
            record("auth.login_failed", target=user.username, details={"reason": "bad_password", **details})
            return SignInResult(None, "locked" if "locked_until" in details else "bad_credentials")
        user.failed_logins = 0
        user.locked_until = None
        if not user.is_enabled:
            record("auth.login_failed", target=user.username, details={"reason": "disabled"})
            return SignInResult(None, "disabled")
        user.last_login_at = now
        record("auth.login", target=user.username, actor=user)
    return SignInResult(user, None)


def create_user(username: str, password: str, role: str, display_name: str | None = None,
                wecom_userid: str | None = None) -> User:
    """Create an account after checking the name is free, the role exists and the password is long enough."""
    username = username.strip()
    if not username:
        raise AccountError(N_("用户名不能为空"))
    if role not in {r.value for r in Role}:
        raise AccountError(N_("未知角色：%(role)s"), role=role)
    check_password_rules(password)
    with transaction():
        if find_user(username) is not None:
            raise AccountError(N_("用户名 %(username)s 已存在"), username=username)
        user = User(username=username, display_name=(display_name or username).strip(),
                    password_hash=_hash(password), role=role,
                    wecom_userid=(wecom_userid or "").strip() or None)
        db.session.add(user)
        db.session.flush()
        record("account.created", target=username,
               details={"role": role, "wecom_userid": user.wecom_userid})
    return user


def update_user(user: User, *, role: str, display_name: str, wecom_userid: str | None,
                is_enabled: bool, actor: User) -> None:
    """Change an account's role, name, WeCom link or status; role changes are audited as such."""
    if role not in {r.value for r in Role}:
        raise AccountError(N_("未知角色：%(role)s"), role=role)
    if user.id == actor.id and (role != user.role or not is_enabled):
        raise AccountError(N_("不能修改自己的角色或停用自己的账号"))
    with transaction():
        before = {"role": user.role, "display_name": user.display_name,
                  "wecom_userid": user.wecom_userid, "is_enabled": user.is_enabled}
        user.role = role
        user.display_name = display_name.strip() or user.username
        user.wecom_userid = (wecom_userid or "").strip() or None
        user.is_enabled = is_enabled
        after = {"role": user.role, "display_name": user.display_name,
                 "wecom_userid": user.wecom_userid, "is_enabled": user.is_enabled}
        changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if "role" in changed:
            record("account.role_changed", target=user.username,
                   details={"from": before["role"], "to": role})
        if changed:
            record("account.updated", target=user.username, details=changed)


def reset_password(user: User, password: str) -> None:
    """Set a new password and lift any lockout."""
    check_password_rules(password)
    with transaction():
        user.password_hash = _hash(password)
        user.failed_logins = 0
        user.locked_until = None
        record("account.password_reset", target=user.username)


def unlock(user: User) -> None:
    with transaction():
        user.failed_logins = 0
        user.locked_until = None
        record("account.unlocked", target=user.username)
