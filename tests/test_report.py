"""/cluster report: the Board report workbook (and one-page Word summary), read back with openpyxl and
python-docx, through the platform-free driver (testkit/driver.py) on both databases and in the console."""

import io
import subprocess
import sys
import zipfile

import docx
import pytest
from openpyxl import load_workbook
from sqlmodel import select

from commands.results import Tone
from storage.models import Action, Topic
from testkit import factories
from testkit.driver import refused
from testkit.helpers import statements_while
from tests.test_processes import bot_env


@pytest.fixture
def cluster(driver):
    """Riverside: UGP in 80123, UNURSE in 80456 and UPM in 80789; ULEAD leads."""
    factories.riverside(driver.say, members={"UGP": "80123", "UNURSE": "80456", "UPM": "80789"})
    return driver


def files(driver, count: int) -> tuple[list, list]:
    """The workbooks and Word documents uploaded (exactly `count` of them)."""
    assert len(driver.uploads) == count, [u.filename for u in driver.uploads]
    books, documents = [], []
    for upload in driver.uploads:
        names = zipfile.ZipFile(io.BytesIO(upload.content)).namelist()
        if "word/document.xml" in names:
            documents.append(docx.Document(io.BytesIO(upload.content)))
        else:
            books.append(load_workbook(io.BytesIO(upload.content)))
    return books, documents


def table(sheet) -> list[dict]:
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, [c.value for c in r], strict=True)) for r in sheet.iter_rows(min_row=2)]


def labels(sheet) -> dict:
    return {r[0].value: [c.value for c in r[1:]] for r in sheet.iter_rows() if r and r[0].value}


def a_year_of_work(driver, db):
    run = lambda command, text, user="ULEAD": driver.say(f"{command} {text}", user=user)  # noqa: E731
    run("/topic", "propose Asthma reviews -- 1 in 3 missed", "UGP")
    run("/topic", "propose Frailty register", "UNURSE")
    run("/topic", "propose Prescribing of DOACs")
    with db.session() as session:  # T3 came from the Health Board (the form's choice)
        topic = session.exec(select(Topic).where(Topic.short_id == "T3")).one()
        topic.source = "board"
        session.add(topic)
    run("/topic", "move T1 agreed")
    run("/topic", "move T2 dropped no capacity this winter")
    run("/topic", "note T1 plan: search for missed reviews")
    run("/measure", "add T1 Asthma reviews within 2 weeks percent higher is better monthly")
    assert run("/measure", "record D1 Oct 2026 42/120", "UGP").tone != Tone.PROBLEM
    run("/meeting", "record 12/11/2026 12:30 Cluster QI meeting")
    run("/meeting", "attended M1 80123 <@UNURSE>")
    run("/meeting", "apologies M1 80789")
    run("/meeting", "decision M1 Adopt the asthma recall template topic T1")
    run("/action", "add Audit discharges <@UGP> due 3/12/2026 topic T1 meeting M1")
    run("/action", "note A1 Searched two practices")
    run("/action", "add Send letters <@UPM>")
    run("/action", "done A2", "UPM")
    run("/poll", '"Which first?" "Asthma" "Frailty"')
    run("/poll", "vote P1 1", "UGP")
    run("/poll", "vote P1 1", "UNURSE")
    run("/poll", "close P1")
    run("/poll", '"Secret?" "Yes" "No" anonymous')
    run("/poll", "vote P2 2", "UGP")
    run("/poll", "close P2")
    run("/poll", '"Hidden?" "Yes" "No" hidden')
    run("/poll", "vote P3 1", "UPM")
    with db.session() as session:
        action = session.exec(select(Action).where(Action.short_id == "A1")).one()
        action.source_link = "https://example.slack.com/archives/CCLUSTER/p1700000000000100"
        session.add(action)


def test_the_board_report_workbook(cluster, db):
    a_year_of_work(cluster, db)
    ack = cluster.say("/cluster report", user="UGP")
    assert "Preparing the Board report for 27 November 2025 to 26 November 2026" in ack.text
    [book], [] = files(cluster, 1)
    [upload] = cluster.uploads
    assert upload.filename == "riverside-cluster-board-report-last-12-months-2026-11-26-1000.xlsx"
    assert book.sheetnames == ["Summary", "Topics", "D1 Asthma reviews within 2 week", "Meetings", "Actions", "Polls",
                               "Engagement"]

    summary = labels(book["Summary"])
    assert summary["Period"] == ["27 November 2025 to 26 November 2026"] + [None] * 5
    assert summary["Topics worked on"][0] == 3 and summary["Meetings held"][0] == 1
    assert summary["Decisions"][0] == 1 and summary["Polls"][0] == 3 and summary["Actions done"][0] == 1
    assert summary["Our practices"] == [0, 1, 0, 0, 1, 2] and summary["Health Board"] == [1, 0, 0, 0, 0, 1]
    assert "No recorded activity in this period: no topics, meetings, actions or polls." not in summary

    topics = {t["ID"]: t for t in table(book["Topics"])}
    assert topics["T1"]["Title"] == "Asthma reviews" and topics["T1"]["Status"] == "Agreed"
    assert topics["T1"]["Proposing practice"] == "80123 Riverside Medical Practice"
    assert "[PLAN] search for missed reviews (Person ULEAD)" in topics["T1"]["Notes (PDSA step)"]
    assert topics["T2"]["Status"] == "Dropped" and topics["T2"]["Drop reason"] == "no capacity this winter"
    assert topics["T3"]["Source"] == "Health Board"

    [meeting] = table(book["Meetings"])
    assert meeting["Practices represented"] == "2 of 3"
    assert meeting["Present"] == "80123; Person UNURSE (80456)" and meeting["Apologies"] == "80789"
    assert meeting["Decisions"] == "1. Adopt the asthma recall template" and meeting["Actions raised"] == 1

    actions = {a["ID"]: a for a in table(book["Actions"])}
    assert actions["A1"]["Topic title"] == "Asthma reviews" and actions["A1"]["Meeting title"] == "Cluster QI meeting"
    assert actions["A1"]["Notes"] == "Searched two practices"
    assert actions["A1"]["From message"].startswith("https://example.slack.com/archives/")
    assert actions["A2"]["Status"] == "Done"

    polls = {p["ID"]: p for p in table(book["Polls"])}
    assert polls["P1"]["Turnout"] == "2 of 3 practices" and polls["P1"]["Voted"] == "80123, 80456"
    assert polls["P1"]["Did not vote"] == "80789" and polls["P1"]["Result"] == "Asthma"
    assert polls["P2"]["Turnout"] == "1 ballot" and polls["P2"]["Voted"] == "not listed (anonymous)"
    assert polls["P2"]["Did not vote"] == "not listed (anonymous)"
    assert polls["P3"]["Turnout"] == "hidden until the poll closes" and polls["P3"]["Voted"] is None
    assert polls["P3"]["Counts"] is None and polls["P3"]["Result"] == "hidden until the poll closes"

    engagement = {e["Practice code"]: e for e in table(book["Engagement"])}
    assert engagement["80123"]["Meetings attended"] == 1 and engagement["80789"]["Apologies"] == 1
    assert engagement["80123"]["Polls voted in"] == 1 and engagement["80789"]["Polls voted in"] == 0
    assert engagement["80123"]["Polls open to vote"] == 1  # P1: the anonymous and the hidden poll are not counted
    assert engagement["80123"]["Actions owned"] == 1 and engagement["80789"]["Actions done"] == 1
    assert engagement["80123"]["Topics proposed"] == 1
    assert engagement["80123"]["Data recorded"] == 1 and engagement["80456"]["Data recorded"] == 0


def test_each_meeting_keeps_its_own_record_and_more_meetings_cost_no_more_queries(cluster, db):
    run = lambda command, text, user="ULEAD": cluster.say(f"{command} {text}", user=user)  # noqa: E731
    run("/meeting", "record 5/11/2026 12:30 First meeting")
    run("/meeting", "attended M1 80123")
    run("/poll", '"Which first?" "Asthma" "Frailty"')
    one_meeting = statements_while(db, lambda: run("/cluster", "report"))
    run("/meeting", "record 12/11/2026 12:30 Second meeting")
    run("/meeting", "attended M2 80456 <@UGP>")
    run("/meeting", "apologies M2 80789")
    run("/meeting", "decision M2 Adopt the template")
    run("/meeting", "decision M2 Review in March")
    run("/meeting", "note M2 Discussed the audit")
    run("/action", "add Audit discharges <@UGP> meeting M2")
    run("/meeting", "record 19/11/2026 12:30 Third meeting")
    run("/poll", '"Which next?" "Falls" "Frailty"')
    run("/poll", "vote P2 1", "UGP")
    three_meetings = statements_while(db, lambda: run("/cluster", "report"))
    assert three_meetings == one_meeting

    book = files(cluster, 2)[0][1]
    meetings = {m["ID"]: m for m in table(book["Meetings"])}
    assert [m["Practices represented"] for m in meetings.values()] == ["1 of 3", "2 of 3", "0 of 3"]
    assert meetings["M1"]["Present"] == "80123" and meetings["M1"]["Decisions"] is None
    assert meetings["M2"]["Present"] == "Person UGP (80123); 80456" and meetings["M2"]["Apologies"] == "80789"
    assert meetings["M2"]["Decisions"] == "1. Adopt the template\n2. Review in March"
    assert (meetings["M2"]["Minute lines"], meetings["M2"]["Actions raised"]) == (1, 1)
    assert (meetings["M1"]["Minute lines"], meetings["M3"]["Actions raised"]) == (0, 0)


def test_the_report_never_names_an_anonymous_voter(cluster, db):
    cluster.say('/poll "Secret?" "Yes" "No" anonymous')
    cluster.say("/poll vote P1 2", user="UGP")
    cluster.say("/poll close P1")
    cluster.say("/cluster report")
    [book], _ = files(cluster, 1)
    cells = [str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value is not None]
    assert not any("UGP" in cell for cell in cells)
    assert not any("80123" in str(value) for value in table(book["Polls"])[0].values())
    polls = table(book["Polls"])
    assert polls[0]["Voted"] == "not listed (anonymous)"
    engagement = {e["Practice code"]: e for e in table(book["Engagement"])}
    assert all(e["Polls voted in"] == 0 for e in engagement.values())


def test_the_report_with_its_word_summary(cluster, db):
    a_year_of_work(cluster, db)
    cluster.say("/cluster report since 1/11/2026 word")
    [book], [summary] = files(cluster, 2)
    names = sorted(upload.filename for upload in cluster.uploads)
    assert names == ["riverside-cluster-board-report-since-2026-11-01-2026-11-26-1000.xlsx",
                     "riverside-cluster-board-summary-since-2026-11-01-2026-11-26-1000.docx"]
    assert labels(book["Summary"])["Period"][0] == "1 November 2026 to 26 November 2026"
    text = [p.text for p in summary.paragraphs]
    headings = [p.text for p in summary.paragraphs if p.style.name == "Heading 2"]
    assert text[0] == "Riverside Cluster: report to the Health Board"
    assert headings == ["What the cluster worked on", "Where the work came from", "What changed",
                        "What the measures show", "How the practices took part"]
    assert "3 quality improvement topics in the period; 1 agreed, active or completed." in text
    assert "T1 Asthma reviews (agreed)." in text
    assert "2 topics came from the practices themselves; 1 was asked for from outside (1 from Health Board)." in text
    assert "0 topics completed and 1 set aside; 1 decision recorded; 1 of 2 actions done." in text
    assert "M1: Adopt the asthma recall template" in text
    assert ("1 meeting held, with on average 2.0 of 3 practices represented; 1 practice poll, each answered by "
            "2.0 of 3.") in text


def test_a_period_with_no_activity_is_a_valid_workbook_that_says_so(cluster):
    cluster.say("/cluster report year 2019 word")
    [book], [summary] = files(cluster, 2)
    assert book.sheetnames == ["Summary", "Topics", "Meetings", "Actions", "Polls", "Engagement"]
    summary_sheet = labels(book["Summary"])
    assert "No recorded activity in this period: no topics, meetings, actions or polls." in summary_sheet
    assert summary_sheet["Period"][0] == "1 January 2019 to 31 December 2019"
    for sheet, note in (("Topics", "No topics in this period."), ("Meetings", "No meetings held in this period."),
                        ("Actions", "No actions open or done in this period."), ("Polls", "No polls in this period.")):
        assert book[sheet]["A2"].value == note
    assert [e["Meetings attended"] for e in table(book["Engagement"])] == [0, 0, 0]
    assert [e["Data recorded"] for e in table(book["Engagement"])] == [0, 0, 0]
    assert "No recorded activity in this period: no topics, meetings, actions or polls." in [
        p.text for p in summary.paragraphs]


def test_report_periods_that_cannot_be_read_are_refused(cluster):
    for text, says in (("year 1999", "“1999” isn't a year I can report on: give one from 2000 to 2026"),
                       ("year 2031", "“2031” isn't a year I can report on"),
                       ("year twenty", "“twenty” isn't a year I can report on"),
                       ("since 1/1/2027", "Friday 1 January 2027 is still to come"),
                       ("since", "isn't a report period"),
                       ("lately word", "“lately” isn't a report period")):
        refused(cluster.say(f"/cluster report {text}"), says)
    assert cluster.uploads == []


@pytest.mark.wall_clock
def test_the_report_in_the_console(tmp_path):
    script = "\n".join(["/cluster setup Riverside Cluster", "/cluster practice add 80123 Riverside MP",
                        "/meeting record 1/10/2025 12:30 Cluster QI meeting", "/meeting attended M1 80123",
                        "/cluster report year 2025 word", ""])
    console = subprocess.run([sys.executable, "-m", "bot", "console", "--channel", "C1"], input=script, text=True,
                             capture_output=True, cwd=tmp_path, timeout=60,
                             env=bot_env(DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}"))
    assert "Preparing the Board report for 1 January 2025 to 31 December 2025" in console.stdout
    [book_file] = tmp_path.glob("riverside-cluster-board-report-2025-*.xlsx")
    [meeting] = table(load_workbook(book_file)["Meetings"])
    assert meeting["ID"] == "M1" and meeting["Practices represented"] == "1 of 1"
    [summary_file] = tmp_path.glob("riverside-cluster-board-summary-2025-*.docx")
    assert any("1 meeting held" in p.text for p in docx.Document(summary_file).paragraphs)
