"""The QI story everywhere it is told (issue 24): the Home's line per topic (aim, change ideas, cycles in
progress), the agenda's "QI cycles" part, the Board report's QI sheet with progress scores and measures and the
period's check-ins, and the cluster export's "Progress scores" and "Check-ins" sheets, read back with openpyxl;
through the platform-free driver (testkit/driver.py), one agenda as Teams words it.

Riverside: ULEAD leads; UGP and UPM are in Riverside Medical Practice (80123), UNURSE in Hillview Surgery
(80456). The tests' clock starts on Thu 26 Nov 2026 10:00 UTC."""

import io
import re
from datetime import UTC, datetime

import docx
import openpyxl
import pytest
from sqlmodel import select

from bot.teams.cards import reply_card
from commands.results import Tone, plain_text
from storage.models import CheckinAnswer
from testkit.helpers import statements_while

AIM = "90% of patients discharged after an asthma admission reviewed within 14 days by June 2027"
LONG_PLAN = "Ward clerk emails the discharge list to each practice every weekday morning for two weeks"


def run(driver, typed: str, user: str = "UGP"):
    said = driver.say(typed, user=user)
    assert said.tone != Tone.PROBLEM, (typed, said.text)
    return said


@pytest.fixture
def story(riverside):
    """T1 (agreed, with an aim and measure D1) with drivers 1 and 2, ideas C1 (under 1) and C2 (under 2); T2 active
    with nothing of the method yet."""
    for typed in ("/topic propose Asthma reviews after discharge", "/topic propose Flu uptake in over 65s",
                  "/measure add T1 Asthma reviews within 2 weeks percent higher is better",
                  f"/topic aim T1 {AIM}", "/topic driver T1 Reliable follow-up after discharge",
                  "/topic driver T1 Patients know to book a review",
                  "/topic idea T1 1 Ward clerk emails the discharge list daily",
                  "/topic idea T1 2 Text message on discharge"):
        run(riverside, typed)
    run(riverside, "/topic move T1 agreed", user="ULEAD")
    run(riverside, "/topic move T2 active", user="ULEAD")
    riverside.forget()
    return riverside


def home_text(driver, user: str = "UGP") -> str:
    return plain_text(driver.product.home(user, driver.team))


def book_of(said, ending: str = ".xlsx") -> openpyxl.Workbook:
    [upload] = [s.upload for s in said.sent if s.kind == "upload" and s.upload.filename.endswith(ending)]
    return openpyxl.load_workbook(io.BytesIO(upload.content))


def values(sheet) -> list[list]:
    return [[c.value for c in row] for row in sheet.iter_rows()]


def texts(sheet) -> list[str]:
    return [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]


def check_in(driver, clock) -> None:
    """The December 2026 check-in opens (Wed 2 Dec, 10:00) and Riverside Medical Practice answers."""
    run(driver, "/checkin on 2", user="ULEAD")
    clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    driver.tick()
    run(driver, '/checkin answer tested: Text reminders after discharge blockers: =HYPERLINK("http://evil","x") '
                "data: 7 of 10 reviewed in time")
    driver.forget()


# --- the Home ----------------------------------------------------------------------------------------------

def test_the_home_says_each_working_topics_aim_ideas_and_cycles_in_progress(story):
    run(story, "/pdsa plan C1 Try for a week predict 8 of 10 letters same day")           # C1.1 planned
    run(story, "/pdsa plan C2 Text on the day of discharge predict half book a review")     # C2.1 …
    run(story, "/pdsa do C2.1 Sent 12 texts")                                               # … doing
    run(story, "/pdsa plan C1 Friday letters too predict 9 of 10")                          # C1.2 …
    run(story, "/pdsa study C1.2 9 of 10: as predicted")                                    # … studied
    home = home_text(story)
    assert re.search(r"T1 Asthma reviews after discharge \(agreed\)\n\s+aim set · 2 change ideas · "
                     r"cycles in progress: 1 planned, 1 doing, 1 studied", home), home
    assert re.search(r"T2 Flu uptake in over 65s \(active\)\n\s+no aim yet · no change ideas yet", home)
    run(story, "/pdsa act C1.2 adopt")  # acted on: no longer in progress
    run(story, "/pdsa act C1.1 abandon Did not work")
    run(story, "/pdsa act C2.1 adopt")
    assert "aim set · 2 change ideas · no cycles in progress" in home_text(story)


def test_the_home_and_the_agenda_cost_the_same_for_more_topics_ideas_and_cycles(story, db):
    run(story, "/meeting schedule 30/11/2026 12:30 November QI meeting", user="ULEAD")
    run(story, "/pdsa plan C1 Try for a week predict 8 of 10")
    run(story, "/pdsa do C1.1 Done")

    def costs() -> tuple[int, int]:
        story.product.home("UGP", story.team)  # once before: what is worked out once and kept is kept
        story.say("/meeting agenda M1")
        return (statements_while(db, lambda: story.product.home("UGP", story.team)),
                statements_while(db, lambda: story.say("/meeting agenda M1")))

    few = costs()
    for typed in ("/topic driver T2 Invitations", "/topic idea T2 1 Evening clinics", "/topic idea T2 1 Texts",
                  "/pdsa plan C3 Evening clinic once predict 20 booked", "/pdsa do C3.1 18 booked",
                  "/pdsa plan C4 Text the over 65s predict 30 booked", "/pdsa do C4.1 25 booked",
                  "/pdsa plan C2 Text again predict more", "/pdsa do C2.1 Sent"):
        run(story, typed)
    assert "C4.1" in story.say("/meeting agenda M1").text
    assert costs() == few


# --- the agenda --------------------------------------------------------------------------------------------

def test_the_agenda_lists_cycles_due_for_study_and_to_decide(story, clock):
    run(story, "/meeting schedule 30/11/2026 12:30 November QI meeting", user="ULEAD")
    run(story, "/meeting schedule 12/1/2027 12:30 January QI meeting", user="ULEAD")
    run(story, f"/pdsa plan C1 {LONG_PLAN} predict 8 of 10 by 4/12/2026")   # C1.1: due before M2, not M1
    run(story, "/pdsa plan C2 Text on the day of discharge predict half book")  # C2.1
    run(story, "/pdsa do C2.1 Sent 12 texts", user="UGP")
    run(story, "/pdsa plan C2 Text again a week later predict more book")   # C2.2: planned, no date: not shown
    first = story.say("/meeting agenda M1").text
    assert "QI cycles to study or decide" in first
    assert re.search(r"• C2\.1 Text on the day of discharge \(@UGP\) — doing: study it", first)
    assert "C1.1" not in first and "C2.2" not in first  # due after M1; planned with no date
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # after M1
    run(story, "/pdsa study C2.1 Half booked, as predicted")
    second = story.say("/meeting agenda M2")
    text = second.text
    shortened = LONG_PLAN[:59] + "…"
    assert f"• C1.1 {shortened} (@UGP) — planned · by Fri 4 Dec 2026" in text
    assert "• C2.1 Text on the day of discharge (@UGP) — studied: adopt, adapt or abandon?" in text
    assert "Record it: /pdsa study C1.1 <what we learned>" in text
    assert text.index("QI cycles to study or decide") > text.index("Agenda items")
    card = str(reply_card(second.reply, lambda user: "Dr Grant"))  # Teams: the command in Teams words
    assert "@clusterbot pdsa study C1.1" in card and "/pdsa" not in card
    run(story, "/pdsa act C2.1 adopt")
    run(story, "/pdsa study C1.1 7 of 10", user="UGP")  # studied since M1: now to decide
    text = story.say("/meeting agenda M2").text
    assert "C2.1" not in text  # decided
    assert "• C1.1" in text and "studied: adopt, adapt or abandon?" in text
    assert "Record it: /pdsa act C1.1 adopt|adapt|abandon" in text


# --- the cluster export --------------------------------------------------------------------------------------

def test_the_cluster_export_has_progress_scores_and_check_ins(story, clock, db):
    run(story, "/topic score T1 2.5")
    run(story, "/topic score T1 3", user="UNURSE")
    check_in(story, clock)
    with db.session() as session:  # text stored before the guard (or by a path it missed)
        answer = session.exec(select(CheckinAnswer)).one()
        answer.data = "Call back 943 476 5919 about results"
        session.add(answer)
    book = book_of(story.say("/cluster export"))
    names = book.sheetnames
    assert names.index("PDSA cycles") + 1 == names.index("Progress scores") == names.index("Check-ins") - 1
    scores = values(book["Progress scores"])
    assert scores[0] == ["Topic", "Topic title", "Status", "Score", "On the IHI scale", "Given by", "Given"]
    assert [row[:6] for row in scores[1:]] == [
        ["T1", "Asthma reviews after discharge", "agreed", 2.5, "changes tested", "Person UGP"],
        ["T1", "Asthma reviews after discharge", "agreed", 3, "modest improvement", "Person UNURSE"]]
    assert scores[1][6] == datetime(2026, 11, 26, 10, 0)  # a real Excel date, local time
    sheet = book["Check-ins"]
    rows = values(sheet)
    assert rows[0] == ["Month", "Practice code", "Practice", "Tested", "In the way", "Data", "Answered by",
                       "Answered"]
    assert rows[1][:4] == ["Dec 2026", "80123", "Riverside Medical Practice", "Text reminders after discharge"]
    assert rows[1][6] == "Person UGP" and len(rows) == 2
    formula = sheet.cell(row=2, column=5)  # never a formula: stored as the text typed
    assert formula.value == '=HYPERLINK("http://evil","x")' and formula.data_type == "s"
    assert rows[1][5] == "[withheld: looked like a patient identifier]"
    assert not any("943" in t for t in texts(sheet))


def test_an_export_with_no_scores_or_check_ins_says_so(riverside):
    book = book_of(riverside.say("/cluster export"))
    assert values(book["Progress scores"])[1][0] == "No progress scores yet."
    assert values(book["Check-ins"])[1][0] == "No check-in answers yet."


# --- the Board report -----------------------------------------------------------------------------------------

def test_the_board_reports_qi_sheet_has_scores_and_measures_and_the_periods_check_ins(story, clock):
    run(story, "/pdsa plan C1 Try it predict 8 of 10 measure D1")
    run(story, "/topic score T1 2")
    run(story, "/topic score T2 1", user="UNURSE")
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    run(story, "/topic score T1 3")
    check_in(story, clock)  # 2 December
    run(story, "/topic score T1 3.5")  # after November: outside the November report
    book = book_of(story.say("/cluster report since 1/11/2026 until 30/11/2026", user="ULEAD"))
    lines = texts(book["QI T1"])
    assert f"Aim: {AIM}" in lines and "C1.1" in lines
    assert "Progress (IHI scale): 3 modest improvement, given 30/11/2026 by Person UGP" in lines
    assert "Progress history: 2 (26/11/2026) → 3 (30/11/2026)" in lines
    assert any(t.startswith("Measure D1 Asthma reviews within 2 weeks: no median yet; signals: ") for t in lines)
    assert len(book["QI T1"]._images) == 1  # the driver diagram, below the story
    t2 = texts(book["QI T2"])  # scored, no diagram yet: its sheet still tells what there is
    assert "Progress (IHI scale): 1 forming, given 26/11/2026 by Person UNURSE" in t2
    assert "Measures: none linked to this topic yet" in t2 and "Aim: none recorded yet" in t2
    assert "Check-ins" not in book.sheetnames  # no check-in in November
    report = story.say("/cluster report since 1/11/2026 word", user="ULEAD")
    [summary] = [s.upload for s in report.sent if s.kind == "upload" and s.upload.filename.endswith(".docx")]
    words = "\n".join(p.text for p in docx.Document(io.BytesIO(summary.content)).paragraphs)
    assert "1 PDSA cycle (0 adopted). Progress (IHI scale): 3.5 improvement." in words
    book = book_of(report)
    assert "Progress (IHI scale): 3.5 improvement, given 02/12/2026 by Person UGP" in texts(book["QI T1"])
    rows = values(book["Check-ins"])
    assert rows[1][:6] == ["Dec 2026", "80123", "Riverside Medical Practice", "Text reminders after discharge",
                           '=HYPERLINK("http://evil","x")', "7 of 10 reviewed in time"]
    assert book["Check-ins"].cell(row=2, column=5).data_type == "s"
    names = book.sheetnames
    assert names.index("QI T2") < names.index("Check-ins") < names.index("Meetings")
