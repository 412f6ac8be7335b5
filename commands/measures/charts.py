"""/measure chart: a PNG of a measure's run chart (or SPC chart) uploaded to the channel.

The quick answer checks what was asked and says the chart is coming; the picture is drawn afterwards
(Clusterbot.finish), like an export, so the request is acknowledged at once.
"""

import re
from dataclasses import dataclass, replace
from datetime import date

from analysis import periods as period_tools
from analysis.charts import Panel, Picture, render
from analysis.runchart import Method, Rule
from commands.context import Context
from commands.errors import Refusal
from commands.measures import series as series_tools
from commands.measures.core import CHART_NAMES, MEASURE, find_measure, practice_in_cluster, suppress_word
from commands.registry import subcommand
from commands.results import Code, Person, Reply, Upload, line
from commands.text import parsing
from commands.text.dates import local_today
from reports import disclosure
from storage import clusters as cluster_store
from storage import measures as store
from storage import qi as qi_store
from storage.models import Measure, MeasureUnit, Practice, Topic

CHART_EXAMPLE = "/measure chart D1 all"
CENTRES = {Method.IHI: "Median", Method.ANHOEJ: "Median", Method.XMR: "Mean", Method.P: "Mean (p̄)"}
PANEL_RULES = (Rule.FEW_RUNS, Rule.MANY_RUNS, Rule.FEW_CROSSINGS)  # about a whole series, not a point
# What each centre line is, said under the chart: an SPC chart's differs from the run chart's median.
BASELINES = {
    Method.IHI: "Median: of the first 12 complete points (of each baseline, after a rebase).",
    Method.ANHOEJ: "Median: of the first 12 complete points (of each baseline, after a rebase).",
    Method.XMR: ("Mean and limits (mean ± 2.66 × the average moving range) from the first 12 complete points of "
                 "each baseline; not the run chart's median, so the centre lines differ."),
    Method.P: ("P chart: p̄ is the pooled proportion (Σ numerators / Σ denominators) of the first 12 complete points "
               "of each baseline, not the run chart's median of the values, so the centre lines differ; the limits "
               "are p̄ ± 3σ for each point's own denominator, so they step."),
}


@dataclass
class Request:
    measure: Measure
    mode: str                          # "cluster", "practice" or "all"
    series: list[series_tools.Series]  # what to draw, in panel order
    whose: str                         # for the title and the message


def _request(ctx: Context, rest: str) -> Request:
    token, rest = parsing.split_first(rest)
    measure = find_measure(ctx, token, CHART_EXAMPLE)
    rest, suppress = suppress_word(rest)
    word, more = parsing.split_first(rest)
    word = word.lower() or "cluster"
    practices = cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster())
    points = store.points(session=ctx.session, measure=measure)
    until = period_tools.following(period_tools.period_of(local_today(ctx.now(), ctx.time_zone), measure.frequency),
                                   measure.frequency, -1)
    by_practice, cluster = series_tools.build(measure, points, practices, until=until if points else None)
    if suppress:  # hidden periods are gaps, and the panel's title says so
        by_practice, cluster = _suppressed(measure, by_practice, cluster)
    if word == "practice":
        practice = practice_in_cluster(ctx, parsing.practice_code(parsing.split_first(more)[0], CHART_EXAMPLE),
                                       CHART_EXAMPLE)
        chosen = [s for s in by_practice if s.code == practice.code]
        request = Request(measure, "practice", chosen, practice.name)
    elif word == "cluster":
        request = Request(measure, "cluster", [cluster], f"the cluster ({len(practices)} practices)")
    elif word == "all":
        request = Request(measure, "all", [cluster, *by_practice], "every practice and the cluster")
    else:
        raise Refusal(f"“{word}” isn't a chart I can draw: say practice <code>, cluster or all (and suppress "
                      "to hide small counts).", example=CHART_EXAMPLE)
    if suppress:
        request.whose += " (small counts suppressed)"
    main = request.series[0]
    if main.observed < 2:
        raise Refusal(f"Not enough data yet: {measure.short_id} has {main.observed} point"
                      f"{'' if main.observed == 1 else 's'} for {request.whose}. A chart needs 2, and the run-chart "
                      "rules need 10 useful points before they can show a signal.",
                      example=f"/measure record {measure.short_id} Oct 2026 42/120")
    return request


def _suppressed(measure: Measure, by_practice: list[series_tools.Series], cluster: series_tools.Series):
    """The series with disclosure control's hidden figures as gaps; a series with any hidden says so."""
    lines, whole, _ = disclosure.protect_lines(measure.unit, by_practice, cluster)
    def labelled(before: series_tools.Series, after: series_tools.Series) -> series_tools.Series:
        gaps = sum(a is None and b is not None for a, b in zip(after.values, before.values, strict=True))
        return replace(after, label=after.label + f" ({gaps} hidden: small counts)") if gaps else after
    return [labelled(b, a) for b, a in zip(by_practice, lines, strict=True)], labelled(cluster, whole)


@subcommand(MEASURE, "chart D1 [practice <code>|cluster|all] [suppress]", CHART_EXAMPLE,
            "a run chart picture in the channel (all: every practice; suppress: small counts left out as gaps)",
            later=lambda ctx, rest: _upload(ctx, rest))
def chart(ctx: Context, rest: str) -> Reply:
    request = _request(ctx, rest)
    return Reply.tell(line(f"Drawing the chart of {request.measure.short_id} for {request.whose}…"))


def picture_of(ctx: Context, request: Request, topic: Topic | None = None, cycles: list | None = None) -> Picture:
    """The chart's picture; `topic` and `cycles` (the measure's PDSA cycles) when the caller has already read
    them (the Board report reads every measure's topic, and every cycle on a measure, in one query each)."""
    measure = request.measure
    series_tools.leave_out_unfinished(measure, request.series, local_today(ctx.now(), ctx.time_zone))
    topic = topic or store.topic_of(session=ctx.session, measure=measure)
    method = Method(measure.chart)
    panels = [_panel(measure, s, request.mode == "all") for s in request.series]
    cycles = cycle_periods(ctx, measure, cycles)
    for panel, series in zip(panels, request.series, strict=True):
        panel.marks = marks_of(cycles, series)
    first, last = request.series[0].periods[0], request.series[0].periods[-1]
    span = f"{period_tools.label(first, measure.frequency)} to {period_tools.label(last, measure.frequency)}"
    better = {True: "Higher is better", False: "Lower is better"}.get(measure.higher_is_better)
    title = f"{measure.short_id} {measure.name} ({topic.short_id} {topic.title})"  # in full: the chart wraps it
    return Picture(title=title, subtitle=f"{CHART_NAMES[method][:1].upper()}{CHART_NAMES[method][1:]} · {span}",
                   y_label=_unit_label(measure), panels=panels, goal=measure.goal, better=better,
                   centre_label=CENTRES[method], y_limits=(0, None) if _never_negative(measure) else (None, None),
                   caption=caption_of(measure, request.series), number=lambda v: series_tools.format_value(measure, v))


def cycle_periods(ctx: Context, measure: Measure, rows: list | None = None) -> list[tuple[str, date, str | None, str]]:
    """The PDSA cycles linked to the measure: (C4.1, its period, its practice's code or None, what it tested).
    A cycle's period is that of its `by` date, or of the day it was planned. `rows`: the measure's cycles, when
    the caller has read them (a workbook reads every measure's in one query)."""
    out = []
    if rows is None:
        rows = qi_store.cycles_of_measure(session=ctx.session, measure=measure)
    for row in rows:
        cycle = row.cycle
        day = cycle.due_on or local_today(cycle.planned_at, ctx.time_zone)
        practice = ctx.session.get(Practice, cycle.practice_id) if cycle.practice_id else None
        out.append((row.short_id, period_tools.period_of(day, measure.frequency), practice.code if practice else None,
                    cycle.plan))
    return out


def marks_of(cycles: list[tuple[str, date, str | None, str]], series: series_tools.Series) -> list[tuple[int, str]]:
    """Where each cycle goes on a series: the cluster's shows every cycle, a practice's its own and the cluster's."""
    where = {period: i for i, period in enumerate(series.periods)}
    return [(where[period], label) for label, period, code, _ in cycles
            if period in where and (series.code is None or code is None or code == series.code)]


def caption_of(measure: Measure, drawn: list[series_tools.Series]) -> str:
    """What a reader needs to read the chart right: how its centre line was made and, for the cluster, how its
    figure was worked out and which periods are incomplete (drawn hollow, never analysed)."""
    words = [BASELINES[Method(measure.chart)]]
    for series in drawn:
        if series.code is None:
            words += series_tools.export_notes(measure, series)
    return "\n".join(words)


def _panel(measure: Measure, series: series_tools.Series, small: bool) -> Panel:
    chart = series_tools.chart_of(measure, series)
    title = series.label
    if series.code is None:
        at = series.latest()
        if at is not None:
            title += (f" ({series.reported[at]} of {series.practices} practices reported "
                      f"{period_tools.label(series.periods[at], measure.frequency)})")
    notes = [(s.last, series_tools.describe_signal(measure, series, s)) for s in chart.signals
             if s.rule not in PANEL_RULES]
    remark = "; ".join(series_tools.describe_signal(measure, series, s) for s in chart.signals if s.rule in PANEL_RULES)
    if not chart.signals:
        verdict = series_tools.verdict_of_chart(chart, series)
        remark = verdict[:1].upper() + verdict[1:] if verdict != "no signal" or not small else ""
    if small:  # a small panel has room for a few words, not an arrow per signal
        remark, notes = "; ".join(filter(None, [*(w for _, w in notes), remark])), []
    labels = [period_tools.short_label(p, measure.frequency) for p in series.periods]
    spc = chart.method in (Method.XMR, Method.P)
    incomplete = {i for i in range(len(series.periods)) if series_tools.incomplete_note(series, i)}
    return Panel(title=title, labels=labels, values=list(series.values), centre=list(chart.centre),
                 upper=list(chart.upper) if spc else None, lower=list(chart.lower) if spc else None,
                 flagged=chart.flagged(), notes=notes, remark=remark, incomplete=incomplete)


def _unit_label(measure: Measure) -> str:
    return {MeasureUnit.PERCENT: "Percent", MeasureUnit.COUNT: "Count",
            MeasureUnit.RATE: f"Per {measure.rate_per:,}"}.get(measure.unit, "Value")


def _never_negative(measure: Measure) -> bool:
    return measure.unit in (MeasureUnit.PERCENT, MeasureUnit.COUNT, MeasureUnit.RATE)


def _upload(ctx: Context, rest: str) -> Reply:
    request = _request(ctx, rest)
    measure, cluster = request.measure, ctx.require_cluster()
    content = render(picture_of(ctx, request))  # the current, unfinished period left out of the rules
    slug = re.sub(r"[^A-Za-z0-9]+", "-", cluster.name).strip("-").lower()
    day = local_today(ctx.now(), ctx.time_zone)
    # a practice's chart carries its code: one practice's file never overwrites the next's
    whose = f"practice-{request.series[0].code}" if request.mode == "practice" else request.mode
    name = f"{slug}-{measure.short_id.lower()}-{whose}-{day:%Y-%m-%d}.png"
    comment = Reply.announce(line(Person(ctx.caller.user_id), " shared the chart of ", Code(measure.short_id),
                                  f" {measure.name} for {request.whose}."))
    main = series_tools.chart_of(measure, request.series[0])
    found = [series_tools.describe_signal(measure, request.series[0], s) for s in main.signals]
    comment.lines.append(line(f"{request.series[0].label}: ", "; ".join(found) or
                              series_tools.verdict_of_chart(main, request.series[0]) + "."))
    cycles = cycle_periods(ctx, measure)
    if cycles:
        drawn = {label for _, label in marks_of(cycles, request.series[0])}
        comment.lines.append(line("PDSA cycles marked: ", ", ".join(
            f"{label} ({period_tools.label(period, measure.frequency)}"
            f"{'' if label in drawn else ', not on this chart yet'})" for label, period, _, _ in cycles[:12])))
    return Reply.quiet(Upload(cluster.channel_id, name, f"{measure.short_id} {measure.name}: {request.whose}",
                              content, comment))
