"""The Board report carries the measured story (issue 23): for each topic of the period its measures' run chart
picture, data table (suppressed), centre line and signals with the periods they cover, and its PDSA notes; every
decision; periods as a Board writes them; engagement by the period the data describe; print-ready files (A4, fit
to width, landscape where wide, header rows repeated). Read back with openpyxl and python-docx through the
platform-free driver."""

import io
import zipfile

import docx
import pytest
from docx.shared import Cm
from openpyxl import load_workbook

from commands.results import Tone
from testkit import factories
from testkit.driver import refused

MONTHS = ["Aug 2025", "Sep 2025", "Oct 2025", "Nov 2025", "Dec 2025", "Jan 2026", "Feb 2026", "Mar 2026",
          "Apr 2026", "May 2026", "Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026"]
# Even percentages, so both practices' figures and the pooled cluster figure agree: the median of the first 12
# (the baseline) is (40 + 42) / 2 = 41.0, and Apr to Oct 2026 (7 months) lie above it: a shift.
LOW_THEN_HIGH = [40, 42, 38, 40, 38, 42, 40, 36, 60, 62, 58, 60, 62, 58, 64]
DECISIONS = ["Report D1 to the Board with run charts", "Adopt the asthma recall template", "Review in March",
             "Share the frailty list", "Ask the HSCP for pharmacist time", "Meet monthly until April"]


@pytest.fixture
def cluster(driver):
    """Riverside: UGP in 80123, UNURSE in 80456 and UPM in 80789; ULEAD leads. Two topics, each with a measure
    and 15 months of data (Aug 2025 to Oct 2026) typed on 26 November 2026; six decisions in two meetings."""
    factories.riverside(driver.say, members={"UGP": "80123", "UNURSE": "80456", "UPM": "80789"})

    def run(typed: str, user: str = "ULEAD") -> None:
        said = driver.say(typed, user=user)
        assert said.reply.tone != Tone.PROBLEM, said.text

    run("/topic propose Asthma reviews")
    run("/topic propose Frailty register")
    run("/topic move T1 agreed")
    run("/topic move T2 agreed")
    run("/topic note T1 plan: search for missed reviews")
    run("/topic note T1 study: reviews rose after the recall template")
    run("/measure add T1 Asthma reviews within 2 weeks percent higher is better monthly")
    run("/measure add T2 Frailty reviews done percent higher is better monthly")
    for user, denominator in (("UGP", 100), ("UNURSE", 50)):
        run("/measure record D1 " + "\n".join(f"{m} {v * denominator // 100}/{denominator}"
                                               for m, v in zip(MONTHS, LOW_THEN_HIGH, strict=True)), user)
    # D2: one practice only, and a month whose count is 3 (published as <5, its percentage left out)
    run("/measure record D2 " + "\n".join(f"{m} {3 if i == 4 else 20 + i}/40" for i, m in enumerate(MONTHS)), "UGP")
    run("/meeting record 12/11/2026 12:30 Cluster QI meeting")
    run("/meeting record 19/11/2026 12:30 Cluster QI meeting")
    for i, text in enumerate(DECISIONS):
        run(f"/meeting decision M{1 if i < 3 else 2} {text}")
    return driver


def files(driver) -> tuple[list, list]:
    books, documents = [], []
    for upload in driver.uploads:
        if "word/document.xml" in zipfile.ZipFile(io.BytesIO(upload.content)).namelist():
            documents.append(docx.Document(io.BytesIO(upload.content)))
        else:
            books.append(load_workbook(io.BytesIO(upload.content)))
    return books, documents


def cells(ws) -> list[str]:
    return [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]


def test_the_report_carries_each_measure_its_chart_median_signals_and_every_decision(cluster):
    ack = cluster.say("/cluster report year 2026/27 word")
    assert "Preparing the Board report for 1 April 2026 to 26 November 2026" in ack.text
    [book], [summary] = files(cluster)

    assert book.sheetnames[2:4] == ["D1 Asthma reviews within 2 week", "D2 Frailty reviews done"]
    d1, d2 = book["D1 Asthma reviews within 2 week"], book["D2 Frailty reviews done"]
    assert len(d1._images) == 1 and len(d2._images) == 1  # the run chart picture, beside the table
    rows = [[c.value for c in r] for r in d1.iter_rows(min_row=1, max_row=16)]
    assert rows[0] == ["Period", "Cluster", "Numerator", "Denominator", "Practices reported"]
    assert rows[1] == ["Aug 2025", "40.0%", 60, 150, 2] and rows[15] == ["Oct 2026", "64.0%", 96, 150, 2]
    assert "Median: 41.0%" in cells(d1)
    assert any("shift above the median (7 months) — improvement: Apr 2026 to Oct 2026" in c for c in cells(d1))
    d2_rows = {r[0].value: [c.value for c in r[1:]] for r in d2.iter_rows(min_row=2, max_row=16)}
    assert d2_rows["Dec 2025"][:3] == ["*", "*", 40]  # the Board report suppresses by default (as *)

    text = [p.text for p in summary.paragraphs]
    assert len(summary.inline_shapes) == 2  # one run chart per measure
    assert "T1 Asthma reviews" in text and "T2 Frailty register" in text
    assert any(t.startswith("Median: 41.0%. Signals: shift above the median (7 months) — improvement: Apr 2026 to "
                            "Oct 2026") for t in text)
    assert "Plan: search for missed reviews (26 November 2026)" in text
    assert "Study: reviews rose after the recall template (26 November 2026)" in text
    for i, decision in enumerate(DECISIONS):  # all six: the first was the key one
        assert f"M{1 if i < 3 else 2}: {decision}" in text
    tables = [[[c.text for c in r.cells] for r in t.rows] for t in summary.tables]
    assert ["Dec 2025", "*", "*", "40", "1"] in tables[1]


def test_every_file_is_print_ready_on_a4(cluster):
    cluster.say("/cluster report quarter Q3 2026/27 word")
    cluster.say("/meeting minutes M1 word")
    books, documents = files(cluster)
    [book] = books
    for ws in book.worksheets:
        setup = ws.page_setup
        assert (setup.paperSize, setup.fitToWidth, setup.fitToHeight) == (9, 1, 0), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True, ws.title
        if ws.title != "Summary":
            assert ws.print_title_rows == "$1:$1", ws.title
    orientation = {ws.title: ws.page_setup.orientation for ws in book.worksheets}
    assert orientation["Topics"] == orientation["D1 Asthma reviews within 2 week"] == "landscape"
    assert book["Summary"].column_dimensions["B"].width >= 16  # "Generated" date and time: no ###
    assert len(documents) == 2
    for document in documents:
        for section in document.sections:
            assert abs(section.page_width - Cm(21.0)) < Cm(0.05) and abs(section.page_height - Cm(29.7)) < Cm(0.05)


def test_engagement_counts_data_by_the_period_they_describe(cluster):
    cluster.say("/cluster report year 2025 word")  # typed in November 2026, describing Aug to Dec 2025
    [book], [summary] = files(cluster)
    engagement = {r[0].value: r[9].value for r in book["Engagement"].iter_rows(min_row=2)}
    assert engagement == {"80123": 10, "80456": 5, "80789": 0}
    assert book["Summary"]["B3"].value == "1 January 2025 to 31 December 2025"
    # The topics came later, so their measures have a part of their own, charted to Dec 2025 only
    text = [p.text for p in summary.paragraphs]
    assert "Measures of topics outside this period" in text and len(summary.inline_shapes) == 2
    rows = [r[0].value for r in book["D1 Asthma reviews within 2 week"].iter_rows(min_row=2, max_row=6)]
    assert rows == ["Aug 2025", "Sep 2025", "Oct 2025", "Nov 2025", "Dec 2025"]
    assert book["D1 Asthma reviews within 2 week"]["A7"].value is None


@pytest.mark.parametrize(("typed", "says"), [
    ("", "27 November 2025 to 26 November 2026"),
    ("since 1/4/2026", "1 April 2026 to 26 November 2026"),
    ("since 1/4/2026 until 30/9/2026", "1 April 2026 to 30 September 2026"),
    ("quarter Q3 2026/27", "1 October 2026 to 26 November 2026"),
    ("quarter q2 2026/27 word", "1 July 2026 to 30 September 2026"),
    ("quarter Q4 2025/26", "1 January 2026 to 31 March 2026"),
    ("quarter Q1 2025-26", "1 April 2025 to 30 June 2025"),
    ("year 2025/26", "1 April 2025 to 31 March 2026"),
    ("year 2026/27", "1 April 2026 to 26 November 2026"),
    ("year 2025", "1 January 2025 to 31 December 2025"),
])
def test_report_periods_are_said_back_as_exact_dates(driver, typed, says):
    factories.riverside(driver.say, members={"UGP": "80123"})
    ack = driver.say(f"/cluster report {typed}".strip())
    assert f"Preparing the Board report for {says}" in ack.text
    upload = driver.uploads[0]
    assert upload.title.endswith(f"({says})")


@pytest.mark.parametrize(("typed", "says"), [
    ("quarter Q5 2026/27", "“Q5” isn't a quarter"),
    ("quarter Q1 2027/28", "“2027/28” isn't a financial year I can report on"),
    ("year 2026/28", "“2026/28” isn't a financial year"),
    ("since 1/10/2026 until 1/9/2026", "1 September 2026 comes before 1 October 2026"),
    ("since 1/4/2026 until", "“until” needs a date after it"),
    ("quarter", "isn't a report period"),
])
def test_report_periods_that_cannot_be_read_are_refused_with_examples(driver, typed, says):
    factories.riverside(driver.say, members={"UGP": "80123"})
    reply = driver.say(f"/cluster report {typed}")
    refused(reply, says)
    assert "quarter Q3 2026/27" in reply.text and driver.uploads == []
