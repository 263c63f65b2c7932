"""rfm-score benchmark: total time of `scrm rfm-score` against the time pandas needs only to read the same CSV.

Target (issue 5): at most 1.5x on 10,000,000 orders for 1,000,000 customers, measured in the same run.

    .venv/bin/python -m scripts.bench.rfm_score --orders 10000000 --customers 1000000 --runs 3

The baseline is `pd.read_csv(path)` with pandas' default settings (C parser, type inference), in this process. The
project does not depend on pyarrow, so pandas 3 keeps text columns as Python strings here; with pyarrow installed
pandas would store them in Arrow and read this file several times faster (measured 2.8 s instead of ~17 s), which
would move the baseline: the line printed at the end says which it was. `scrm rfm-score` runs as its own process
(`flask --app wsgi scrm rfm-score`), so its time includes starting Python and the app; it parses the file on every
core. Each run measures both, alternating which goes first; the median of the per-run ratios is printed. The
generated file is cached in /tmp (same sizes and seed: same file).
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from scripts.bench.common import BIN, ROOT

CACHE = Path(tempfile.gettempdir()) / "scrm-bench-rfm"
STATUSES = np.array(["paid"] * 8 + ["refunded", "cancelled"])


def write_orders(path: Path, orders: int, customers: int, seed: int = 7) -> None:
    """A CSV of `orders` rows: every customer about orders/customers orders, amounts with two decimals, times with
    and without an offset over two years (some after the as-of date), a few rows with a Chinese status."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00")
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("order_id,external_userid,amount,paid_at,status\n")
        for first in range(0, orders, 1_000_000):
            n = min(1_000_000, orders - first)
            ids = np.arange(first, first + n)
            who = rng.integers(0, customers, n)
            fen = rng.integers(100, 200_000, n)
            seconds = rng.integers(0, 2 * 366 * 86400, n)
            status = STATUSES[rng.integers(0, len(STATUSES), n)]
            status[ids % 10_000 == 5] = "已支付"
            frame = pd.DataFrame({"order_id": ids, "who": who, "yuan": fen // 100, "fen": fen % 100,
                                  "at": (start + seconds.astype("timedelta64[s]")).astype(str),
                                  "tz": np.where(ids % 2 == 0, "+08:00", ""), "status": status})
            fh.writelines(f"O{o},wm{w:07d},{y}.{f:02d},{a}{z},{s}\n" for o, w, y, f, a, z, s in
                          zip(*(frame[c].tolist() for c in frame.columns)))
    tmp.rename(path)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished children."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def measured(action) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the action."""
    cpu = cpu_seconds()
    wall = timed(action)
    return wall, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--as-of", default="2025-12-31")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    csv_path = CACHE / f"orders-{args.orders}-{args.customers}.csv"
    if not csv_path.exists():
        took = timed(lambda: write_orders(csv_path, args.orders, args.customers))
        print(f"generated {args.orders:,} orders in {took:.1f}s: {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB)")
    out = CACHE / "scores.csv"
    command = [BIN / "flask", "--app", "wsgi", "scrm", "rfm-score", "--orders", csv_path, "--as-of", args.as_of,
               "--out", out]
    reads, scores, ratios = [], [], []
    for run in range(args.runs):
        def read() -> tuple[float, float]:
            return measured(lambda: pd.read_csv(csv_path))

        def score() -> tuple[float, float]:
            return measured(lambda: subprocess.run(command, cwd=ROOT, check=True, capture_output=True))

        if run % 2:
            (s, s_cpu), (r, r_cpu) = score(), read()
        else:
            (r, r_cpu), (s, s_cpu) = read(), score()
        reads.append(r)
        scores.append(s)
        ratios.append(s / r)
        print(f"run {run + 1}: pandas read_csv {r:.1f}s (CPU {r_cpu:.1f}s), scrm rfm-score {s:.1f}s (CPU {s_cpu:.1f}s "
              f"on {os.cpu_count()} cores), ratio {s / r:.2f}  (load {os.getloadavg()[0]:.1f})", flush=True)
    customers = sum(1 for _ in out.open(encoding="utf-8")) - 1
    strings = pd.read_csv(io.StringIO("a\nx\n"))["a"].dtype.storage  # "python" unless pyarrow is installed
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}, pandas {pd.__version__} (strings stored by {strings}); {args.orders:,} orders, "
          f"{customers:,} customers scored")
    print(f"median: pandas read_csv {statistics.median(reads):.1f}s; scrm rfm-score {statistics.median(scores):.1f}s; "
          f"ratio {statistics.median(ratios):.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
