"""/measure: adding measures, recording data and its refusals, data tables and signals — through the
platform-free driver (testkit/driver.py) and through signed Slack requests, on both databases."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from analysis import periods
from commands import Clusterbot
from commands.measures.admin import working_day
from commands.results import Audience, Direct, Tone, plain_text
from storage.models import Measure, MeasurePoint, MeasurePointHistory
from testkit import factories
from testkit.driver import Driver
from testkit.helpers import assert_refused, snapshot
from testkit.slack_requests import dispatch_command, dispatch_payload, submission_payload

ADD = "add T1 Asthma reviews within 2 weeks percent higher is better goal 80"


class Cluster:
    """Riverside as the measure tests use it: typed commands through the platform-free driver
    (testkit/driver.py), each answered with the product's Reply."""

    def __init__(self, driver: Driver, channel: str = "CCLUSTER"):
        self.driver, self.channel = driver, channel

    def run(self, command: str, text: str, user: str = "ULEAD"):
        return self.driver.say(f"{command} {text}", user=user, channel=self.channel).reply

    def measure(self, text: str, user: str = "ULEAD"):
        return self.run("/measure", text, user)


# ULEAD leads and is in 80123 with UGP; UNURSE in 80456; UGP has proposed T1. Today is Thu 26 Nov 2026.
MEMBERS = {"ULEAD": "80123", "UGP": "80123", "UNURSE": "80456"}


def set_up(product: Clusterbot, channel: str = "CCLUSTER") -> Cluster:
    driver = Driver(product)
    factories.riverside(driver.say, practices=2, members=MEMBERS, channel=channel)
    cluster = Cluster(driver, channel)
    assert cluster.run("/topic", "propose Asthma reviews after discharge", user="UGP").tone == Tone.DONE
    return cluster


@pytest.fixture
def measured(product) -> Cluster:
    return set_up(product)


@pytest.fixture
def with_measure(measured) -> Cluster:
    reply = measured.measure(ADD)
    assert reply.tone == Tone.DONE, plain_text(reply)
    return measured


def points(db) -> list[MeasurePoint]:
    with db.session() as session:
        return list(session.exec(select(MeasurePoint).order_by(MeasurePoint.period, MeasurePoint.practice_id)))


def refused(reply, says: str) -> None:
    assert reply.tone == Tone.PROBLEM and reply.audience == Audience.PERSON, plain_text(reply)
    assert says in plain_text(reply), plain_text(reply)


# --- adding -------------------------------------------------------------------------------------

def test_add_reads_the_settings_and_gives_a_per_cluster_id(measured, db, product):
    reply = measured.measure(ADD)
    text = plain_text(reply)
    assert reply.audience == Audience.CHANNEL
    assert "D1 · Asthma reviews within 2 weeks" in text
    assert "Topic: T1 Asthma reviews after discharge · percent · higher is better · monthly · goal 80.0%" in text
    assert "/measure record D1 Oct 2026 42/120" in text  # the period that has just ended
    measured.measure('add T1 "Weekly count of reviews per week" count lower is better weekly')
    with db.session() as session:
        stored = list(session.exec(select(Measure).order_by(Measure.id)))
    assert [(m.short_id, m.unit, m.higher_is_better, m.frequency, m.goal) for m in stored] == [
        ("D1", "percent", True, "monthly", 80.0), ("D2", "count", False, "weekly", None)]
    assert stored[1].name == "Weekly count of reviews per week"
    other = set_up(product, channel="COTHER")
    assert "D1 · " in plain_text(other.measure(ADD))  # ids count per cluster


def test_a_measure_on_a_dropped_topic_is_refused(measured, db):
    measured.run("/topic", "move T1 dropped Covered by the Board")
    before = snapshot(db)
    refused(measured.measure(ADD), "T1 Asthma reviews after discharge was dropped")
    assert snapshot(db) == before


def test_the_identifier_guard_covers_name_and_definition(with_measure, db):
    before = snapshot(db)
    refused(with_measure.measure("add T1 Reviews of 943 476 5919 percent"), "looks like a CHI or NHS number")
    refused(with_measure.measure("edit D1 definition patients like 9434765919"), "CHI or NHS number")
    refused(with_measure.measure("edit D1 name 943-476-5919 reviews"), "CHI or NHS number")
    assert snapshot(db) == before


def test_unknown_setting_and_missing_name(measured):
    refused(measured.measure("add T1 Reviews percent sideways"), "isn't a measure setting")
    refused(measured.measure("add T1 percent"), "Give the measure a name")
    refused(measured.measure("add T9 Reviews"), "There's no topic T9")
    refused(measured.measure("add T1 Reviews percent goal 120"), "can't be over 100")


# --- recording --------------------------------------------------------------------------------

def test_record_a_fraction_for_your_own_practice(with_measure, db):
    reply = with_measure.measure("record D1 Oct 2026 42/120", user="UNURSE")
    assert reply.audience == Audience.CHANNEL
    said = "recorded on D1 Asthma reviews within 2 weeks:\n• D1 · 80456 · Oct 2026 · 42/120 = 35.0%"
    assert said in plain_text(reply)
    [point] = points(db)
    assert (point.period, point.numerator, point.denominator, point.value) == (date(2026, 10, 1), 42, 120, 35.0)


@pytest.mark.parametrize("typed", ["Oct 2026", "October 2026", "10/2026", "2026-10", "oct-2026"])
def test_the_ways_of_writing_a_month(with_measure, db, typed):
    with_measure.measure(f"record D1 {typed} 35")
    assert [p.period for p in points(db)] == [date(2026, 10, 1)]


def test_weekly_periods_are_the_monday_of_the_week(measured, db):
    measured.measure("add T1 Reviews done count weekly")
    reply = measured.measure("record D1 w/c 5/10/2026 12\nw/c 2026-10-14 9\nweek commencing 19 Oct 2026 7")
    assert "w/c 5 Oct 2026 · 12" in plain_text(reply) and "w/c 12 Oct 2026 · 9" in plain_text(reply)
    assert [p.period for p in points(db)] == [date(2026, 10, 5), date(2026, 10, 12), date(2026, 10, 19)]


@pytest.mark.database
def test_several_lines_record_several_periods_and_a_second_value_replaces_the_first(with_measure, db):
    with_measure.measure("record D1 Aug 2026 30/100\nSep 2026 33/100; Oct 2026 36/100")  # `;` as in the console
    reply = with_measure.measure("record D1 Sep 2026 34/100", user="UGP")
    text = plain_text(reply)
    assert ("Sep 2026 · 34/100 = 34.0% — replaced 80123's figure 33/100 = 33.0% → 34/100 = 34.0%, "
            "recorded by @ULEAD") in text
    assert [p.value for p in points(db)] == [30.0, 34.0, 36.0]
    with db.session() as session:
        [old] = session.exec(select(MeasurePointHistory)).all()
    assert (old.value, old.recorded_by, old.replaced_by) == (33.0, "ULEAD", "UGP")
    again = with_measure.measure("record D1 Sep 2026 34/100", user="UGP")
    assert "already recorded: unchanged" in plain_text(again)


def test_a_period_given_twice_in_one_message_is_refused(with_measure, db):
    refused(with_measure.measure("record D1 Sep 2026 33/100\n2026-09 34/100"),
            "Sep 2026 appears twice for Riverside Medical Practice")
    assert points(db) == []


@pytest.mark.parametrize(("typed", "says"), [
    ("record D1 Smarch 2026 4/10", "I couldn't read the month “Smarch 2026”. Write it like Nov 2026"),
    ("record D1 13/2026 4/10", "I couldn't read the month “13/2026”"),
    ("record D1 Dec 2026 4/10", "Dec 2026 is in the future"),
    ("record D1 Oct 2026 31/30", "the numerator (31) is more than the denominator (30)"),
    ("record D1 Oct 2026 -3/30", "counts can't be negative"),
    ("record D1 Oct 2026 -3", "can't be negative"),
    ("record D1 Oct 2026 120", "A percentage can't be over 100 (120)"),
    ("record D1 Oct 2026 101%", "can't be over 100"),
    ("record D1 Oct 2026 3/0", "the denominator is 0"),
    ("record D1 Oct 2026 3.5/10", "whole numbers"),
    ("record D1 Oct 2026 lots", "isn't a value I can read"),
    ("record D1 Oct 2026 4/10 practice 99999", "No practice with code 99999 in this cluster"),
    ("record D1 Oct 2026 4/10 practice 8012", "isn't a practice code"),
    ("record D7 Oct 2026 4/10", "There's no measure D7 in this cluster"),
    ("record X1 Oct 2026 4/10", "isn't a measure id"),
    ("record D1 Oct 2026", "Give the period and then the value"),
    ("record D1 Sep 2026 40/100\nOct 2026 31/30", "Line 2 (nothing was recorded)"),
])
def test_bad_data_is_refused_and_nothing_is_stored(with_measure, db, typed, says):
    before = snapshot(db)
    refused(with_measure.measure(typed), says)
    assert snapshot(db) == before


def test_counts_must_be_whole_and_not_fractions(measured):
    measured.measure("add T1 Admissions count lower is better")
    refused(measured.measure("record D1 Oct 2026 4.5"), "should be a whole number")
    refused(measured.measure("record D1 Oct 2026 4/5"), "D1 is a count: give one whole number")


def test_who_may_record(with_measure, db):
    refused(with_measure.measure("record D1 Oct 2026 4/10", user="USTRANGER"),
            "Only members of this cluster can record data")
    refused(with_measure.measure("record D1 Oct 2026 4/10 practice 80123", user="UNURSE"),
            "Only the cluster's leads can record figures for another practice")
    lead = with_measure.measure("record D1 Oct 2026 4/10 practice 80456")  # a lead records for any practice
    assert "80456 · Oct 2026 · 4/10 = 40.0%" in plain_text(lead)


def test_a_measure_from_another_cluster_is_unknown(with_measure, product, db):
    other = set_up(product, channel="COTHER")
    refused(other.measure("record D1 Oct 2026 4/10"), "There's no measure D1 in this cluster")
    refused(other.measure("show D1"), "There's no measure D1 in this cluster")


def test_retired_measures_and_dropped_topics_take_no_data(with_measure, db):
    with_measure.run("/topic", "move T1 dropped Covered by the Board")
    refused(with_measure.measure("record D1 Oct 2026 4/10"), "topic T1 was dropped")
    with_measure.run("/topic", "move T1 active")
    refused(with_measure.measure("retire D1", user="UNURSE"), "Only the cluster's leads, whoever proposed T1")
    assert "retired D1" in plain_text(with_measure.measure("retire D1", user="UGP"))  # the topic's proposer
    refused(with_measure.measure("record D1 Oct 2026 4/10"), "D1 Asthma reviews within 2 weeks is retired")


# --- editing and rebasing -----------------------------------------------------------------------

def test_edit_changes_settings_for_leads_and_the_proposer(with_measure, db):
    assert "goal 85.0%" in plain_text(with_measure.measure("edit D1 goal 85", user="UGP"))
    assert "lower is better" in plain_text(with_measure.measure("edit D1 lower is better"))
    assert "XmR chart" in plain_text(with_measure.measure("edit D1 chart xmr"))
    refused(with_measure.measure("edit D1 goal 90", user="UNURSE"), "can change it")
    refused(with_measure.measure("edit D1 colour blue"), "Say what to change")
    with db.session() as session:
        stored = session.exec(select(Measure)).one()
    assert (stored.goal, stored.higher_is_better, stored.chart) == (85.0, False, "xmr")


def test_rebase_is_for_leads_and_splits_the_median(with_measure, db):
    refused(with_measure.measure("rebase D1 from Apr 2026", user="UGP"), "Only the cluster's leads")
    assert "from Apr 2026" in plain_text(with_measure.measure("rebase D1 from Apr 2026"))
    refused(with_measure.measure("rebase D1 from Apr 2027"), "in the future")
    with db.session() as session:
        assert session.exec(select(Measure)).one().rebases == ["2026-04-01"]
    with_measure.measure("rebase D1 off")
    with db.session() as session:
        assert session.exec(select(Measure)).one().rebases == []


# --- data and signals --------------------------------------------------------------------------

def _history(cluster: Cluster, practice: str | None = None) -> None:
    """Jan 2025 – Jun 2026 for Riverside: a steady year around 32%, then six months above it."""
    suffix = f" practice {practice}" if practice else ""
    year = [32, 34, 31, 33, 30, 32, 34, 31, 33, 30, 32, 34]
    lines = [f"{m}/2025 {v}/100{suffix}" for m, v in enumerate(year, start=1)]
    lines += [f"{m}/2026 {v}/100{suffix}" for m, v in enumerate([40, 44, 41, 45, 42, 46], start=1)]
    reply = cluster.measure("record D1 " + "\n".join(lines))
    assert reply.tone == Tone.DONE, plain_text(reply)


def test_recording_that_completes_a_shift_says_so(with_measure):
    year = [32, 34, 31, 33, 30, 32, 34, 31, 33, 30, 32, 31]
    with_measure.measure("record D1 " + "\n".join(f"{m}/2025 {v}/100" for m, v in enumerate(year, start=1)))
    quiet = with_measure.measure("record D1 " + "\n".join(f"{m}/2026 {v}/100" for m, v in
                                                          enumerate([40, 44, 41, 45, 42], start=1)))
    assert "shift" not in plain_text(quiet)
    reply = with_measure.measure("record D1 Jun 2026 46/100")
    assert "D1 at Riverside Medical Practice: shift above the median (6 months) — improvement" in plain_text(reply)


def test_data_shows_gaps_not_zeros_and_the_cluster_sum(with_measure, db):
    with_measure.measure("record D1 Aug 2026 30/100\nOct 2026 40/100")
    with_measure.measure("record D1 Oct 2026 20/50", user="UNURSE")
    text = plain_text(with_measure.measure("data D1"))
    assert "Sep 2026 · Riverside Medical Practice — · Hillview Surgery — · Cluster — (0 of 2 reported)" in text
    assert ("Oct 2026 · Riverside Medical Practice 40.0% (40/100) · Hillview Surgery 40.0% (20/50) · "
            "Cluster 40.0% (2 of 2 reported)") in text
    assert "Aug 2026 · Riverside Medical Practice 30.0% (30/100) · Hillview Surgery — · Cluster 30.0% (1 of 2" in text

    # Aug has 1 of the 2 recording practices: shown, marked, never analysed (issue 23: complete periods only)
    assert "Cluster 30.0% (1 of 2 reported; incomplete (1 of 2 practices))" in text
    assert "• Cluster: not enough complete periods yet: 1 of 2 have every recording practice's figure" in text
    assert "• Riverside Medical Practice: the run-chart rules need 10 useful points; there are" in text
    only = plain_text(with_measure.measure("data D1 practice 80456"))
    assert "Riverside" not in only and "Hillview Surgery 40.0% (20/50)" in only


def test_show_gives_definition_who_has_recorded_and_signals(with_measure):
    _history(with_measure)
    with_measure.measure("edit D1 definition Numerator: reviewed in 14 days; denominator: discharges")
    with_measure.measure("record D1 Oct 2026 90/100")  # 9/10 would ask: its denominator is far from the usual 100
    text = plain_text(with_measure.measure("show D1"))
    assert "Definition: Numerator: reviewed in 14 days; denominator: discharges" in text
    assert "Oct 2026: 1 of 2 practices have recorded. Still to come: Hillview Surgery (80456)." in text
    assert "Riverside Medical Practice: shift above the median (8 months) — improvement" in text  # a gap, then Oct
    assert "Hillview Surgery" in text
    listed = plain_text(with_measure.measure("list"))
    assert "D1 Asthma reviews within 2 weeks — T1" in listed and "19 data points" in listed


def test_too_little_data_is_said_not_called_no_signal(with_measure):
    with_measure.measure("record D1 Oct 2026 4/10")
    text = plain_text(with_measure.measure("show D1"))
    assert "Riverside Medical Practice: not enough data yet" in text and "no signal" not in text


# --- through Slack ---------------------------------------------------------------------------------

@pytest.fixture
def slack_cluster(app):
    factories.riverside(factories.on_slack(app), practices=2, members={"ULEAD": "80123", "UNURSE": "80456"})
    dispatch_command(app, "/topic", "propose Asthma reviews after discharge")
    return app


def test_signed_requests_add_record_and_refuse(slack_cluster, db):
    added = dispatch_command(slack_cluster, "/measure", ADD)
    assert added.in_channel and "*D1 · Asthma reviews within 2 weeks*" in added.text
    recorded = dispatch_command(slack_cluster, "/measure", "record D1 Oct 2026 42/120\nSep 2026 40/120")
    assert recorded.in_channel and "42/120 = 35.0%" in recorded.text
    before = snapshot(db)
    assert_refused(dispatch_command(slack_cluster, "/measure", "record D1 Oct 2026 31/30"), "more than the denominator")
    assert_refused(dispatch_command(slack_cluster, "/measure", "record D1 Oct 2026 4/10", user="USTRANGER"),
                   "Only members of this cluster can record data")
    assert snapshot(db) == before


def test_the_add_form_and_a_double_submit(slack_cluster, db, slack_api):
    assert dispatch_command(slack_cluster, "/measure", "").status == 200
    view = slack_api.calls_to("views.open")[-1].args["view"]
    assert [b["block_id"] for b in view["blocks"]] == ["topic", "name", "definition", "unit", "direction",
                                                       "frequency", "goal"]
    payload = submission_payload(view, topic="T1", name="Reviews within 2 weeks", unit="percent",
                                 direction="lower", goal="75", view_id="VMEASURE")
    for _ in range(2):
        assert dispatch_payload(slack_cluster, payload).status == 200
    with db.session() as session:
        [stored] = session.exec(select(Measure)).all()
    assert (stored.name, stored.higher_is_better, stored.goal, stored.topic_id) == ("Reviews within 2 weeks",
                                                                                    False, 75.0, 1)
    bad = submission_payload(view, topic="T1", name="Reviews", unit="percent", goal="150", view_id="VBAD")
    answer = dispatch_payload(slack_cluster, bad)
    assert answer.json["response_action"] == "errors" and "goal" in answer.json["errors"]


def test_the_form_for_one_period_of_every_practice(slack_cluster, db, slack_api):
    dispatch_command(slack_cluster, "/measure", ADD)
    assert dispatch_command(slack_cluster, "/measure", "enter D1").status == 200
    view = slack_api.calls_to("views.open")[-1].args["view"]
    assert [b["block_id"] for b in view["blocks"]] == ["period", "p80123", "p80456"]
    assert view["blocks"][0]["element"]["initial_value"] == "Oct 2026"
    wrong = dispatch_payload(slack_cluster, submission_payload(view, p80123="31/30", p80456="", view_id="VE1"))
    assert wrong.json["response_action"] == "errors" and "more than the denominator" in wrong.json["errors"]["p80123"]
    assert points(db) == []
    dispatch_payload(slack_cluster, submission_payload(view, period="Sep 2026", p80123="42/120", p80456="11/50",
                                                       view_id="VE2"))
    assert [(p.period, p.value) for p in points(db)] == [(date(2026, 9, 1), 35.0), (date(2026, 9, 1), 22.0)]


def test_periods_read_and_say_back():
    assert periods.parse_period("Sept 2026", "monthly") == date(2026, 9, 1)
    assert periods.parse_period("w/c 7/10/2026", "weekly") == date(2026, 10, 5)  # a Wednesday: its week
    assert periods.label(date(2026, 10, 5), "weekly") == "w/c 5 Oct 2026"
    assert periods.following(date(2026, 12, 1), "monthly") == date(2027, 1, 1)
    assert periods.following(date(2026, 1, 1), "monthly", -1) == date(2025, 12, 1)
    with pytest.raises(periods.PeriodError):
        periods.parse_period("w/c 31/2/2026", "weekly")


# --- data-due reminders -------------------------------------------------------------------------

def dm_users(effects) -> list[str]:
    return sorted(e.user_id for e in effects if isinstance(e, Direct))


@pytest.mark.database
def test_data_due_reminders_go_once_to_practices_that_have_not_recorded(with_measure, product, clock):
    with_measure.measure("record D1 Oct 2026 4/10", user="UGP")
    effects = product.tick()  # Thu 26 Nov 2026: after the 5th working day (Fri 6 Nov)
    assert dm_users(effects) == ["UNURSE"]
    [dm] = [e for e in effects if isinstance(e, Direct)]
    text = plain_text(dm.reply)
    assert "Data due for Hillview Surgery in Riverside Cluster" in text
    assert "D1 Asthma reviews within 2 weeks" in text and "/measure record D1 Oct 2026 42/120" in text
    assert dm_users(product.tick()) == []  # claimed: once a month, however many ticks
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # Fri 4 Dec: only the 4th working day
    assert dm_users(product.tick()) == []
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))  # Mon 7 Dec: the 5th; November is now due from everyone
    assert dm_users(product.tick()) == ["UGP", "ULEAD", "UNURSE"]


def test_the_cluster_chooses_the_day_or_turns_reminders_off(with_measure, product, clock):
    refused(with_measure.measure("nudges 3", user="UGP"), "Only the cluster's leads")
    refused(with_measure.measure("nudges 40"), "from 1 to 20")
    assert "3rd working day" in plain_text(with_measure.measure("nudges 3rd"))
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))  # Thu 3 Dec: the 3rd working day
    assert dm_users(product.tick()) == ["UGP", "ULEAD", "UNURSE"]
    with_measure.measure("nudges off")
    clock.set(datetime(2027, 1, 29, 9, 0, tzinfo=UTC))
    assert dm_users(product.tick()) == []
    with_measure.measure("retire D1")


def test_working_days():
    assert working_day(date(2026, 11, 26), 5) == date(2026, 11, 6)
    assert working_day(date(2026, 12, 1), 1) == date(2026, 12, 1)
    assert working_day(date(2027, 5, 1), 1) == date(2027, 5, 4)  # Sat 1 May; Mon 3 May is the May Day holiday


# --- where the data shows up: agenda, reminders, Home ---------------------------------------------

def test_the_agenda_says_which_signals_are_new_since_the_last_meeting(with_measure, product, clock):
    year = [32, 34, 31, 33, 30, 32, 34, 31, 33, 30, 32, 31]
    with_measure.measure("record D1 " + "\n".join(f"{m}/2025 {v}/100" for m, v in enumerate(year, start=1)))
    with_measure.measure("record D1 " + "\n".join(f"{m}/2026 {v}/100" for m, v in enumerate([40, 44, 41], start=1)))
    with_measure.run("/meeting", "schedule 1/12/2026 12:30 Cluster QI meeting")
    first = plain_text(with_measure.run("/meeting", "agenda M1"))
    assert "Signals" not in first and "New since" not in first  # no signal yet
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    product.tick()
    with_measure.measure("record D1 Apr 2026 45/100\nMay 2026 42/100\nJun 2026 46/100")
    with_measure.run("/meeting", "schedule 12/1/2027 12:30 Cluster QI meeting")
    agenda = plain_text(with_measure.run("/meeting", "agenda M2"))
    assert "New since the last meeting" in agenda
    assert "D1 shift above the median at Riverside Medical Practice (6 months) — improvement" in agenda
    assert "D1 shift above the median for the cluster (6 months) — improvement" in agenda
    clock.set(datetime(2027, 1, 11, 12, 30, tzinfo=UTC))  # a day before M2: its reminder
    reminders = [plain_text(e.reply) for e in product.tick() if hasattr(e, "reply")]
    assert any("D1 shift above the median at Riverside Medical Practice (6 months)" in r for r in reminders)


def test_the_home_shows_data_due_from_your_practice(with_measure, product):
    home = plain_text(product.home("UNURSE", "T0001"))
    assert "Data due from your practice" in home
    assert "D1 Asthma reviews within 2 weeks for Oct 2026: /measure record D1 Oct 2026 42/120" in home
    with_measure.measure("record D1 Oct 2026 4/10", user="UNURSE")
    assert "Data due from your practice" not in plain_text(product.home("UNURSE", "T0001"))
    assert "Data due from your practice" in plain_text(product.home("UGP", "T0001"))
