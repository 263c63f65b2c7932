"""Configuration refuses to run without what it needs, and says what is missing."""
import pytest

from app import create_app
from config import ConfigError, ProductionConfig, config_from_env


def test_production_refuses_to_start_without_secret_key():
    config = type("NoKey", (ProductionConfig,), {"SECRET_KEY": None})
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(config)


def test_production_starts_with_a_secret_key():
    config = type("WithKey", (ProductionConfig,), {"SECRET_KEY": "x" * 32,
                                                    "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_unknown_config_name_is_named(monkeypatch):
    monkeypatch.setenv("SCRM_CONFIG", "staging")
    with pytest.raises(ConfigError, match="staging"):
        config_from_env()
