"""The measures part of a workbook, read in the export's unit of work: every data point in long format and,
per measure, its periods × practices with the cluster's series and median (reports/measures.py writes them).

Both parts are generators, each one streamed SELECT read as its sheets are written (the long-format sheet
first, then the chart sheets one measure at a time), so memory stays bounded however much data a cluster
has: only one measure's points are held at once."""

from collections.abc import Iterator
from datetime import date
from itertools import groupby

from analysis import periods as period_tools
from commands.context import Context
from commands.measures import series as series_tools
from commands.measures.charts import cycle_periods
from commands.text.dates import local_today
from reports import lazily
from storage import clusters as cluster_store
from storage import measures as store
from storage import qi as qi_store
from storage.models import Cluster, Measure, Practice

sheets = lazily("reports.measures")

UNIT_LABELS = {"percent": "Percent", "count": "Count", "number": "Value"}
REMOVED_PRACTICE = "(removed practice)"


def measures_content(ctx: Context, cluster: Cluster, *, suppress: bool) -> "sheets.MeasuresContent":
    """Every measure's data points (long format) and, per measure, its periods × practices with the cluster's
    series and median, read in the export's unit of work as the sheets are written."""
    return sheets.MeasuresContent(points=_point_rows(ctx, cluster), series=_series_sheets(ctx, cluster),
                                  suppress=suppress)


def board_series(ctx: Context, cluster: Cluster) -> Iterator["sheets.SeriesSheet"]:
    """Each measure's sheet as it may reach the Board: disclosure control applied (counts of 1 to 4, and
    what would give them away, hidden and marked; reports.disclosure.protect_series)."""
    from reports import disclosure  # no openpyxl: cheap, but only a report needs it
    return (disclosure.protect_series(sheet) for sheet in _series_sheets(ctx, cluster))


def _point_rows(ctx: Context, cluster: Cluster) -> Iterator["sheets.PointRow"]:
    for p in store.point_lines(session=ctx.session, cluster=cluster):
        code, name = (p.practice_code, p.practice_name) if p.practice_code is not None else ("", REMOVED_PRACTICE)
        yield sheets.PointRow(p.measure, p.measure_name, p.topic, p.unit, code, name, p.period,
                       period_tools.label(p.period, p.frequency), p.numerator, p.denominator, p.value,
                       p.recorded_by, p.recorded_at)


def _series_sheets(ctx: Context, cluster: Cluster) -> Iterator["sheets.SeriesSheet"]:
    # Both lists are read before the points' cursor opens: no other query runs while it streams.
    practices = cluster_store.list_practices(session=ctx.session, cluster=cluster)
    measures = store.list_measures(session=ctx.session, cluster=cluster)
    cycles = _cycles(ctx, cluster, measures)
    today = local_today(ctx.now(), ctx.time_zone)
    by_measure = groupby(store.cluster_points(session=ctx.session, cluster=cluster), key=lambda p: p.measure_id)
    measure_id, points = next(by_measure, (None, iter(())))
    for measure in measures:  # both in measure id order: a measure with no points still gets its sheet
        if measure_id == measure.id:
            yield _series_sheet(measure, list(points), practices, today, cycles.get(measure.id, []))
            measure_id, points = next(by_measure, (None, iter(())))
        else:
            yield _series_sheet(measure, [], practices, today, cycles.get(measure.id, []))


def _cycles(ctx: Context, cluster: Cluster, measures: list[Measure]) -> dict[int, list[tuple]]:
    """measure id -> the PDSA cycles linked to it (commands/measures/charts.py marks them on the picture)."""
    by_measure: dict[int, list] = {}
    for row in qi_store.cycles_on_measures(session=ctx.session, cluster=cluster):
        by_measure.setdefault(row.cycle.measure_id, []).append(row)
    return {m.id: cycle_periods(ctx, m, by_measure[m.id]) for m in measures if m.id in by_measure}


def _series_sheet(measure: Measure, points: list[store.StoredPoint], practices: list[Practice],
                  today: date, cycles: list[tuple[str, date, str | None, str]] | None = None) -> "sheets.SeriesSheet":
    by_practice, whole = series_tools.build(measure, points, practices, today=today)
    centre = series_tools.chart_of(measure, whole).centre if whole.periods else ()
    marks = None
    notes = series_tools.export_notes(measure, whole)
    if cycles:
        where = {period: i for i, period in enumerate(whole.periods)}
        marks = [""] * len(whole.periods)
        for label, period, _, plan in cycles:
            if period in where:
                marks[where[period]] = ", ".join(filter(None, [marks[where[period]], label]))
            notes.append(f"PDSA cycle {label} ({period_tools.label(period, measure.frequency)}): {plan}")
    return sheets.SeriesSheet(
        measure.short_id, measure.name, measure.unit, UNIT_LABELS.get(measure.unit, f"Per {measure.rate_per:,}"),
        measure.goal, [period_tools.label(p, measure.frequency) for p in whole.periods],
        [(s.label, s.values, s.numerators) for s in by_practice],
        whole.values, whole.numerators, whole.reported, list(centre), notes=notes, cycles=marks,
        denominators=[s.denominators for s in by_practice], codes=[s.code for s in by_practice])
