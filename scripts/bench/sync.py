"""Full-sync benchmark: the emulator's company (seed demo: 20,000 customers) synced into an empty database.

Each repeat migrates a fresh database (scratch SQLite file or PostgreSQL database), runs a full sync and then a
second one (which must change nothing), and prints the times and counts. Target: the full sync under 60 s.

    .venv/bin/python -m scripts.bench.sync [--database sqlite|postgresql] [--seed demo] [--repeat 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade

from app import create_app
from app.contacts import sync
from app.core import settings
from app.extensions import db
from app.wecom import connection
from config import TestConfig
from scripts.bench.common import POSTGRES
from scripts.scratch_db import create_scratch_database, drop_scratch_database
from scripts.wecom_emulator.testing import RunningEmulator


def timed_sync() -> tuple[float, dict]:
    started = time.monotonic()
    run = sync.execute(sync.begin("bench").id)
    elapsed = time.monotonic() - started
    if run.status != sync.SUCCEEDED:
        raise SystemExit(f"sync failed: {run.errors[-1]['message']}")
    return elapsed, run.counts


def one_repeat(emu: RunningEmulator, url: str) -> float:
    config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url, "WECOM_API_BASE": emu.api_base})
    app = create_app(config)
    with app.app_context():
        upgrade()
        settings.save({"wecom.corp_id": emu.corp_id, "wecom.secret": emu.secret}, "bench")
        connection.forget()
        first, counts = timed_sync()
        second, again = timed_sync()
        changed = sum(c["added"] + c["changed"] + c["removed"] for c in again.values())
        print(f"  full sync {first:.2f} s; second sync {second:.2f} s ({changed} changes)")
        print("  " + ", ".join(f"{entity} +{c['added']}" for entity, c in counts.items()))
        db.session.remove()
        db.engine.dispose()
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", default="demo")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times = []
    with RunningEmulator(seed=args.seed) as emu, tempfile.TemporaryDirectory() as tmp:
        print(f"emulator seed {args.seed}: {emu.control.get('summary')}")
        for i in range(args.repeat):
            print(f"repeat {i + 1}/{args.repeat} on {args.database}")
            if args.database == "sqlite":
                times.append(one_repeat(emu, f"sqlite:///{Path(tmp) / f'bench{i}.sqlite3'}"))
            else:
                url = create_scratch_database(POSTGRES, prefix="scrm_bench")
                try:
                    times.append(one_repeat(emu, url))
                finally:
                    drop_scratch_database(POSTGRES, url)
    print(f"{args.database}: full sync median {statistics.median(times):.2f} s over {len(times)} runs "
          f"({', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
