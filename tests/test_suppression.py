"""Issue 23, what reaches the Board: `suppress` on /measure data and /measure chart (through the
platform-free driver, testkit/driver.py), and every workbook the product writes read back with openpyxl
for text that became a formula."""

import io
import zipfile

import pytest
from openpyxl import load_workbook

from testkit import factories

HOSTILE_NAMES = ("=2*21", "+1", "-1", "@SUM(A1)", "\t=1+1")
PRACTICES = tuple(zip(("80123", "80456", "80789", "80321", "80654"), HOSTILE_NAMES, strict=True))
ADD = "add T1 Asthma reviews within 2 weeks percent higher is better goal 80"


def riverside_with_two(driver):
    factories.riverside(driver.say, practices=2, members={"UGP": "80123", "UNURSE": "80456"})
    driver.say("/topic propose Asthma reviews after discharge", user="UGP")
    driver.say(f"/measure {ADD}")
    # Riverside 25/60 and 7/9; Hillview 3/40 and 40/60: 28 − 25 = 3 and 9 − 7 = 2 are there to be found
    driver.say("/measure record D1 Sep 2026 25/60\nOct 2026 7/9", user="UGP")
    driver.say("/measure record D1 Sep 2026 3/40\nOct 2026 40/60", user="UNURSE")


def test_measure_data_suppress_hides_what_would_give_a_small_count_away(driver):
    riverside_with_two(driver)
    text = driver.say("/measure data D1 suppress").text
    sep = next(line for line in text.splitlines() if line.startswith("Sep 2026"))
    oct_ = next(line for line in text.splitlines() if line.startswith("Oct 2026"))
    # 3/40 is hidden; with the cluster's 28.0% over 100 shown, Riverside's 25 would give it back: hidden too
    assert "Hillview Surgery *" in sep and "Riverside Medical Practice *" in sep and "3/40" not in sep
    assert "25/60" not in sep
    assert "7/9" not in oct_ and "Riverside Medical Practice *" in oct_  # 9 − 7 = 2
    assert "Counts of 1 to 4, and any figure from which one could be worked out, are shown as *." in text
    assert "3/40" in driver.say("/measure data D1").text  # without suppress, the cluster sees its own data


def test_measure_data_suppress_for_one_practice_decides_over_the_whole_cluster(driver):
    riverside_with_two(driver)
    text = driver.say("/measure data D1 practice 80123 suppress").text
    assert "25/60" not in text and "Riverside Medical Practice *" in text


def test_measure_data_refuses_an_unknown_word_and_names_suppress(driver):
    riverside_with_two(driver)
    said = driver.say("/measure data D1 hide")
    assert "suppress" in said.text and "isn't something" in said.text


def test_measure_chart_suppress_draws_hidden_periods_as_gaps_and_says_so(driver):
    riverside_with_two(driver)
    driver.say("/measure record D1 Nov 2026 30/70\nDec 2026 31/70", user="UGP")
    driver.say("/measure record D1 Nov 2026 40/60\nDec 2026 41/60", user="UNURSE")
    plain = driver.say("/measure chart D1 all")
    hidden = driver.say("/measure chart D1 all suppress")
    assert "small counts suppressed" in hidden.text
    [before] = [s.upload for s in plain.sent if s.kind == "upload"]
    [after] = [s.upload for s in hidden.sent if s.kind == "upload"]
    assert "small counts suppressed" in after.title and before.content != after.content


# --- formula injection: every sheet of every workbook -------------------------------------------------

def every_cell(content: bytes):
    book = load_workbook(io.BytesIO(content))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield sheet.title, cell


@pytest.mark.parametrize("command", ["/cluster export", "/action export", "/measure export",
                                     "/measure export suppress", "/cluster report"])
def test_no_text_becomes_a_formula_in_any_workbook(driver, command):
    factories.riverside(driver.say, practices=PRACTICES, members={"UGP": "80123", "UNURSE": "80456"})
    driver.say("/topic propose -1 in 3 reviews missed", user="UGP")
    driver.say("/topic move T1 agreed")
    driver.say(f"/measure {ADD}")
    driver.say("/measure record D1 Sep 2026 25/60\nOct 2026 30/61", user="UGP")
    driver.say("/measure record D1 Sep 2026 20/40\nOct 2026 22/41", user="UNURSE")
    driver.say("/action add @SUM(A1) chase the reviews due friday")
    said = driver.say(command)
    workbooks = [s.upload.content for s in said.sent if s.kind == "upload"
                 and "xl/workbook.xml" in zipfile.ZipFile(io.BytesIO(s.upload.content)).namelist()]
    assert workbooks, said.text
    seen = set()
    for content in workbooks:
        for sheet, cell in every_cell(content):
            assert cell.data_type != "f", (sheet, cell.coordinate, cell.value)
            if isinstance(cell.value, str) and cell.value.startswith(tuple(name[0] for name in HOSTILE_NAMES)):
                assert cell.data_type == "s", (sheet, cell.coordinate, cell.value)
                seen.add(cell.value)
    # what was typed was written (as the literal text), not left out
    expected = {"@SUM(A1) chase the reviews"} if command == "/action export" else {"=2*21", "+1", "-1", "@SUM(A1)"}
    assert expected <= seen, seen



def test_the_boards_series_are_protected(driver, product):
    """What the Board report builds its measure tables from (commands.measures.workbook.board_series):
    Sep 2026's 3/40 and the 25 that would give it back, hidden and marked."""
    from sqlmodel import select

    from commands.context import Context
    from commands.measures.workbook import board_series
    from storage.models import Cluster
    riverside_with_two(driver)
    with product.db.session() as session:
        cluster = session.exec(select(Cluster)).one()
        ctx = Context(driver.caller(), session, cluster, None, cluster.time_zone)
        [sheet] = list(board_series(ctx, cluster))
    assert sheet.periods[:2] == ["Sep 2026", "Oct 2026"]
    assert [hidden[0] for hidden in sheet.hidden] == [True, True]  # both practices' Sep figures
    assert [values[0] for _, values, _ in sheet.practices] == [None, None]
    assert sheet.cluster[0] is not None and not sheet.cluster_hidden[0]  # 28/100: nothing small in it
