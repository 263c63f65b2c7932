"""Settings classes for each way the console runs; the environment is read here and nowhere else."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_WECOM_API_BASE = "https://qyapi.weixin.qq.com/cgi-bin/"


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message names what is missing or wrong."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


class BaseConfig:
    """Defaults shared by every configuration."""

    NAME = "base"
    SECRET_KEY: str | None = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'scrm.sqlite3'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    WECOM_CORP_ID = _env("WECOM_CORP_ID", "")
    WECOM_SECRET = _env("WECOM_SECRET", "")
    WECOM_AGENT_ID = _env("WECOM_AGENT_ID", "")
    WECOM_TOKEN = _env("WECOM_TOKEN", "")
    WECOM_AES_KEY = _env("WECOM_AES_KEY", "")
    WECOM_API_BASE = _env("WECOM_API_BASE", DEFAULT_WECOM_API_BASE)
    SCRM_TIMEZONE = _env("SCRM_TIMEZONE", "Asia/Shanghai")
    # The console's address as staff reach it (https://scrm.example.com): links in app messages to staff.
    SCRM_PUBLIC_URL = _env("SCRM_PUBLIC_URL", "")
    # How many reverse proxies of ours stand in front of the console, each adding to X-Forwarded-For/-Proto/-Host:
    # 0 trusts none (the client's address is the connection's); N trusts the last N entries (werkzeug's ProxyFix).
    PROXY_HOPS = int(_env("PROXY_HOPS", "0"))
    REDIS_URL = _env("REDIS_URL")  # set: the WeCom call budget is shared by every process through Redis
    # Our budget of calls per WeCom API per corp (WeCom allows 10,000 a minute and 150,000 an hour), and the share
    # of each window bulk work (tag write-back, rule tags, bulk tagging) may use; see app/wecom/ratelimit.py.
    WECOM_RATE_PER_MINUTE = int(_env("WECOM_RATE_PER_MINUTE", "9000"))
    WECOM_RATE_PER_HOUR = int(_env("WECOM_RATE_PER_HOUR", "140000"))
    WECOM_BULK_SHARE = float(_env("WECOM_BULK_SHARE", "0.75"))

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    SCRM_LOCALES = ("zh_CN", "en")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024  # uploads (order files) larger than this are refused with 413
    UPLOAD_DIR = str(INSTANCE_DIR / "uploads")
    # An order file: its size as uploaded, its data rows, and an .xlsx's size unpacked (a zip bomb is refused unread).
    ORDER_FILE_MAX_MB = int(_env("ORDER_FILE_MAX_MB", "200"))
    ORDER_IMPORT_MAX_ROWS = int(_env("ORDER_IMPORT_MAX_ROWS", "1000000"))
    ORDER_IMPORT_MAX_UNPACKED_MB = int(_env("ORDER_IMPORT_MAX_UNPACKED_MB", "1024"))
    # WeCom drops a callback after 5 s: its store waits at most this long for SQLite's write lock, then the event
    # goes to the spool (app/wecom/spool.py) and WeCom still gets its 200.
    CALLBACK_STORE_WAIT_SECONDS = 3.0
    CALLBACK_SPOOL_DIR = str(INSTANCE_DIR / "callback-spool")
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    PASSWORD_HASH_METHOD = "scrypt"
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT_SECONDS = 15 * 60

    API_TITLE = "SCRM 私域运营控制台 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"

    @classmethod
    def check(cls) -> None:
        """Raise ConfigError naming every setting this configuration cannot run without."""


class DevelopmentConfig(BaseConfig):
    """A developer's machine: plain-HTTP cookies and a fixed, non-secret key."""

    NAME = "development"
    SECRET_KEY = BaseConfig.SECRET_KEY or "dev-only-not-secret"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False


class DemoConfig(DevelopmentConfig):
    """The all-in-one demo against the local WeCom emulator (see `flask scrm demo`)."""

    NAME = "demo"
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'demo.sqlite3'}")
    WECOM_API_BASE = _env("WECOM_API_BASE", "http://127.0.0.1:8900/cgi-bin/")


class TestConfig(BaseConfig):
    """The test suite: its own database, CSRF on (tests fetch tokens), fast password hashing."""

    NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"


class ProductionConfig(BaseConfig):
    """Production: refuses to start without a real secret key."""

    NAME = "production"

    @classmethod
    def check(cls) -> None:
        missing = [name for name in ("SECRET_KEY",) if not getattr(cls, name)]
        if missing:
            raise ConfigError(
                "生产配置缺少必需的环境变量: " + ", ".join(missing)
                + " (production config is missing: " + ", ".join(missing) + ")"
            )


CONFIGS = {c.NAME: c for c in (DevelopmentConfig, DemoConfig, TestConfig, ProductionConfig)}


def config_from_env() -> type[BaseConfig]:
    """The configuration class named by SCRM_CONFIG (default: development)."""
    name = _env("SCRM_CONFIG", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"SCRM_CONFIG={name!r} 不是已知配置; 可选: {', '.join(sorted(CONFIGS))}"
        ) from None
