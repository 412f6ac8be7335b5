"""Excel exports, read back with openpyxl: values, types, styles, filters, the summary."""

import io
import subprocess
import sys
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from commands.exports import looks_identifying
from storage.models import Action
from testkit import factories
from testkit.slack_requests import dispatch_command
from tests.test_processes import bot_env


@pytest.fixture
def cluster(app):
    """Riverside with two practices: ULEAD leads; UGP in 80123, UNURSE in 80456."""
    factories.riverside(factories.on_slack(app), practices=2, members={"UGP": "80123", "UNURSE": "80456"})
    return app


WHOLE_WORKBOOK = ["Summary", "Actions", "Topics", "Topic notes", "PDSA cycles", "Progress scores", "Check-ins", "Polls",
                  "Ballots", "Meetings", "Audit", "Measures"]


def uploaded_workbook(slack_api):
    """The .xlsx the bot uploaded through files_upload_v2, and the completing call's arguments."""
    [complete] = slack_api.wait_for("files.completeUploadExternal")
    [content] = slack_api.uploads.values()
    return load_workbook(io.BytesIO(content)), complete.args


def test_action_export_uploads_a_well_formed_workbook(cluster, db, slack_api):
    dispatch_command(cluster, "/action", "add Overdue audit <@UGP> due 20/11/2026")
    dispatch_command(cluster, "/action", "add Soon letters <@UNURSE> due 30/11/2026")
    dispatch_command(cluster, "/action", "add Later review due 20/12/2026")
    dispatch_command(cluster, "/action", "add =HYPERLINK(\"http://evil\") <@UGP>")
    dispatch_command(cluster, "/action", "add Finished thing <@UNURSE>")
    dispatch_command(cluster, "/action", "done A5", user="UNURSE")

    ack = dispatch_command(cluster, "/action", "export all")
    assert ack.json["response_type"] == "ephemeral" and "Preparing the action log (all)" in ack.text
    workbook, complete = uploaded_workbook(slack_api)
    assert complete["channel_id"] == "CCLUSTER"
    assert "exported: Action log (all) of *Riverside Cluster*" in complete["initial_comment"]
    [upload_url_call] = slack_api.calls_to("files.getUploadURLExternal")
    assert upload_url_call.args["filename"] == "riverside-cluster-action-log-all-2026-11-26-1000.xlsx"

    assert workbook.sheetnames == ["Summary", "Actions"]
    assert workbook.properties.title == "Action log (all)" and workbook.properties.subject == "Riverside Cluster"
    assert workbook.properties.creator == "clusterbot"
    sheet = workbook["Actions"]
    header = [c.value for c in sheet[1]]
    assert header[:7] == ["ID", "Action", "Owner", "Practice code", "Practice", "Due", "Status"]
    assert all(c.font.b for c in sheet[1]) and sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:Q6"
    assert sheet.column_dimensions["B"].width == 60
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    overdue = rows["A1"]
    assert overdue[2].value == "Person UGP"  # names from users.info
    assert overdue[3].value == "80123" and overdue[4].value == "Riverside Medical Practice"
    assert isinstance(overdue[5].value, datetime) and overdue[5].value.date() == date(2026, 11, 20)
    assert overdue[5].number_format == "dd/mm/yyyy"
    colours = {k: (r[6].value, r[6].fill.fgColor.rgb) for k, r in rows.items()}
    assert colours["A1"] == ("Overdue", "00FFC7CE")
    assert colours["A2"] == ("Due within 7 days", "00FFEB9C")
    assert colours["A3"][0] == "Open" and colours["A5"] == ("Done", "00C6EFCE")
    formula = rows["A4"][1]
    assert formula.value == '=HYPERLINK("http://evil")' and formula.data_type == "s" and formula.quotePrefix
    assert isinstance(rows["A5"][14].value, datetime)  # done at: a real datetime

    summary = {r[0].value: [c.value for c in r[1:]] for r in workbook["Summary"].iter_rows() if r and r[0].value}
    assert summary["Overdue"][0] == 1 and summary["Due within 7 days"][0] == 1 and summary["Done"][0] == 1
    assert summary["Open, due later or no date"][0] == 2 and summary["Total"][0] == 5
    assert summary["Riverside Medical Practice"][:2] == [2, 0]
    assert summary["Hillview Surgery"][:2] == [1, 1]
    assert summary["Person UGP"][:3] == [2, 1, 0]


def test_open_export_since_a_date(cluster, db, slack_api):
    dispatch_command(cluster, "/action", "add First")
    dispatch_command(cluster, "/action", "add Second")
    dispatch_command(cluster, "/action", "done A2")
    dispatch_command(cluster, "/action", "export open since 1/11/2026")
    workbook, _ = uploaded_workbook(slack_api)
    assert [r[0].value for r in workbook["Actions"].iter_rows(min_row=2)] == ["A1"]
    assert workbook.properties.title == "Action log (open since Sun 1 Nov 2026)"


def test_an_empty_log_is_a_valid_workbook_with_headers_and_a_note(cluster, slack_api):
    dispatch_command(cluster, "/action", "export")
    workbook, _ = uploaded_workbook(slack_api)
    sheet = workbook["Actions"]
    assert sheet["A1"].value == "ID" and sheet["A2"].value == "No actions match: the log is empty."
    assert sheet.max_row == 2


def test_cluster_export_has_actions_topics_polls_and_ballots(cluster, db, slack_api):
    dispatch_command(cluster, "/topic", "propose Asthma reviews -- 1 in 3 missed", user="UGP")
    dispatch_command(cluster, "/topic", "propose Frailty register", user="UNURSE")
    dispatch_command(cluster, "/topic", "move T2 agreed")
    dispatch_command(cluster, "/poll", '"Which first?" "Asthma" "Frailty"')
    dispatch_command(cluster, "/poll", "vote P1 2", user="UGP")
    dispatch_command(cluster, "/poll", "vote P1 2", user="UNURSE")
    dispatch_command(cluster, "/poll", "close P1")
    dispatch_command(cluster, "/poll", '"Secret?" "Yes" "No" anonymous')
    dispatch_command(cluster, "/poll", "vote P2 1", user="UGP")
    dispatch_command(cluster, "/action", "add Audit discharges topic T1 <@UGP>")
    dispatch_command(cluster, "/meeting", "schedule every 2nd tuesday 12:30 Cluster QI meeting at Riverside MP")
    dispatch_command(cluster, "/meeting", "item M1 Prescribing data")

    ack = dispatch_command(cluster, "/cluster", "export")
    assert "Preparing the cluster workbook" in ack.text
    workbook, _ = uploaded_workbook(slack_api)
    assert workbook.sheetnames == WHOLE_WORKBOOK
    topics = [[c.value for c in r] for r in workbook["Topics"].iter_rows(min_row=2)]
    assert [t[:4] for t in topics] == [["T1", "Asthma reviews", "Proposed", "Our practices"],
                                      ["T2", "Frailty register", "Agreed", "Our practices"]]
    assert topics[0][9] == "1 in 3 missed" and isinstance(topics[0][7], datetime)
    polls = {r[0].value: [c.value for c in r] for r in workbook["Polls"].iter_rows(min_row=2)}
    assert polls["P1"][2] == 2 and polls["P1"][5] == "Frailty" and polls["P1"][6] == "Asthma: 0; Frailty: 2"
    assert polls["P2"][4] == "yes" and polls["P2"][5] == "hidden until the poll closes" and polls["P2"][6] is None
    ballots = [[c.value for c in r] for r in workbook["Ballots"].iter_rows(min_row=2)]
    assert [(b[0], b[1], b[4]) for b in ballots] == [("P1", "80123", "Frailty"), ("P1", "80456", "Frailty")]
    assert all(b[0] != "P2" for b in ballots)  # anonymous ballots never leave the database
    assert workbook["Actions"]["H2"].value == "T1"
    meeting = [c.value for c in workbook["Meetings"][2]]
    assert meeting[:2] == ["M1", "Cluster QI meeting"] and meeting[2] == datetime(2026, 12, 8, 12, 30)
    assert meeting[4:8] == ["Riverside MP", "the second Tuesday of every month", "Scheduled", 1]


def test_a_failed_upload_is_told_and_nothing_is_lost(cluster, db, slack_api):
    dispatch_command(cluster, "/action", "add Keep me")
    slack_api.fail("files.getUploadURLExternal", "not_in_channel")
    dispatch_command(cluster, "/action", "export")
    [told] = [c.args for c in slack_api.wait_for("response_url")]
    assert told["response_type"] == "ephemeral"
    assert "I'm not in this channel, so I couldn't upload the file" in told["text"]
    with db.session() as session:
        assert [a.description for a in session.exec(select(Action))] == ["Keep me"]


@pytest.mark.wall_clock
def test_export_from_the_command_line(tmp_path):
    env = bot_env(DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}")
    script = "/cluster setup Riverside Cluster\n/action add Audit discharges due 3/12/2030\n/action export\n"
    console = subprocess.run([sys.executable, "-m", "bot", "console", "--channel", "C1"], input=script, text=True,
                             capture_output=True, cwd=tmp_path, env=env, timeout=60)
    assert "Preparing the action log (open)" in console.stdout
    saved = list(tmp_path.glob("riverside-cluster-action-log-*.xlsx"))
    assert len(saved) == 1 and "[file saved here:" in console.stdout
    assert load_workbook(saved[0])["Actions"]["B2"].value == "Audit discharges"

    out = tmp_path / "whole.xlsx"
    result = subprocess.run([sys.executable, "-m", "bot", "export", "--channel", "C1", "--out", str(out)],
                            text=True, capture_output=True, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 0 and "Wrote" in result.stdout
    workbook = load_workbook(out)
    assert workbook.sheetnames == WHOLE_WORKBOOK
    assert workbook["Actions"]["F2"].value == datetime(2030, 12, 3)

    missing = subprocess.run([sys.executable, "-m", "bot", "export", "--channel", "CNOPE", "--out", str(out)],
                             text=True, capture_output=True, cwd=tmp_path, env=env, timeout=60)
    assert missing.returncode == 2 and missing.stderr.strip().startswith("clusterbot: No cluster in channel CNOPE")


def rows_of(sheet) -> dict[str, dict[str, object]]:
    """A sheet's rows keyed by their first cell, each a {header: value} dict."""
    header = [c.value for c in sheet[1]]
    return {r[0].value: dict(zip(header, [c.value for c in r], strict=True)) for r in sheet.iter_rows(min_row=2)}


def test_actions_show_topic_and_meeting_titles_and_their_notes(cluster, db, slack_api):
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    dispatch_command(cluster, "/topic", "propose Frailty register", user="UGP")
    dispatch_command(cluster, "/topic", "move T2 dropped the Board asked us to pause it")
    dispatch_command(cluster, "/meeting", "schedule 10/12/2026 12:30 December QI meeting")
    dispatch_command(cluster, "/action", "add Audit discharges topic T1 meeting M1 <@UGP>")
    dispatch_command(cluster, "/action", "add Frailty search topic T2")
    dispatch_command(cluster, "/action", "note A1 Searched 3 practices")
    dispatch_command(cluster, "/action", "note A1 =2 more to go")

    dispatch_command(cluster, "/cluster", "export")
    workbook, _ = uploaded_workbook(slack_api)
    [upload_url_call] = slack_api.calls_to("files.getUploadURLExternal")
    assert upload_url_call.args["filename"] == "riverside-cluster-cluster-workbook-2026-11-26-1000.xlsx"
    actions = rows_of(workbook["Actions"])
    assert actions["A1"]["Topic"] == "T1" and actions["A1"]["Topic title"] == "Asthma reviews"
    assert actions["A1"]["Meeting"] == "M1" and actions["A1"]["Meeting title"] == "December QI meeting"
    assert actions["A1"]["Notes"] == "Searched 3 practices\n=2 more to go"
    notes_cell = next(r[11] for r in workbook["Actions"].iter_rows(min_row=2) if r[0].value == "A1")
    assert notes_cell.alignment.wrap_text  # one note a line, shown as lines
    assert actions["A2"]["Topic title"] == "Frailty register (dropped)" and actions["A2"]["Meeting"] is None
    topics = rows_of(workbook["Topics"])
    assert topics["T2"]["Status"] == "Dropped" and topics["T2"]["Drop reason"] == "the Board asked us to pause it"
    status_cell = next(r[2] for r in workbook["Topics"].iter_rows(min_row=2) if r[0].value == "T2")
    assert status_cell.fill.fgColor.rgb == "00D9D9D9"
    assert topics["T1"]["Status"] == "Proposed" and topics["T1"]["Drop reason"] is None


def test_the_file_names_say_kind_and_time_so_two_exports_differ(cluster, clock, slack_api):
    dispatch_command(cluster, "/action", "export")
    slack_api.wait_for("files.completeUploadExternal")
    clock.advance(minutes=1)
    dispatch_command(cluster, "/action", "export all")
    slack_api.wait_for("files.completeUploadExternal", count=2)
    names = [c.args["filename"] for c in slack_api.calls_to("files.getUploadURLExternal")]
    assert names == ["riverside-cluster-action-log-open-2026-11-26-1000.xlsx",
                     "riverside-cluster-action-log-all-2026-11-26-1001.xlsx"]


def test_topic_notes_with_their_pdsa_steps(cluster, slack_api):
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    dispatch_command(cluster, "/topic", "note T1 plan: Search for missed reviews")
    dispatch_command(cluster, "/topic", "note T1 Spoke to the pharmacist")
    dispatch_command(cluster, "/cluster", "export")
    workbook, _ = uploaded_workbook(slack_api)
    notes = [[c.value for c in r] for r in workbook["Topic notes"].iter_rows(min_row=2)]
    assert [n[:4] for n in notes] == [["T1", "Asthma reviews", "PLAN", "Search for missed reviews"],
                                     ["T1", "Asthma reviews", None, "Spoke to the pharmacist"]]
    assert rows_of(workbook["Topics"])["T1"]["Notes"] == 2


def test_text_the_guard_would_refuse_never_reaches_a_workbook(cluster, db, slack_api):
    """Text stored before the guard (or by a path it missed) is withheld from the file."""
    dispatch_command(cluster, "/action", "add Call back the patient")
    with db.session() as session:
        action = session.exec(select(Action)).one()
        action.description = "Call back 943 476 5919 about results"  # a valid NHS number
        session.add(action)
    dispatch_command(cluster, "/action", "export")
    workbook, _ = uploaded_workbook(slack_api)
    cells = [c.value for row in workbook["Actions"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "[withheld: looked like a patient identifier]" in cells
    assert not any("943" in value for value in cells)


@pytest.mark.parametrize("stored", ["⓿❶⓿❶⓿❶❶❷❸❼", "010 - - - 101 - - - 1237", "010101ー1237",
                                    "0101\u3164\u3164\u316401 1237"])
def test_the_files_screen_is_never_narrower_than_the_guard(stored):
    # Its cheap first look once wanted ten digits at most three characters apart: circled digits and long
    # runs of separators, refused at the door, would have been written into a file had they been stored.
    assert looks_identifying(f"Call back {stored} about results")
    assert not looks_identifying("Meeting 2026-12-03 at 14:30, room 12")


@pytest.mark.database
def test_characters_xml_cannot_hold_never_break_the_workbook(cluster, db, slack_api):
    """Input drops them; text stored before that (written here straight to the table) is cleaned in the file."""
    dispatch_command(cluster, "/action", "add Ring the Board")
    with db.session() as session:
        action = session.exec(select(Action)).one()
        action.description = "Ring\ufffe the\x0b Board\uffff"
        session.add(action)
    dispatch_command(cluster, "/action", "export")
    workbook, _ = uploaded_workbook(slack_api)  # openpyxl would fail to read broken XML
    assert workbook["Actions"]["B2"].value == "Ring the Board"


@pytest.mark.parametrize("kind", ["hidden", "anonymous"])
def test_a_hidden_or_anonymous_poll_shows_no_counts_in_the_workbook_until_it_closes(cluster, slack_api, kind):
    dispatch_command(cluster, "/poll", f'"Which first?" "Asthma" "Frailty" {kind}')
    dispatch_command(cluster, "/poll", "vote P1 2", user="UGP")
    dispatch_command(cluster, "/cluster", "export")
    workbook, _ = uploaded_workbook(slack_api)
    poll = rows_of(workbook["Polls"])["P1"]
    assert poll["Result"] == "hidden until the poll closes" and poll["Counts"] is None and poll["Ballots"] is None
    assert workbook["Ballots"]["A2"].value == "No ballots on non-anonymous polls."
    dispatch_command(cluster, "/poll", "close P1")
    slack_api.calls.clear()
    slack_api.uploads.clear()
    dispatch_command(cluster, "/cluster", "export")
    closed = rows_of(uploaded_workbook(slack_api)[0]["Polls"])["P1"]
    assert closed["Result"] == "Frailty" and closed["Counts"] is not None
