"""What the data says, where people already look: the meeting agenda and reminders (signals new since the
last meeting) and the Home (data due from your practice). Platform-neutral lines, like every command."""

from datetime import date, datetime

from analysis import periods as period_tools
from commands.context import Context
from commands.measures import series as series_tools
from commands.results import Code, Line, Strong, line
from commands.text.dates import local_today
from storage import clusters as cluster_store
from storage import measures as store
from storage.models import Cluster, Measure, Practice

MAX_SIGNALS = 12  # an agenda stays readable
MAX_DUE = 10  # measures listed as due in a reminder or on the Home


def signal_lines(ctx: Context, cluster: Cluster, since: datetime | None) -> list[Line]:
    """`New since the last meeting: D1 shift above the median at Ravelston (6 months) — improvement`, one line
    per signal with a point recorded after `since` (every current signal when there was no earlier meeting)."""
    practices = cluster_store.list_practices(session=ctx.session, cluster=cluster)
    found: list[Line] = []
    for measure, signals in _signals(ctx, cluster, practices):
        found += [line("• ", Code(measure.short_id), " ", words) for words, latest in signals
                  if since is None or (latest is not None and latest > since)]
    if not found:
        return []
    heading = "New since the last meeting" if since else "Signals in the cluster's data"
    more = [line(f"…and {len(found) - MAX_SIGNALS} more: see ", Code("/measure list"))][:len(found) > MAX_SIGNALS]
    return [line(Strong(heading)), *found[:MAX_SIGNALS], *more]


Signals = list[tuple[str, datetime | None]]  # each signal's words, and when the latest of its points was recorded


def _signals(ctx: Context, cluster: Cluster, practices: list[Practice]) -> list[tuple[Measure, Signals]]:
    """Each measure in use with its run-chart signals. Data change monthly and agendas are read daily, so
    signals are worked out once per revision of the measure (counted up by every change to its data or
    settings), list of practices and current period (an unfinished period never feeds the rules), and kept;
    only measures changed since are read and charted."""
    names = tuple((p.id, p.name, p.code) for p in practices)
    today = local_today(ctx.now(), ctx.time_zone)
    measures = store.measures_in_use(session=ctx.session, cluster=cluster)
    key = {m.id: ("signals", m.id, m.revision, names, series_tools.current_period(m, today)) for m in measures}
    kept = ctx.kept.found(list(key.values()))
    known = {m.id: kept[key[m.id]] for m in measures if key[m.id] in kept}
    stale = {m.id: m for m in measures if m.id not in known}
    for measure_id, points in store.points_of(session=ctx.session, measures=list(stale.values())):
        known[measure_id] = _work_out(stale[measure_id], points, practices, today)
    for measure_id in stale.keys() - known.keys():
        known[measure_id] = []  # no data yet: no signal
    ctx.kept.keep({key[m_id]: known[m_id] for m_id in stale})
    return [(m, known[m.id]) for m in measures]


def _work_out(measure: Measure, points, practices: list[Practice], today: date) -> Signals:
    """The cluster's signals (complete periods only) and each practice's (finished periods only)."""
    by_practice, whole = series_tools.build(measure, points, practices, today=today)
    found: Signals = []
    for series in [whole, *by_practice]:
        where = " for the cluster" if series.code is None else f" at {series.label}"
        for signal in series_tools.chart_of(measure, series).signals if series.observed else ():
            recorded = [at for at in series.recorded_at[signal.first:signal.last + 1] if at is not None]
            found.append((series_tools.describe_signal(measure, series, signal, where), max(recorded, default=None)))
    return found


def missing_data(ctx: Context, cluster: Cluster, practice_ids: list[int]) -> dict[int, list[tuple[Measure, date]]]:
    """practice id -> [(measure, period)]: each measure in use that the practice has not recorded for the
    period just ended. Two queries, however many measures and practices."""
    today = local_today(ctx.now(), ctx.time_zone)
    measures = store.measures_in_use(session=ctx.session, cluster=cluster)
    wanted = {m.id: series_tools.due_period(m, today) for m in measures}
    done = store.recorded(session=ctx.session, wanted=wanted)
    missing = {p: [(m, wanted[m.id]) for m in measures if (m.id, p) not in done] for p in practice_ids}
    return {p: found for p, found in missing.items() if found}


def data_due_lines(ctx: Context, cluster: Cluster, practice_id: int | None) -> list[Line]:
    """The active measures your practice has not recorded for the period just ended."""
    if practice_id is None:
        return []
    due = missing_data(ctx, cluster, [practice_id]).get(practice_id, [])
    lines: list[Line] = []
    for measure, period in due[:MAX_DUE]:
        label, typed = period_tools.label(period, measure.frequency), period_tools.typed(period, measure.frequency)
        lines.append(line("• ", Code(measure.short_id), f" {measure.name} for {label}: ",
                          Code(f"/measure record {measure.short_id} {typed} 42/120")))
    return [line(Strong("Data due from your practice")), *lines, *more_due(due)] if lines else []


def more_due(due: list) -> list[Line]:
    """The line that stands for what a list of data due leaves out (a message stays readable, and within
    what a platform takes)."""
    return [line(f"…and {len(due) - MAX_DUE} more: see ", Code("/measure list"))] if len(due) > MAX_DUE else []
