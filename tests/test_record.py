"""The record of meetings: /meeting record, attendance, minute lines, decisions, the decision log and
the minutes (chat and .docx, read back with python-docx), through signed requests on both databases,
and in the console."""

import io
import subprocess
import sys
from datetime import UTC, datetime

import docx
import pytest
from sqlmodel import select

from commands.results import Post, plain_text
from storage.models import Attendance, Decision, Meeting, MinuteLine, Reminder, TopicMove
from testkit import factories
from testkit.helpers import assert_refused, snapshot
from testkit.slack_requests import dispatch_command
from tests.test_processes import bot_env


@pytest.fixture
def cluster(app):
    """Riverside (three practices; UGP in 80123, UNURSE in 80456), on Thursday 26 November 2026 at 10:00 (GMT)."""
    factories.riverside(factories.on_slack(app), members={"UGP": "80123", "UNURSE": "80456"})
    return app


def meet(app, text, user="ULEAD"):
    return dispatch_command(app, "/meeting", text, user=user)


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model).order_by(model.id)))


def recorded(app):
    """M1: a meeting held on 12 November, recorded by the lead."""
    response = meet(app, "record 12/11/2026 12:30 Cluster QI meeting for 90m at Riverside MP")
    assert response.json["response_type"] == "in_channel", response.text
    return response


def uploaded_docx(slack_api) -> tuple[docx.Document, dict]:
    [complete] = slack_api.wait_for("files.completeUploadExternal")
    [content] = slack_api.uploads.values()
    [url_call] = slack_api.calls_to("files.getUploadURLExternal")
    return docx.Document(io.BytesIO(content)), url_call.args


def paragraphs(document) -> list[str]:
    return [p.text for p in document.paragraphs]


# --- /meeting record ------------------------------------------------------------------------------------

def test_a_past_meeting_is_recorded_without_reminders_or_an_end_post(cluster, db, product, clock):
    response = recorded(cluster)
    assert "recorded a meeting: *M1 · Cluster QI meeting*" in response.text
    assert "Thu 12 Nov 2026 12:30–14:00" in response.text and "Riverside MP" in response.text
    assert "/meeting attended M1" in response.text and "/meeting minutes M1" in response.text
    [meeting] = rows(db, Meeting)
    assert meeting.starts_at == datetime(2026, 11, 12, 12, 30, tzinfo=UTC) and meeting.minutes == 90
    assert meeting.ended_at is not None and rows(db, Reminder) == []
    clock.advance(days=1)
    assert product.tick() == []  # no reminder, no "has ended" post


def test_a_day_and_month_without_a_year_is_the_last_such_day(cluster, db):
    response = meet(cluster, "record 12/11 12:30 Cluster QI meeting")
    assert "Thu 12 Nov 2026 12:30" in response.text
    assert rows(db, Meeting)[0].starts_at.year == 2026


def test_recording_a_future_meeting_says_use_schedule(cluster, db):
    before = snapshot(db)
    response = meet(cluster, "record 3/12/2026 12:30 December meeting")
    assert_refused(response, "Thu 3 Dec 2026 12:30 is still to come: to plan a meeting, use schedule")
    assert "/meeting schedule 3/12/2026 12:30 December meeting" in response.text
    assert snapshot(db) == before


def test_a_recorded_meeting_takes_no_reminders(cluster, db):
    before = snapshot(db)
    assert_refused(meet(cluster, "record 12/11/2026 12:30 QI meeting remind 1d"), "needs no reminders")
    assert snapshot(db) == before


def test_a_scheduled_meeting_that_ends_invites_the_record(cluster, product, clock):
    meet(cluster, "schedule 1/12/2026 12:30 Cluster QI meeting")
    clock.set(datetime(2026, 12, 1, 13, 31, tzinfo=UTC))
    [ended] = [e for e in product.tick() if isinstance(e, Post)]
    text = plain_text(ended.reply)
    assert "M1 · Cluster QI meeting has ended" in text
    assert "/meeting attended M1 <practice codes or @people>" in text and "/meeting decision M1" in text
    assert "/meeting note M1" in text
    assert [(b.action, b.value) for b in ended.reply.buttons] == [
        ("meeting.attendance", "M1"), ("meeting.decision", "M1"), ("meeting.note", "M1")]


# --- attendance -------------------------------------------------------------------------------------------

def test_attendance_by_practice_and_person_counts_practices_represented(cluster, db):
    recorded(cluster)
    response = meet(cluster, "attended M1 80123 <@UNURSE|nurse>, <@UGUEST>")
    assert response.json["response_type"] == "in_channel"
    assert "recorded present at `M1`: 80123 Riverside Medical Practice, <@UNURSE> (80456), <@UGUEST>" \
        in response.text
    assert "2 of 3 practices represented" in response.text
    response = meet(cluster, "apologies M1 80789")
    assert "recorded apologies" in response.text and "2 of 3 practices represented" in response.text
    meet(cluster, "attended M1 80789")  # they came after all: the apology becomes attendance
    assert "3 of 3 practices represented" in meet(cluster, "attended M1 80789").text
    marks = {(a.attendee, a.present) for a in rows(db, Attendance)}
    assert len(marks) == 4 and ("practice:3", True) in marks and ("person:UGUEST", True) in marks


def test_attendance_naming_a_practice_not_in_the_cluster_is_refused(cluster, db):
    recorded(cluster)
    before = snapshot(db)
    response = meet(cluster, "attended M1 80123 80999")
    assert_refused(response, "80999 isn't a practice of this cluster. Its practices: 80123 Riverside Medical "
                             "Practice, 80456 Hillview Surgery, 80789 Burnside Health Centre.")
    assert_refused(meet(cluster, "apologies M1 Hillview"), "“Hillview” isn't a practice code (5 digits)")
    assert_refused(meet(cluster, "attended M1 ,"), "Name the practices")  # nothing at all opens the form
    assert snapshot(db) == before  # not even 80123, named first


# --- minute lines and decisions ----------------------------------------------------------------------------

def test_minute_lines_keep_their_order_and_decisions_name_topics(cluster, db):
    recorded(cluster)
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    assert "minuted (1)" in meet(cluster, "note M1 Prescribing lead presented the DOAC audit").text
    assert "minuted (2)" in meet(cluster, "note M1 Practices agreed to share searches").text
    response = meet(cluster, "decision M1 Adopt the asthma recall template topic T1")
    assert "recorded a decision at `M1`: *Adopt the asthma recall template* (`T1` Asthma reviews)" in response.text
    meet(cluster, "decision M1 Next meeting in January")
    assert [m.text for m in rows(db, MinuteLine)] == ["Prescribing lead presented the DOAC audit",
                                                     "Practices agreed to share searches"]
    decisions = rows(db, Decision)
    assert [(d.text, d.topic_id is not None) for d in decisions] == [
        ("Adopt the asthma recall template", True), ("Next meeting in January", False)]


def test_a_decision_on_an_unknown_topic_is_refused(cluster, db):
    recorded(cluster)
    before = snapshot(db)
    assert_refused(meet(cluster, "decision M1 Start the audit topic T9"), "There's no topic T9 in this cluster.")
    assert_refused(meet(cluster, "decision M1 Start the audit topic 9"), "“9” isn't a topic id")
    assert snapshot(db) == before


def test_only_leads_and_the_organiser_write_the_record(cluster, db):
    recorded(cluster)
    before = snapshot(db)
    for text in ("decision M1 Adopt the template", "note M1 A line", "attended M1 80123", "apologies M1 80456"):
        assert_refused(meet(cluster, text, user="UGP"), "Only the cluster's leads can use")
    assert snapshot(db) == before
    # A member who recorded their own meeting is its organiser.
    meet(cluster, "record 19/11/2026 09:00 Practice managers' catch-up", user="UNURSE")
    assert meet(cluster, "decision M2 Share the rota", user="UNURSE").json["response_type"] == "in_channel"
    assert_refused(meet(cluster, "note M2 A line", user="UGP"), "Only the cluster's leads can use")
    assert meet(cluster, "note M2 The lead may add too").json["response_type"] == "in_channel"


def test_the_identifier_guard_covers_every_field_of_the_record(cluster, db):
    recorded(cluster)
    before = snapshot(db)
    for text in ("note M1 Call back 943 476 5919", "decision M1 Review 9434765919",
                 "record 12/11/2026 12:30 Review of 943-476-5919"):
        assert_refused(meet(cluster, text), "looks like a CHI or NHS number")
    assert snapshot(db) == before


def test_a_cancelled_meeting_has_no_record(cluster, db):
    meet(cluster, "schedule 1/12/2026 12:30 Cluster QI meeting")
    meet(cluster, "cancel M1")
    assert_refused(meet(cluster, "note M1 A line"), "M1 was cancelled")


def test_the_decision_log_is_read_by_anyone(cluster):
    recorded(cluster)
    meet(cluster, "record 19/11/2026 12:30 Prescribing sub-group")
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    meet(cluster, "decision M1 Adopt the template topic T1")
    meet(cluster, "decision M2 Start with DOACs")
    response = dispatch_command(cluster, "/cluster", "decisions", user="UGP")
    assert response.json["response_type"] == "ephemeral"
    text = response.text
    assert "Decision log of Riverside Cluster* (2)" in text
    assert text.index("M1 · Cluster QI meeting") < text.index("Adopt the template") < text.index(
        "M2 · Prescribing sub-group") < text.index("Start with DOACs")
    assert "Thu 12 Nov 2026 12:30" in text and "(`T1` Asthma reviews)" in text
    since = dispatch_command(cluster, "/cluster", "decisions since 15/11/2026").text
    assert "Start with DOACs" in since and "Adopt the template" not in since
    assert_refused(dispatch_command(cluster, "/cluster", "decisions lately"), "isn't a decisions setting")


def test_no_decisions_yet_says_how_to_record_one(cluster):
    response = dispatch_command(cluster, "/cluster", "decisions")
    assert "No decisions recorded" in response.text and "/meeting decision M1" in response.text


# --- minutes -----------------------------------------------------------------------------------------------

def full_record(app, clock):
    recorded(app)
    dispatch_command(app, "/topic", "propose Asthma reviews", user="UGP")
    meet(app, "item M1 Prescribing data")
    meet(app, "attended M1 80123 <@UNURSE>")
    meet(app, "apologies M1 80789")
    meet(app, "note M1 Prescribing lead presented the DOAC audit")
    meet(app, "note M1 Practices agreed to share searches")
    meet(app, "decision M1 Adopt the asthma recall template topic T1")
    dispatch_command(app, "/action", "add Audit discharges <@UGP> due 3/12/2026 meeting M1")
    dispatch_command(app, "/action", "add Not from the meeting")


def test_minutes_with_nothing_recorded_are_a_clear_empty_template(cluster):
    recorded(cluster)
    response = meet(cluster, "minutes M1", user="UGP")  # anyone reads
    text = response.text
    assert response.json["response_type"] == "ephemeral"
    assert "Minutes · M1 · Cluster QI meeting" in text and "Thursday 12 November 2026, 12:30–14:00" in text
    assert "0 of 3 practices represented" in text and "Nothing is recorded for this meeting yet" in text
    for how in ("/meeting attended M1", "/meeting apologies M1", "/meeting item M1", "/meeting note M1",
                "/meeting decision M1", "/action add &lt;what&gt; @owner due &lt;date&gt; meeting M1"):
        assert how in text, how


def test_minutes_gather_the_whole_record(cluster, db, clock):
    full_record(cluster, clock)
    dispatch_command(cluster, "/topic", "move T1 agreed")
    dispatch_command(cluster, "/topic", "move T1 active")
    with db.session() as session:  # history: T1 was agreed on the meeting's day, made active today
        moves = list(session.exec(select(TopicMove).order_by(TopicMove.id)))
        for move, at in zip(moves, (datetime(2026, 11, 10, 9, 0, tzinfo=UTC), datetime(2026, 11, 12, 15, 0, tzinfo=UTC),
                                    datetime(2026, 11, 26, 10, 0, tzinfo=UTC)), strict=True):
            move.at = at
            session.add(move)
    text = meet(cluster, "minutes M1").text
    assert "Riverside MP · 2 of 3 practices represented" in text
    assert "Present:* 80123 Riverside Medical Practice; <@UNURSE> (80456 Hillview Surgery)" in text
    assert "Apologies:* 80789 Burnside Health Centre" in text
    assert text.index("1. Prescribing data") < text.index("1. Prescribing lead presented") < text.index(
        "2. Practices agreed") < text.index("1. Adopt the asthma recall template")
    assert "`A1` Audit discharges — <@UGP>, due Thu 3 Dec 2026" in text and "Not from the meeting" not in text
    assert "`T1` Asthma reviews: proposed → agreed" in text and "agreed → active" not in text
    assert "Nothing is recorded" not in text


def test_minutes_as_a_word_file(cluster, clock, slack_api):
    full_record(cluster, clock)
    ack = meet(cluster, "minutes M1 word", user="UGP")
    assert "Preparing the minutes of `M1` as a Word file" in ack.text
    document, args = uploaded_docx(slack_api)
    assert args["filename"] == "riverside-cluster-minutes-m1-2026-11-26-1000.docx"
    text = paragraphs(document)
    assert text[0] == "Riverside Cluster" and text[1] == "Minutes of Cluster QI meeting (M1)"
    assert document.paragraphs[1].style.name == "Heading 1"
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 2"]
    assert headings == ["Present", "Apologies", "Practices not represented", "Agenda", "Minutes", "Decisions",
                        "Topic changes on the day", "Actions"]
    block, actions = document.tables
    assert [[c.text for c in r.cells] for r in block.rows] == [
        ["Date and time", "Thursday 12 November 2026, 12:30–14:00"], ["Venue", "Riverside MP"],
        ["Representation", "2 of 3 practices represented"]]
    assert "Person UNURSE (80456 Hillview Surgery)" in text and "80123 Riverside Medical Practice" in text
    assert text[text.index("Apologies") + 1] == "80789 Burnside Health Centre"
    assert "1. Prescribing lead presented the DOAC audit" in text and "2. Practices agreed to share searches" in text
    assert "1. Adopt the asthma recall template (T1 Asthma reviews)" in text
    assert [[c.text for c in r.cells] for r in actions.rows] == [
        ["Ref", "Action", "Owner", "Due", "Status"],
        ["A1", "Audit discharges", "Person UGP", "3 December 2026", "open"]]
    assert document.core_properties.author == "clusterbot"


def test_an_empty_record_makes_a_valid_word_template(cluster, slack_api):
    recorded(cluster)
    meet(cluster, "minutes M1 word")
    document, _ = uploaded_docx(slack_api)
    text = paragraphs(document)
    assert text.count("None recorded.") == 7  # present, apologies, agenda, minutes, decisions, moves, actions
    assert "0 of 3 practices represented" in [c.text for r in document.tables[0].rows for c in r.cells]


def test_a_word_file_the_platform_refuses_is_told(cluster, db, slack_api):
    recorded(cluster)
    before = snapshot(db)
    slack_api.fail("files.getUploadURLExternal", "not_in_channel")
    meet(cluster, "minutes M1 word")
    [told] = [c.args for c in slack_api.wait_for("response_url")]
    assert told["response_type"] == "ephemeral"
    assert "I'm not in this channel, so I couldn't upload the file" in told["text"]
    assert snapshot(db) == before


def test_minutes_bad_input(cluster):
    recorded(cluster)
    assert_refused(meet(cluster, "minutes M1 pdf"), "“pdf” isn't a minutes setting")
    assert_refused(meet(cluster, "minutes M7"), "There's no meeting M7 in this cluster.")


# --- the console -------------------------------------------------------------------------------------------

@pytest.mark.wall_clock
def test_the_record_and_minutes_in_the_console(tmp_path):
    script = "\n".join([
        "/cluster setup Riverside Cluster", "/cluster practice add 80123 Riverside MP",
        "/cluster practice add 80456 Hillview Surgery", "/meeting record 12/11/2025 12:30 Cluster QI meeting",
        "/meeting attended M1 80123", "/meeting apologies M1 80456", "/meeting attended M1 80999",
        "/meeting note M1 Audit presented", "/meeting decision M1 Adopt the template", "/cluster decisions",
        "/meeting minutes M1", "/meeting minutes M1 word", ""])
    console = subprocess.run([sys.executable, "-m", "bot", "console", "--channel", "C1"], input=script, text=True,
                             capture_output=True, cwd=tmp_path, timeout=60,
                             env=bot_env(DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}"))
    out = console.stdout
    assert "recorded a meeting: M1 · Cluster QI meeting" in out and "Wed 12 Nov 2025 12:30" in out
    assert "1 of 2 practices represented" in out and "80999 isn't a practice of this cluster" in out
    assert "Minutes · M1 · Cluster QI meeting" in out and "1. Audit presented" in out
    [saved] = tmp_path.glob("riverside-cluster-minutes-m1-*.docx")
    assert "1. Adopt the template" in paragraphs(docx.Document(saved))


def test_a_typed_note_of_several_lines_adds_one_minute_line_each(riverside, db):
    """Shift+Enter between lines in the message box: each line is a minute line, as on the form."""
    riverside.say("/meeting record 12/11/2026 12:30 Cluster QI meeting")
    said = riverside.say("/meeting note M1 Audit presented\n\n  Data reviewed by practice  \nNext cycle agreed")
    assert said.text.splitlines()[1:] == ["1. Audit presented", "2. Data reviewed by practice", "3. Next cycle agreed"]
    assert [m.text for m in rows(db, MinuteLine)] == ["Audit presented", "Data reviewed by practice",
                                                        "Next cycle agreed"]
    one = riverside.say("/meeting note M1 Thanks to the practice nurses")
    assert "minuted (4) at M1: Thanks to the practice nurses" in one.text
    many = riverside.say("/meeting note M1 " + "\n".join(f"line {n}" for n in range(31)))
    assert "That is 31 lines; up to 30 go in at a time. Nothing was added." in many.text
    assert len(rows(db, MinuteLine)) == 4
