"""rfm-score benchmark: total time of `scrm rfm-score` against the time pandas needs only to read the same CSV.

Target (issue 5): at most 1.5x on 10,000,000 orders for 1,000,000 customers.

    .venv/bin/python -m scripts.bench.rfm_score --orders 10000000 --customers 1000000
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from scripts.bench.common import BIN, ROOT

STATUSES = np.array(["paid", "paid", "paid", "paid", "paid", "paid", "paid", "paid", "refunded", "cancelled"])


def write_orders(path: Path, orders: int, customers: int, seed: int = 7) -> None:
    """A CSV of `orders` rows in chunks: ids, amounts with two decimals, ISO times with and without offsets."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00")
    with path.open("w", encoding="utf-8") as fh:
        fh.write("order_id,external_userid,amount,paid_at,status\n")
        for first in range(0, orders, 1_000_000):
            n = min(1_000_000, orders - first)
            ids = np.arange(first, first + n)
            who = rng.zipf(1.3, n) % customers
            fen = rng.integers(100, 200_000, n)
            seconds = rng.integers(0, 2 * 365 * 86400, n)
            times = (start + seconds.astype("timedelta64[s]")).astype(str)
            offsets = np.where(ids % 2 == 0, "+08:00", "")
            frame = pd.DataFrame({"order_id": np.char.add("O", ids.astype(str)),
                                  "external_userid": np.char.add("wm", who.astype(str)),
                                  "amount": [f"{f // 100}.{f % 100:02d}" for f in fen],
                                  "paid_at": np.char.add(times, offsets),
                                  "status": STATUSES[ids % len(STATUSES)]})
            frame.to_csv(fh, header=False, index=False)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, out = Path(tmp) / "orders.csv", Path(tmp) / "scores.csv"
        took = timed(lambda: write_orders(csv_path, args.orders, args.customers))
        print(f"generated {args.orders:,} orders in {took:.1f}s")
        read = timed(lambda: pd.read_csv(csv_path, dtype=str))
        score = timed(lambda: subprocess.run(
            [BIN / "flask", "--app", "wsgi", "scrm", "rfm-score", "--orders", csv_path, "--as-of", "2026-01-01",
             "--out", out], cwd=ROOT, check=True, capture_output=True))
    print(f"machine: {platform.node()} {platform.machine()} python {platform.python_version()} pandas {pd.__version__}")
    print(f"pandas read_csv {read:.1f}s; scrm rfm-score {score:.1f}s; ratio {score / read:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
