"""Full-sync benchmark: the emulator's company synced into an empty database.

Each repeat migrates a fresh database (scratch SQLite file or PostgreSQL database), runs a full sync and then a
second one (which must change nothing and make no write call to WeCom), and prints the times, counts and the WeCom
calls each sync made, per API and per 1,000 customers. Targets: seed demo (20,000 customers) under 60 s; seed
large (2,000 staff in a four-level tree, 200,000 customers, 1,000 groups) on PostgreSQL under 5 minutes.

    .venv/bin/python -m scripts.bench.sync [--database sqlite|postgresql] [--seed demo|large] [--repeat 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
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


# The WeCom APIs that change something: a sync must call none of them.
WRITE_APIS = ("mark_tag", "add_corp_tag", "edit_corp_tag", "del_corp_tag", "remark", "add_contact_way",
              "update_contact_way", "del_contact_way", "add_msg_template", "send_welcome_msg")


def wecom_calls(emu: RunningEmulator) -> Counter:
    """Calls the emulator has answered so far, per API (any errcode)."""
    calls = Counter()
    for row in emu.control.get("calls", recent=0)["counts"]:
        calls[row["api"]] += row["count"]
    return calls


def timed_sync(emu: RunningEmulator) -> tuple[float, dict, Counter]:
    before = wecom_calls(emu)
    started = time.monotonic()
    steps: list[tuple[str, float]] = []  # (the stage the run stands at, seconds since the start) after each step
    run = sync.execute(sync.begin("bench").id, lambda r: steps.append((r.stage, time.monotonic() - started)))
    elapsed = time.monotonic() - started
    if run.status != sync.SUCCEEDED:
        raise SystemExit(f"sync failed: {'; '.join(e['message'] for e in run.errors)}")
    print("  stages: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in stage_times(steps).items()))
    return elapsed, run.counts, wecom_calls(emu) - before


def stage_times(steps: list[tuple[str, float]]) -> dict[str, float]:
    """Seconds each stage took, from the stage the run stood at after each step (the first stage is done when the
    run first stands at another)."""
    times, current, began = {}, "directory", 0.0
    for stage, at in steps:
        if stage != current:
            times[current], current, began = at - began, stage, at
    return times


def describe_calls(calls: Counter, customers: int) -> str:
    per_api = ", ".join(f"{api} {n}" for api, n in calls.most_common())
    total = sum(calls.values())
    return f"{total} WeCom calls ({total * 1000 / max(customers, 1):.1f} per 1,000 customers): {per_api}"


def one_repeat(emu: RunningEmulator, url: str) -> float:
    config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url, "WECOM_API_BASE": emu.api_base})
    app = create_app(config)
    with app.app_context():
        upgrade()
        settings.save({"wecom.corp_id": emu.corp_id, "wecom.secret": emu.secret}, "bench")
        connection.forget()
        first, counts, first_calls = timed_sync(emu)
        second, again, second_calls = timed_sync(emu)
        changed = sum(c["added"] + c["changed"] + c["removed"] for c in again.values())
        writes = sum(n for api, n in second_calls.items() if api.rsplit("/", 1)[-1] in WRITE_APIS)
        customers = counts["customers"]["added"]
        print(f"  full sync {first:.2f} s; second sync {second:.2f} s ({changed} changes, {writes} WeCom writes)")
        print("  " + ", ".join(f"{entity} +{c['added']}" for entity, c in counts.items()))
        print(f"  first: {describe_calls(first_calls, customers)}")
        print(f"  second: {describe_calls(second_calls, customers)}")
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
