"""Free text keeps its words: settings are read only at the end and only where they make sense; typed
equivalents of form fields; withdrawing what you added. Through the platform-free driver (testkit/driver.py)
and the console, both databases."""

from datetime import date

import pytest
from sqlmodel import select

from bot.console import run_line
from commands.context import Caller
from storage.models import Action, AgendaItem, Meeting, Topic, TopicNote
from testkit import factories
from testkit.driver import refused
from testkit.helpers import snapshot


@pytest.fixture
def cluster(driver):
    """Riverside with one practice: ULEAD leads; UGP and UPM in 80123. Today is Thu 26 Nov 2026."""
    factories.riverside(driver.say, practices=1, members={"UGP": "80123", "UPM": "80123"})
    return driver


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model).order_by(model.id)))


# --- actions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, description, due", [
    ("Send the audit summary to practice managers", "Send the audit summary to practice managers", None),
    ("Book room for December meeting due tomorrow", "Book room for December meeting", date(2026, 11, 27)),
    ("Check what is due whenever the board asks", "Check what is due whenever the board asks", None),
    ("Agree the topic for the meeting due next friday", "Agree the topic for the meeting", date(2026, 12, 4)),
    ('"Review due dates in practice 80123" due friday week', "Review due dates in practice 80123",
     date(2026, 12, 4)),
])
def test_action_words_stay_in_the_description(cluster, db, typed, description, due):
    response = cluster.say(f"/action add {typed}")
    assert response.in_channel, response.text
    [stored] = rows(db, Action)
    assert (stored.description, stored.due_on) == (description, due)
    # Said back: what, whose, which practice, when — a misreading shows at once.
    assert f"A1 · {description}\n" in response.text and "Owner: @ULEAD" in response.text
    assert ("due " if due else "no due date") in response.text


def test_action_settings_at_the_end_are_still_read(cluster, db):
    response = cluster.say("/action add Audit discharges <@UGP> practice 80123 due 3/12")
    assert "Owner: @UGP · Practice: Riverside Medical Practice · due Thu 3 Dec 2026" in response.text


# --- meetings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, title, place, minutes", [
    ("Look at prescribing data", "Look at prescribing data", "", 60),
    ("Planning for winter pressures", "Planning for winter pressures", "", 60),
    ("Cluster QI meeting for 90m at Riverside MP remind 7d,1d", "Cluster QI meeting", "Riverside MP", 90),
    ("Review at Hillview for 2 hours", "Review", "Hillview", 120),
    ('"Look at data for winter" at the Health Centre', "Look at data for winter", "the Health Centre", 60),
])
def test_meeting_words_stay_in_the_title(cluster, db, typed, title, place, minutes):
    response = cluster.say(f"/meeting schedule 9/12 12:30 {typed}")
    assert response.in_channel, response.text
    [stored] = rows(db, Meeting)
    assert (stored.title, stored.place, stored.minutes) == (title, place, minutes)
    assert f"M1 · {title}\n" in response.text and "Wed 9 Dec 2026 12:30" in response.text


def test_meeting_edit_changes_one_field_and_says_it_back(cluster, db):
    cluster.say("/meeting schedule 9/12 12:30 Cluster QI meeting", user="UGP")
    response = cluster.say("/meeting edit M1 place Riverside MP, room 2", user="UGP")
    assert response.in_channel and "changed the place of M1" in response.text
    assert "Wed 9 Dec 2026 12:30–13:30 · Riverside MP, room 2" in response.text
    cluster.say("/meeting edit M1 length 90m", user="ULEAD")
    cluster.say("/meeting edit M1 title Winter planning", user="UGP")
    [stored] = rows(db, Meeting)
    assert (stored.title, stored.place, stored.minutes) == ("Winter planning", "Riverside MP, room 2", 90)
    before = snapshot(db)
    refused(cluster.say("/meeting edit M1 title Mine now", user="UPM"),
            "Only whoever scheduled M1 (@UGP) or one of the cluster's leads (@ULEAD) can use "
            "/meeting edit.")
    refused(cluster.say("/meeting edit M1 colour red", user="UGP"),
            "“colour” isn't a meeting field")
    assert snapshot(db) == before


def test_a_second_meeting_at_the_same_time_is_flagged(cluster):
    cluster.say("/meeting schedule 9/12 12:30 Cluster QI meeting")
    response = cluster.say("/meeting schedule 9/12/2026 12:30 Prescribing catch-up")
    assert "Note: M1 Cluster QI meeting is at the same time." in response.text


# --- topics ------------------------------------------------------------------------------------

def test_topic_source_aim_and_measure_can_be_typed(cluster, db):
    response = cluster.say("/topic propose Frailty register -- Board asks every cluster "
                                "aim: 90% coded by June measure: coded / eligible, monthly source board", user="UGP")
    assert response.in_channel, response.text
    [stored] = rows(db, Topic)
    assert (stored.title, stored.why, stored.aim, stored.measure, stored.source) == (
        "Frailty register", "Board asks every cluster", "90% coded by June", "coded / eligible, monthly", "board")
    assert "Source: Health Board" in response.text and "Aim: 90% coded by June" in response.text


@pytest.mark.parametrize("typed, title, source", [
    ("Single source of truth for registers", "Single source of truth for registers", "practices"),
    ("Data from national audits source national", "Data from national audits", "national"),
    ("Where is the source", "Where is the source", "practices"),
])
def test_topic_source_is_read_only_at_the_end(cluster, db, typed, title, source):
    cluster.say(f"/topic propose {typed}")
    [stored] = rows(db, Topic)
    assert (stored.title, stored.source) == (title, source)


def test_topic_edit_field_by_field(cluster, db):
    cluster.say("/topic propose Asthma reviews", user="UGP")
    response = cluster.say("/topic edit T1 aim 90% reviewed within 2 weeks", user="UGP")
    assert response.in_channel and "changed the aim of T1" in response.text
    cluster.say("/topic edit T1 source hscp", user="UGP")
    cluster.say("/topic edit T1 measure reviews in time / discharges", user="ULEAD")
    [stored] = rows(db, Topic)
    assert (stored.aim, stored.source, stored.measure) == ("90% reviewed within 2 weeks", "hscp",
                                                           "reviews in time / discharges")
    before = snapshot(db)
    refused(cluster.say("/topic edit T1 source somewhere", user="UGP"),
            "“somewhere” isn't a source")
    refused(cluster.say("/topic edit T1 aim x", user="UPM"),
            "Only whoever proposed T1, or a lead, can edit it.")
    assert snapshot(db) == before


def test_withdrawing_topics_notes_and_agenda_items(cluster, db):
    cluster.say("/topic propose Mistaken topic", user="UGP")
    cluster.say("/topic note T1 Wrong note", user="UPM")
    refused(cluster.say("/topic withdraw T1", user="UPM"),
            "Only whoever proposed T1 (@UGP) or a lead can withdraw it.")
    refused(cluster.say("/topic withdraw T1 note 1", user="UGP"),
            "Only whoever wrote that note (@UPM) or a lead can withdraw it.")
    refused(cluster.say("/topic withdraw T1 note 2", user="UPM"),
            "Give the note's number as listed (from 1 to 1).")
    assert cluster.say("/topic withdraw T1 note 1", user="UPM").in_channel
    assert rows(db, TopicNote) == []
    assert cluster.say("/topic withdraw T1", user="UGP").in_channel
    assert rows(db, Topic)[0].status == "dropped"
    cluster.say("/meeting schedule 9/12 12:30 Cluster QI meeting")
    cluster.say("/meeting item M1 Mistaken item", user="UGP")
    refused(cluster.say("/meeting withdraw M1 item 1", user="UPM"),
            "Only whoever added that item (@UGP) or a lead can withdraw it.")
    assert cluster.say("/meeting withdraw M1 item 1", user="ULEAD").in_channel
    assert rows(db, AgendaItem) == []


def test_only_members_add_notes_and_agenda_items(cluster, db):
    cluster.say("/topic propose Asthma reviews")
    cluster.say("/meeting schedule 9/12 12:30 Cluster QI meeting")
    before = snapshot(db)
    refused(cluster.say("/topic note T1 drive-by", user="USTRANGER"),
            "You're not a member of the cluster")
    refused(cluster.say("/meeting item M1 drive-by", user="USTRANGER"),
            "You're not a member of the cluster")
    assert snapshot(db) == before


def test_the_console_keeps_words_too(product):
    caller = Caller("alice", "console", "T-CONSOLE")
    run_line(product, "/cluster setup Console Cluster", caller)
    out = run_line(product, "/meeting schedule 9/12 12:30 Look at prescribing data", caller)
    assert "M1 · Look at prescribing data" in out
    out = run_line(product, "/action add Send notes to practice managers due friday", caller)
    assert "A1 · Send notes to practice managers" in out and "due Fri 27 Nov 2026" in out
