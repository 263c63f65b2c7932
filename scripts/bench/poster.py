"""Poster benchmark: `app.referral.poster.render` timed for inviters with distinct nicknames and QR links, on the
built-in background and on an uploaded one (a photo-like 1080×1920 JPEG, checked and stored as the upload page
does). Target (issue 18): under 200 ms each. The first render of a background decodes and scales it (cached per
process afterwards) and is reported apart.

    .venv/bin/python -m scripts.bench.poster [--posters 200] [--repeat 5]
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import time

from PIL import Image, ImageDraw

from scripts.bench.common import percentile


def photo_like(width: int = 1080, height: int = 1920) -> bytes:
    """A JPEG with gradients and shapes (compresses like a designed poster, not like a flat colour)."""
    rng = random.Random(18)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(20, 200)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


def run(posters: int, repeat: int) -> None:
    from app import create_app
    from app.referral import background, poster
    from config import TestConfig

    with create_app(TestConfig).test_request_context():
        uploaded = background.checked(photo_like())
        print(f"font: {poster.cjk_font()}  cpus: {os.cpu_count()}  load: {os.getloadavg()[0]:.2f}  "
              f"python {platform.python_version()}")
        for label, data in (("built-in background", None), ("uploaded background", uploaded)):
            poster._background.cache_clear()
            started = time.perf_counter()
            poster.render("首张海报", "https://work.weixin.qq.com/ca/first", data)
            first = (time.perf_counter() - started) * 1000
            medians, p95s, worst = [], [], 0.0
            for round_ in range(repeat):
                times = []
                for n in range(posters):
                    started = time.perf_counter()
                    poster.render(f"邀请人{round_}-{n}号", f"https://work.weixin.qq.com/ca/cawcde{n:010d}", data)
                    times.append((time.perf_counter() - started) * 1000)
                medians.append(statistics.median(times))
                p95s.append(percentile(times, 95))
                worst = max(worst, max(times))
            print(f"{label}: first render {first:.1f} ms; {repeat} rounds of {posters}: median of medians "
                  f"{statistics.median(medians):.1f} ms, median p95 {statistics.median(p95s):.1f} ms, "
                  f"max {worst:.1f} ms (target < 200 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posters", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    run(args.posters, args.repeat)


if __name__ == "__main__":
    main()
