"""The measures part of a workbook, read in the export's unit of work: every data point in long format and,
per measure, its periods × practices with the cluster's series and median (reports/measures.py writes them)."""

from analysis import periods as period_tools
from commands.context import Context
from commands.measures import series as series_tools
from reports.measures import MeasuresContent, PointRow, SeriesSheet
from storage import clusters as cluster_store
from storage import measures as store
from storage.models import Cluster

UNIT_LABELS = {"percent": "Percent", "count": "Count", "number": "Value"}


def measures_content(ctx: Context, cluster: Cluster, *, suppress: bool) -> MeasuresContent:
    """Every measure's data points (long format) and, per measure, its periods × practices with the cluster's
    series and median, read in the export's unit of work."""
    practices = cluster_store.list_practices(session=ctx.session, cluster=cluster)
    names = {p.id: (p.code, p.name) for p in practices}
    content = MeasuresContent(suppress=suppress)
    for measure in store.list_measures(session=ctx.session, cluster=cluster):
        topic = store.topic_of(session=ctx.session, measure=measure)
        points = store.points(session=ctx.session, measure=measure)
        for point in points:
            code, name = names.get(point.practice_id, ("", "(removed practice)"))
            content.points.append(PointRow(
                measure.short_id, measure.name, topic.short_id, measure.unit, code, name, point.period,
                period_tools.label(point.period, measure.frequency), point.numerator, point.denominator,
                point.value, point.recorded_by, point.recorded_at))
        by_practice, whole = series_tools.build(measure, points, practices)
        centre = series_tools.chart_of(measure, whole).centre if whole.periods else ()
        content.series.append(SeriesSheet(
            measure.short_id, measure.name, measure.unit,
            UNIT_LABELS.get(measure.unit, f"Per {measure.rate_per:,}"), measure.goal,
            [period_tools.label(p, measure.frequency) for p in whole.periods],
            [(s.label, s.values, s.numerators) for s in by_practice],
            whole.values, whole.numerators, whole.reported, list(centre)))
    return content
