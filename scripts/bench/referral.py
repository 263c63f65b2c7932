"""Referral benchmark: the welcome benchmark's burst (scripts/bench/welcome.py: gunicorn + worker processes, every
callback delivered twice), each add through an inviter's personal contact way of a running 任务宝 task.

Checked besides the welcome figures: every add credited exactly once (one credit per add event, no invitee twice),
no reward beyond its stock (reserved units = reservations <= stock, per level), and the task ended when the
stock ran out (later adds are recorded as not counted). Hold 0 and a burst rule out of reach, so every credit is
valid at once and the rewards are fought over during the burst itself.

    .venv/bin/python -m scripts.bench.referral [--rate 50 --seconds 60] [--database postgresql --workers 2]
                                               [--inviters 100] [--stock 40]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from scripts.bench import welcome
from scripts.bench.common import POSTGRES, console_env
from scripts.scratch_db import create_scratch_database, drop_scratch_database


def scenario(inviters: int, stock: int):
    """The task and its inviters, made through the console's own services (contact ways in the emulator)."""
    def prepare(database_url: str, emu, userids: list[str]):
        from app import create_app
        from app.contacts.directory import sync_directory
        from app.core.db import transaction, utcnow
        from app.referral import jobs, service
        from app.wecom import connection
        from app.welcome import messages
        from config import TestConfig

        env = console_env(database_url)  # the console processes' secret: the same settings, the same emulator
        config = type("BenchConfig", (TestConfig,), {
            "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": env["SECRET_KEY"], "WECOM_API_BASE": emu.api_base,
            "WECOM_CORP_ID": emu.corp_id, "WECOM_SECRET": emu.secret, "WECOM_TOKEN": emu.token,
            "WECOM_AES_KEY": emu.aes_key})
        with create_app(config).app_context():
            connection.forget()
            with transaction():  # the receiving staff must be known members with customer contact
                sync_directory(connection.gateway(), utcnow())
            greeting = messages.save(None, messages.TemplateInput("任务宝欢迎语", "channel",
                                                                  "{客户昵称}你好，朋友推荐的新人礼已备好！"))
            now = utcnow()
            task = service.create(service.TaskInput(
                "bench", now - timedelta(minutes=1), now + timedelta(days=1), userids[:5],
                [service.LevelInput(3, "小罐茶", stock), service.LevelInput(10, "紫砂杯", max(1, stock // 4))],
                hold_hours=0, burst_count=1000, welcome_template_id=greeting.id))
            service.move(task, "schedule")
            jobs.tick()
            with transaction():
                people = [service.join(task, f"wmbenchinviter{i:05d}") for i in range(inviters)]
            jobs.create_ways()
            ways = [p.config_id for p in people if p.config_id]
        if len(ways) != inviters:
            raise SystemExit(f"only {len(ways)} of {inviters} contact ways were made")

        def check(engine) -> dict:
            deadline = time.monotonic() + 120  # the credits are follow-ups: after the welcomes, on the default lane
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    if not conn.scalar(text("SELECT count(*) FROM wecom_callback_events "
                                            "WHERE status IN ('pending', 'processing')")):
                        break
                time.sleep(0.5)
            with engine.connect() as conn:
                dead = conn.scalar(text("SELECT count(*) FROM wecom_callback_events WHERE status = 'dead'"))
                state = ("json_extract(payload, '$.State')" if engine.dialect.name == "sqlite"
                         else "payload->>'State'")
                adds = conn.scalar(text(f"SELECT count(*) FROM wecom_callback_events WHERE {state} LIKE 'rf%'"))
                credits, events, invitees = conn.execute(text(
                    "SELECT count(*), count(DISTINCT inbox_id), count(DISTINCT invitee) FROM referral_credits")).one()
                statuses = dict(conn.execute(text("SELECT status, count(*) FROM referral_credits GROUP BY status")).all())
                levels = conn.execute(text(
                    "SELECT l.needed, l.stock, l.reserved, (SELECT count(*) FROM referral_reservations r "
                    "WHERE r.level_id = l.id AND r.status = 'reserved') FROM referral_levels l ORDER BY l.needed")).all()
                ended = conn.scalar(text("SELECT ended_reason FROM referral_tasks"))
            oversold = [n for n, s, reserved, made in levels if reserved > s or made != reserved]
            print(f"  referral: {dead} failed events; {adds} adds via inviters' ways, {credits} credits ({statuses}); "
                  f"levels (needed, stock, reserved, reservations) {[tuple(r) for r in levels]}; task ended: {ended}")
            return {"credits_once": credits == adds == events == invitees, "oversold": oversold, "ended": ended}

        return (lambda i: {"config_id": ways[i % len(ways)]}), check

    return prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inviters", type=int, default=100)
    parser.add_argument("--stock", type=int, default=40, help="units of the first level (the second has a quarter)")
    args = parser.parse_args()
    print(f"machine: {platform.node()} python {platform.python_version()}; database: {args.database}; "
          f"worker processes: {args.workers}; inviters: {args.inviters}")
    results, prepare = [], scenario(args.inviters, args.stock)
    for n in range(1, args.runs + 1):
        print(f"run {n}/{args.runs}")
        if args.database == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                results.append(welcome.run(args.rate, args.seconds, f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
                                           args.workers, scenario=prepare))
        else:
            url = create_scratch_database(POSTGRES, prefix="scrm_bench")
            try:
                results.append(welcome.run(args.rate, args.seconds, url, args.workers, scenario=prepare))
            finally:
                drop_scratch_database(POSTGRES, url)
    p99 = statistics.median(r["p99"] for r in results)
    print(f"median of {len(results)} runs: welcome p99={p99:.0f} ms (< 2000: {p99 < 2000}); every welcome code used "
          f"once: {all(r['codes_once'] == r['adds'] and not r['codes_twice'] for r in results)}; every credit once: "
          f"{all(r['credits_once'] for r in results)}; no reward beyond stock: {all(not r['oversold'] for r in results)}")


if __name__ == "__main__":
    main()
