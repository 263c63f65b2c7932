"""The mass-message receive quota per customer and per group: month = days of the month, week = 7 per 7 days, day = 1 a day."""
import calendar
from datetime import datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8))  # WeCom counts calendar days and months in China time


def window(rule: str, now: float) -> tuple[float, int]:
    """(window start as epoch seconds, how many mass messages one recipient may receive in it)."""
    local = datetime.fromtimestamp(now, CHINA)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if rule == "month":
        return midnight.replace(day=1).timestamp(), calendar.monthrange(local.year, local.month)[1]
    if rule == "week":
        # UNCONFIRMED whether 「每周七条」 is a natural week; a rolling 7 x 24 h window never lets a
        # client squeeze 14 messages into 8 days across a week boundary, so it is the safer reading.
        return now - 7 * 86400, 7
    return midnight.timestamp(), 1


def can_receive(received: list, rule: str, now: float) -> bool:
    start, allowed = window(rule, now)
    return sum(1 for t in received if t >= start) < allowed
