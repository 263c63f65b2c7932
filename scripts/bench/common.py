"""Shared pieces of the benchmarks: percentiles, a free port, scratch databases, the console run as real processes."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, TypeVar

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T = TypeVar("T")


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def summary(values: list[float]) -> str:
    return (f"n={len(values)} p50={percentile(values, 50):.1f} p95={percentile(values, 95):.1f} "
            f"p99={percentile(values, 99):.1f} max={max(values, default=float('nan')):.1f}")


def scratch_options(parser, repeat: int) -> None:
    """The options of a benchmark on a generated scratch PostgreSQL database."""
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--server", default=POSTGRES)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (its URL is printed)")
    parser.add_argument("--database", help="time against a database kept by an earlier --keep run (no generation)")


@contextmanager
def scratch_console(args, describe: str, generate: Callable[[], None]):
    """An app context on a new scratch database with the whole schema, filled by `generate` (`describe` says with
    what), or on `args.database`, kept from an earlier run. Dropped afterwards unless kept."""
    from app import create_app
    from app.extensions import db
    from config import TestConfig
    from scripts.scratch_db import create_scratch_database, drop_scratch_database

    url = args.database or create_scratch_database(args.server, prefix="scrm_bench")
    app = create_app(type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    try:
        with app.app_context():
            if not args.database:
                db.create_all()
                print(f"scratch database {url}\ngenerating {describe}", flush=True)
                started = time.monotonic()
                generate()
                print(f"generated in {time.monotonic() - started:.0f} s\n", flush=True)
            yield
            db.session.remove()
            db.engine.dispose()
    finally:
        if args.keep or args.database:
            print(f"kept {url}")
        else:
            drop_scratch_database(args.server, url)


def timed_calls(call: Callable[[], T], repeat: int) -> tuple[list[float], T]:
    """Milliseconds of `repeat` calls, each in a fresh database session, and the last answer."""
    from app.extensions import db

    timings, answer = [], None
    for _ in range(repeat):
        db.session.remove()
        started = time.perf_counter()
        answer = call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings, answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def console_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment for console processes in production mode against `database_url`."""
    env = dict(os.environ, SCRM_CONFIG="production", SECRET_KEY="bench-secret-key-not-for-production",
               DATABASE_URL=database_url)
    env.update(extra)
    return env


@contextmanager
def console_processes(env: dict[str, str], web_workers: int = 2, queue_workers: int = 1):
    """Migrate, then run gunicorn (gthread) and `scrm worker` processes; yields the base URL."""
    subprocess.run([BIN / "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    port = free_port()
    procs = [subprocess.Popen([BIN / "gunicorn", "-w", str(web_workers), "-k", "gthread", "--threads", "8",
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                              cwd=ROOT, env=env)]
    procs += [subprocess.Popen([BIN / "flask", "--app", "wsgi", "scrm", "worker"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for _ in range(queue_workers)]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base + "/auth/login", timeout=5)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:  # a worker finishing a long job, gunicorn a request in flight
                proc.kill()
                proc.wait(10)


def start_emulator(port: int) -> tuple[subprocess.Popen, str]:
    """The emulator as its own process (seed none) on `port`, ready when this returns: (process, base URL)."""
    proc = subprocess.Popen([sys.executable, "-m", "scripts.wecom_emulator", "--port", str(port), "--seed", "none",
                             "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(base + "/_emulator/config", timeout=2).raise_for_status()
            return proc, base
        except requests.RequestException:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("the emulator did not start")
            time.sleep(0.2)


@contextmanager
def emulator_console(database: str, port: int):
    """The console on a new scratch database (SQLite file or PostgreSQL) wired to an emulator process of its own:
    yields (app, control client, emulator process, emulator base URL); both are gone afterwards."""
    from app import create_app
    from app.core import settings
    from app.extensions import db
    from app.wecom import connection
    from config import TestConfig
    from scripts.scratch_db import create_scratch_database, drop_scratch_database
    from scripts.wecom_emulator.settings import Settings
    from scripts.wecom_emulator.testing import ControlClient

    url = (f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}" if database == "sqlite"
           else create_scratch_database(POSTGRES))
    proc, base = start_emulator(port)
    emu = Settings()
    config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url, "WECOM_API_BASE": base + "/cgi-bin/"})
    app = create_app(config)
    try:
        with app.app_context():
            db.create_all()
            settings.save({"wecom.corp_id": emu.corp_id, "wecom.secret": emu.secret}, "bench")
            connection.forget()
        yield app, ControlClient(base), proc, base
    finally:
        proc.terminate()
        proc.wait(10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if database == "postgresql":
            drop_scratch_database(POSTGRES, url)
