"""PROXY_HOPS: with 0 a client's X-Forwarded-For is ignored (it could be forged); with 1 the address our one proxy
saw is the client's, as the audit log shows it."""
import pytest
from sqlalchemy import select

from app import create_app
from app.core.audit import AuditEntry
from app.extensions import db
from config import TestConfig
from tests.conftest import FreshContextClient, sign_in

PROXY, CLIENT = "127.0.0.9", "203.0.113.7"  # the proxy connects to us; the client's address is only a header


@pytest.mark.parametrize("hops, seen", [(0, PROXY), (1, CLIENT)])
def test_the_client_address_comes_from_the_proxy_header_only_when_told_to_trust_it(tmp_path, hops, seen):
    config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'proxy.sqlite3'}",
                                            "UPLOAD_DIR": str(tmp_path), "PROXY_HOPS": hops})
    application = create_app(config)
    application.test_client_class = FreshContextClient
    with application.app_context():
        db.create_all()
        client = application.test_client()
        client.environ_base.update(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
        assert sign_in(client, "nobody").status_code == 200  # refused, and audited with where it came from
        assert db.session.scalar(select(AuditEntry.ip).where(AuditEntry.action == "auth.login_failed")) == seen
