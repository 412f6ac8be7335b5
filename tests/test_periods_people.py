"""Months as people write them (issue 23): every form read to the right month with a fixed today, the
year boundaries of `November`, `last month` and `this month`, day and month never guessed between, and
a refusal that names the part it could not read — in analysis/periods.py and through the platform-free
driver (testkit/driver.py), where a record typed in mixed formats stores the months worked out by hand."""

from datetime import date

import pytest
from sqlmodel import select

from analysis import periods
from commands.results import Audience, Tone, plain_text
from storage.models import MeasurePoint
from testkit import factories
from testkit.driver import Driver
from testkit.helpers import snapshot

THU_26_NOV_2026 = date(2026, 11, 26)   # the tests' clock (testkit/clock.py)
FRI_15_JAN_2027 = date(2027, 1, 15)    # a year boundary: November and last month are last year's


@pytest.mark.parametrize(("typed", "today", "month"), [
    ("Nov-25", THU_26_NOV_2026, date(2025, 11, 1)),
    ("Nov 25", THU_26_NOV_2026, date(2025, 11, 1)),
    ("nov25", THU_26_NOV_2026, date(2025, 11, 1)),
    ("Nov '25", THU_26_NOV_2026, date(2025, 11, 1)),
    ("November 2025", THU_26_NOV_2026, date(2025, 11, 1)),
    ("Sept 2026", THU_26_NOV_2026, date(2026, 9, 1)),
    ("11/25", THU_26_NOV_2026, date(2025, 11, 1)),
    ("11 / 25", THU_26_NOV_2026, date(2025, 11, 1)),
    ("1/26", THU_26_NOV_2026, date(2026, 1, 1)),
    ("2025/11", THU_26_NOV_2026, date(2025, 11, 1)),
    ("2025 / 11", THU_26_NOV_2026, date(2025, 11, 1)),
    ("2025-11", THU_26_NOV_2026, date(2025, 11, 1)),
    ("11/2025", THU_26_NOV_2026, date(2025, 11, 1)),
    ("11-2025", THU_26_NOV_2026, date(2025, 11, 1)),
    ("30/11/2026", THU_26_NOV_2026, date(2026, 11, 1)),
    ("30.11.26", THU_26_NOV_2026, date(2026, 11, 1)),
    ("30 Nov 2026", THU_26_NOV_2026, date(2026, 11, 1)),
    ("Mon 30th of November 2026", THU_26_NOV_2026, date(2026, 11, 1)),
    ("November 30 2026", THU_26_NOV_2026, date(2026, 11, 1)),
    ("2026-11-30", THU_26_NOV_2026, date(2026, 11, 1)),
    # a month with no year: the latest one not after the current month
    ("November", THU_26_NOV_2026, date(2026, 11, 1)),
    ("December", THU_26_NOV_2026, date(2025, 12, 1)),
    ("Oct", THU_26_NOV_2026, date(2026, 10, 1)),
    ("November", FRI_15_JAN_2027, date(2026, 11, 1)),
    ("January", FRI_15_JAN_2027, date(2027, 1, 1)),
    ("last month", THU_26_NOV_2026, date(2026, 10, 1)),
    ("Last  Month", FRI_15_JAN_2027, date(2026, 12, 1)),
    ("this month", THU_26_NOV_2026, date(2026, 11, 1)),
    ("this month", FRI_15_JAN_2027, date(2027, 1, 1)),
])
def test_a_month_as_people_write_it(typed, today, month):
    assert periods.parse_period(typed, periods.MONTHLY, today) == month


@pytest.mark.parametrize(("typed", "today", "monday"), [
    ("w/c 7/10/2026", None, date(2026, 10, 5)),
    ("w/c 5/10/26", None, date(2026, 10, 5)),
    ("w/c 5 Oct 2026", None, date(2026, 10, 5)),
    ("this week", THU_26_NOV_2026, date(2026, 11, 23)),
    ("last week", FRI_15_JAN_2027, date(2027, 1, 4)),
    ("last week", date(2027, 1, 6), date(2026, 12, 28)),
])
def test_a_week_keeps_its_forms_and_gains_this_and_last_week(typed, today, monday):
    assert periods.parse_period(typed, periods.WEEKLY, today) == monday


@pytest.mark.parametrize(("typed", "says"), [
    ("30/11", "“30/11” is a day and month with no year: add the year, like 30/11/2026"),
    ("11/12", "“11/12” could be November 2012 or 11 December"),
    ("30 Nov", "“30 Nov” has no year"),
    ("Novembre 2025", "I couldn't read the month “Novembre 2025”. Write it like Nov 2026, Nov-26, 11/2026"),
    ("13/2025", "I couldn't read the month “13/2025”"),
    ("31/2/2026", "“31/2/2026” isn't a date in the calendar"),
])
def test_day_and_month_are_never_guessed_between(typed, says):
    with pytest.raises(periods.PeriodError) as refused:
        periods.parse_period(typed, periods.MONTHLY, THU_26_NOV_2026)
    assert says in str(refused.value)


def test_the_forms_shown_to_people_name_the_new_ones():
    assert "Nov-26" in periods.forms(periods.MONTHLY) and "last month" in periods.forms(periods.MONTHLY)
    assert "last week" in periods.forms(periods.WEEKLY)


# --- through the driver ---------------------------------------------------------------------------

MEMBERS = {"ULEAD": "80123", "UGP": "80123", "UNURSE": "80456"}


@pytest.fixture
def riverside_d1(product) -> Driver:
    """Riverside with a percent measure D1; today is Thu 26 Nov 2026 (the tests' clock)."""
    driver = Driver(product)
    factories.riverside(driver.say, practices=2, members=MEMBERS, channel="CCLUSTER")
    for typed in ("/topic propose HbA1c at or under 58",
                  "/measure add T1 HbA1c at or under 58 percent higher is better"):
        assert driver.say(typed, user="ULEAD", channel="CCLUSTER").reply.tone == Tone.DONE
    return driver


@pytest.fixture
def say(riverside_d1):
    driver = riverside_d1
    return lambda typed, user="ULEAD": driver.say(f"/measure {typed}", user=user, channel="CCLUSTER").reply


def stored(db) -> list[tuple[date, float | None, float | None]]:
    with db.session() as session:
        rows = session.exec(select(MeasurePoint).order_by(MeasurePoint.period))
        return [(p.period, p.numerator, p.denominator) for p in rows]


def test_a_record_typed_in_mixed_formats_stores_the_months_worked_out_by_hand(say, db):
    reply = say("record D1 Nov-25 229 / 402\n"
                "Dec 25 57 %\n"
                "1/26 10 /20\n"
                "2026/02 11/ 20\n"
                "2026-03 12/20\n"
                "4/2026 13/20\n"
                "30/5/2026 14/20\n"
                "30 Jun 2026 15/20\n"
                "2026-07-31 16/20\n"
                "August 17/20\n"
                "Sept 2026: 18/20\n"
                "Jul 25 - 9/20\n"
                "last month 19/20")
    assert reply.tone == Tone.DONE, plain_text(reply)
    assert stored(db) == [
        (date(2025, 7, 1), 9, 20), (date(2025, 11, 1), 229, 402), (date(2025, 12, 1), None, None),
        (date(2026, 1, 1), 10, 20),
        (date(2026, 2, 1), 11, 20), (date(2026, 3, 1), 12, 20), (date(2026, 4, 1), 13, 20),
        (date(2026, 5, 1), 14, 20), (date(2026, 6, 1), 15, 20), (date(2026, 7, 1), 16, 20),
        (date(2026, 8, 1), 17, 20), (date(2026, 9, 1), 18, 20), (date(2026, 10, 1), 19, 20)]
    text = plain_text(reply)
    assert "Nov 2025" in text and "Dec 2025" in text and "Oct 2026" in text  # the months understood, said back


def test_the_spaced_value_the_issue_quotes_is_recorded(say, db):
    assert say("record D1 november 2025 229 / 402").tone == Tone.DONE
    assert say("record D1 Dec 2025 57 %").tone == Tone.DONE
    assert stored(db) == [(date(2025, 11, 1), 229, 402), (date(2025, 12, 1), None, None)]


@pytest.mark.parametrize(("typed", "says"), [
    ("record D1 Nov 25 abc", "“abc” isn't a value I can read"),
    ("record D1 november 2025 229 / x", "“229 / x” isn't a value I can read"),
    ("record D1 Novembre 2025 57%", "I couldn't read the month “Novembre 2025”. Write it like Nov 2026"),
    ("record D1 30/11 57%", "“30/11” is a day and month with no year: add the year"),
    ("record D1 11/12 4/10", "“11/12” could be November 2012 or 11 December"),
    ("record D1 November 25", "“November 25” reads as Nov 2025 with no value"),
    ("record D1 Sep 2026 4/10\nNovember 30 4/10", "Line 2 (nothing was recorded): Nov 2030 is in the future"),
])
def test_a_refusal_names_the_part_it_could_not_read(say, db, typed, says):
    before = snapshot(db)
    reply = say(typed)
    assert reply.tone == Tone.PROBLEM and reply.audience == Audience.PERSON, plain_text(reply)
    assert says in plain_text(reply), plain_text(reply)
    assert "/measure record D1 Oct 2026 42/120" in plain_text(reply)  # an example that works
    assert snapshot(db) == before


def test_the_lead_s_form_reads_the_same_months(riverside_d1, db):
    form = riverside_d1.say("/measure enter D1", channel="CCLUSTER").reply.form
    assert "last month" in dict((f.name, f.hint) for f in form.fields)["period"]  # the forms, shown as the hint
    wrong = riverside_d1.submit(form, {"period": "30/11", "p80123": "4/10"}, channel="CCLUSTER")
    assert "add the year" in wrong.reply.field_errors["period"]
    assert riverside_d1.submit(form, {"period": "last month", "p80123": "4 / 10", "p80456": "57 %"},
                               channel="CCLUSTER").reply.tone == Tone.DONE
    assert stored(db) == [(date(2026, 10, 1), 4, 10), (date(2026, 10, 1), None, None)]
