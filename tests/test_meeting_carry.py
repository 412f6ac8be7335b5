"""Meetings that carry on (issue 25): uncovered items and open actions carried to the next meeting once,
covered marks, calendar invites read back with `icalendar` (a move, a cancel, a series' RRULE) and the
minutes lock. Through the platform-free driver on SQLite with the tests' clock (Thu 26 Nov 2026 10:00)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import select

from commands import Clusterbot, bounds
from commands.results import plain_text
from storage.models import AgendaItem, AuditEntry, Meeting
from testkit.driver import refused
from testkit.teams_ids import LEAD, PQL_A
from tests.test_teams_flows import channel_posts, say
from tests.test_teams_flows import cluster as teams_cluster  # noqa: F401  (fixture)
from tests.test_teams_words import SLASH_FORM, _everything_shown

M1_ENDS = datetime(2026, 12, 3, 13, 31, tzinfo=UTC)  # M1: Thu 3 Dec 2026 12:30 GMT, an hour long
MORNING_AFTER = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # its open items are carried then


def meet(driver, text, user="ULEAD"):
    return driver.say(f"/meeting {text}", user=user)


def items_of(db, short_id):
    with db.session() as session:
        meeting = session.exec(select(Meeting).where(Meeting.short_id == short_id)).one()
        return [(i.text, i.by, i.carried_from is not None, i.covered_at is not None)
                for i in session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
                                      .order_by(AgendaItem.id))]


def carried_posts(effects):
    return [plain_text(e.reply) for e in effects if "Carried from" in plain_text(e.reply)]


@pytest.fixture
def two_meetings(riverside):
    """M1 on Thu 3 Dec with three items (one covered at the meeting), M2 on Thu 7 Jan 2027."""
    meet(riverside, "schedule 3/12/2026 12:30 December QI meeting")
    meet(riverside, "schedule 7/1/2027 12:30 January QI meeting")
    meet(riverside, "item M1 Prescribing data", user="UGP")
    meet(riverside, "item M1 Flu clinic numbers", user="UNURSE")
    meet(riverside, "item M1 Asthma template")
    riverside.say("/action add Audit DOAC monitoring <@UGP> due 26/2/2027 meeting M1")
    riverside.say("/action add Send the practice list <@UPM> due 4/1/2027 meeting M1")  # due by M2: listed there
    riverside.forget()
    return riverside


def test_uncovered_items_and_open_actions_carry_to_the_next_meeting_once(two_meetings, db, clock):
    marked = meet(two_meetings, "item M1 covered 2")
    assert marked.in_channel and "@ULEAD marked item 2 of M1 covered: Flu clinic numbers" in marked.text
    clock.set(M1_ENDS)
    [ended] = [plain_text(e.reply) for e in two_meetings.tick() if "has ended" in plain_text(e.reply)]
    assert "Agenda items not marked covered (/meeting item M1 covered <n>) and its open actions go on to the " \
           "next meeting's agenda by 08:00 tomorrow." in ended
    assert carried_posts(two_meetings.tick(hours=18)) == []  # 07:31 the morning after: not yet
    clock.set(MORNING_AFTER)
    effects = two_meetings.tick()
    [said] = carried_posts(effects)
    assert said.startswith("↪️ Carried from M1 (3 Dec) to the agenda of M2 · January QI meeting (Thu 7 Jan 2027 "
                           "12:30): 2 agenda items not covered, 1 open action.")
    assert "• Prescribing data (@UGP)" in said and "• Asthma template (@ULEAD)" in said
    assert "• Open action A1: Audit DOAC monitoring (@UGP)" in said and "A2" not in said
    assert "Flu clinic" not in said
    assert items_of(db, "M2") == [("Prescribing data", "UGP", True, False), ("Asthma template", "ULEAD", True, False),
                                  ("Open action A1: Audit DOAC monitoring", "UGP", True, False)]
    agenda = meet(two_meetings, "agenda M2").text
    assert "1. Prescribing data (@UGP) · carried from 3 Dec" in agenda
    assert "2. Flu clinic numbers · ✓ covered" in meet(two_meetings, "minutes M1").text
    assert "Send the practice list" in agenda  # A2 shows as an action due by the meeting, not carried
    # Said once: later ticks (and the hour after) carry nothing more.
    assert carried_posts(two_meetings.tick()) == [] and carried_posts(two_meetings.tick(hours=1)) == []
    assert len(items_of(db, "M2")) == 3


@pytest.mark.database
def test_schedulers_ticking_at_once_carry_a_meeting_once(two_meetings, db, clock):
    clock.set(MORNING_AFTER)  # one tick ends the meeting and carries its items
    processes = [Clusterbot(db, clock=clock) for _ in range(4)]
    results: list = []
    threads = [threading.Thread(target=lambda p=p: results.append(carried_posts(p.tick()))) for p in processes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([text for said in results for text in said]) == 1
    assert len(items_of(db, "M2")) == 4  # three items (none covered) and one action, copied once


def test_a_meeting_with_no_next_one_carries_when_the_next_is_scheduled(riverside, db, clock):
    meet(riverside, "schedule 3/12/2026 12:30 December QI meeting")
    meet(riverside, "item M1 Prescribing data", user="UGP")
    clock.set(M1_ENDS)
    assert carried_posts(riverside.tick()) == []  # nowhere to carry to yet: it waits
    assert carried_posts(riverside.tick(days=2)) == []
    meet(riverside, "schedule 14/1/2027 12:30 January QI meeting")
    [said] = carried_posts(riverside.tick(minutes=1))
    assert "Carried from M1 (3 Dec) to the agenda of M2" in said and "1 agenda item not covered." in said
    assert items_of(db, "M2") == [("Prescribing data", "UGP", True, False)]
    assert carried_posts(riverside.tick(minutes=1)) == []


def test_a_recurring_meeting_carries_into_the_next_in_its_series(riverside, db, clock):
    meet(riverside, "schedule every month on the first wednesday 12:30 Cluster QI meeting")  # Wed 2 Dec
    meet(riverside, "item M1 Prescribing data")
    clock.set(datetime(2026, 12, 2, 13, 31, tzinfo=UTC))
    assert carried_posts(riverside.tick()) == []  # M1 ends, M2 (Wed 6 Jan) is planned
    [said] = carried_posts(riverside.tick(days=1))
    assert "to the agenda of M2 · Cluster QI meeting (Wed 6 Jan 2027 12:30)" in said
    assert items_of(db, "M2") == [("Prescribing data", "ULEAD", True, False)]


def test_covered_marks_refuse_bad_input_and_follow_a_carried_item(two_meetings, db, clock):
    refused(meet(two_meetings, "item M1 covered 9"), "Give the agenda item's number as listed (from 1 to 3).")
    refused(meet(two_meetings, "item M1 covered 1", user="UNURSE"), "Only whoever scheduled")
    assert items_of(db, "M1")[0][3] is False  # nothing half-written
    own = meet(two_meetings, "item M1 covered 1", user="UGP")  # whoever added it may mark it
    assert own.in_channel and "marked item 1 of M1 covered: Prescribing data" in own.text
    assert "1. Prescribing data (@UGP) · ✓ covered" in meet(two_meetings, "agenda M1").text
    again = meet(two_meetings, "item M1 covered 1")
    assert not again.in_channel and "Item 1 of M1 was covered already" in again.text
    assert "marked item 1 of M1 not covered" in meet(two_meetings, "item M1 uncovered 1").text
    assert "1. Prescribing data (@UGP)\n" in meet(two_meetings, "agenda M1").text + "\n"
    # An item text that merely starts with the word is still an item.
    assert "added to the agenda of M1: covered areas review" in meet(two_meetings, "item M1 covered areas review").text
    clock.set(MORNING_AFTER)
    two_meetings.tick()
    assert [t for t, *_ in items_of(db, "M2")][:2] == ["Prescribing data", "Flu clinic numbers"]
    # Marked covered after the carrying: the next meeting's agenda loses its copy, and gets it back if unmarked.
    late = meet(two_meetings, "item M1 covered 2")
    assert "(taken off the agenda of M2, where it had been carried)" in late.text
    assert "Flu clinic numbers" not in [t for t, *_ in items_of(db, "M2")]
    back = meet(two_meetings, "item M1 uncovered 2")
    assert "(carried to the agenda of M2)" in back.text
    assert ("Flu clinic numbers", "UNURSE", True, False) in items_of(db, "M2")
    # Unmarked again when the next agenda is full: the mark holds, the copy is not added beyond the bound.
    assert "taken off the agenda of M2" in meet(two_meetings, "item M1 covered 2").text
    room = bounds.AGENDA_ITEMS - len(items_of(db, "M2"))
    with db.session() as session:
        m2 = session.exec(select(Meeting).where(Meeting.short_id == "M2")).one()
        session.add_all(AgendaItem(meeting_id=m2.id, by="ULEAD", text=f"Filler {n}") for n in range(room))
    full = meet(two_meetings, "item M1 uncovered 2")
    assert "marked item 2 of M1 not covered" in full.text
    assert "(not carried: the agenda of M2 has 50 items, the most a meeting takes)" in full.text
    assert len(items_of(db, "M2")) == bounds.AGENDA_ITEMS


# --- calendar invites ------------------------------------------------------------------------------------

def _calendar(upload):
    assert upload.filename.endswith(".ics")
    calendar = Calendar.from_ical(upload.content)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_an_invite_moved_and_cancelled_reads_back_in_icalendar(riverside, db):
    meet(riverside, "schedule 3/12/2026 12:30 December QI meeting for 90m at Riverside MP")
    riverside.forget()
    said = meet(riverside, "invite M1")
    [upload] = riverside.uploads
    assert "posted the calendar invite for M1 December QI meeting (Thu 3 Dec 2026 12:30)" in plain_text(upload.comment)
    calendar, event = _calendar(upload)
    assert str(calendar["METHOD"]) == "PUBLISH" and str(calendar["VERSION"]) == "2.0" and calendar["PRODID"]
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/London"
    assert {c.name for c in zone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    uid = str(event["UID"])
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event.decoded("DTSTART") == datetime(2026, 12, 3, 12, 30, tzinfo=UTC)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=90)
    assert str(event["SUMMARY"]) == "December QI meeting" and str(event["LOCATION"]) == "Riverside MP"
    assert "RRULE" not in event
    assert b"\r\n" in upload.content and said.reply.tone.name != "PROBLEM"
    # Moved into British Summer Time: the same UID, SEQUENCE up, the new wall-clock time.
    moved = meet(riverside, "move M1 8/4/2027 12:30")
    assert moved.in_channel and "moved M1" in moved.text
    upload = riverside.uploads[-1]
    assert "open it to move the meeting in your calendar to Thu 8 Apr 2027 12:30" in plain_text(upload.comment)
    _, event = _calendar(upload)
    assert str(event["UID"]) == uid and event["SEQUENCE"] == 1
    assert event.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 4, 8, 12, 30)
    assert event.decoded("DTSTART").utcoffset() == timedelta(hours=1)  # BST, from the zone
    meet(riverside, "move M1 15/4/2027 12:30")
    assert _calendar(riverside.uploads[-1])[1]["SEQUENCE"] == 2
    # Cancelled: METHOD:CANCEL with the same UID, SEQUENCE up again.
    meet(riverside, "cancel M1")
    calendar, event = _calendar(riverside.uploads[-1])
    assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == uid and event["SEQUENCE"] == 3
    assert len(riverside.uploads) == 4
    refused(meet(riverside, "invite M1"), "M1 is cancelled")


def test_a_meeting_never_invited_posts_no_file_when_moved_but_its_sequence_rises(riverside, db):
    meet(riverside, "schedule 3/12/2026 12:30 December QI meeting")
    meet(riverside, "move M1 10/12/2026 12:30")
    assert riverside.uploads == []
    meet(riverside, "invite M1")
    assert _calendar(riverside.uploads[-1])[1]["SEQUENCE"] == 1
    refused(meet(riverside, "invite M9"), "no meeting M9")
    refused(meet(riverside, "invite M1 now please"), "takes only the meeting's id")


def test_a_recurring_meetings_invite_carries_its_rrule_and_the_series_keeps_its_uid(riverside, db, clock):
    meet(riverside, "schedule every month on the first wednesday 12:30 Cluster QI meeting")
    meet(riverside, "invite M1")
    _, event = _calendar(riverside.uploads[-1])
    rule = event["RRULE"]
    assert rule["FREQ"] == ["MONTHLY"] and rule["BYDAY"] == ["+1WE"]
    assert event.decoded("DTSTART").replace(tzinfo=None) == datetime(2026, 12, 2, 12, 30)
    uid = str(event["UID"])
    clock.set(datetime(2026, 12, 2, 13, 31, tzinfo=UTC))
    riverside.tick()  # M1 ends; M2 (Wed 6 Jan) is planned, in the same series
    meet(riverside, "move M2 7/1/2027 12:30")  # one occurrence moved: that occurrence only
    _, event = _calendar(riverside.uploads[-1])
    assert str(event["UID"]) == uid and event["SEQUENCE"] == 1 and "RRULE" not in event
    assert event.decoded("RECURRENCE-ID").replace(tzinfo=None) == datetime(2027, 1, 6, 12, 30)
    assert event.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 1, 7, 12, 30)


# --- the minutes lock -----------------------------------------------------------------------------------

def test_minutes_lock_after_the_set_days_and_a_lead_unlocks_and_locks(riverside, db, clock):
    meet(riverside, "schedule 3/12/2026 12:30 December QI meeting")
    meet(riverside, "item M1 Prescribing data")
    clock.set(M1_ENDS)
    riverside.tick()
    assert meet(riverside, "note M1 Prescribing lead presented the audit").in_channel
    clock.set(M1_ENDS + timedelta(days=13, hours=23))
    assert meet(riverside, "decision M1 Adopt the template").in_channel  # 14 days not yet up
    clock.set(M1_ENDS + timedelta(days=14))
    refused(meet(riverside, "note M1 A late line"), "The minutes of M1 (Thu 3 Dec 2026) are read-only")
    refused(meet(riverside, "attended M1 80123"), "read-only 14 days after the meeting")
    refused(meet(riverside, "item M1 covered 1"), "read-only")
    minutes = meet(riverside, "minutes M1").text  # still read by everyone
    assert "A late line" not in minutes and "These minutes are read-only" in minutes
    refused(meet(riverside, "unlock M1", user="UGP"), "Only the cluster's leads")
    unlocked = meet(riverside, "unlock M1")
    assert unlocked.in_channel and "@ULEAD unlocked the minutes of M1 December QI meeting" in unlocked.text
    assert meet(riverside, "note M1 A late line").in_channel
    assert "open for changes already" in meet(riverside, "unlock M1").text
    locked = meet(riverside, "lock M1")
    assert locked.in_channel and "@ULEAD locked the minutes of M1" in locked.text
    refused(meet(riverside, "note M1 Another line"), "a lead locked them")
    with db.session() as session:
        whats = [e.what for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]
    assert "/meeting unlock" in whats and "/meeting lock" in whats  # the record's history holds both


def test_a_meeting_recorded_after_the_fact_locks_days_after_it_was_recorded(riverside, db, clock):
    meet(riverside, "record 2/10/2026 12:30 October QI meeting")
    assert meet(riverside, "note M1 Recorded late").in_channel
    clock.advance(days=14)
    refused(meet(riverside, "note M1 Too late"), "read-only")


# --- Teams words ----------------------------------------------------------------------------------------

def test_teams_shows_the_new_meeting_words_without_slash_commands(teams_cluster, teams, teams_api):  # noqa: F811
    say(teams, teams_api, LEAD, "meeting schedule 3/12/2026 12:30 December QI meeting")
    say(teams, teams_api, PQL_A, "meeting item M1 Prescribing data")
    say(teams, teams_api, LEAD, "meeting item M1 covered 1")
    say(teams, teams_api, LEAD, "meeting item M1 covered 7")
    say(teams, teams_api, LEAD, "meeting lock M1")
    say(teams, teams_api, LEAD, "meeting note M1 A line")
    say(teams, teams_api, LEAD, "meeting unlock M1")
    channel_posts(teams_api, 5)
    assert teams.delivery.drain()
    shown = "\n".join(_everything_shown(teams_api))
    assert "marked item 1 of M1 covered" in shown and "locked the minutes of M1" in shown
    assert "meeting unlock M1" in shown  # the lock's refusal says how, in Teams' words
    assert [t for t in _everything_shown(teams_api) if SLASH_FORM.search(t)] == []


def test_a_next_meeting_sooner_than_the_morning_after_gets_the_items_at_the_end(riverside, db, clock):
    meet(riverside, "schedule 3/12/2026 12:30 Morning session")
    meet(riverside, "schedule 3/12/2026 15:00 Afternoon session")
    meet(riverside, "item M1 Prescribing data")
    clock.set(M1_ENDS)
    [said] = carried_posts(riverside.tick())
    assert "to the agenda of M2 · Afternoon session (Thu 3 Dec 2026 15:00)" in said
