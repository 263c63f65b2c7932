"""Demo data for the team pages: the snapshot of the emulator's last 180 days, taken the way the nightly job does."""
from __future__ import annotations

from app.team.snapshot import snapshot


def seed_demo_team() -> str:
    """Take the first snapshot (a backfill of 180 days) and say what it did."""
    outcome = snapshot(lambda done, total, message: None)
    return f"已保存团队绩效快照：{outcome.calls} 次企业微信调用，{outcome.rows} 行（见团队绩效页）"
