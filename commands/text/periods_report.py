"""The period a Board report covers, as people write it: nothing (the last twelve months), `since <date>
[until <date>]`, `quarter Q3 2026/27` (NHS Scotland's financial quarters: Q1 is April to June), `year 2026/27`
(April to March) or `year 2026` (the calendar year). Every period is whole days, said back as the exact dates
understood ("1 October 2026 to 31 December 2026"), so the reader knows what the figures cover."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from commands.errors import Refusal
from commands.text.dates import BACK, parse_day

FIRST_YEAR = 2000
EXAMPLES = "since 1/4/2026 until 30/9/2026, quarter Q3 2026/27, year 2026/27 or year 2025"
FINANCIAL = re.compile(r"(\d{4})\s*[/-]\s*(\d{2}|\d{4})")
QUARTER = re.compile(r"q([1-4])")


@dataclass(frozen=True)
class ReportPeriod:
    first: date         # the first day covered
    last: date          # the last day covered (never after today)
    slug: str           # for file names: "2026-27-q3", "2025", "since-2026-04-01"
    open_ended: bool = False  # up to today: what is stamped a moment after the request still counts

    @property
    def words(self) -> str:
        return f"{british(self.first)} to {british(self.last)}"


def british(day: date) -> str:
    """"4 December 2026": how dates are written in a document for the Board."""
    return f"{day.day} {day:%B %Y}"


def report_period(text: str, today: date, example: str) -> ReportPeriod:
    words = text.split()
    if not words:
        first = _years_before(today, 1) + timedelta(days=1)
        return ReportPeriod(first, today, "last-12-months", open_ended=True)
    setting, rest = words[0].lower(), words[1:]
    if setting == "since" and rest:
        lower = [w.lower() for w in rest]
        cut = lower.index("until") if "until" in lower else len(rest)
        if cut == 0 or cut + 1 == len(rest):
            raise _refusal(f"“{'since' if cut == 0 else 'until'}” needs a date after it", example)
        first = _day(" ".join(rest[:cut]), today, example)
        last = _day(" ".join(rest[cut + 1:]), today, example) if cut < len(rest) else today
        if first > today:
            raise Refusal(f"{first:%A} {british(first)} is still to come: a report covers time that has passed.",
                          example=example)
        if last < first:
            raise _refusal(f"{british(last)} comes before {british(first)}: give the earlier date after since",
                           example)
        slug = f"since-{first:%Y-%m-%d}" + (f"-until-{last:%Y-%m-%d}" if cut < len(rest) else "")
        return _ending(first, last, today, slug, example)
    if setting == "quarter" and len(rest) == 2:
        match, year = QUARTER.fullmatch(rest[0].lower()), _financial_year(rest[1], today, example)
        if not match:
            raise _refusal(f"“{rest[0][:10]}” isn't a quarter: say Q1 (April–June) to Q4 (January–March)", example)
        q = int(match.group(1))
        first = date(year, 3 * q + 1, 1) if q < 4 else date(year + 1, 1, 1)
        last = _month_end(first, 3)
        return _ending(first, last, today, f"{year}-{(year + 1) % 100:02d}-q{q}", example)
    if setting == "year" and len(rest) == 1:
        if FINANCIAL.fullmatch(rest[0]):
            year = _financial_year(rest[0], today, example)
            return _ending(date(year, 4, 1), date(year + 1, 3, 31), today, f"{year}-{(year + 1) % 100:02d}",
                           example)
        if re.fullmatch(r"\d{4}", rest[0]) and FIRST_YEAR <= int(rest[0]) <= today.year:
            year = int(rest[0])
            return _ending(date(year, 1, 1), date(year, 12, 31), today, str(year), example)
        raise _refusal(f"“{rest[0][:20]}” isn't a year I can report on: give one from {FIRST_YEAR} to "
                       f"{today.year}, or a financial year like {today.year - 1}/{today.year % 100:02d}", example)
    raise _refusal(f"“{' '.join(words)[:40]}” isn't a report period", example)


def _refusal(what: str, example: str) -> Refusal:
    return Refusal(f"{what}. Say {EXAMPLES} (and word for a Word summary too), or nothing for the last twelve "
                   "months.", example=example)


def _day(text: str, today: date, example: str) -> date:
    return parse_day(text, today, example, BACK)


def _financial_year(text: str, today: date, example: str) -> int:
    """2026 from "2026/27" (or "2026-27", "2026/2027"); the second year must follow the first."""
    match = FINANCIAL.fullmatch(text)
    if match:
        start, end = int(match.group(1)), match.group(2)
        follows = int(end) == start + 1 if len(end) == 4 else int(end) == (start + 1) % 100
        if follows and FIRST_YEAR <= start <= today.year:
            return start
    raise _refusal(f"“{text[:20]}” isn't a financial year I can report on: write it like "
                   f"{today.year - 1}/{today.year % 100:02d} (April to March)", example)


def _ending(first: date, last: date, today: date, slug: str, example: str) -> ReportPeriod:
    if first > today:
        raise Refusal(f"{first:%A} {british(first)} is still to come: a report covers time that has passed.",
                      example=example)
    return ReportPeriod(first, min(last, today), slug, open_ended=last >= today)


def _month_end(first: date, months: int) -> date:
    month = first.month - 1 + months
    return date(first.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
