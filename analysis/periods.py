"""Periods of a measure: months (kept as their first day) and weeks (kept as their Monday).

People type a month as they write it: `Nov 2025`, `November 2025`, `Nov-25`, `Nov 25`, `11/25`,
`11/2025`, `2025/11`, `2025-11`, `November` (the latest November not after this month), `last month`,
`this month`, or any date in it (`30/11/2026`, `30 Nov 2026`, `2026-11-30`; day first). A two-digit
year is 20YY. Day and month are never guessed between: `30/11` (no year) and `11/12` (November 2012
or 11 December?) are refused with the way to write them. A week is `w/c 5/10/2026` (week commencing,
day first), `w/c 2026-10-05`, `w/c 5 Oct 2026`, `this week` or `last week`; a day that is not a
Monday names the week it falls in. Words relative to today need `today` from the product's clock.
"""

import re
from datetime import date, timedelta

MONTHLY, WEEKLY = "monthly", "weekly"
MONTHS = {name: i for i, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
YEAR = r"(\d{4}|\d{2})"
SEP = r"\s*[/.\-]\s*"
MONTH_WORD = re.compile(r"^([a-z]{3,9})\.?(?:[\s\-/,]*'?" + YEAR + r")?$")        # nov 2025, nov-25, november
MONTH_NUMBERS = re.compile(r"^(\d{1,2})" + SEP + YEAR + r"$")                   # 11/2025, 11/25 (or 30/11)
YEAR_FIRST = re.compile(r"^(\d{4})" + SEP + r"(\d{1,2})$")                       # 2025-11, 2025/11
WEEK_PREFIX = re.compile(r"^(?:w/?c|week\s+(?:commencing|beginning|of)|wb|w/b)\s*:?\s*", re.IGNORECASE)
DAY_FIRST = re.compile(r"^(\d{1,2})" + SEP + r"(\d{1,2})" + SEP + YEAR + r"$")
ISO_DAY = re.compile(r"^(\d{4})" + SEP + r"(\d{1,2})" + SEP + r"(\d{1,2})$")
DAY_MONTH_WORD = re.compile(r"^(?:[a-z]{3,9},?\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\.?,?"
                            r"(?:[\s\-]+'?" + YEAR + r")?$")
MONTH_WORD_DAY = re.compile(r"^([a-z]{3,9})\.?\s+(\d{1,2})(?:(?:st|nd|rd|th),?(?:\s+(\d{4}))?|,?\s+(\d{4}))$")
RELATIVE_MONTHS = {"this month": 0, "current month": 0, "last month": -1, "previous month": -1}
RELATIVE_WEEKS = {"this week": 0, "current week": 0, "last week": -1, "previous week": -1}

MONTH_FORMS = "Nov 2026, Nov-26, 11/2026, 2026-11, November, last month, or a date in it like 30/11/2026"
WEEK_FORMS = "w/c 5/10/2026 (the Monday the week starts), or this week, last week"


class PeriodError(ValueError):
    """A period that cannot be read; the message says what works."""


def forms(frequency: str) -> str:
    return WEEK_FORMS if frequency == WEEKLY else MONTH_FORMS


def parse_period(text: str, frequency: str, today: date | None = None) -> date:
    """The period `text` names: the first of the month, or the Monday of the week. `today` (the
    product's clock, in the cluster's zone) is needed only for `November`, `last month` and the like."""
    cleaned = " ".join(text.split()).lower()
    if frequency == WEEKLY:
        return _week(cleaned, text.strip(), today)
    return _month(cleaned, text.strip(), today)


def _month(text: str, typed: str, today: date | None) -> date:
    if text in RELATIVE_MONTHS:
        return following(_today(today).replace(day=1), MONTHLY, RELATIVE_MONTHS[text])
    if (found := MONTH_WORD.match(text)) and (month := _month_number(found.group(1))) is not None:
        if found.group(2) is None:
            return _latest(month, _today(today))
        return _checked(_year(found.group(2)), month, typed)
    if found := YEAR_FIRST.match(text):
        return _checked(int(found.group(1)), int(found.group(2)), typed)
    if found := MONTH_NUMBERS.match(text):
        return _month_and_year(int(found.group(1)), found.group(2), typed, today)
    day = _day(text, typed)
    if day is None:
        raise PeriodError(f"I couldn't read the month “{typed}”. Write it like {MONTH_FORMS}.")
    return day.replace(day=1)


def _month_and_year(first: int, second: str, typed: str, today: date | None) -> date:
    """`11/2025` and `11/25` are a month and year; `30/11` is a day and month with no year, and `11/12`
    could be either: both are refused rather than guessed."""
    if len(second) == 4:
        return _checked(int(second), first, typed)
    number = int(second)
    if 1 <= first <= 12 and number > 12:
        return _checked(_year(second), first, typed)
    if 1 <= number <= 12 and 1 <= first <= 12:
        raise PeriodError(f"“{typed}” could be {date(_year(second), first, 1):%B %Y} or {first} "
                          f"{date(2000, number, 1):%B}: write the month as a word, like "
                          f"{date(_year(second), first, 1):%b %Y}, or the date with its year.")
    if 1 <= number <= 12 and 1 <= first <= 31:
        year = today.year if today else "YYYY"
        raise PeriodError(f"“{typed}” is a day and month with no year: add the year, like {first}/{number}/{year}, "
                          "or write the month as a word, like Nov 2026.")
    raise PeriodError(f"I couldn't read the month “{typed}”. Write it like {MONTH_FORMS}.")


def _checked(year: int, month: int, typed: str) -> date:
    if not 1 <= month <= 12 or not 1900 <= year <= 2999:
        raise PeriodError(f"I couldn't read the month “{typed}”. Write it like {MONTH_FORMS}.")
    return date(year, month, 1)


def _year(digits: str) -> int:
    """A two-digit year is this century's: `25` is 2025."""
    return 2000 + int(digits) if len(digits) == 2 else int(digits)


def _latest(month: int, today: date) -> date:
    """A month named without a year: the latest one not after the current month."""
    year = today.year if month <= today.month else today.year - 1
    return date(year, month, 1)


def _today(today: date | None) -> date:
    if today is None:  # a caller's bug, not the person's: relative words need the product's clock
        raise PeriodError("Give the month with its year, like Nov 2026.")
    return today


def _month_number(word: str) -> int | None:
    return MONTHS.get(word[:3]) if _is_month_name(word) else None


def _day(text: str, typed: str) -> date | None:
    """A full date (day first, or year first), or None when `text` is not shaped like one; a date with
    no year, or one that does not exist, is refused with what to write."""
    parts = None
    if found := DAY_FIRST.match(text):
        parts = (_year(found.group(3)), int(found.group(2)), int(found.group(1)))
    elif found := ISO_DAY.match(text):
        parts = (int(found.group(1)), int(found.group(2)), int(found.group(3)))
    elif (found := DAY_MONTH_WORD.match(text)) and (month := _month_number(found.group(2))) is not None:
        if found.group(3) is None:
            raise PeriodError(f"“{typed}” has no year: add it, like {found.group(1)} {found.group(2)[:3].title()} "
                              "2026, or give just the month, like Nov 2026.")
        parts = (_year(found.group(3)), month, int(found.group(1)))
    elif (found := MONTH_WORD_DAY.match(text)) and (month := _month_number(found.group(1))) is not None:
        year = found.group(3) or found.group(4)  # November 30th 2026, November 30 2026
        if year is None:
            raise PeriodError(f"“{typed}” has no year: add it, or give just the month, like Nov 2026.")
        parts = (int(year), month, int(found.group(2)))
    if parts is None:
        return None
    try:
        return date(*parts)
    except ValueError:
        raise PeriodError(f"“{typed}” isn't a date in the calendar. Write the month like {MONTH_FORMS}.") from None


def _is_month_name(word: str) -> bool:
    full = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
            "october", "november", "december"]
    return any(name.startswith(word) for name in full) or word == "sept"


def _week(text: str, typed: str, today: date | None) -> date:
    if text in RELATIVE_WEEKS:
        return period_of(_today_for_week(today), WEEKLY) + timedelta(weeks=RELATIVE_WEEKS[text])
    bare = WEEK_PREFIX.sub("", text)
    try:
        day = _day(bare, typed)
    except PeriodError:
        day = None
    if day is None:
        raise PeriodError(f"I couldn't read the week “{typed}”. Write it like {WEEK_FORMS}.")
    return day - timedelta(days=day.weekday())


def _today_for_week(today: date | None) -> date:
    if today is None:
        raise PeriodError(f"Give the week as a date, like {WEEK_FORMS}.")
    return today


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
