"""Measures in workbooks: the long-format Measures sheet, a sheet per measure with a native Excel line chart
(read back with openpyxl), disclosure control with `suppress`, and the cluster workbook's measure sheets."""

import io

import pytest
from openpyxl import load_workbook

from commands.results import Upload, plain_text
from testkit.helpers import statements_while
from tests.test_measures import ADD, refused, set_up


def uploaded(cluster, command: str, text: str) -> Upload:
    """The workbook `<command> <text>` made, as delivery uploaded it (testkit/driver.py)."""
    said = cluster.driver.say(f"{command} {text}")
    assert "Preparing" in said.text, said.text
    [upload] = [sent.upload for sent in said.sent if sent.kind == "upload"]
    return upload


def with_data(product):
    cluster = set_up(product)
    cluster.measure(ADD)
    year = [32, 34, 31, 33, 30, 32, 34, 31, 33, 30, 32, 31]
    cluster.measure("record D1 " + "\n".join(f"{m}/2025 {v}/100" for m, v in enumerate(year, start=1)))
    cluster.measure("record D1 Jan 2026 3/10\nFeb 2026 40/100", user="UNURSE")
    cluster.measure('add T1 "Admissions with asthma" count lower is better')
    cluster.measure("record D2 Oct 2026 2\nSep 2026 7")
    return cluster


def test_the_measures_workbook_has_long_data_and_a_native_chart_per_measure(product):
    cluster = with_data(product)
    upload = uploaded(cluster, "/measure", "export")
    assert upload.filename.startswith("riverside-cluster-measures-") and upload.filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(upload.content))
    assert book.sheetnames[0] == "Measures" and len(book.sheetnames) == 3
    rows = list(book["Measures"].iter_rows(values_only=True))
    assert rows[0][:11] == ("Measure", "Measure name", "Topic", "Unit", "Practice code", "Practice", "Period",
                            "Period start", "Numerator", "Denominator", "Value")
    hillview = [r for r in rows if r[4] == "80456"]
    assert [(r[6], r[8], r[9], r[10]) for r in hillview] == [("Jan 2026", 3, 10, 30.0), ("Feb 2026", 40, 100, 40.0)]
    assert len(rows) == 1 + 12 + 2 + 2
    d1 = book[book.sheetnames[1]]
    assert d1.title.startswith("D1 ")
    header = [c.value for c in d1[1]]
    assert header == ["Period", "Riverside Medical Practice", "Hillview Surgery", "Cluster", "Practices reported",
                      "Median (cluster)", "Goal"]
    jan = [c.value for c in d1[14]]  # Jan 2026: Riverside has no value (a gap), Hillview 30%
    assert jan[:5] == ["Jan 2026", None, 30.0, 30.0, 1]
    # No period has both practices' figures (Riverside 2025 only, Hillview 2026 only): no complete period, so no
    # median (issue 23: the median and signals use complete periods only; it was 32.0 from Riverside alone)
    assert jan[5] is None and jan[6] == 80
    notes = [str(row[0].value) for row in d1.iter_rows(min_row=16) if row[0].value]
    assert "Cluster figure: pooled (Σ numerators / Σ denominators)" in notes
    assert any(n.startswith("Incomplete periods") and "Jan 26 (1 of 2)" in n for n in notes), notes
    [chart] = d1._charts
    assert type(chart).__name__ == "LineChart" and len(chart.series) == 3  # cluster, median, goal
    refs = [series.val.numRef.f for series in chart.series]  # cluster (D), its median (F) and the goal (G)
    assert [ref.split("!")[1] for ref in refs] == ["$D$2:$D$15", "$F$2:$F$15", "$G$2:$G$15"]
    categories = chart.series[0].cat
    assert (categories.numRef or categories.strRef).f.endswith("!$A$2:$A$15")  # the periods


def test_suppress_shows_small_counts_as_a_star(product):
    cluster = with_data(product)
    upload = uploaded(cluster, "/measure", "export suppress")
    assert "measures-suppressed" in upload.filename
    book = load_workbook(io.BytesIO(upload.content))
    rows = list(book["Measures"].iter_rows(values_only=True))
    jan = next(r for r in rows if r[4] == "80456" and r[6] == "Jan 2026")
    assert (jan[8], jan[9], jan[10]) == ("*", 10, "*")  # 3/10: the count and the 30% it gives away
    counts = [r for r in rows if r[0] == "D2"]
    assert sorted(str(r[10]) for r in counts) == ["*", "7"]
    assert any(str(r[0]).startswith("Counts of 1 to 4, and any figure from which one could be worked out, are "
                                     "shown as *.") and "Public Health Scotland" in str(r[0]) for r in rows)
    d1 = book[book.sheetnames[1]]
    jan_row = [c.value for c in d1[14]]
    assert jan_row[2] == "*" and jan_row[3] == "*"  # Hillview alone reported: the cluster is its 3/10
    assert jan_row[-1] is None  # the chart reads a gap, not the * (which Excel would draw as 0)


def test_export_setting_refused(product):
    cluster = with_data(product)
    refused(cluster.measure("export everything"), "isn't an export setting")


def test_the_cluster_workbook_includes_the_measures(product):
    cluster = with_data(product)
    upload = uploaded(cluster, "/cluster", "export")
    book = load_workbook(io.BytesIO(upload.content))
    assert "Measures" in book.sheetnames
    chart_sheets = [name for name in book.sheetnames if name.startswith(("D1 ", "D2 "))]
    assert len(chart_sheets) == 2 and all(book[name]._charts for name in chart_sheets)


@pytest.mark.database  # the points are streamed: a server-side cursor on PostgreSQL
def test_every_measure_has_its_sheet_in_order_with_or_without_data(product):
    cluster = with_data(product)
    cluster.measure('add T1 "Frailty reviews" count')  # D3: no data
    cluster.measure('add T1 "Falls" count')
    cluster.measure("record D4 Oct 2026 5")
    book = load_workbook(io.BytesIO(uploaded(cluster, "/measure", "export").content))
    assert [name.split()[0] for name in book.sheetnames] == ["Measures", "D1", "D2", "D3", "D4"]
    empty = book[book.sheetnames[3]]
    assert [c.value for c in empty[1]][0] == "Period" and empty.max_row == 1 and not empty._charts
    falls = list(book[book.sheetnames[4]].iter_rows(values_only=True))
    assert falls[1][:4] == ("Oct 2026", 5, None, 5)  # Riverside 5, Hillview a gap, the cluster 5
    rows = list(book["Measures"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["D1"] * 14 + ["D2"] * 2 + ["D4"]  # by measure, then period


def test_a_removed_practices_data_stays_in_the_long_format_only(product):
    cluster = with_data(product)
    assert "removed" in plain_text(cluster.run("/cluster", "practice remove 80456"))
    book = load_workbook(io.BytesIO(uploaded(cluster, "/measure", "export").content))
    rows = list(book["Measures"].iter_rows(values_only=True))
    removed = [r for r in rows if r[6] == "Jan 2026" and r[0] == "D1"]
    assert [(r[4], r[5], r[8]) for r in removed] == [(None, "(removed practice)", 3)]
    header = [c.value for c in book[book.sheetnames[1]][1]]
    assert header[:3] == ["Period", "Riverside Medical Practice", "Cluster"]


def test_more_measures_and_points_run_no_more_statements(product):
    cluster = with_data(product)
    counted = lambda: statements_while(product.db, lambda: uploaded(cluster, "/cluster", "export"))  # noqa: E731
    two_measures = counted()
    cluster.measure('add T1 "Falls" count')
    cluster.measure("record D3 Oct 2026 5\nSep 2026 4\nAug 2026 6")
    cluster.measure('add T1 "Frailty reviews" count')
    assert counted() == two_measures


def test_no_small_count_can_be_worked_out_from_a_suppressed_export(product):
    """Issue 23: 7/9 leaves 2, and the cluster's figure less the shown practice gives a hidden 3 back. Read
    back, the shown cells of each period (and the cluster's totals, where its figure is shown) give no
    count of 1 to 4 however a reader subtracts."""
    from reports.disclosure import Counts, Hidden
    from tests.test_disclosure import recovered, small_hidden
    cluster = set_up(product)
    cluster.measure(ADD)
    typed = {"80123": {"Sep 2026": (25, 60), "Oct 2026": (7, 9), "Nov 2026": (30, 70)},
             "80456": {"Sep 2026": (3, 40), "Oct 2026": (40, 60), "Nov 2026": (0, 45)}}
    for periods, user in zip(typed.values(), ("ULEAD", "UNURSE"), strict=True):
        cluster.measure("record D1 " + "\n".join(f"{p} {n}/{d}" for p, (n, d) in periods.items()), user=user)
    book = load_workbook(io.BytesIO(uploaded(cluster, "/measure", "export suppress").content))
    rows = [r for r in book["Measures"].iter_rows(values_only=True) if r[0] == "D1"]
    sheet = list(book[book.sheetnames[1]].iter_rows(values_only=True))
    cluster_column = sheet[0].index("Cluster")
    for period in ("Sep 2026", "Oct 2026", "Nov 2026"):
        shown = {r[4]: r for r in rows if r[6] == period}
        truth = [Counts(*typed[code][period]) for code in typed]
        hidden = [Hidden(shown[code][8] == "*", shown[code][9] == "*") for code in typed]
        for code, h in zip(typed, hidden, strict=True):
            assert (shown[code][10] == "*") == (h.numerator or h.denominator)  # a value from a hidden count
        [line] = [r for r in sheet if r[0] == period]
        names = [r[5] for r in rows if r[6] == period]  # the measure's sheet hides just what the long one does
        assert [line[sheet[0].index(name)] == "*" for name in names] == [shown[code][10] == "*" for code in typed]
        cluster_hidden = Hidden(line[cluster_column] == "*", line[cluster_column] == "*")
        assert not small_hidden(truth, hidden, cluster_hidden) & recovered(truth, hidden, cluster_hidden), period
    sep = {r[4]: r[8] for r in rows if r[6] == "Sep 2026"}
    assert sep == {"80123": "*", "80456": "*"}  # 28 − 25 = 3: the 25 goes too
    assert [r[8:10] for r in rows if r[6] == "Nov 2026"] == [(30, 70), (0, 45)]  # nothing small: all shown
