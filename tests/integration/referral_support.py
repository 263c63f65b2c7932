"""A process that makes the referral tasks' contact ways (`python -m tests.integration.referral_support DB_URL
API_BASE`), for the test that kills it while WeCom's answer is on its way."""
from __future__ import annotations

import sys


def main(database_url: str, api_base: str) -> None:
    from app import create_app
    from app.referral import jobs
    from config import TestConfig

    config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, "WECOM_API_BASE": api_base})
    with create_app(config).app_context():
        jobs.create_ways()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
