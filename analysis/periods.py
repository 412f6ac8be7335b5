"""Periods of a measure: months (kept as their first day) and weeks (kept as their Monday).

People type a month as `Oct 2026`, `October 2026`, `10/2026` or `2026-10`, and a week as
`w/c 5/10/2026` (week commencing, day first) or `w/c 2026-10-05`. A day that is not a Monday names
the week it falls in.
"""

import re
from datetime import date, timedelta

MONTHLY, WEEKLY = "monthly", "weekly"
MONTHS = {name: i for i, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
MONTH_WORD = re.compile(r"^([a-z]{3,9})\.?[\s\-/]*'?(\d{4})$")
MONTH_NUMBERS = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{4})$")
ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
WEEK_PREFIX = re.compile(r"^(?:w/?c|week\s+(?:commencing|beginning|of)|wb|w/b)\s*:?\s*", re.IGNORECASE)
DAY_FIRST = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})$")
ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
DAY_MONTH_WORD = re.compile(r"^(?:[a-z]{3,9},?\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3,9})\.?\s+(\d{4})$")

MONTH_FORMS = "Oct 2026, 10/2026 or 2026-10"
WEEK_FORMS = "w/c 5/10/2026 (the Monday the week starts)"


class PeriodError(ValueError):
    """A period that cannot be read; the message says what works."""


def forms(frequency: str) -> str:
    return WEEK_FORMS if frequency == WEEKLY else MONTH_FORMS


def parse_period(text: str, frequency: str) -> date:
    """The period `text` names: the first of the month, or the Monday of the week."""
    cleaned = " ".join(text.split()).lower()
    if frequency == WEEKLY:
        return _week(cleaned)
    return _month(cleaned)


def _month(text: str) -> date:
    year = month = None
    if found := MONTH_WORD.match(text):
        word, year = found.group(1), int(found.group(2))
        month = MONTHS.get(word[:3]) if _is_month_name(word) else None
    elif found := MONTH_NUMBERS.match(text):
        month, year = int(found.group(1)), int(found.group(2))
    elif found := ISO_MONTH.match(text):
        year, month = int(found.group(1)), int(found.group(2))
    if month is None or not 1 <= month <= 12 or not 1900 <= year <= 2999:
        raise PeriodError(f"“{text}” isn't a month I can read. Write it like {MONTH_FORMS}.")
    return date(year, month, 1)


def _is_month_name(word: str) -> bool:
    full = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
            "october", "november", "december"]
    return any(name.startswith(word) for name in full) or word == "sept"


def _week(text: str) -> date:
    bare = WEEK_PREFIX.sub("", text)
    day = None
    try:
        if found := DAY_FIRST.match(bare):
            day = date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        elif found := ISO_DAY.match(bare):
            day = date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        elif (found := DAY_MONTH_WORD.match(bare)) and _is_month_name(found.group(2)):
            day = date(int(found.group(3)), MONTHS[found.group(2)[:3]], int(found.group(1)))
    except ValueError:
        day = None
    if day is None:
        raise PeriodError(f"“{text}” isn't a week I can read. Write it like {WEEK_FORMS}.")
    return day - timedelta(days=day.weekday())


def period_of(day: date, frequency: str) -> date:
    """The period a calendar day falls in."""
    if frequency == WEEKLY:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def following(period: date, frequency: str, steps: int = 1) -> date:
    """The period `steps` after `period` (before, when negative)."""
    if frequency == WEEKLY:
        return period + timedelta(weeks=steps)
    months = period.year * 12 + period.month - 1 + steps
    return date(months // 12, months % 12 + 1, 1)


def span(first: date, last: date, frequency: str) -> list[date]:
    """Every period from `first` to `last`, gaps included."""
    periods, current = [], first
    while current <= last:
        periods.append(current)
        current = following(current, frequency)
    return periods


def label(period: date, frequency: str) -> str:
    """`Oct 2026`, or `w/c 5 Oct 2026` for a week."""
    if frequency == WEEKLY:
        return f"w/c {period:%-d %b %Y}"
    return f"{period:%b %Y}"


def typed(period: date, frequency: str) -> str:
    """The period as people type it: `Oct 2026`, or `w/c 5/10/2026`."""
    if frequency == WEEKLY:
        return f"w/c {period.day}/{period.month}/{period.year}"
    return f"{period:%b %Y}"


def short_label(period: date, frequency: str) -> str:
    """For a chart's axis: `Oct 26`, or `5 Oct` for a week."""
    return f"{period:%-d %b}" if frequency == WEEKLY else f"{period:%b %y}"
