"""Campaign planning benchmark: a push to 1,000,000 customers planned on a scratch PostgreSQL (target < 60 s).

The company is generated as in the contact list benchmark (customers, two relations each, 5 % lost), plus push
history that the guards must read: 10,000 opt-outs, yesterday's and today's promotions to 300,000 customers
(sent), 100,000 sends made outside the console. Then the real planner (`app.campaigns.execution.planner.plan`,
through the send engine) plans a
promotion to every customer with a 10 % holdout, an A/B split, the default caps, WeCom's receive quota and quiet
hours; each repetition plans a new run (the previous one is cancelled, so it does not count as history).

    .venv/bin/python -m scripts.bench.campaign_plan [--customers 1000000] [--repeat 3] [--keep]
"""
from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import text, update

from app.campaigns.editor import editing
from app.campaigns.execution import planner, runs
from app.campaigns.models import Campaign, CampaignRun
from app.core.db import utcnow
from app.extensions import db
from scripts.bench.common import scratch_console, scratch_options
from scripts.bench.contacts_list import generate

HISTORY = [
    """INSERT INTO campaign_opt_outs (customer_id, reason, created_by, created_at)
       SELECT i, '', 'bench', now() FROM generate_series(1, :customers, 100) i""",
    """INSERT INTO campaign_deliveries (run_id, target_key, customer_id, sender_userid, variant_key, status,
                                        sent_at, updated_at)
       SELECT :history_run, 'wm' || lpad(i::text, 9, '0'), i, 'u' || lpad((i % 200)::text, 3, '0'), 'A', 'sent',
              :sent_at - (i % 2) * interval '1 day', now()
       FROM generate_series(1, :customers, 3) i""",
    """INSERT INTO campaign_outside_sends (msgid, sender_userid, target_key, chat_type, sent_at, created_at)
       SELECT 'out' || (i % 50), 'u' || lpad((i % 200)::text, 3, '0'), 'wm' || lpad(i::text, 9, '0'), 'single',
              :sent_at - interval '2 hours', now()
       FROM generate_series(2, :customers, 10) i""",
    "ANALYZE",
]


def new_campaign(name: str, now: datetime) -> Campaign:
    spec = {"name": name, "category": "promotion", "audience_rule": {"op": "and", "rules": []}, "holdout_percent": 10,
            "content": {"text": "{员工姓名} 提醒您：双十二预热开始"},
            "variants": [{"split_percent": 50, "content": {"text": "版本 A"}},
                         {"split_percent": 50, "content": {"text": "版本 B"}}]}
    campaign = editing.save(None, spec, "bench")
    campaign.approved_version, campaign.approved_at, campaign.status = campaign.version, now, "approved"
    db.session.commit()
    return campaign


def history(customers: int, now: datetime) -> None:
    earlier = new_campaign("昨天和今天早上的促销", now - timedelta(days=1))
    run = runs.create_run(earlier, now - timedelta(days=1), "scheduled", "bench", "finished")
    db.session.commit()
    for statement in HISTORY:
        started = time.monotonic()
        with db.engine.begin() as conn:
            conn.execute(text(statement), {"customers": customers, "history_run": run.id,
                                           "sent_at": now - timedelta(hours=1)} if ":" in statement else {})
        print(f"  {' '.join(statement.split()[:3])}: {time.monotonic() - started:.1f} s", flush=True)


def plan_once(number: int, now: datetime) -> tuple[float, dict]:
    campaign = new_campaign(f"基准群发 {number}", now)
    run_id = runs.create_run(campaign, now + timedelta(seconds=number), "manual", "bench").id
    db.session.commit()
    db.session.remove()
    started = time.monotonic()
    run = planner.plan(run_id)
    elapsed = time.monotonic() - started
    counts = dict(run.counts)
    db.session.execute(update(CampaignRun).where(CampaignRun.id == run.id).values(status="cancelled"))
    db.session.commit()
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_options(parser, repeat=3)
    args = parser.parse_args()
    now = utcnow().replace(microsecond=0)
    if now.astimezone(timezone(timedelta(hours=8))).hour < 9 or now.astimezone(timezone(timedelta(hours=8))).hour >= 21:
        print("(corp time is in the quiet hours: runs will be planned as waiting for the window; same work)")
    def fill() -> None:
        generate(args.customers)
        history(args.customers, now)

    with scratch_console(args, f"{args.customers:,} customers and {2 * args.customers:,} relations", fill):
        timings = []
        for number in range(1, args.repeat + 1):
            elapsed, counts = plan_once(number, now)
            timings.append(elapsed)
            print(f"run {number}: {elapsed:.1f} s  total {counts['total']:,}  planned {counts['planned']:,}  "
                  f"holdout {counts['holdout']:,}  skipped {counts['skipped']:,} {counts['skip_reasons']}",
                  flush=True)
        median = statistics.median(timings)
        print(f"\nmedian {median:.1f} s over {len(timings)} runs (target < 60 s): "
              f"{'OK' if median < 60 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
