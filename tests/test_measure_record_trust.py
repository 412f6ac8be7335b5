"""Issue 23, recording a measure's data so the Board can trust it: `practice` for the whole message, every
line said back, another practice's figure replaced only by its people or a lead, `none` to remove a figure,
`/measure history`, and plausibility questions answered with `confirm` — through the platform-free driver
on SQLite. Today is Thu 26 Nov 2026 (tests/conftest.py), so Nov 2026 is the current, unfinished month."""

from datetime import date

import pytest
from sqlmodel import select

from commands.measures.data import is_complete_period
from commands.results import Tone, plain_text
from storage.mentions import FORMER_MEMBER
from storage.models import Measure, MeasureChange, MeasurePoint, Practice
from tests.test_measures import ADD, refused, set_up

pytestmark = pytest.mark.usefixtures("db")

# ULEAD leads and is in 80123 with UGP; UNURSE is in 80456.


@pytest.fixture
def d1(product):
    cluster = set_up(product)
    assert cluster.measure(ADD).tone == Tone.DONE
    return cluster


def stored(db) -> dict[tuple[str, date], tuple]:
    """(practice code, period) → (value, numerator, denominator) of every point."""
    with db.session() as session:
        rows = session.exec(select(MeasurePoint, Practice).join(Practice, MeasurePoint.practice_id == Practice.id))
        return {(p.code, m.period): (round(m.value, 1), m.numerator, m.denominator) for m, p in rows}


def revision(db) -> int:
    with db.session() as session:
        return session.exec(select(Measure.revision)).one()


# --- practice for the whole message -------------------------------------------------------------

def test_practice_on_the_last_line_is_for_every_line_and_each_is_said_back(d1, db):
    reply = d1.measure("record D1 Sep 2026 210/330; Aug 2026 215/331; Oct 2026 62% practice 80456")
    text = plain_text(reply)
    assert reply.tone == Tone.DONE, text
    assert set(stored(db)) == {("80456", date(2026, 9, 1)), ("80456", date(2026, 8, 1)),
                               ("80456", date(2026, 10, 1))}  # the lead's own practice 80123 untouched
    assert "80456 · Sep 2026 · 210/330 = 63.6%" in text
    assert "80456 · Aug 2026 · 215/331 = 65.0%" in text
    assert "80456 · Oct 2026 · 62.0%" in text


def test_a_line_naming_its_own_practice_keeps_it(d1, db):
    reply = d1.measure("record D1 Sep 2026 10/20 practice 80123\nOct 2026 11/20 practice 80456")
    assert reply.tone == Tone.DONE, plain_text(reply)
    assert set(stored(db)) == {("80123", date(2026, 9, 1)), ("80456", date(2026, 10, 1))}


def test_lines_naming_different_practices_and_one_naming_none_is_refused(d1, db):
    refused(d1.measure("record D1 Aug 2026 9/20\nSep 2026 10/20 practice 80123\nOct 2026 11/20 practice 80456"),
            "put practice <code> on every line")
    assert stored(db) == {}


def test_replacing_another_practices_figure_needs_its_people_or_a_lead_and_says_whose(d1, db):
    d1.measure("record D1 Sep 2026 20/40", user="UNURSE")  # 80456's own
    refused(d1.measure("record D1 Sep 2026 30/40 practice 80456", user="UGP"), "Only the cluster's leads")
    refused(d1.measure("record D1 Aug 2026 1/40\nSep 2026 30/40 practice 80456", user="UGP"),
            "Only the cluster's leads")
    assert stored(db) == {("80456", date(2026, 9, 1)): (50.0, 20, 40)}
    text = plain_text(d1.measure("record D1 Sep 2026 30/40 practice 80456"))
    assert "replaced 80456's figure 20/40 = 50.0% → 30/40 = 75.0%, recorded by @UNURSE" in text


# --- removing and the history -------------------------------------------------------------------

@pytest.mark.parametrize("word", ["none", "delete", "-", "no data", "NONE"])
def test_a_figure_is_removed_and_nothing_else(d1, db, word):
    d1.measure("record D1 Sep 2026 20/40\nOct 2026 21/40")
    d1.measure("record D1 Sep 2026 5/40", user="UNURSE")
    before = revision(db)
    reply = d1.measure(f"record D1 Sep 2026 {word}")
    assert reply.tone == Tone.DONE, plain_text(reply)
    assert "80123 · Sep 2026 · removed 80123's figure 20/40 = 50.0% → no data" in plain_text(reply)
    assert stored(db) == {("80123", date(2026, 10, 1)): (52.5, 21, 40), ("80456", date(2026, 9, 1)): (12.5, 5, 40)}
    assert revision(db) > before  # what was worked out from the old figure (kept signals) is out of date


def test_removing_another_practices_figure_needs_its_people_or_a_lead(d1, db):
    d1.measure("record D1 Sep 2026 5/40", user="UNURSE")
    refused(d1.measure("record D1 Sep 2026 none practice 80456", user="UGP"), "Only the cluster's leads")
    assert ("80456", date(2026, 9, 1)) in stored(db)
    assert "removed 80456's figure" in plain_text(d1.measure("record D1 Sep 2026 none practice 80456",
                                                             user="UNURSE"))
    assert stored(db) == {}


def test_removing_what_is_not_there_says_so(d1, db):
    assert "nothing to remove" in plain_text(d1.measure("record D1 Sep 2026 none"))


def test_history_lists_recorded_replaced_removed_newest_first_and_caps(d1, db, clock):
    d1.measure("record D1 Sep 2026 20/40")
    d1.measure("record D1 Sep 2026 22/40", user="UGP")
    d1.measure("record D1 Sep 2026 none")
    d1.measure("record D1 Oct 2026 5/40", user="UNURSE")
    text = plain_text(d1.measure("history D1 practice 80123", user="UNURSE"))
    lines = [x for x in text.splitlines() if x.startswith("•")]
    assert len(lines) == 3, text
    assert "@ULEAD · removed · 80123 · Sep 2026 · 22/40 = 55.0% → no data" in lines[0]
    assert "@UGP · replaced · 80123 · Sep 2026 · 20/40 = 50.0% → 22/40 = 55.0%" in lines[1]
    assert "@ULEAD · recorded · 80123 · Sep 2026 · no data → 20/40 = 50.0%" in lines[2]
    assert "80456" in plain_text(d1.measure("history D1"))
    d1.measure("record D1 " + "\n".join(f"{m}/2025 {m}/40" for m in range(1, 13)))
    d1.measure("record D1 " + "\n".join(f"{m}/2024 {m}/40" for m in range(1, 13)))
    assert "…and 8 more" in plain_text(d1.measure("history D1"))  # 4 + 24 changes, 20 shown
    with db.session() as session:
        assert len(session.exec(select(MeasureChange)).all()) == 28


def test_history_is_in_help(d1):
    assert "history D1" in plain_text(d1.run("/measure", "help"))


# --- plausibility -------------------------------------------------------------------------------

def test_a_fraction_on_a_percent_measure_asks_and_confirm_stores_it(d1, db):
    d1.measure("record D1 Oct 2026 30/41")
    reply = d1.measure("record D1 Oct 2026 0.73")
    text = plain_text(reply)
    assert reply.tone == Tone.PROBLEM and "did you mean 73%?" in text, text
    assert "record D1 Oct 2026 0.73 confirm" in text
    assert stored(db) == {("80123", date(2026, 10, 1)): (73.2, 30, 41)}  # not replaced by 0.7%
    assert d1.measure("record D1 Oct 2026 0.73 confirm").tone == Tone.DONE
    assert stored(db)[("80123", date(2026, 10, 1))][0] == 0.7
    assert d1.measure("record D1 Sep 2026 0.5%").tone == Tone.DONE  # a % sign says it is meant


def test_a_denominator_far_from_the_practices_median_asks_and_multi_line_stores_nothing(d1, db):
    d1.measure("record D1 Jun 2026 200/410\nJul 2026 201/412\nAug 2026 205/415")
    reply = d1.measure("record D1 Sep 2026 210/414\nOct 2026 230/1943")
    text = plain_text(reply)
    assert reply.tone == Tone.PROBLEM, text
    assert "Line 2: the denominator 1943 is far from 80123's usual 412" in text.replace(",", ""), text
    assert len(stored(db)) == 3  # all or nothing: line 1 was fine but waits too
    again = "/measure record D1 Sep 2026 210/414; Oct 2026 230/1943 confirm"
    assert again in text  # the example it gives is the whole message, and it works
    assert d1.measure(again.removeprefix("/measure ")).tone == Tone.DONE
    assert len(stored(db)) == 5


@pytest.mark.parametrize("typed, says", [
    ("record D1 Oct 2026 " + "9" * 400, "characters long"),
    ("record D1 Oct 2026 1" + "0" * 14 + "/1" + "0" * 15, "characters long"),
    ("record D1 Oct 2026 99999999/999999999", "over 10,000,000"),
    ("record D1 Jan 1999 4/10", "before 2000"),
    ("record D1 Sep 2026 4/10\nJan 1900 4/10", "Line 2 (nothing was recorded)"),
])
def test_impossible_values_and_periods_are_refused(d1, db, typed, says):
    refused(d1.measure(typed), says)
    assert stored(db) == {}


def test_counts_and_numbers_are_finite_and_bounded(d1, db):
    d1.measure('add T1 "Reviews done" count higher is better')
    d1.measure('add T1 "Mean wait" number lower is better')
    refused(d1.measure("record D2 Oct 2026 20000000"), "over 10,000,000")
    refused(d1.measure("record D3 Oct 2026 1" + "0" * 12), "too large")
    assert d1.measure("record D2 Oct 2026 10000000").tone == Tone.DONE
    assert d1.measure("record D3 Oct 2026 12.5").tone == Tone.DONE


def test_the_current_month_is_kept_as_incomplete(d1, db):
    reply = d1.measure("record D1 Nov 2026 10/40")
    assert reply.tone == Tone.DONE
    assert "incomplete: Nov 2026 hasn't ended" in plain_text(reply)
    assert ("80123", date(2026, 11, 1)) in stored(db)


def test_is_complete_period():
    measure = Measure(cluster_id=1, short_id="D1", topic_id=1, name="x", created_by="U", frequency="monthly")
    assert is_complete_period(measure, date(2026, 10, 1), date(2026, 11, 26))
    assert not is_complete_period(measure, date(2026, 11, 1), date(2026, 11, 26))
    assert is_complete_period(measure, date(2026, 11, 1), date(2026, 12, 1))


def test_the_form_for_every_practice_keeps_the_same_rules(d1, db):
    form = {"period": "Nov 2026", "p80123": "10/40", "p80456": "12/40"}
    reply = d1.driver.submit("measure.enter", form, context={"measure": "D1"}).reply
    assert reply.tone == Tone.DONE and "incomplete: Nov 2026 hasn't ended" in plain_text(reply), plain_text(reply)
    old = d1.driver.submit("measure.enter", {"period": "Dec 1999", "p80123": "1/4"}, context={"measure": "D1"})
    assert "before 2000" in old.field_errors["period"]
    huge = d1.driver.submit("measure.enter", {"period": "Oct 2026", "p80123": "9" * 40}, context={"measure": "D1"})
    assert "characters long" in huge.field_errors["p80123"]
    assert set(stored(db)) == {("80123", date(2026, 11, 1)), ("80456", date(2026, 11, 1))}


def test_forgetting_a_person_keeps_the_history_without_them(d1, db):
    d1.measure("record D1 Sep 2026 5/40", user="UNURSE")
    d1.measure("record D1 Sep 2026 none practice 80456")
    forgot = d1.run("/cluster", "forget <@UNURSE> confirm")
    assert forgot.tone == Tone.DONE, plain_text(forgot)
    with db.session() as session:
        assert {c.by for c in session.exec(select(MeasureChange))} == {FORMER_MEMBER, "ULEAD"}
    assert "removed · 80456 · Sep 2026 · 5/40 = 12.5% → no data" in plain_text(d1.measure("history D1"))
