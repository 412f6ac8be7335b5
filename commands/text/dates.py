"""Dates and times as people in the cluster type and read them: British usage, local time, stored UTC.

One reader for every command (see the README's "How dates are read"):
  2026-12-03, 3/12/2026, 3/12/26, 3/12 (day first), 3 Dec, 3rd of December 2026, December 3
  today, tomorrow, yesterday
  friday, this friday (the coming one, today included), next friday (the one in the following week),
  last friday, friday week / a week on friday, a week today, a week tomorrow
  in 3 days, in 2 weeks, in a fortnight, in a month, 3 weeks ago
  end of the month, end of next month, end of March [2027], end of the week, start of March
  day names may be shortened: mon, tue, tues, wed, weds, thu, thur, thurs, fri, sat, sun

A day and month without a year mean the NEAREST such date: from two months back to ten months ahead
(a due date a few weeks past is this year's, and the caller says it has passed). A `since` date always
looks back. Anything else is refused with a reason ("February has 28 days in 2027"), never guessed.
Our own reader is exact and quick; dateparser only reads full dates that carry their year, and only
text already capped at DATE_TEXT_MAX characters (a long date once held the writer for 0.6 s).
"""

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import dateparser
import holidays

from commands.errors import Refusal

DATE_FORMS = "3/12/2026, 2026-12-03, tomorrow, this friday, next friday, friday week or end of March"
DATE_TEXT_MAX = 64        # longer "dates" are refused before any reading
HORIZON_YEARS = 5         # a date further ahead than this is a typo, not a plan
PAST_GRACE = timedelta(days=61)  # a year-less date up to two months past is this year's
CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
LOOKS_LIKE_CLOCK = re.compile(r"^\d{1,2}[:.]\d{2}$")

NEAREST, BACK = "nearest", "back"


class NotADate(Refusal):
    """The text is no date at all (as opposed to an impossible one, like 31/02): free text may keep it."""

DAYS = {name: number for number, names in enumerate((
    ("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "weds", "wednesday"),
    ("thu", "thur", "thurs", "thursday"), ("fri", "friday"), ("sat", "saturday"), ("sun", "sunday"),
)) for name in names}
MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
    ("nov", "november"), ("dec", "december"),
), start=1) for name in names}
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "fortnights": 14}

DAY = "|".join(sorted(DAYS, key=len, reverse=True))
MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}|\d{2}))?$")
ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
DAY_MONTH = re.compile(rf"^{ORDINAL}(?: of)? ({MONTH})(?: (\d{{4}}))?$")
MONTH_DAY = re.compile(rf"^({MONTH}) {ORDINAL}(?: (\d{{4}}))?$")
WEEKDAY = re.compile(rf"^(?:(this|next|last|coming) )?({DAY})( week)?$")
WEEK_ON = re.compile(rf"^a week (?:on |from )?({DAY}|today|tomorrow)$")
IN_UNITS = re.compile(r"^in (\d{1,3}|[a-z]+) (days?|weeks?|fortnights?|months?)$")
AGO = re.compile(r"^(\d{1,3}|[a-z]+) (days?|weeks?|fortnights?|months?) ago$")
END_OF = re.compile(rf"^(end|start|beginning) of (?:the )?(month|week|this month|this week|next month|next week|"
                    rf"(?:{MONTH})(?: \d{{4}})?)$")
MONTH_ONLY = re.compile(rf"^({MONTH})(?: (\d{{4}}))?$")
YEAR = re.compile(r"\b\d{4}\b")


def parse_day(text: str, today: date, example: str, looking: str = NEAREST) -> date:
    """The calendar day `text` names, in British usage. `looking`: NEAREST (due dates, meetings,
    deadlines) or BACK (`since`: the most recent such day)."""
    if len(text) > DATE_TEXT_MAX:
        raise Refusal(f"That date is {len(text)} characters long; a date needs far fewer. Try {DATE_FORMS}.",
                      example=example)
    cleaned = " ".join(text.lower().replace(",", " ").split())
    cleaned = re.sub(r"^(?:on|by|the) ", "", cleaned).rstrip(".")
    if not cleaned:
        raise Refusal(f"Give a date, like {DATE_FORMS}.", example=example)
    day = _read(cleaned, today, looking, example)
    if day is None:
        day = _full_date(cleaned)
    if day is None:
        raise NotADate(f"“{' '.join(text.split())}” isn't a date I can read. Try {DATE_FORMS}.", example=example)
    if not date(2000, 1, 1) <= day <= _add_years(today, HORIZON_YEARS):
        raise Refusal(f"{describe_day(day)} is more than {HORIZON_YEARS} years away: check the year.",
                      example=example)
    return day


def reads_as_date(words: list[str], today: date) -> bool:
    """Whether `words` are meant as a date: readable, or recognisably a date that is impossible (31/02)."""
    try:
        parse_day(" ".join(words), today, "")
    except NotADate:
        return False
    except Refusal:
        return True
    return True


def _read(text: str, today: date, looking: str, example: str) -> date | None:
    """Our own reading of `text`, or None when it is none of the forms we know."""
    if text in ("today", "now"):
        return today
    if text in ("tomorrow", "tmrw", "tmr"):
        return today + timedelta(days=1)
    if text == "yesterday":
        return today - timedelta(days=1)
    if found := ISO.match(text):
        return _exact(int(found[1]), int(found[2]), int(found[3]), example)
    if found := NUMERIC.match(text):
        return _day_month(int(found[1]), int(found[2]), found[3], today, looking, example)
    if found := DAY_MONTH.match(text):
        return _day_month(int(found[1]), MONTHS[found[2]], found[3], today, looking, example)
    if found := MONTH_DAY.match(text):
        return _day_month(int(found[2]), MONTHS[found[1]], found[3], today, looking, example)
    if found := WEEKDAY.match(text):
        return _weekday(found[1], DAYS[found[2]], bool(found[3]), today, looking)
    if found := WEEK_ON.match(text):
        start = {"today": today, "tomorrow": today + timedelta(days=1)}.get(found[1])
        return (start or _weekday(None, DAYS[found[1]], False, today, NEAREST)) + timedelta(days=7)
    if found := IN_UNITS.match(text):
        return _shift(today, _count(found[1]), found[2], +1)
    if found := AGO.match(text):
        return _shift(today, _count(found[1]), found[2], -1)
    if found := END_OF.match(text):
        return _end_of(found[1] == "end", found[2], today, looking, example)
    if looking == BACK and (found := MONTH_ONLY.match(text)):
        return _day_month(1, MONTHS[found[1]], found[2], today, looking, example)
    return None


def _full_date(text: str) -> date | None:
    """Other spellings of a whole date, read by dateparser — only with a year typed, so it never
    has to guess one, and with day, month and year all required."""
    if not YEAR.search(text):
        return None
    settings = {"DATE_ORDER": "DMY", "STRICT_PARSING": True, "RETURN_AS_TIMEZONE_AWARE": False}
    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def _count(word: str) -> int | None:
    return int(word) if word.isdecimal() else NUMBERS.get(word)


def _shift(today: date, n: int | None, unit: str, sign: int) -> date | None:
    if n is None:
        return None
    if unit.startswith("month"):
        return _add_months(today, sign * n)
    return today + timedelta(days=sign * n * UNITS[unit])


def _weekday(which: str | None, weekday: int, week_later: bool, today: date, looking: str) -> date:
    """"friday"/"this friday": the coming one (today included); "next friday": the one in the following
    week (Monday to Sunday); "last friday": the one before today; "friday week": a week after this friday.
    Looking back, a bare "friday" is the most recent one."""
    ahead = (weekday - today.weekday()) % 7
    if which == "next":
        next_monday = today + timedelta(days=7 - today.weekday())
        day = next_monday + timedelta(days=weekday)
    elif which == "last" or (which is None and looking == BACK):
        back = (today.weekday() - weekday) % 7
        day = today - timedelta(days=back or (7 if which == "last" else 0))
    else:
        day = today + timedelta(days=ahead)
    return day + timedelta(days=7) if week_later else day


def _end_of(end: bool, what: str, today: date, looking: str, example: str) -> date:
    if what in ("week", "this week", "next week"):
        friday = today + timedelta(days=4 - today.weekday())  # the working week ends on Friday
        friday += timedelta(days=7) if what == "next week" else timedelta(0)
        return friday if end else friday - timedelta(days=4)
    if what in ("month", "this month", "next month"):
        first = _add_months(today.replace(day=1), 1 if what == "next month" else 0)
    else:
        name, _, year = what.partition(" ")
        first = _day_month(1, MONTHS[name], year or None, today, looking, example)
    return first.replace(day=calendar.monthrange(first.year, first.month)[1]) if end else first


def _day_month(day: int, month: int, year: str | None, today: date, looking: str, example: str) -> date:
    """A day and month, with the year as typed (2 or 4 digits) or, without one, the nearest (or, looking
    back, the most recent) such date."""
    if not 1 <= month <= 12:
        raise Refusal(f"There's no month {month}: dates are day first, like 3/12/2026 for 3 December.",
                      example=example)
    if year is not None:
        return _exact(int(year) + (2000 if len(year) == 2 else 0), month, day, example)
    if day < 1:
        raise Refusal("Days of the month start at 1.", example=example)
    if day > max(calendar.monthrange(y, month)[1] for y in (2027, 2028)):
        raise Refusal(_too_many_days(month, None), example=example)
    # Choose the year by the day (or that month's last, in a year without it), then check it exists.
    candidates = [date(y, month, min(day, calendar.monthrange(y, month)[1]))
                  for y in (today.year - 1, today.year, today.year + 1)]
    if looking == BACK:
        chosen = max(c for c in candidates if c <= today)
    else:
        chosen = min(c for c in candidates if c >= today - PAST_GRACE)
    return _exact(chosen.year, month, day, example)


def _exact(year: int, month: int, day: int, example: str) -> date:
    if not 1 <= month <= 12:
        raise Refusal(f"There's no month {month}: dates are day first, like 3/12/2026 for 3 December.",
                      example=example)
    if not 1 <= year <= 9999:
        raise Refusal(f"{year} isn't a year I can use.", example=example)
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise Refusal(_too_many_days(month, year) if day > days else "Days of the month start at 1.",
                      example=example)
    return date(year, month, day)


def _too_many_days(month: int, year: int | None) -> str:
    name = calendar.month_name[month]
    if year is None:
        return f"{name} has {max(calendar.monthrange(y, month)[1] for y in (2027, 2028))} days."
    return f"{name} has {calendar.monthrange(year, month)[1]} days in {year}."


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _add_years(day: date, years: int) -> date:
    return _add_months(day, 12 * years)


def parse_clock(text: str, example: str) -> time:
    found = CLOCK.match(text.strip())
    if not found:
        raise Refusal(f"“{text[:20]}” isn't a time: use 24-hour HH:MM, like 12:30 or 17:00.", example=example)
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


def describe_day(day: date) -> str:
    """'Thu 3 Dec 2026': every date said back has its weekday and year, so a misreading shows."""
    return f"{day:%a %-d %b %Y}"


@cache
def _bank_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv="SCT", years=year)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Scottish bank holiday (St Andrew's Day, 2 January, … as the
    `holidays` package knows them, substitute days included)."""
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def nth_working_day(month: date, n: int) -> date:
    """The nth working day of the month `month` falls in (weekends and Scottish bank holidays skipped):
    the day of the measures' data-due reminders, the progress-score question and the check-in."""
    day, count = month.replace(day=1), 0
    while True:
        if is_working_day(day):
            count += 1
            if count == n:
                return day
        day += timedelta(days=1)


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


def since_setting(rest: str, now: datetime, tz: str, what: str, example: str) -> datetime | None:
    """`since <date>` (or nothing) after a log's command: the start of that day where the cluster is, or
    None for the whole log. `what` names the log in the refusal ("an audit", "a decisions")."""
    word, when = rest.strip().partition(" ")[::2]
    if word.lower() == "since":
        day = parse_day(when.strip(), local_today(now, tz), example, BACK)
        return local_to_utc(day, datetime.min.time(), tz)
    if word:
        raise Refusal(f"“{word[:40]}” isn't {what} setting: say since <date>, or nothing.", example=example)
    return None


# An example of a command that plans ahead ("due 3/12/2026", "closes …", "schedule …", "move M1 …") must
# never suggest a day already past: such a date is shown as one two weeks or so ahead, a working day.
PLANNED = re.compile(r"\b(due|closes|schedule|move M\d+)(\s+)(\d{1,2})/(\d{1,2})/(\d{4})\b")
EXAMPLE_AHEAD = timedelta(days=14)


def example_day(today: date) -> date:
    """The day an example shows for something planned: two weeks ahead, on a working day."""
    day = today + EXAMPLE_AHEAD
    while day.weekday() >= 5 or day in _bank_holidays(day.year):
        day += timedelta(days=1)
    return day


def future_example(example: str, today: date) -> str:
    """`example` with every planned date that is already past (before `today`) moved ahead (example_day);
    dates that look back (`since 1/4/2026`) and dates still ahead are left as written."""

    def ahead(found: re.Match) -> str:
        try:
            written = date(int(found[5]), int(found[4]), int(found[3]))
        except ValueError:
            return found[0]
        if written >= today:
            return found[0]
        day = example_day(today)
        return f"{found[1]}{found[2]}{day.day}/{day.month}/{day.year}"

    return PLANNED.sub(ahead, example)
