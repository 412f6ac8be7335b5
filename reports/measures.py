"""The measures in a workbook: a long-format Measures sheet, and per measure a sheet whose native Excel
line chart (openpyxl.chart) shows the cluster's series with its median and goal, so the chart lives on in
Excel after the export.

Disclosure: a workbook made with `suppress` (for the Board or anyone outside the cluster) shows counts
from 1 to 4, and every figure from which one could be worked out (complements, cluster totals by
subtraction, values made from them), as *: reports/disclosure.py decides, per period.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from openpyxl.chart import LineChart, Reference

from reports import disclosure
from reports.workbook import SHEETS, Book, Column, Sheet

SMALL = LEFT_OUT = disclosure.SHOWN_AS  # one mark for every hidden figure: which were small is not told
SUPPRESSED_NOTE = disclosure.NOTE
SHEET_NAME_MAX = 31  # Excel's limit


@dataclass(frozen=True)
class PointRow:
    """One practice's figure for one period, in long format."""

    measure: str
    measure_name: str
    topic: str
    unit: str
    practice_code: str
    practice_name: str
    period: date
    period_label: str
    numerator: float | None
    denominator: float | None
    value: float
    recorded_by: str
    recorded_at: datetime


@dataclass
class SeriesSheet:
    """One measure's sheet: a row per period, a column per practice, the cluster, its median and the goal."""

    short_id: str
    name: str
    unit: str              # percent, count, rate, number
    unit_label: str        # for the chart's axis
    goal: float | None
    periods: list[str]     # labels, one per row
    practices: list[tuple[str, list[float | None], list[float | None]]]  # name, values, numerators
    cluster: list[float | None]
    cluster_numerators: list[float | None]
    reported: list[int]
    median: list[float | None]
    notes: list[str] = field(default_factory=list)  # how the cluster figure was made; incomplete periods
    denominators: list[list[float | None]] | None = None  # per practice, as `practices`
    hidden: list[list[bool]] | None = None        # set by disclosure.protect_series: per practice, per period
    cluster_hidden: list[bool] | None = None
    codes: list[str] | None = None                # per practice: disclosure control's order between equal cells
    cycles: list[str] | None = None               # per period: the PDSA cycles linked to the measure then ("C4.1")


@dataclass
class MeasuresContent:
    """Read once, as the sheets are written: the points in long format (measure, period, practice order),
    then one SeriesSheet per measure (an iterator may stream them from the database)."""

    points: Iterable[PointRow] = field(default_factory=list)
    series: Iterable[SeriesSheet] = field(default_factory=list)
    suppress: bool = False


POINT_COLUMNS = [
    Column("Measure", 9, "code"), Column("Measure name", 40), Column("Topic", 8, "code"), Column("Unit", 9, "code"),
    Column("Practice code", 14, "code"), Column("Practice", 28, "code"), Column("Period", 12, "code"),
    Column("Period start", 12, "date"), Column("Numerator", 11, "number"), Column("Denominator", 12, "number"),
    Column("Value", 10, "number"), Column("Recorded by", 24, "code"), Column("Recorded", 17, "datetime"),
]


small = disclosure.small


def disclosed(count: float | None, suppress: bool):
    """A count alone as it may be published (its period's other cells unknown): 1 to 4 become *."""
    return SMALL if suppress and small(count) else count


def disclosed_value(unit: str, value: float | None, numerator: float | None, suppress: bool):
    """A value alone as it may be published: a count of 1 to 4, or a value made from such a numerator, is
    hidden. Whole periods go through disclosure.protect_period, which hides what subtraction would give."""
    if not suppress or value is None:
        return value
    if unit == "count" and small(value):
        return SMALL
    return LEFT_OUT if small(numerator) else value


def measures_sheet(book: Book) -> None:
    content: MeasuresContent | None = book.content.extra.get("measures")
    if content is None:
        return
    name = book.name
    if content.suppress:
        rows = disclosure.protect_points(content.points)
        values = lambda p: _point_values(p.row, name, p.hidden)  # noqa: E731
    else:
        rows, values = content.points, lambda r: _point_values(r, name, disclosure.Hidden())
    sheet = book.table("Measures", POINT_COLUMNS, rows, "No measure data yet.", values)
    if content.suppress and sheet.rows:
        sheet.note(SUPPRESSED_NOTE)


def _point_values(r: PointRow, name, hidden: disclosure.Hidden) -> list:
    return [r.measure, r.measure_name, r.topic, r.unit, r.practice_code, r.practice_name, r.period_label, r.period,
            SMALL if hidden.numerator and r.numerator is not None else r.numerator,
            SMALL if hidden.denominator and r.denominator is not None else r.denominator,
            SMALL if hidden.value else round(r.value, 2), name(r.recorded_by), r.recorded_at]


def measure_chart_sheets(book: Book) -> None:
    content: MeasuresContent | None = book.content.extra.get("measures")
    if content is None:
        return
    for series in content.series:
        _chart_sheet(book, series, content.suppress)


def _chart_sheet(book: Book, series: SeriesSheet, suppress: bool) -> None:
    if suppress and series.hidden is None:
        series = disclosure.protect_series(series)
    columns = [Column("Period", 11, "code"),
               *(Column(practice[:40], 14, "number") for practice, _, _ in series.practices),
               Column("Cluster", 10, "number"), Column("Practices reported", 10, "number"),
               Column("Median (cluster)", 11, "number"), Column("Goal", 8, "number")]
    if suppress:  # Excel draws text (*) in a line chart as 0: the chart reads the cluster from a column with gaps
        columns.append(Column("Cluster (charted)", 10, "number"))
    suppressed_column = len(columns)  # the chart's cluster column when suppressed
    if series.cycles is not None:  # last, so the chart's columns keep their places
        columns.append(Column("PDSA cycles", 14, "code"))
    title = f"{series.short_id} {series.name}"[:SHEET_NAME_MAX].rstrip()
    sheet = Sheet(book, _safe_title(title), columns)
    cluster_hidden = None if series.cluster_hidden is None else [series.cluster_hidden]
    for i, period in enumerate(series.periods):
        cluster = _shown(series.cluster[i], cluster_hidden, 0, i)
        sheet.append([period, *(_shown(values[i], series.hidden, p, i) for p, (_, values, _) in
                                enumerate(series.practices)),
                      cluster, series.reported[i], None if series.median[i] is None else round(series.median[i], 2),
                      series.goal, *([None if cluster == SMALL else cluster] if suppress else []),
                      *([series.cycles[i] or None] if series.cycles is not None else [])])
    for note in series.notes:
        sheet.note(note)
    if suppress:
        sheet.note(SUPPRESSED_NOTE + " The chart leaves those periods as gaps.")
    rows = len(series.periods)
    if rows:
        charted = suppressed_column if suppress else 2 + len(series.practices)
        sheet.ws.add_chart(_line_chart(sheet, series, rows, charted), f"{_column_letter(len(columns) + 2)}2")
    sheet.close()


def _shown(value: float | None, hidden: list[list[bool]] | None, row: int, i: int):
    """A figure as the sheet shows it: * where disclosure control hid it."""
    if hidden is not None and hidden[row][i]:
        return SMALL
    return None if value is None else round(value, 2)


def _line_chart(sheet: Sheet, series: SeriesSheet, rows: int, charted: int) -> LineChart:
    """Excel's own line chart of the cluster, its median and the goal, over the periods."""
    chart = LineChart()
    chart.title = f"{series.short_id} {series.name} — cluster"
    chart.y_axis.title, chart.x_axis.title = series.unit_label, "Period"
    chart.height, chart.width = 9, 22
    cluster_column = 2 + len(series.practices)
    wanted = [charted, cluster_column + 2] + ([cluster_column + 3] if series.goal is not None else [])
    for column in wanted:
        chart.add_data(Reference(sheet.ws, min_col=column, min_row=1, max_row=rows + 1), titles_from_data=True)
    chart.set_categories(Reference(sheet.ws, min_col=1, min_row=2, max_row=rows + 1))
    line, median = chart.series[0], chart.series[1]
    line.marker.symbol = "circle"
    line.graphicalProperties.line.solidFill = "0072B2"  # Okabe–Ito blue, as in the PNG charts
    median.graphicalProperties.line.solidFill = "777777"
    median.graphicalProperties.line.dashStyle = "dash"
    if series.goal is not None:
        chart.series[2].graphicalProperties.line.solidFill = "009E73"
        chart.series[2].graphicalProperties.line.dashStyle = "dashDot"
    return chart


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(index)


def _safe_title(title: str) -> str:
    """Excel refuses : \\ / ? * [ ] in sheet names."""
    return "".join(" " if ch in ':\\/?*[]' else ch for ch in title)


SHEETS.extend([measures_sheet, measure_chart_sheets])
