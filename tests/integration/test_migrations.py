"""Alembic revisions build the schema from nothing on SQLite and PostgreSQL, and match the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from app import create_app
from app.extensions import db
from config import TestConfig
from scripts.scratch_db import create_scratch_database, drop_scratch_database


def _upgrade_and_diff(url: str):
    config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url})
    app = create_app(config)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
        db.engine.dispose()
    return tables, diff


def test_sqlite_upgrade_reaches_head_without_pending_changes(tmp_path):
    tables, diff = _upgrade_and_diff(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert {"users", "audit_log", "settings", "api_tokens", "alembic_version"} <= tables
    assert diff == []


def test_postgresql_upgrade_reaches_head_without_pending_changes(postgres_server_url):
    url = create_scratch_database(postgres_server_url)
    try:
        tables, diff = _upgrade_and_diff(url)
    finally:
        drop_scratch_database(postgres_server_url, url)
    assert {"users", "audit_log", "settings", "api_tokens", "alembic_version"} <= tables
    assert diff == []
