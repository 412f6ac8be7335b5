"""A measure's data as series: one per practice and one for the cluster, on one shared run of periods,
analysed with the rules in analysis/runchart.py and described in words.

Missing periods stay None (gaps), never zeros. The cluster figure has one stated method per period:
pooled (Σ numerators / Σ denominators) when every practice that reported gave n/d; the mean of the
practices' values when any gave a value only (and it says so: `method_note`); the sum for a count.

Only complete periods feed the rules: a period is complete for the cluster when every practice recording
the measure has a figure for it, and no series' current, unfinished period is complete. Incomplete
periods are still shown (marked), never analysed.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from analysis import periods as period_tools
from analysis.runchart import Chart, Method, Rule, Signal, analyse
from storage.measures import StoredPoint
from storage.models import Measure, MeasurePoint, MeasureUnit, Practice

Points = Sequence[MeasurePoint | StoredPoint]  # ORM objects or plain columns: the same attributes

CLUSTER = "Cluster"
POOLED, MEAN, SUM = "pooled", "mean", "sum"  # how a period's cluster figure was worked out


@dataclass
class Series:
    label: str                   # the practice's name, or "Cluster"
    code: str | None             # the practice code (None for the cluster)
    periods: list[date]
    values: list[float | None]
    numerators: list[float | None]
    denominators: list[float | None]
    recorded_at: list[datetime | None]
    reported: list[int] = field(default_factory=list)  # cluster only: practices that reported each period
    practices: int = 0                                 # cluster only: practices in the cluster
    complete: list[bool] = field(default_factory=list)  # periods the rules may use (see the module's words)
    methods: list[str | None] = field(default_factory=list)  # cluster only: POOLED, MEAN or SUM per period
    values_only: list[int] = field(default_factory=list)    # cluster only: practices that gave a value, no n/d
    recording: int = 0                                 # cluster only: practices with any figure for the measure

    @property
    def observed(self) -> int:
        return sum(v is not None for v in self.values)

    def latest(self) -> int | None:
        """Index of the latest period with a value."""
        return next((i for i in range(len(self.values) - 1, -1, -1) if self.values[i] is not None), None)


def scale(measure: Measure) -> float:
    if measure.unit == MeasureUnit.PERCENT:
        return 100.0
    if measure.unit == MeasureUnit.RATE:
        return float(measure.rate_per)
    return 1.0


def format_value(measure: Measure, value: float | None) -> str:
    if value is None:
        return "—"
    if measure.unit == MeasureUnit.PERCENT:
        return f"{value:.1f}%"
    if measure.unit == MeasureUnit.RATE:
        return f"{value:.1f} per {measure.rate_per:,}"
    if measure.unit == MeasureUnit.COUNT and float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def format_count(number: float | None) -> str:
    return "" if number is None else (f"{int(number)}" if float(number).is_integer() else f"{number:g}")


def format_point(measure: Measure, value: float | None, numerator: float | None, denominator: float | None) -> str:
    """`35.0% (42/120)`, or the value alone."""
    text = format_value(measure, value)
    if numerator is not None and denominator is not None:
        text += f" ({format_count(numerator)}/{format_count(denominator)})"
    return text


def period_run(measure: Measure, points: Points, until: date | None = None) -> list[date]:
    """Every period from the first with data to the last (or `until`), gaps included."""
    if not points:
        return []
    first = min(p.period for p in points)
    last = max([p.period for p in points] + ([until] if until else []))
    return period_tools.span(first, last, measure.frequency)


def current_period(measure: Measure, today: date | None) -> date | None:
    """The unfinished period `today` falls in: shown, never fed to the rules."""
    return None if today is None else period_tools.period_of(today, measure.frequency)


def leave_out_unfinished(measure: Measure, drawn: list[Series], today: date) -> None:
    """Mark the periods from `today`'s on incomplete in series built without `today` (shown, never analysed)."""
    current = current_period(measure, today)
    for series in drawn:
        series.complete = [k and p < current for k, p in
                           zip(series.complete or [True] * len(series.periods), series.periods, strict=True)]


def build(measure: Measure, points: Points, practices: list[Practice],
          until: date | None = None, today: date | None = None) -> tuple[list[Series], Series]:
    """A series per practice (in the order given) and the cluster's, on one shared run of periods.
    `today`: periods from the one it falls in on are incomplete (never analysed)."""
    run = period_run(measure, points, until)
    where = {p: i for i, p in enumerate(run)}
    by_practice: dict[int, Series] = {}
    for practice in practices:
        by_practice[practice.id] = Series(practice.name, practice.code, run, [None] * len(run), [None] * len(run),
                                          [None] * len(run), [None] * len(run))
    for point in points:
        series = by_practice.get(point.practice_id)
        if series is None or point.period not in where:
            continue  # an archived practice's data stays stored but is not drawn
        i = where[point.period]
        series.values[i], series.numerators[i], series.denominators[i] = point.value, point.numerator, point.denominator
        series.recorded_at[i] = point.recorded_at
    current = current_period(measure, today)
    for series in by_practice.values():
        series.complete = [current is None or p < current for p in run]
    cluster = cluster_series(measure, run, list(by_practice.values()), len(practices))
    cluster.complete = [(current is None or p < current) and 0 < cluster.reported[i] >= cluster.recording
                        for i, p in enumerate(run)]
    return list(by_practice.values()), cluster


def cluster_series(measure: Measure, run: list[date], practices: list[Series], count: int) -> Series:
    cluster = Series(CLUSTER, None, run, [None] * len(run), [None] * len(run), [None] * len(run), [None] * len(run),
                     [0] * len(run), count, [True] * len(run), [None] * len(run), [0] * len(run))
    cluster.recording = sum(1 for s in practices if s.observed)
    for i in range(len(run)):
        reported = [s for s in practices if s.values[i] is not None]
        cluster.reported[i] = len(reported)
        if not reported:
            continue
        cluster.recorded_at[i] = max(s.recorded_at[i] for s in reported)
        bare = [s for s in reported if s.numerators[i] is None or not s.denominators[i]]
        cluster.values_only[i] = len(bare)
        if not bare:
            numerator = sum(s.numerators[i] for s in reported)
            denominator = sum(s.denominators[i] for s in reported)
            cluster.numerators[i], cluster.denominators[i] = numerator, denominator
            cluster.values[i], cluster.methods[i] = numerator / denominator * scale(measure), POOLED
        elif measure.unit == MeasureUnit.COUNT:
            cluster.values[i], cluster.methods[i] = sum(s.values[i] for s in reported), SUM
        else:  # some values typed without their numerators: pooling cannot weigh them, so the practices' mean
            cluster.values[i] = sum(s.values[i] for s in reported) / len(reported)
            cluster.methods[i] = MEAN
    return cluster


def method_note(measure: Measure, series: Series, i: int) -> str:
    """How period i's cluster figure was worked out, said whenever it is not the pooled n/d:
    `mean of practice values: 2 of 6 gave percentages only`."""
    if series.code is not None or not series.methods or series.methods[i] != MEAN:
        return ""
    what = "percentages" if measure.unit == MeasureUnit.PERCENT else "values"
    return f"mean of practice values: {series.values_only[i]} of {series.reported[i]} gave {what} only"


def series_note(measure: Measure, series: Series) -> str:
    """The method for a whole cluster series, for a caption or an export: pooled, or which periods are means."""
    if series.code is not None:
        return ""
    means = [i for i, m in enumerate(series.methods) if m == MEAN]
    if not means:
        return "Cluster figure: pooled (Σ numerators / Σ denominators)" if POOLED in series.methods else ""
    listed = "; ".join(f"{period_tools.short_label(series.periods[i], measure.frequency)} "
                       f"{method_note(measure, series, i)}" for i in means[-3:])
    more = f" and {len(means) - 3} earlier" if len(means) > 3 else ""
    return f"Cluster figure: pooled n/d, except {listed}{more}"


def export_notes(measure: Measure, series: Series) -> list[str]:
    """A cluster series' method and its incomplete periods (newest first), as notes under a table or chart."""
    notes = [series_note(measure, series)]
    def why(i: int) -> str:
        return "not over" if series.reported[i] >= series.recording else f"{series.reported[i]} of {series.recording}"

    incomplete = [f"{period_tools.short_label(p, measure.frequency)} ({why(i)})"
                  for i, p in reversed(list(enumerate(series.periods))) if incomplete_note(series, i)]
    if incomplete:
        more = f" and {len(incomplete) - 6} earlier" if len(incomplete) > 6 else ""
        notes.append(f"Incomplete periods (not every practice recording the measure has a figure, or not over): "
                     f"{', '.join(incomplete[:6])}{more}. Shown, but the median and signals use complete periods only.")
    return [n for n in notes if n]


def incomplete_note(series: Series, i: int) -> str:
    """`incomplete (4 of 6 practices)` for a cluster period the rules leave out; `incomplete` for a practice's
    unfinished period; "" for a complete one."""
    if not series.complete or series.complete[i] or series.values[i] is None:
        return ""
    if series.code is None and series.reported[i] < series.recording:
        return f"incomplete ({series.reported[i]} of {series.recording} practices)"
    return "incomplete (period not over)"


def rebase_indices(measure: Measure, series: Series) -> list[int]:
    """Where the measure's rebases fall in this series' periods."""
    starts = [date.fromisoformat(r) for r in measure.rebases]
    return [next(i for i, p in enumerate(series.periods) if p >= s) for s in starts
            if series.periods and s <= series.periods[-1]]


def chart_of(measure: Measure, series: Series) -> Chart:
    """The analysis the measure asks for (IHI run chart unless changed), with its rebases."""
    method = Method(measure.chart)
    floor = 0.0 if measure.unit in (MeasureUnit.PERCENT, MeasureUnit.COUNT, MeasureUnit.RATE) else None
    ceiling = 100.0 if measure.unit == MeasureUnit.PERCENT else None
    keep = series.complete or [True] * len(series.periods)
    only = lambda values: [v if k else None for v, k in zip(values, keep, strict=True)]  # noqa: E731
    return analyse(only(series.values), method=method, rebases=rebase_indices(measure, series),
                   numerators=only(series.numerators), denominators=only(series.denominators), floor=floor,
                   ceiling=ceiling, scale=scale(measure))


def due_period(measure: Measure, today: date) -> date:
    """The period data is due for on `today`: the last one that has ended."""
    current = period_tools.period_of(today, measure.frequency)
    return period_tools.following(current, measure.frequency, -1)


def period_noun(measure: Measure, count: int) -> str:
    noun = "week" if measure.frequency == period_tools.WEEKLY else "month"
    return f"{count} {noun}{'' if count == 1 else 's'}"


def describe_signal(measure: Measure, series: Series, signal: Signal, where: str = "") -> str:
    """`shift above the median (6 months) — improvement`; with `where`, `… the median at Ravelston (6 months) …`."""
    if signal.rule in (Rule.FEW_RUNS, Rule.MANY_RUNS):
        detail = f"{signal.points} runs"
    elif signal.rule == Rule.FEW_CROSSINGS:
        detail = f"{signal.points} crossings"
    elif signal.rule == Rule.OUTSIDE:
        detail = period_tools.label(series.periods[signal.first], measure.frequency)
    else:
        detail = period_noun(measure, signal.points)
    verdict = signal.verdict(measure.higher_is_better)
    return f"{signal.words()}{where} ({detail})" + (f" — {verdict}" if verdict else "")


def verdict_of_chart(chart: Chart, series: Series | None = None) -> str:
    """What the rules could say, for a reply: too little data, or how many signals. With the series, a cluster
    short of complete periods says so (its incomplete periods are shown but never analysed)."""
    if chart.observed < 2:
        if series is not None and series.code is None and series.observed > chart.observed:
            return (f"not enough complete periods yet: {chart.observed} of {series.observed} have every "
                    f"recording practice's figure")
        return "not enough data yet"
    if chart.method in (Method.IHI, Method.ANHOEJ) and not chart.analysed:
        if len(chart.parts) > 1:  # each baseline part is analysed on its own: say the part's count, not the sum
            latest = chart.parts[-1].useful
            return (f"the run-chart rules need 10 useful points since the latest rebase; there "
                    f"{'is' if latest == 1 else 'are'} {latest} so far ({chart.useful} across "
                    f"{len(chart.parts)} baselines)")
        return f"the run-chart rules need 10 useful points; there are {chart.useful} so far"
    return f"{len(chart.signals)} signal{'' if len(chart.signals) == 1 else 's'}" if chart.signals else "no signal"
