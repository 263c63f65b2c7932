"""The scrm command line: creating the first admin and issuing API tokens."""
from app.core import tokens
from app.core.accounts import find_user


def test_create_admin(app):
    result = app.test_cli_runner().invoke(args=["scrm", "create-admin", "--username", "boss",
                                                "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    assert find_user("boss").role == "admin"


def test_create_admin_rejects_short_password(app):
    result = app.test_cli_runner().invoke(args=["scrm", "create-admin", "--username", "boss",
                                                "--password", "short"])
    assert result.exit_code != 0 and "至少需要 10 个字符" in result.output
    assert find_user("boss") is None


def test_create_token_prints_it_once(app):
    result = app.test_cli_runner().invoke(args=["scrm", "create-token", "erp", "--role", "operator"])
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    assert tokens.authenticate(raw).name == "erp"


def test_create_token_with_unknown_role_fails(app):
    result = app.test_cli_runner().invoke(args=["scrm", "create-token", "erp", "--role", "god"])
    assert result.exit_code != 0
