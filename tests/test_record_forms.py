"""The record's forms (/meeting record, attendance, decisions, minute lines) as Slack modals, a Teams dialog
and the console's typed fallback; and /meeting list past. On both databases, through signed requests."""

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from storage.models import Attendance, Decision, Meeting, MinuteLine
from testkit import factories
from testkit.helpers import assert_refused, snapshot
from testkit.slack_requests import button_payload, dispatch_command, dispatch_payload, submission_payload
from tests.test_processes import bot_env
from tests.test_record import meet, rows


@pytest.fixture
def cluster(app):
    """Riverside (three practices; UGP in 80123), on Thursday 26 November 2026 at 10:00 (GMT)."""
    factories.riverside(factories.on_slack(app), members={"UGP": "80123"})
    return app


def opened(slack_api) -> dict:
    """The modal the bot opened last."""
    return slack_api.calls_to("views.open")[-1].args["view"]


def submit(app, view, user="ULEAD", view_id="V0001", **values):
    return dispatch_payload(app, submission_payload(view, user=user, view_id=view_id, **values))


def channel_posts(slack_api) -> list[str]:
    return [c.args["text"] for c in slack_api.calls_to("chat.postMessage") if c.args["channel"] == "CCLUSTER"]


def held(app):
    """M1: held on 12 November, recorded by the lead."""
    assert meet(app, "record 12/11/2026 12:30 Cluster QI meeting for 90m").in_channel


# --- /meeting record as a form ----------------------------------------------------------------------------

def test_the_record_form_records_a_past_meeting_once(cluster, db, slack_api):
    assert meet(cluster, "record").body == ""  # the modal opens instead of an answer
    view = opened(slack_api)
    assert view["callback_id"] == "meeting.record"
    assert [b["block_id"] for b in view["blocks"]] == ["title", "date", "time", "minutes", "place"]
    assert view["blocks"][1]["element"]["initial_date"] == "2026-11-26"  # today: recorded just after
    payload = submission_payload(view, date="2026-11-12", time="12:30", minutes="90", place="Riverside MP",
                                 view_id="VREC")
    for _ in range(2):  # a double click
        assert dispatch_payload(cluster, payload).body == ""
    [meeting] = rows(db, Meeting)
    assert (meeting.title, meeting.starts_at, meeting.minutes, meeting.place) == (
        "Cluster QI meeting", datetime(2026, 11, 12, 12, 30, tzinfo=UTC), 90, "Riverside MP")
    assert meeting.ended_at is not None and meeting.reminders == ""
    [post] = [t for t in channel_posts(slack_api) if "recorded a meeting" in t]
    assert "M1 · Cluster QI meeting" in post and "Thu 12 Nov 2026 12:30–14:00" in post


def test_the_record_form_shows_each_problem_on_its_field(cluster, db, slack_api):
    meet(cluster, "record")
    view = opened(slack_api)
    before = snapshot(db)
    later = submit(cluster, view, date="2026-11-26", time="14:00").json  # later today: still to come
    assert later["response_action"] == "errors"
    assert later["errors"] == {"date": "Thu 26 Nov 2026 14:00 is still to come: this form is for meetings that "
                                       "have happened. To plan one, type /meeting."}
    old = submit(cluster, view, date="2011-11-12").json["errors"]["date"]
    assert "more than ten years ago" in old
    chi = submit(cluster, view, date="2026-11-12", title="Review of 943 476 5919").json["errors"]
    assert list(chi) == ["title"] and "looks like a CHI or NHS number" in chi["title"]
    assert "place" in submit(cluster, view, date="2026-11-12", place="x" * 301).json["errors"]
    assert snapshot(db) == before


# --- attendance -----------------------------------------------------------------------------------------------

def test_the_attendance_form_shows_the_record_and_changes_it(cluster, db, slack_api):
    held(cluster)
    meet(cluster, "apologies M1 80789")
    meet(cluster, "attended M1 <@UGP>")  # a person: kept whatever the form says of practices
    assert meet(cluster, "attended M1").body == ""
    view = opened(slack_api)
    assert view["callback_id"] == "meeting.attendance" and view["title"]["text"] == "Attendance at M1"
    assert [b["block_id"] for b in view["blocks"]] == ["p80123", "p80456", "p80789"]
    assert [b["element"]["initial_option"]["value"] for b in view["blocks"]] == ["none", "none", "apologies"]
    assert [o["text"]["text"] for o in view["blocks"][0]["element"]["options"]] == [
        "Present", "Apologies", "Not recorded"]
    assert submit(cluster, view, p80123="present", p80456="apologies", view_id="VATT").body == ""
    [post] = [t for t in channel_posts(slack_api) if "recorded attendance" in t]
    assert "Present:* 80123 Riverside Medical Practice" in post
    assert "Apologies:* 80456 Hillview Surgery; 80789 Burnside Health Centre" in post
    assert "1 of 3 practices represented" in post
    # Opened again, it shows what is recorded now; "Not recorded" takes a practice off the record.
    meet(cluster, "apologies M1")
    again = opened(slack_api)
    assert [b["element"]["initial_option"]["value"] for b in again["blocks"]] == ["present", "apologies",
                                                                                  "apologies"]
    submit(cluster, again, p80789="none", view_id="VATT2")
    marks = {(a.attendee, a.present) for a in rows(db, Attendance)}
    assert marks == {("practice:1", True), ("practice:2", False), ("person:UGP", True)}


def test_an_unchanged_attendance_form_says_so_privately(cluster, db, slack_api):
    held(cluster)
    meet(cluster, "attended M1")
    assert submit(cluster, opened(slack_api), view_id="VSAME").body == ""
    [told] = slack_api.wait_for("chat.postEphemeral")
    assert "Nothing changed at `M1`: 0 of 3 practices represented." in told.args["text"]
    assert rows(db, Attendance) == [] and channel_posts(slack_api) == []


def test_only_leads_and_the_organiser_open_or_submit_the_record_forms(cluster, db, slack_api):
    held(cluster)
    for text in ("attended M1", "apologies M1", "decision M1", "note M1"):
        assert_refused(meet(cluster, text, user="UGP"), "Only the cluster's leads can use")
    assert slack_api.calls_to("views.open") == []
    meet(cluster, "decision M1")
    view = opened(slack_api)
    before = snapshot(db)
    assert submit(cluster, view, user="UGP", text="Adopt the template").body == ""  # refused, not a field error
    assert snapshot(db) == before
    assert rows(db, Decision) == []


def test_a_cancelled_meeting_opens_no_form(cluster, slack_api):
    meet(cluster, "schedule 1/12/2026 12:30 Cluster QI meeting")
    meet(cluster, "cancel M1")
    assert_refused(meet(cluster, "decision M1"), "M1 was cancelled, so it has no record.")
    assert slack_api.calls_to("views.open") == []


# --- decisions ---------------------------------------------------------------------------------------------

def test_the_decision_form_records_a_decision_on_a_topic(cluster, db, slack_api):
    held(cluster)
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    dispatch_command(cluster, "/topic", "propose Frailty huddles", user="UGP")
    dispatch_command(cluster, "/topic", "move T2 dropped because the HSCP runs them")
    assert meet(cluster, "decision M1").body == ""
    view = opened(slack_api)
    assert [b["block_id"] for b in view["blocks"]] == ["text", "topic"]
    assert [o["value"] for o in view["blocks"][1]["element"]["options"]] == ["T1"]  # not the dropped T2
    payload = submission_payload(view, text="Adopt the asthma recall template", topic="T1", view_id="VDEC")
    for _ in range(2):  # a double click
        assert dispatch_payload(cluster, payload).body == ""
    [decision] = rows(db, Decision)
    assert (decision.text, decision.topic_id) == ("Adopt the asthma recall template", 1)
    assert any("recorded a decision at `M1`: *Adopt the asthma recall template* (`T1` Asthma reviews)" in t
               for t in channel_posts(slack_api))


def test_the_decision_form_shows_each_problem_on_its_field(cluster, db, slack_api):
    held(cluster)
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    meet(cluster, "decision M1")
    view = opened(slack_api)
    before = snapshot(db)
    assert submit(cluster, view, text="").json["errors"] == {"text": "Give the decision."}
    assert "looks like a CHI or NHS number" in submit(cluster, view, text="Recall 9434765919").json["errors"]["text"]
    tampered = submission_payload(view, text="Adopt it", topic="T1")  # a topic the list never offered
    tampered["view"]["state"]["values"]["topic"]["value"]["selected_option"] = {"value": "T9"}
    assert dispatch_payload(cluster, tampered).json["errors"] == {"topic": "There's no topic T9 in this cluster."}
    assert snapshot(db) == before


# --- minute lines ---------------------------------------------------------------------------------------------

def test_the_minutes_form_adds_several_lines_in_order(cluster, db, slack_api):
    held(cluster)
    meet(cluster, "note M1 Apologies were noted")
    assert meet(cluster, "note M1").body == ""
    view = opened(slack_api)
    assert [b["block_id"] for b in view["blocks"]] == ["text"] and view["blocks"][0]["element"]["multiline"]
    text = "Prescribing lead presented the DOAC audit\n\n  Practices agreed to share searches  \n"
    assert submit(cluster, view, text=text, view_id="VNOTE").body == ""
    assert [m.text for m in rows(db, MinuteLine)] == ["Apologies were noted", "Prescribing lead presented the DOAC "
                                                      "audit", "Practices agreed to share searches"]
    [post] = [t for t in channel_posts(slack_api) if "minuted 2 lines" in t]
    assert "2. Prescribing lead presented" in post and "3. Practices agreed" in post


def test_a_bad_line_in_the_minutes_form_adds_none_of_them(cluster, db, slack_api):
    held(cluster)
    meet(cluster, "note M1")
    view = opened(slack_api)
    before = snapshot(db)
    errors = submit(cluster, view, text="Audit presented\nCall back 943 476 5919").json["errors"]
    assert list(errors) == ["text"] and errors["text"].startswith("Line 2 (nothing was added): ")
    assert "looks like a CHI or NHS number" in errors["text"]
    assert submit(cluster, view, text=" \n ").json["errors"] == {"text": "Write at least one minute line."}
    too_many = "\n".join(f"Line {n}" for n in range(31))
    assert "the form takes up to 30 at a time" in submit(cluster, view, text=too_many).json["errors"]["text"]
    assert snapshot(db) == before


# --- buttons under the record -------------------------------------------------------------------------------

def test_the_recorded_meeting_has_buttons_that_open_the_forms(cluster, slack_api):
    response = meet(cluster, "record 12/11/2026 12:30 Cluster QI meeting")
    buttons = {e["text"]["text"]: e for b in response.json["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert list(buttons) == ["Attendance", "Add a decision", "Add minute lines"]
    for label, form in (("Attendance", "meeting.attendance"), ("Add a decision", "meeting.decision"),
                        ("Add minute lines", "meeting.note")):
        count = len(slack_api.calls_to("views.open")) + 1
        assert dispatch_payload(cluster, button_payload(buttons[label]["action_id"],
                                                        buttons[label]["value"])).status == 200
        assert slack_api.wait_for("views.open", count=count)[-1].args["view"]["callback_id"] == form


def test_a_button_pressed_by_someone_else_opens_nothing(cluster, slack_api):
    held(cluster)
    payload = button_payload("meeting.decision|1", "M1", user="UGP", response_url=slack_api.response_url)
    assert dispatch_payload(cluster, payload).status == 200
    told = slack_api.wait_for("response_url")[-1]
    assert "Only the cluster's leads can use" in told.args["text"]
    assert slack_api.calls_to("views.open") == []


# --- /meeting list past -------------------------------------------------------------------------------------

def test_list_past_shows_held_meetings_newest_first_with_their_record(cluster, clock):
    held(cluster)
    meet(cluster, "attended M1 80123 80456")
    meet(cluster, "decision M1 Adopt the template")
    meet(cluster, "decision M1 Meet again in January")
    meet(cluster, "record 19/11/2026 12:30 Prescribing sub-group")
    meet(cluster, "apologies M2 80789")
    meet(cluster, "note M2 Data reviewed")
    meet(cluster, "schedule 1/12/2026 12:30 Cancelled huddle")
    meet(cluster, "cancel M3")
    meet(cluster, "schedule today 10:30 Huddle for 30m")  # M4: under way at 10:40, so still upcoming
    meet(cluster, "schedule 10/12/2026 12:30 December meeting")  # M5
    clock.advance(minutes=40)
    response = meet(cluster, "list past", user="UGP")  # anyone reads
    assert response.json["response_type"] == "ephemeral"
    lines = response.text.splitlines()
    assert lines[0] == "*Meetings held by Riverside Cluster*, newest first"
    assert lines[1:3] == [
        "• `M2` Prescribing sub-group — Thu 19 Nov 2026 12:30 — 0 of 3 practices, no decisions, 1 minute line",
        "• `M1` Cluster QI meeting — Thu 12 Nov 2026 12:30 — 2 of 3 practices, 2 decisions, no minute lines"]
    assert "Huddle" not in response.text and "December" not in response.text and "Cancelled" not in response.text
    assert "/meeting minutes M2" in lines[-1] and "/meeting list`" in lines[-1]
    upcoming = meet(cluster, "list").text
    assert "Huddle" in upcoming and "December meeting" in upcoming and "Prescribing" not in upcoming
    assert upcoming.splitlines()[-1] == "Meetings already held, and what their record holds: `/meeting list past`"
    clock.advance(minutes=30)  # the huddle is over: held, with nothing recorded
    assert "• `M4` Huddle — Thu 26 Nov 2026 10:30 — nothing recorded yet" in meet(cluster, "list past").text


def test_list_past_shows_the_latest_fifteen(cluster):
    for day in range(1, 17):
        meet(cluster, f"record {day}/10/2026 12:30 Meeting {day}")
    text = meet(cluster, "list past").text
    assert "Meeting 16 —" in text and "Meeting 2 —" in text and "Meeting 1 —" not in text
    assert "The latest 15; the Board report has them all: `/cluster report`" in text


def test_list_past_with_none_held_and_bad_words(cluster):
    nothing = meet(cluster, "list past")
    assert "No meetings have been held yet. Record one that has: `/meeting record 12/11/2026" in nothing.text
    assert "/meeting list past" in meet(cluster, "list").text  # the empty list says it too
    assert_refused(meet(cluster, "list past week"), "/meeting list past takes nothing more (“week”)")
    assert_refused(meet(cluster, "list yesterday"), "“yesterday” isn't a list of meetings")


# --- the console and Teams ---------------------------------------------------------------------------------

@pytest.mark.wall_clock
def test_the_console_says_how_to_type_what_a_form_would_ask(tmp_path):
    script = "\n".join([
        "/cluster setup Riverside Cluster", "/cluster practice add 80123 Riverside MP",
        "/meeting record", "/meeting record 12/11/2025 12:30 Cluster QI meeting", "/meeting attended M1",
        "/meeting decision M1", "/meeting note M1", "/meeting attended M1 80123", "/meeting list past", ""])
    console = subprocess.run([sys.executable, "-m", "bot", "console", "--channel", "C1"], input=script, text=True,
                             capture_output=True, cwd=tmp_path, timeout=60,
                             env=bot_env(DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}"))
    out = console.stdout
    assert "Recording a meeting takes a form. Here, type it: /meeting record 12/11/2026" in out
    assert "Recording attendance takes a form. Here, type it: /meeting attended M1 80123 80456 @Jane" in out
    assert "Recording a decision takes a form. Here, type it: /meeting decision M1 <text> [topic T3]" in out
    assert "Here, type one at a time: /meeting note M1 <minute line>" in out
    assert "• M1 Cluster QI meeting — Wed 12 Nov 2025 12:30 — 1 of 1 practice, no decisions, no minute lines" in out


def test_the_attendance_form_is_a_teams_dialog(teams, teams_api, db):
    from testkit.teams_ids import CHANNEL, LEAD
    from testkit.teams_standin import BOT_ID, invoke, members_added, message

    def say(text):
        assert teams.send(message(teams_api, LEAD, text), teams_api.headers()).status_code == 200

    teams.send(members_added(teams_api, BOT_ID, by=LEAD), teams_api.headers())
    for text in ("cluster setup Riverside Cluster", "cluster practice add 80123 Riverside Medical Practice",
                 "cluster practice add 80456 Hillview Surgery", "meeting record 12/11/2026 12:30 QI meeting"):
        say(text)
    assert teams.delivery.drain()
    teams_api.reset()
    say("meeting attended M1")
    answer = teams_api.wait_for(lambda s: s.targeted())[0]
    opener = [a for s in answer.card["body"] if s["type"] == "ActionSet" for a in s["actions"]
              if a["title"] == "Attendance at M1"][0]
    fetched = teams.send(invoke(teams_api, LEAD, "task/fetch", {"data": opener["data"]}), teams_api.headers())
    dialog = fetched.json()["task"]["value"]
    assert dialog["title"] == "Attendance at M1"
    card = dialog["card"]["content"]
    choices = [e for e in card["body"] if e.get("type") == "Input.ChoiceSet"]
    assert [(c["id"], c["value"]) for c in choices] == [("p80123", "none"), ("p80456", "none")]
    data = dict(card["actions"][0]["data"], p80123="present", p80456="apologies")
    assert teams.send(invoke(teams_api, LEAD, "task/submit", {"data": data}), teams_api.headers()).status_code == 200
    assert {(a.attendee, a.present) for a in rows(db, Attendance)} == {("practice:1", True), ("practice:2", False)}
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "recorded attendance" in p.text])
