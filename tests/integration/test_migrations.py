"""Alembic revisions build the schema from nothing on SQLite and PostgreSQL, match the models, step down and up
again revision by revision, and never import application code (a revision is frozen when it is written)."""
import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db
from app.segments import facts
from config import TestConfig
from scripts.scratch_db import create_scratch_database, drop_scratch_database

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _app(url: str):
    return create_app(type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))


def _tables_and_diff():
    with db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    return tables, diff


def _upgrade_and_diff(url: str):
    app = _app(url)
    with app.app_context():
        upgrade()
        tables, diff = _tables_and_diff()
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


def _revision_chain(app) -> list[str]:
    """Every revision id from the first to head."""
    with app.app_context():
        script = ScriptDirectory(str(Path(VERSIONS).parent))
        return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _current() -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_every_revision_downgrades_and_upgrades_again(empty_database_url):
    """Each revision in turn: up, down (back to the one before), up again; then the whole chain down to nothing
    and up to head once more, where the schema still equals the models."""
    app = _app(empty_database_url)
    chain = _revision_chain(app)
    assert len(chain) > 1
    with app.app_context():
        for index, revision in enumerate(chain):
            upgrade(revision=revision)
            downgrade(revision=chain[index - 1] if index else "base")
            assert _current() == (chain[index - 1] if index else None), f"{revision} did not step down"
            upgrade(revision=revision)
            assert _current() == revision
        tables, diff = _tables_and_diff()
        assert "customers" in tables and diff == []
        downgrade(revision="base")
        assert _current() is None
        tables, _ = _tables_and_diff()
        assert tables <= {"alembic_version"}, f"left behind by a downgrade: {tables - {'alembic_version'}}"
        upgrade()
        tables, diff = _tables_and_diff()
        assert _current() == chain[-1] and "customers" in tables and diff == []
        db.engine.dispose()


def _trigger_functions(conn) -> dict[str, str]:
    rows = conn.execute(text("SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'customer_facts_note_%'"))
    return {name: " ".join(source.split()) for name, source in rows}


def _triggers(conn) -> set[str]:
    return set(conn.scalars(text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'customer_facts_%'")))


def test_postgresql_migrated_triggers_equal_the_models(postgres_server_url):
    """The facts triggers a migrated database has are those the application installs on a new schema
    (the revision holds its own copy of the SQL)."""
    migrated, created = (create_scratch_database(postgres_server_url) for _ in range(2))
    try:
        app = _app(migrated)
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                got = _trigger_functions(conn), _triggers(conn)
            db.engine.dispose()
        app = _app(created)
        with app.app_context():
            db.create_all()
            with db.engine.connect() as conn:
                expected = _trigger_functions(conn), _triggers(conn)
            db.engine.dispose()
    finally:
        for url in (migrated, created):
            drop_scratch_database(postgres_server_url, url)
    assert len(expected[0]) == len(facts.SOURCES) and len(expected[1]) == 3 * len(facts.SOURCES)
    assert got == expected


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__"):
            names |= {arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    return names


def test_no_revision_imports_application_code():
    revisions = sorted(VERSIONS.glob("*.py"))
    assert len(revisions) > 1
    offenders = {path.name: sorted(name for name in _imported_modules(path)
                                   if name == "app" or name.startswith("app.") or name in ("config", "wsgi"))
                 for path in revisions}
    assert {name: modules for name, modules in offenders.items() if modules} == {}


def test_the_import_check_sees_an_import_of_app(tmp_path):
    revision = tmp_path / "0_bad.py"
    revision.write_text("from alembic import op\nimport app.segments.facts as facts\n"
                        "def upgrade():\n    from app.segments import rules\n", encoding="utf-8")
    assert {"app.segments.facts", "app.segments"} <= _imported_modules(revision)
