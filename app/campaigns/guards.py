"""Pure guards of a push: frequency caps, WeCom's receive quota, quiet hours, holdout and A/B buckets."""
from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from app.core.errors import UserError
from app.core.permissions import N_

BUCKETS = 10_000  # hash buckets: percentages with two decimals


# --- frequency caps ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CapRule:
    """At most `max_sends` pushes in `days` calendar days (corp timezone, today included) on one channel,
    of one category or (category None) of any."""

    key: str
    max_sends: int
    days: int
    chat_type: str = "single"
    category: str | None = None

    def applies_to(self, chat_type: str, category: str) -> bool:
        """Whether the rule limits (and counts) pushes of this channel and category."""
        return self.chat_type == chat_type and self.category in (None, category)

    def window_start(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The start of the corp-local day `days - 1` days before today: sends since then count."""
        return start_of_day(now, tz, back=self.days - 1)

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_CAP_RULES = (
    CapRule("promotion_daily", 1, 1, "single", "promotion"),
    CapRule("weekly", 3, 7, "single", None),
)


def cap_rules_from(data: Iterable[dict]) -> list[CapRule]:
    """Rules from their stored form; UserError naming the bad one."""
    rules = []
    for item in data:
        key = str(item.get("key", "")).strip()
        if not re.fullmatch(r"[a-z0-9_]{1,24}", key):
            raise UserError(N_("规则标识「%(key)s」只能是 1-24 位小写字母、数字或下划线"), key=key)
        try:
            max_sends, days = int(item["max_sends"]), int(item["days"])
        except (KeyError, TypeError, ValueError):
            raise UserError(N_("规则「%(key)s」的次数和天数必须是整数"), key=key) from None
        if not (0 <= max_sends <= 1000 and 1 <= days <= 366):
            raise UserError(N_("规则「%(key)s」：次数须在 0-1000 之间，天数须在 1-366 之间"), key=key)
        chat_type = item.get("chat_type") or "single"
        if chat_type not in ("single", "group"):
            raise UserError(N_("规则「%(key)s」的渠道只能是 single 或 group"), key=key)
        rules.append(CapRule(key, max_sends, days, chat_type, item.get("category") or None))
    if len({r.key for r in rules}) != len(rules):
        raise UserError(N_("规则标识不能重复"))
    return rules


def by_strictness(rules: Iterable[CapRule]) -> list[CapRule]:
    """Strictest first: the lowest allowed rate (sends per day), then the longer window (it blocks longer)."""
    return sorted(rules, key=lambda r: (r.max_sends / r.days, -r.days, r.key))


def capping_rule(rules: Iterable[CapRule], sends: Sequence[tuple[datetime, str, str]], now: datetime, tz: ZoneInfo,
                 chat_type: str, category: str) -> CapRule | None:
    """The strictest rule a new push (channel, category) would break, given earlier sends (when, channel, category);
    None when every rule allows it. All rules are AND-ed."""
    for rule in by_strictness(r for r in rules if r.applies_to(chat_type, category)):
        start = rule.window_start(now, tz)
        used = sum(1 for when, ch, cat in sends if when >= start and rule.applies_to(ch, cat))
        if used >= rule.max_sends:
            return rule
    return None


# --- WeCom's receive quota ---------------------------------------------------------------------------------------

def quota_window(rule: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, int]:
    """(since when sends count, how many a customer or group may receive) under WeCom's receive rule.

    "month": the calendar month, as many as it has days (WeCom's wording: 每月最多可接收条数为当月天数);
    "week": 7 in the last 7 calendar days (WeCom does not say whether its week is a calendar week; a rolling
    window is never looser than a calendar one, so it is the safe reading); "day": 1 today."""
    local = now.astimezone(tz)
    if rule == "month":
        start = datetime.combine(local.date().replace(day=1), time.min, tzinfo=tz)
        return start, calendar.monthrange(local.year, local.month)[1]
    if rule == "week":
        return start_of_day(now, tz, back=6), 7
    if rule == "day":
        return start_of_day(now, tz), 1
    raise ValueError(f"unknown receive rule {rule!r}")


def quota_left(rule: str, received: Sequence[datetime], now: datetime, tz: ZoneInfo) -> int:
    """How many more mass messages WeCom will deliver; `received` counts console, outside and counted sends."""
    start, limit = quota_window(rule, now, tz)
    return max(0, limit - sum(1 for when in received if when >= start))


# --- quiet hours -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuietHours:
    """No push is submitted from `start` to `end` corp time (across midnight when start > end); equal: none."""

    start: time = time(21, 0)
    end: time = time(9, 0)

    def is_quiet(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """None when a push may go now, else the instant (UTC) the quiet hours end."""
        local = now.astimezone(tz)
        if not self.is_quiet(local.time()):
            return None
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=tz).astimezone(now.tzinfo)


def parse_hhmm(text: str) -> time:
    """"HH:MM" to a time; UserError otherwise."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", (text or "").strip())
    if not match:
        raise UserError(N_("时间「%(text)s」格式应为 HH:MM，例如 09:00"), text=text)
    return time(int(match.group(1)), int(match.group(2)))


# --- holdout and A/B ---------------------------------------------------------------------------------------------

BUCKET_PARTS = {"holdout": 0, "ab": 1}  # which 32 bits of the digest each draw uses: independent draws


def digest(campaign_id: int, target_key: str) -> str:
    """md5 of "campaign:target" in hex; its first 32 bits draw the holdout, the next 32 the A/B variant.
    The planner computes the same in SQL (md5 on PostgreSQL, these functions registered on SQLite)."""
    return hashlib.md5(f"{campaign_id}:{target_key}".encode()).hexdigest()


def bucket_of_hex(hex8: str) -> int:
    return int(hex8, 16) % BUCKETS


def bucket(campaign_id: int, target_key: str, part: str) -> int:
    """A stable bucket 0..9999 of (campaign, customer) for one draw ("holdout" or "ab")."""
    start = 8 * BUCKET_PARTS[part]
    return bucket_of_hex(digest(campaign_id, target_key)[start:start + 8])


def holdout_threshold(percent: float) -> int:
    """Buckets below this are held out."""
    return round(percent * BUCKETS / 100)


def in_holdout(campaign_id: int, target_key: str, percent: float) -> bool:
    """Whether the customer is held out of the campaign: always the same answer for the same pair."""
    return bucket(campaign_id, target_key, "holdout") < holdout_threshold(percent)


def variant_ranges(splits: Sequence[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(key, first bucket, bucket after the last) per variant; the percentages must add up to 100."""
    if sum(p for _, p in splits) != 100:
        raise ValueError("各版本的比例之和必须是 100%")
    ranges, low = [], 0
    for key, percent in splits:
        high = low + percent * BUCKETS // 100
        ranges.append((key, low, high))
        low = high
    return ranges


def variant_for(campaign_id: int, target_key: str, splits: Sequence[tuple[str, int]]) -> str:
    """The A/B variant of a treated customer, by a bucket independent of the holdout's."""
    b = bucket(campaign_id, target_key, "ab")
    return next(key for key, low, high in variant_ranges(splits) if low <= b < high)


def start_of_day(now: datetime, tz: ZoneInfo, back: int = 0) -> datetime:
    """The start (UTC) of the corp-local day `back` days before the day of `now`."""
    day = now.astimezone(tz).date() - timedelta(days=back)
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(now.tzinfo)
