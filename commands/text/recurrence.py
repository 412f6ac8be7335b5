"""Recurring meetings: the few ways people say it, turned into an iCalendar rule for dateutil.rrule.

every tuesday · every other tuesday · every 2 weeks on tuesday · every 2nd tuesday (the second
Tuesday of each month) · every month on the first wednesday · every 2 months on the last friday.
Occurrences are computed on local dates and given the meeting's wall-clock time, so a 12:30
meeting stays at 12:30 across the clock changes.
"""

import re
from datetime import date, datetime, time

from dateutil.rrule import rrulestr

from commands.errors import Refusal

WEEKDAYS = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH", "friday": "FR",
            "saturday": "SA", "sunday": "SU"}
SHORT_DAYS = {name[:3]: code for name, code in WEEKDAYS.items()} | {"tues": "TU", "weds": "WE", "thur": "TH",
                                                                    "thurs": "TH"}
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
            "last": -1}
DAY_NAMES = {code: name.capitalize() for name, code in WEEKDAYS.items()}
ORDINAL_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
FORMS = ("every tuesday, every other tuesday, every 2nd tuesday (of each month), "
         "every month on the first wednesday, every 2 months on the last friday")
RULE = re.compile(r"^FREQ=(WEEKLY|MONTHLY);INTERVAL=(\d+);BYDAY=([+-]?\d)?([A-Z]{2})$")


def _weekday(word: str) -> str | None:
    word = word.lower().rstrip("s") if word.lower() not in WEEKDAYS else word.lower()
    return WEEKDAYS.get(word) or WEEKDAYS.get(word + "s") or SHORT_DAYS.get(word[:5]) or SHORT_DAYS.get(word[:3])


def parse_rule(words: list[str], example: str) -> str:
    """The rule `every …` describes, as "FREQ=…;INTERVAL=…;BYDAY=…", or a Refusal listing what works."""
    phrase = " ".join(words).lower()
    rule = (_monthly(phrase) or _weekly(phrase)) if phrase else None
    if rule is None:
        raise Refusal(f"I can't read “every {' '.join(words)}” as a repeat. Forms that work: {FORMS}.",
                      example=example)
    return rule


def _monthly(phrase: str) -> str | None:
    # every [N] month(s) on the <ordinal> <weekday>  |  every <ordinal> <weekday> [of the month]
    found = re.fullmatch(r"(?:(\d+) )?months? on the (\w+) (\w+)", phrase) or \
        re.fullmatch(r"()(\w+) (\w+)(?: of (?:the|each|every) month)?", phrase)
    if not found:
        return None
    interval, ordinal, day = found.group(1) or "1", ORDINALS.get(found.group(2)), _weekday(found.group(3))
    if ordinal is None or day is None or not 1 <= int(interval) <= 12:
        return None
    return f"FREQ=MONTHLY;INTERVAL={int(interval)};BYDAY={ordinal:+d}{day}"


def _weekly(phrase: str) -> str | None:
    # every <weekday> | every other <weekday> | every N weeks on <weekday> | every fortnight on <weekday>
    found = re.fullmatch(r"(?:(other|fortnight|(\d+) weeks) (?:on )?)?(\w+)", phrase)
    if not found or _weekday(found.group(3)) is None:
        return None
    interval = 2 if found.group(1) in ("other", "fortnight") else int(found.group(2) or 1)
    if not 1 <= interval <= 8:
        return None
    return f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={_weekday(found.group(3))}"


def describe_rule(rule: str) -> str:
    """In words, as it will be echoed back: "the first Wednesday of every month"."""
    freq, interval, nth, day = RULE.match(rule).groups()
    interval = int(interval)
    if freq == "WEEKLY":
        return {1: f"every {DAY_NAMES[day]}", 2: f"every other {DAY_NAMES[day]}"}.get(
            interval, f"every {interval} weeks on {DAY_NAMES[day]}")
    months = "every month" if interval == 1 else f"every {interval} months"
    return f"the {ORDINAL_NAMES[int(nth)]} {DAY_NAMES[day]} of {months}"


def first_day(rule: str, now_local: datetime, clock: time) -> date:
    """The first date on the rule whose meeting time is still ahead (the series starts there)."""
    every_time = re.sub(r"INTERVAL=\d+", "INTERVAL=1", rule)
    start = datetime.combine(now_local.date(), clock)
    return rrulestr(f"RRULE:{every_time}", dtstart=start).after(now_local.replace(tzinfo=None)).date()


def next_day(rule: str, current: date, clock: time) -> date:
    """The occurrence after `current` (itself on the rule), counting the interval from it."""
    start = datetime.combine(current, clock)
    return rrulestr(f"RRULE:{rule}", dtstart=start).after(start).date()
