"""Dates and times as people in the cluster type and read them: UK style, local time, stored UTC.

Dates: 2026-12-03, 3/12/2026 (day first: 3 December), 3/12, 3 Dec, today, tomorrow, tuesday,
next tuesday, in 2 weeks. Times: HH:MM, 24-hour. dateparser reads the dates; we check the rest.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from commands.errors import Refusal

DATE_FORMS = "3/12/2026, 2026-12-03, tomorrow, next tuesday or in 2 weeks"
CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
LOOKS_LIKE_CLOCK = re.compile(r"^\d{1,2}[:.]\d{2}$")


def parse_day(text: str, today: date, example: str) -> date:
    """The calendar day `text` names, reading d/m/y and preferring the future for partial dates."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise Refusal(f"Give a date, like {DATE_FORMS}.", example=example)
    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": datetime.combine(today, time(12, 0)),
        "RETURN_AS_TIMEZONE_AWARE": False,
        "PREFER_DAY_OF_MONTH": "first",
    }
    parsed = dateparser.parse(cleaned, languages=["en"], settings=settings)
    if parsed is None:
        raise Refusal(f"“{cleaned}” isn't a date I can read. Try {DATE_FORMS}.", example=example)
    return parsed.date()


def parse_clock(text: str, example: str) -> time:
    found = CLOCK.match(text.strip())
    if not found:
        raise Refusal(f"“{text}” isn't a time: use 24-hour HH:MM, like 12:30 or 17:00.", example=example)
    return time(int(found.group(1)), int(found.group(2)))


def local_to_utc(day: date, clock: time, tz: str) -> datetime:
    """A wall-clock time in the cluster's zone as an aware UTC datetime (right across clock changes;
    in the repeated autumn hour, the first of the two)."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def describe(moment: datetime, tz: str) -> str:
    """'Thu 3 Dec 2026 17:00' in the cluster's time zone."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%a %-d %b %Y %H:%M")


def deadline(words: list[str], *, now: datetime, tz: str, example: str, default: time = time(17, 0)) -> datetime:
    """`<date> [HH:MM]` as an aware UTC datetime that must lie in the future (default time 17:00)."""
    clock = default
    if words and LOOKS_LIKE_CLOCK.match(words[-1]):
        clock = parse_clock(words[-1], example)
        words = words[:-1]
    day = parse_day(" ".join(words), local_today(now, tz), example)
    moment = local_to_utc(day, clock, tz)
    if moment <= now:
        raise Refusal(f"{describe(moment, tz)} has already passed: give a time in the future.", example=example)
    if moment > now + timedelta(days=400):
        raise Refusal(f"{describe(moment, tz)} is more than a year away.", example=example)
    return moment
