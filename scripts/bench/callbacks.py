"""Callback benchmark: the emulator sends N add-customer events at a fixed rate to the console (gunicorn + worker).

Reports the acknowledgement time WeCom sees (HTTP 200 received by the emulator) and the time from
receipt to handled in the inbox. Target: p99 acknowledgement under 50 ms.

    .venv/bin/python -m scripts.bench.callbacks --events 2000 --rate 100 [--database sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

from scripts.bench.common import POSTGRES, console_env, console_processes, summary
from scripts.scratch_db import create_scratch_database, drop_scratch_database
from scripts.wecom_emulator.testing import RunningEmulator


def fire(emu, count: int, rate: float) -> float:
    """Simulate `count` customers adding staff, paced at `rate` a second; returns the seconds it took."""
    followers = emu.control.get("summary")  # warm the control endpoint
    userids = [u["userid"] for u in _followers(emu)]
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        emu.control.add_customer(userid=userids[i % len(userids)], state=f"bench-{i % 7}")
    return time.monotonic() - start if followers else 0.0


def _followers(emu) -> list[dict]:
    import requests

    token = emu.access_token()
    answer = requests.get(emu.api_base + "externalcontact/get_follow_user_list",
                          params={"access_token": token}, timeout=10).json()
    return [{"userid": u} for u in answer["follow_user"]]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def run(events: int, rate: float, database_url: str, workers: int) -> None:
    engine = create_engine(database_url)
    with RunningEmulator(seed="small") as emu:
        env = console_env(database_url, WECOM_CORP_ID=emu.corp_id, WECOM_SECRET=emu.secret,
                          WECOM_TOKEN=emu.token, WECOM_AES_KEY=emu.aes_key, WECOM_API_BASE=emu.api_base)
        with console_processes(env, queue_workers=workers) as base:
            emu.control.config(callback_url=f"{base}/wecom/callback")
            took = fire(emu, events, rate)

            def delivered() -> list[dict]:
                return [r for r in emu.control.get("deliveries")["deliveries"] if r["status"] != "pending"]

            wait_until(lambda: len(delivered()) >= events, 120, "deliveries")

            def handled() -> int:
                with engine.connect() as conn:
                    return conn.scalar(text("SELECT count(*) FROM wecom_callback_events "
                                            "WHERE handled_at IS NOT NULL"))

            wait_until(lambda: handled() >= events, 120, "the worker")
            records = delivered()
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT received_at, handled_at FROM wecom_callback_events")).all()
    engine.dispose()
    acks = [r["attempts"][0]["elapsed_ms"] for r in records]
    first_try = sum(1 for r in records if r["status"] == "delivered" and len(r["attempts"]) == 1)
    lag = [(_aware(h) - _aware(r)).total_seconds() * 1000 for r, h in rows]
    print(f"machine: {platform.node()} {platform.machine()} python {platform.python_version()}")
    print(f"database: {database_url.split('@')[-1].split('?')[0]}  queue workers: {workers}")
    print(f"sent {events} add events in {took:.1f}s ({events / took:.0f}/s); "
          f"delivered on the first try: {first_try}/{len(records)}; inbox rows: {len(rows)}")
    print(f"acknowledgement ms  {summary(acks)}")
    print(f"receipt->handled ms {summary(lag)}")


def _aware(value):
    """A stored timestamp as an aware datetime (SQLite hands back text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            run(args.events, args.rate, f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.workers)
    else:
        url = create_scratch_database(POSTGRES, prefix="scrm_bench")
        try:
            run(args.events, args.rate, url, args.workers)
        finally:
            drop_scratch_database(POSTGRES, url)


if __name__ == "__main__":
    main()
