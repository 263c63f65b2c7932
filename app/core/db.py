"""Declarative base with a constraint naming convention, UTC timestamps, and the transaction scope."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    """Base of every model: shared metadata with the naming convention."""

    registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION),
                        type_annotation_map={datetime: UTCDateTime()})


@contextmanager
def transaction() -> Iterator[None]:
    """The unit of work services use: commit on success, roll back everything on any error."""
    from app.extensions import db

    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def render_migration_item(type_, obj, autogen_context):
    """Alembic hook: write UTCDateTime as a plain timezone-aware DateTime so revisions never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


SQLITE_BUSY_TIMEOUT_MS = 10000


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record) -> None:
    """SQLite only: WAL so readers never block the writer, and a busy timeout instead of 'database is locked'."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "checkin")
def _reset_sqlite_wait(dbapi_connection, _record) -> None:
    """SQLite only: a connection goes back to the pool with the usual busy timeout (see write_wait)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


@contextmanager
def write_wait(seconds: float) -> Iterator[None]:
    """Within this block (one transaction, ended inside it) the session's writes wait at most `seconds` for a lock,
    then fail: SQLite's write lock (instead of SQLITE_BUSY_TIMEOUT_MS, restored when the connection returns to the
    pool), or on PostgreSQL any lock (instead of forever; SET LOCAL ends with the transaction)."""
    from app.extensions import db

    milliseconds = max(1, int(seconds * 1000))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"SET LOCAL lock_timeout = {milliseconds}"))
    else:
        db.session.connection().connection.dbapi_connection.execute(f"PRAGMA busy_timeout={milliseconds}")
    yield


def upsert_ignore(model, values: dict, conflict_columns: list[str]):
    """An INSERT that does nothing when a row with the same unique key exists (SQLite and PostgreSQL)."""
    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict_columns)


def upsert(model, rows: list[dict], conflict_columns: list[str]):
    """An INSERT of `rows` that overwrites the other columns of a row with the same unique key (SQLite, PostgreSQL)."""
    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(model).values(rows)
    changing = {c: stmt.excluded[c] for c in rows[0] if c not in conflict_columns}
    return stmt.on_conflict_do_update(index_elements=conflict_columns, set_=changing)


def engine_options(uri: str, options: dict) -> dict:
    """Engine options for `uri`. psycopg 3 would prepare a statement after 5 runs and then keep a plan made
    while a table was nearly empty (a full sync went from 8 s to 28 s); plan every statement afresh instead."""
    if uri.startswith("postgresql+psycopg"):
        connect_args = {**options.get("connect_args", {}), "prepare_threshold": None}
        return {**options, "connect_args": connect_args}
    return options


UNMANAGED_TABLES = {"apscheduler_jobs"}  # created and owned by APScheduler's job store, not by Alembic


def include_in_migrations(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic hook: leave tables that other libraries own out of autogenerate."""
    return not (type_ == "table" and name in UNMANAGED_TABLES)
