"""The one date reader: British usage, the nearest year, `since` looking back, reasons for impossible dates —
read directly, then through the platform-free driver (testkit/driver.py) and the console on both databases.
Today is Thu 26 Nov 2026."""

from datetime import date

import pytest
from sqlmodel import select

from bot.console import run_line
from commands.context import Caller
from commands.errors import Refusal
from commands.text.dates import BACK, DATE_TEXT_MAX, parse_day
from storage.models import Action, Meeting, Poll
from testkit import factories
from testkit.driver import refused
from testkit.helpers import snapshot

THURSDAY = date(2026, 11, 26)


@pytest.mark.parametrize("typed, expected", [
    ("today", date(2026, 11, 26)),
    ("tomorrow", date(2026, 11, 27)),
    ("friday", date(2026, 11, 27)),
    ("this friday", date(2026, 11, 27)),
    ("Friday", date(2026, 11, 27)),
    ("next friday", date(2026, 12, 4)),          # the Friday of next week, not tomorrow
    ("friday week", date(2026, 12, 4)),
    ("a week on Friday", date(2026, 12, 4)),
    ("a week today", date(2026, 12, 3)),
    ("thurs", date(2026, 11, 26)),              # the coming Thursday is today
    ("next thurs", date(2026, 12, 3)),
    ("weds", date(2026, 12, 2)),
    ("next wed", date(2026, 12, 2)),
    ("tues", date(2026, 12, 1)),
    ("last friday", date(2026, 11, 20)),
    ("end of March", date(2027, 3, 31)),
    ("end of the month", date(2026, 11, 30)),
    ("end of next month", date(2026, 12, 31)),
    ("end of february 2028", date(2028, 2, 29)),
    ("end of the week", date(2026, 11, 27)),
    ("in a fortnight", date(2026, 12, 10)),
    ("in 2 weeks", date(2026, 12, 10)),
    ("in three days", date(2026, 11, 29)),
    ("in a month", date(2026, 12, 26)),
    ("3/12/2026", date(2026, 12, 3)),
    ("3/12/26", date(2026, 12, 3)),
    ("2026-12-03", date(2026, 12, 3)),
    ("3 Dec", date(2026, 12, 3)),
    ("3rd of December 2026", date(2026, 12, 3)),
    ("December 3rd", date(2026, 12, 3)),
    ("on 3 Dec", date(2026, 12, 3)),
    ("20/11", date(2026, 11, 20)),               # six days past: this year's, not next year's
    ("1/10", date(2026, 10, 1)),                 # two months past at most
    ("20/9", date(2027, 9, 20)),                 # further back: next year's
    ("3/1", date(2027, 1, 3)),                   # the nearest 3 January is next year's
    ("29/2/2028", date(2028, 2, 29)),
])
def test_british_phrasings(typed, expected):
    assert parse_day(typed, THURSDAY, "ex") == expected


def test_year_less_dates_either_side_of_the_new_year():
    assert parse_day("20/12", date(2027, 1, 5), "ex") == date(2026, 12, 20)  # just past: last year's
    assert parse_day("5/1", date(2026, 12, 20), "ex") == date(2027, 1, 5)    # just ahead: next year's


@pytest.mark.parametrize("typed, expected", [
    ("1/11", date(2026, 11, 1)),
    ("1/12", date(2025, 12, 1)),   # a since date is never in the future
    ("friday", date(2026, 11, 20)),
    ("november", date(2026, 11, 1)),
    ("3 weeks ago", date(2026, 11, 5)),
])
def test_since_always_looks_back(typed, expected):
    assert parse_day(typed, THURSDAY, "ex", BACK) == expected


@pytest.mark.parametrize("typed, says", [
    ("31/02/2027", "February has 28 days in 2027."),
    ("29/02/2027", "February has 28 days in 2027."),
    ("29/2", "February has 28 days in 2027."),      # year-less: the nearest February is 2027's
    ("31/4", "April has 30 days."),
    ("32/1", "January has 31 days."),
    ("0/1", "Days of the month start at 1."),
    ("3/13/2026", "There's no month 13: dates are day first"),
    ("whenever", "“whenever” isn't a date I can read"),
    ("1/1/2040", "Sun 1 Jan 2040 is more than 5 years away"),
    ("x" * (DATE_TEXT_MAX + 1), f"That date is {DATE_TEXT_MAX + 1} characters long"),
])
def test_impossible_dates_say_why(typed, says):
    with pytest.raises(Refusal) as refused:
        parse_day(typed, THURSDAY, "/action due A1 friday")
    assert says in str(refused.value)
    assert refused.value.example == "/action due A1 friday"


# --- through the product (the platform-free driver) ---------------------------------------------

@pytest.fixture
def cluster(driver):
    """Riverside with one practice, 80123, and UGP in it; ULEAD leads."""
    factories.riverside(driver.say, practices=1, members={"UGP": "80123"})
    return driver


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model).order_by(model.id)))


def test_a_year_less_due_date_just_past_is_this_years_and_flagged(cluster, db):
    cluster.say("/action add Audit <@UGP> due friday")
    response = cluster.say("/action due A1 20/11")
    assert "moved A1 Audit to due Fri 20 Nov 2026." in response.text
    assert "Note: Fri 20 Nov 2026 has already passed, so it shows as overdue." in response.text
    assert rows(db, Action)[0].due_on == date(2026, 11, 20)
    assert "A1" in cluster.say("/action list overdue").text


@pytest.mark.parametrize("typed, said", [
    ("next friday", "Fri 4 Dec 2026"), ("friday week", "Fri 4 Dec 2026"), ("a week on friday", "Fri 4 Dec 2026"),
    ("end of the month", "Mon 30 Nov 2026"), ("end of March", "Wed 31 Mar 2027"), ("thurs", "Thu 26 Nov 2026"),
    ("next wed", "Wed 2 Dec 2026"), ("in a fortnight", "Thu 10 Dec 2026"),
])
def test_every_phrasing_is_said_back_with_weekday_and_year(cluster, db, typed, said):
    response = cluster.say(f"/action add Send letters due {typed}")
    assert response.in_channel and f"due {said}" in response.text, response.text


def test_export_since_looks_back(cluster):
    response = cluster.say("/action export all since 1/11")
    assert "Preparing the action log (all since Sun 1 Nov 2026)" in response.text


def test_meetings_and_polls_read_the_same_dates(cluster, db):
    response = cluster.say("/meeting schedule next friday 12:30 Cluster QI meeting")
    assert "Fri 4 Dec 2026 12:30" in response.text
    response = cluster.say('/poll "Which first?" "Asthma" "Frailty" closes friday week')
    assert rows(db, Poll)[0].closes_at.date() == date(2026, 12, 4)
    assert rows(db, Meeting)[0].title == "Cluster QI meeting"


@pytest.mark.parametrize("command, text, says", [
    ("/action", "add Send letters due 31/02/2027", "February has 28 days in 2027."),
    ("/action", "add Send letters due 29/02", "February has 28 days in 2027."),
    ("/meeting", "schedule 20/11 12:30 Already gone", "Fri 20 Nov 2026 12:30 has already passed"),
    ("/poll", '"Q?" "A" "B" closes 31/4', "April has 30 days."),
    ("/action", "add Send letters due " + "9" * 200, "characters long; a date needs far fewer"),
])
def test_impossible_dates_are_refused_with_a_reason_and_change_nothing(cluster, db, command, text, says):
    before = snapshot(db)
    refused(cluster.say(f"{command} {text}"), says)
    assert snapshot(db) == before


def test_who_may_act_is_checked_before_the_date_is_read(cluster, db):
    cluster.say("/action add Audit <@UGP>", user="UGP")
    cluster.say("/cluster practice add 80456 Hillview Surgery")
    cluster.say("/cluster join 80456", user="UNURSE")
    refused(cluster.say("/action due A1 " + "x" * 60, user="UNURSE"), "Only A1's owner")


def test_the_console_reads_the_same_dates(product, db):
    caller = Caller("alice", "console", "T-CONSOLE")
    run_line(product, "/cluster setup Console Cluster", caller)
    out = run_line(product, "/action add Chase the data due a week on thurs", caller)
    assert "due Thu 3 Dec 2026" in out
    assert "February has 28 days in 2027." in run_line(product, "/action due A1 29/2", caller)
