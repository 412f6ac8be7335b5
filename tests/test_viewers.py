"""Data the Board can trust (issue 23): the guard refuses a patient's date of birth and a title with a
name and a date; only members write the cluster's record; a Board viewer reads and takes the report but
writes nothing. Through the platform-free driver, on SQLite."""

import pytest
from sqlmodel import select

from commands.errors import Refusal
from commands.results import Tone
from commands.text.guard import find_personal_details, refuse_patient_identifiers
from storage import erasure
from storage.models import AuditEntry, Decision, MinuteLine, Topic, Viewer

BOARD, STRANGER = "UBOARD", "USTRANGER"
DOB = "patient's date of birth"
TITLED = "a title, a name and a date together"

# (phrase, the words its refusal says): what the guard refuses beyond numbers.
REFUSED = [
    ("Mrs Jean Brown, DOB 03/02/1941", DOB),
    ("DOB 03/02/1941", DOB),
    ("d.o.b. 3.2.41", DOB),
    ("D.O.B: 3/2/41", DOB),
    ("born 3 Feb 1941", DOB),
    ("born on 3rd February 1941", DOB),
    ("date of birth: 03-02-1941", DOB),
    ("Mrs Jean Brown 03/02/1941", TITLED),
    ("Mr J Smith, 3/2/1941", TITLED),
    ("Ms A. O'Neill (3 Feb 1941)", TITLED),
]
# Ordinary QI text that must pass.
PASSED = [
    "meeting on 03/02/2027",
    "Dr Brown to audit by 3 Feb",
    "born in Glasgow",
    "Mrs Brown's practice",
    "Mrs Brown's practice meeting 03/02/2027",
    "Dr Brown 03/02/2027: audit presented",
    "Mr Smith to report back at 12:30",
    "40 patients reviewed by 3/2/2027",
]


@pytest.mark.parametrize("phrase, says", REFUSED, ids=[p for p, _ in REFUSED])
def test_the_guard_refuses_a_date_of_birth_and_a_titled_name_with_a_date(phrase, says):
    with pytest.raises(Refusal) as refused:
        refuse_patient_identifiers(phrase, "minute line")
    message = "".join(str(s) for s in refused.value.message)
    assert says in message and "nothing was saved" in message, message
    assert "03/02/1941" not in message  # the refusal never repeats the patient's details


@pytest.mark.parametrize("phrase", PASSED)
def test_ordinary_qi_text_passes_the_guard(phrase):
    assert find_personal_details(phrase) is None
    assert refuse_patient_identifiers(phrase, "minute line") == phrase


@pytest.fixture
def meeting(riverside):
    """Riverside with a meeting M1 held yesterday, recorded by the lead."""
    assert riverside.say("/meeting record 25/11/2026 12:30 Cluster QI meeting").reply.tone != Tone.PROBLEM
    riverside.forget()
    return riverside


@pytest.mark.parametrize("phrase, says", REFUSED[:1] + REFUSED[7:8])
def test_a_minute_line_with_a_patients_details_is_refused_and_nothing_is_posted(meeting, db, phrase, says):
    said = meeting.say(f"/meeting note M1 {phrase}")
    assert said.reply.tone == Tone.PROBLEM and says in said.text, said.text
    assert meeting.posts == []
    with db.session() as session:
        assert session.exec(select(MinuteLine)).all() == []


def test_a_topic_with_a_date_of_birth_is_refused_as_typed(riverside, db):
    said = riverside.say("/topic propose Falls review for Mr J Smith, 3/2/1941", user="UGP")
    assert said.reply.tone == Tone.PROBLEM and TITLED in said.text, said.text
    with db.session() as session:
        assert session.exec(select(Topic)).all() == []


# --- only members write the record --------------------------------------------------------------------

NOT_A_MEMBER = "You're not a member of the cluster “Riverside Cluster”"
# Every typed command that writes the cluster's record (the organiser-or-lead ones: see the next test).
WRITES = [
    "/meeting record 25/11/2026 12:30 Board catch-up",
    "/meeting record",
    "/meeting schedule 3/12/2026 12:30 Board catch-up",
    "/meeting form",
    "/meeting item M1 Board feedback",
    "/topic propose Frailty register",
    "/topic form",
    '/poll "Lunch or evening?" "Lunch" "Evening"',
    "/poll topics",
    "/poll form",
    "/action add Send the audit to the Board",
    "/action form",
]


@pytest.mark.parametrize("typed", WRITES)
def test_a_stranger_from_the_tenant_writes_nothing_in_the_record(meeting, db, typed):
    said = meeting.say(typed, user=STRANGER)
    assert said.reply.tone == Tone.PROBLEM and NOT_A_MEMBER in said.text, said.text
    assert "cluster join" in said.text
    assert meeting.posts == [] and said.form is None


@pytest.mark.parametrize("typed", ["/meeting note M2 The Board attended", "/meeting decision M2 Report to the Board",
                                   "/meeting attended M2 80123", "/meeting apologies M2 80456"])
def test_someone_who_left_writes_no_more_of_a_meeting_they_recorded(meeting, db, typed):
    assert meeting.say("/meeting record 24/11/2026 12:30 Practice managers", user="UPM").reply.tone != Tone.PROBLEM
    assert meeting.say("/cluster member remove <@UPM>").reply.tone != Tone.PROBLEM
    said = meeting.say(typed, user="UPM")
    assert said.reply.tone == Tone.PROBLEM and NOT_A_MEMBER in said.text, said.text
    with db.session() as session:
        assert session.exec(select(Decision)).all() == [] and session.exec(select(MinuteLine)).all() == []


# --- the Board viewer ---------------------------------------------------------------------------------

@pytest.fixture
def board(meeting):
    """Riverside with M1 and a Board viewer, added by the lead."""
    added = meeting.say(f"/cluster viewer add <@{BOARD}>")
    assert added.reply.tone == Tone.DONE and "a viewer of the cluster" in added.text, added.text
    meeting.forget()
    return meeting


def test_a_viewer_is_shown_in_who_and_listed_for_leads_only(board):
    who = board.say("/cluster who", user="UGP").text
    assert "Viewers (read-only, in no practice): @UBOARD" in who
    assert "@UBOARD" in board.say("/cluster viewer list").text
    assert board.say("/cluster viewer list", user="UGP").reply.tone == Tone.PROBLEM
    assert "already a viewer" in board.say(f"/cluster viewer add <@{BOARD}>").text


@pytest.mark.parametrize("typed", ["/cluster who", "/topic list", "/meeting list", "/meeting agenda M1",
                                   "/meeting show M1", "/meeting list past", "/meeting minutes M1", "/action list",
                                   "/poll list", "/cluster decisions"])
def test_a_viewer_reads(board, typed):
    said = board.say(typed, user=BOARD)
    assert said.reply.tone != Tone.PROBLEM, said.text


def test_a_viewer_takes_the_report_even_as_a_guest_of_the_tenant(board):
    board.guests[BOARD] = True  # a Board manager from another organisation: a lead vouched for them
    said = board.say("/cluster report", user=BOARD)
    assert said.reply.tone != Tone.PROBLEM, said.text
    assert len(board.uploads) == 1


VIEWER_WRITES = [*WRITES, "/meeting note M1 The Board attended", "/meeting decision M1 Report D1 to the Board",
                 "/meeting attended M1 80123"]


@pytest.mark.parametrize("typed", VIEWER_WRITES)
def test_a_viewer_writes_nothing(board, db, typed):
    said = board.say(typed, user=BOARD)
    assert said.reply.tone == Tone.PROBLEM, said.text
    assert "You're a viewer of the cluster “Riverside Cluster”" in said.text or "owner" in said.text \
        or "whoever" in said.text or "leads" in said.text, said.text
    assert board.posts == []


def test_a_viewer_neither_votes_nor_counts_in_turnout(board, db):
    board.say('/poll "Which audit first?" "Asthma" "Frailty"', user="UGP")
    voted = board.click("poll.vote", "P1:2", user=BOARD)
    assert voted.reply.tone == Tone.PROBLEM and "Only members" in voted.text, voted.text
    assert "@UBOARD" not in board.say("/poll results P1").text


def test_a_viewer_is_refused_the_record_forms_by_button(board):
    for action in ("meeting.note", "meeting.decision", "meeting.attendance"):
        said = board.click(action, "M1", user=BOARD)
        assert said.reply.tone == Tone.PROBLEM and "viewer" in said.text, said.text


def test_adding_and_removing_a_viewer_is_audited_and_a_member_is_no_viewer(board, db):
    refused = board.say("/cluster viewer add <@UGP>")
    assert refused.reply.tone == Tone.PROBLEM and "member of the cluster already" in refused.text
    assert board.say(f"/cluster viewer remove <@{BOARD}>").reply.tone == Tone.DONE
    assert board.say(f"/cluster viewer remove <@{BOARD}>").reply.tone == Tone.PROBLEM
    assert "You're not a member" in board.say("/action add Chase the Board", user=BOARD).text
    with db.session() as session:
        whats = [e.what for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]
        assert "/cluster viewer add" in whats and "/cluster viewer remove" in whats
        assert session.exec(select(Viewer)).all() == []


def test_erasing_a_viewer_removes_their_viewer_row(board, db):
    with db.session() as session:
        erasure.erase(session=session, user_id=BOARD)
    with db.session() as session:
        assert session.exec(select(Viewer)).all() == []
