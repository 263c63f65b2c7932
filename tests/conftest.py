"""Shared fixtures: the app on SQLite and (when reachable) PostgreSQL, clients, accounts and CSRF tokens."""
from __future__ import annotations

import os
import re
import time

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from app import create_app
from app.extensions import db
from config import TestConfig
from scripts.scratch_db import create_scratch_database, drop_scratch_database, postgres_unreachable_reason

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def postgres_server_url():
    """The admin URL of a reachable PostgreSQL, or a skip with the reason."""
    reason = postgres_unreachable_reason(POSTGRES_URL)
    if reason:
        pytest.skip(f"{reason}; the PostgreSQL runs are skipped. Set TEST_POSTGRES_URL to run them.")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def database_url_for(tmp_path_factory, request):
    """Per backend, one database for the whole session (created lazily)."""
    urls: dict[str, str] = {}

    def get(backend: str) -> str:
        if backend not in urls:
            if backend == "sqlite":
                urls[backend] = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
            else:
                server = request.getfixturevalue("postgres_server_url")
                urls[backend] = create_scratch_database(server)
                request.addfinalizer(lambda: drop_scratch_database(server, urls[backend]))
        return urls[backend]

    return get


_schema_ready: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """An empty database (no tables at all) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    url = create_scratch_database(server)
    yield url
    drop_scratch_database(server, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, database_url_for, tmp_path_factory):
    """The console app on an empty schema, once on SQLite and once on PostgreSQL."""
    url = database_url_for(request.param)
    uploads, spool = tmp_path_factory.mktemp("uploads"), tmp_path_factory.mktemp("callback-spool")
    config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(uploads),
                                            "CALLBACK_SPOOL_DIR": str(spool)})
    application = create_app(config)
    with application.app_context():
        if url not in _schema_ready:
            db.drop_all()
            db.create_all()
            _schema_ready.add(url)
        yield application
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()  # this app's pooled connections (worker threads hold several) end with it


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


class FreshContextClient(FlaskClient):
    """A test client whose every request gets its own app context, `g` and database session, as in production.

    Tests keep an app context open for direct database access; without this, requests would share it.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = FreshContextClient
    return app.test_client()


@pytest.fixture
def make_user(app):
    from app.core import accounts

    def make(role: str = "admin", username: str | None = None, **kwargs):
        return accounts.create_user(username or f"{role}-user", PASSWORD, role, **kwargs)

    return make


def csrf_token(client, url: str = "/auth/login") -> str:
    """The CSRF token a browser would find on the page."""
    html = client.get(url).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


def sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/auth/login", data={"username": username, "password": password,
                                            "csrf_token": csrf_token(client)})


@pytest.fixture
def signed_in_as(client, make_user):
    """Sign the test client in with a fresh account of the given role."""

    def as_role(role: str, **kwargs):
        user = make_user(role, **kwargs)
        response = sign_in(client, user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return as_role


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free port (for the emulator's callbacks and the browser)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def run_jobs() -> int:
    """Run every queued background job here, as a worker would (a job may queue the next: those run too)."""
    from app.jobs.runner import drain

    ran = drain("test-worker")
    db.session.expire_all()
    return ran


def wait_for_push_work(timeout: float = 30.0) -> None:
    """Run the queued jobs as a worker would, then wait until no push check (dry run, submission) is running and
    no run is being planned."""
    from app.campaigns.models import CampaignCheck, CampaignRun

    run_jobs()

    def busy() -> int:
        return (db.session.scalar(select(func.count()).select_from(CampaignCheck).where(CampaignCheck.status == "running"))
                + db.session.scalar(select(func.count()).select_from(CampaignRun).where(CampaignRun.status == "planning")))

    deadline = time.monotonic() + timeout
    while busy():
        assert time.monotonic() < deadline, "the push's background work did not finish"
        time.sleep(0.05)
        db.session.expire_all()
        db.session.commit()
    db.session.expire_all()


@pytest.fixture
def word_library(app):
    """The word library with the words the console blocked before it had a library (the migration adds them)."""
    from app.wordlist import service

    for word, category in (("全网第一", "广告法极限词"), ("最低价", "广告法极限词"), ("稳赚", "金融"), ("保本", "金融"),
                           ("根治", "医疗")):
        service.add(word, category, "test")
    return service
