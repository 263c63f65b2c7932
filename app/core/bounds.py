"""The ranges of dates and numbers the console accepts from outside: what the database holds and a business means."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

FIRST_DAY = date(1990, 1, 1)   # older than any WeCom customer's order; year 1 overflowed in time-zone arithmetic
LAST_DAY = date(2099, 12, 31)  # year 9999 overflowed too
MAX_AMOUNT = Decimal("1000000000")  # yuan per order (10 亿); sums of such amounts in fen still fit a BIGINT
MAX_DB_ID = 2**31 - 1  # ids are INTEGER columns on PostgreSQL
MAX_RULE_NUMBER = 10**15  # an order count or an amount in fen in a segment rule


def date_in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def time_problem(value: datetime, label: str) -> str | None:
    """Why a time is refused (naming `label`), or None. Its own date is compared, before any conversion to UTC
    (which is what overflowed)."""
    return None if date_in_range(value.date()) else f"{label}需在 {FIRST_DAY} 到 {LAST_DAY} 之间"
