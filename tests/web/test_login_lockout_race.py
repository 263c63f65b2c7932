"""Sign-in under parallel attack: no more password checks than the limit, the lock holds, unknown names cost a hash."""
import re
import threading

import pytest
import requests
from sqlalchemy import select

from app.core import accounts
from app.core.audit import AuditEntry
from app.extensions import db
from tests.conftest import PASSWORD

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
LOCKED = "账号已锁定"


class HashChecks(list):
    passwords: list

    def __init__(self):
        super().__init__()
        self.passwords = []


@pytest.fixture
def hash_checks(monkeypatch):
    """Every password hash check the sign-in makes, in order: the hash it was checked against (`.passwords`: what)."""
    seen, guard = HashChecks(), threading.Lock()
    real = accounts.check_password_hash

    def spy(stored, password):
        with guard:
            seen.append(stored)
            seen.passwords.append(password)
        return real(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", spy)
    return seen


def _browser(base: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    token = _CSRF.search(session.get(base + "/auth/login").text).group(1)
    return session, token


def _attack(base: str, passwords: list[str]) -> list[requests.Response]:
    """All sign-ins released at the same moment, each from its own browser session."""
    browsers = [_browser(base) for _ in passwords]
    start = threading.Barrier(len(passwords))
    answers: list = [None] * len(passwords)

    def attempt(i: int) -> None:
        session, token = browsers[i]
        start.wait(timeout=60)
        answers[i] = session.post(base + "/auth/login", data={"username": "victim", "password": passwords[i],
                                                             "csrf_token": token}, allow_redirects=False, timeout=60)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(passwords))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(answers), "an attempt got no answer"
    return answers


def _bad_password_entries() -> int:
    db.session.expire_all()
    return sum(1 for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login_failed"))
               if e.details.get("reason") == "bad_password")


def test_forty_wrong_passwords_at_once_lock_the_account(app, live_server, make_user, hash_checks):
    user = make_user("operator", username="victim")
    limit = app.config["LOGIN_MAX_FAILURES"]
    answers = _attack(live_server, [f"wrong-password-{i}" for i in range(40)])
    assert all(a.status_code == 200 for a in answers)  # nobody signed in
    assert hash_checks.count(user.password_hash) <= limit
    assert _bad_password_entries() <= limit
    assert sum(LOCKED in a.text for a in answers) >= 40 - limit + 1

    session, token = _browser(live_server)
    right = session.post(live_server + "/auth/login", data={"username": "victim", "password": PASSWORD,
                                                            "csrf_token": token}, allow_redirects=False)
    assert right.status_code == 200 and LOCKED in right.text  # the right password after the lock is refused
    assert hash_checks.count(user.password_hash) <= limit


def test_the_right_password_among_many_wrong_ones_gets_no_extra_tries(app, live_server, make_user, hash_checks):
    user = make_user("operator", username="victim")
    limit = app.config["LOGIN_MAX_FAILURES"]
    answers = _attack(live_server, [f"wrong-password-{i}" for i in range(39)] + [PASSWORD])
    checked = [pw for stored, pw in zip(hash_checks, hash_checks.passwords) if stored == user.password_hash]
    if answers[-1].status_code == 302:  # it signed in only as one of the first `limit` checks (which clears the count)
        assert PASSWORD in checked[:limit]
        assert len(checked) <= 2 * limit
    else:  # it came after the limit: refused unchecked, and the account is locked
        assert PASSWORD not in checked and len(checked) <= limit
        assert LOCKED in answers[-1].text
        db.session.expire_all()
        assert db.session.get(accounts.User, user.id).is_locked(accounts.utcnow())
    assert sum(a.status_code == 302 for a in answers[:-1]) == 0


def test_an_unknown_name_costs_the_same_hash_check_as_a_known_one(client, make_user, hash_checks):
    from tests.conftest import sign_in

    make_user("operator", username="known")
    sign_in(client, "nobody-by-this-name", "some-password")
    sign_in(client, "known", "some-password")
    assert len(hash_checks) == 2  # one check each: the unknown name is hashed against a stand-in
    assert hash_checks[0] != hash_checks[1]


def test_a_nul_in_the_user_name_is_refused_by_name_not_a_500(client, make_user):
    from tests.conftest import sign_in

    make_user("operator", username="known")
    response = sign_in(client, "kno\x00wn")
    assert response.status_code == 400  # the central input check refuses a NUL in any field, naming it
    assert "username" in response.get_data(as_text=True)
