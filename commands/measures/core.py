"""/measure: measures of a topic (D1, D2 …), data per practice and period, run charts and their signals.

Anyone in the cluster may add a measure and record their own practice's data; leads record for any
practice. The cluster's leads, the topic's proposer and whoever added a measure may change or retire it;
only leads rebase its median. Data quality problems are refused with the reason, and nothing is stored.
"""

import math
import re
from datetime import date

from analysis import periods as period_tools
from analysis.runchart import Method
from commands.context import Context
from commands.errors import Refusal
from commands.measures import series as series_tools
from commands.registry import FAMILIES, form, subcommand
from commands.results import Choice, Code, Form, FormField, Line, Person, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import local_today
from commands.text.guard import refuse_patient_identifiers
from reports import disclosure
from storage import clusters as cluster_store
from storage import measures as store
from storage import topics as topic_store
from storage.models import (
    MEASURE_NAME_MAX,
    MEASURE_TEXT_MAX,
    Measure,
    MeasureFrequency,
    MeasureStatus,
    MeasureUnit,
    Practice,
    Topic,
    TopicStatus,
)

MEASURE = FAMILIES["/measure"]
MEASURE.example = "/measure add T3 Asthma reviews within 2 weeks percent higher is better goal 80"
MEASURE.default = "form"

ADD_EXAMPLE = "/measure add T3 Asthma reviews within 2 weeks percent higher is better monthly goal 80"
RECORD_EXAMPLE = "/measure record D1 Oct 2026 42/120"
UNITS = [u.value for u in MeasureUnit]
FREQUENCIES = [f.value for f in MeasureFrequency]
OPTION_WORDS = {*UNITS, *FREQUENCIES, "higher", "lower", "goal", "per"}
CHARTS = {"run": Method.IHI, "ihi": Method.IHI, "anhoej": Method.ANHOEJ, "anhøj": Method.ANHOEJ,
          "xmr": Method.XMR, "p": Method.P}
CHART_NAMES = {Method.IHI: "run chart (IHI rules)", Method.ANHOEJ: "run chart (Anhøj rules)",
               Method.XMR: "XmR chart", Method.P: "P chart"}
NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[+-]?\.\d+$")
DATA_ROWS = 24  # periods shown by /measure data
MAX_COUNT = 10_000_000  # a count, numerator or denominator: more people than Scotland has is a typing slip
MAX_NUMBER = 1e9        # any other value: finite and within what a practice's figure could be
MAX_VALUE_CHARS = 20    # "1,234,567.5/9,876,543" fits; a 400-digit number does not
MAX_LINES = 60  # lines one /measure record may carry


# --- reading what people type -------------------------------------------------------------------

def find_measure(ctx: Context, token: str, example: str) -> Measure:
    return parsing.find_item(ctx, token, prefix="D", noun="measure", find=store.find_measure, example=example)


def _topic(ctx: Context, token: str, field: str | None = None) -> Topic:
    try:
        topic = parsing.find_item(ctx, token, prefix="T", noun="topic", find=topic_store.find_topic,
                                  example=ADD_EXAMPLE)
    except Refusal as refusal:
        refusal.field = field
        raise
    if topic.status == TopicStatus.DROPPED:
        raise Refusal(f"{topic.short_id} {topic.title} was dropped, so it can't have new measures or data. "
                      "A lead can move it back first.", example=f"/topic move {topic.short_id} active", field=field)
    return topic


def _text(value: str, what: str, limit: int, example: str, field: str | None = None) -> str:
    cleaned = " ".join(value.split())
    if len(cleaned) > limit:
        raise Refusal(f"The {what} is {len(cleaned)} characters; the limit is {limit}.", example=example, field=field)
    return refuse_patient_identifiers(cleaned, what, field)


def _name(value: str, example: str, field: str | None = None) -> str:
    if not value.strip():
        raise Refusal("Give the measure a name: what is counted.", example=example, field=field)
    return _text(value, "measure name", MEASURE_NAME_MAX, example, field)


def _number(token: str) -> float | None:
    cleaned = token.strip()
    return float(cleaned.replace(",", "")) if NUMBER.match(cleaned) else None


def _goal(measure: Measure, token: str, example: str, field: str | None = None) -> float | None:
    if token.lower() in ("none", "off", "-"):
        return None
    value = _number(token.rstrip("%"))
    if value is None:
        raise Refusal(f"“{token}” isn't a goal I can read: give a number, like 80.", example=example, field=field)
    _check_plain(measure, value, example, field, what="goal")
    return value


def read_value(measure: Measure, token: str, example: str = RECORD_EXAMPLE,
               field: str | None = None) -> tuple[float, float | None, float | None]:
    """(value, numerator, denominator) from `35`, `35%` or `42/120`, refusing data that cannot be right."""
    cleaned = token.strip()
    if len(cleaned) > MAX_VALUE_CHARS:
        raise Refusal(f"That value is {len(cleaned)} characters long, which no practice's figure is: give a "
                      "number or numerator/denominator, like 42/120.", example=example, field=field)
    if "/" in cleaned:
        top, _, bottom = cleaned.partition("/")
        numerator, denominator = _number(top), _number(bottom)
        if numerator is None or denominator is None:
            raise Refusal(f"“{cleaned}” isn't a value I can read: give a number or numerator/denominator, "
                          "like 42/120.", example=example, field=field)
        if max(numerator, denominator) > MAX_COUNT:
            raise Refusal(f"“{cleaned}”: a numerator or denominator over {MAX_COUNT:,} can't be one practice's "
                          "count. Check the figures.", example=example, field=field)
        if measure.unit == MeasureUnit.COUNT:
            raise Refusal(f"{measure.short_id} is a count: give one whole number, like 42.", example=example,
                          field=field)
        if numerator < 0 or denominator < 0:
            raise Refusal(f"“{cleaned}”: counts can't be negative.", example=example, field=field)
        if not (numerator.is_integer() and denominator.is_integer()):
            raise Refusal(f"“{cleaned}”: a numerator and denominator are counts of people or events, so whole "
                          "numbers.", example=example, field=field)
        if denominator == 0:
            raise Refusal(f"“{cleaned}”: the denominator is 0, so there is nothing to divide by. If nobody was "
                          "eligible this period, leave the period out: it shows as a gap.", example=example,
                          field=field)
        if measure.unit == MeasureUnit.PERCENT and numerator > denominator:
            raise Refusal(f"“{cleaned}”: the numerator ({numerator:g}) is more than the denominator "
                          f"({denominator:g}), which would be over 100%. Check the figures.", example=example,
                          field=field)
        return numerator / denominator * series_tools.scale(measure), numerator, denominator
    value = _number(cleaned.rstrip("%"))
    if value is None:
        raise Refusal(f"“{cleaned}” isn't a value I can read: give a number or numerator/denominator, like 42/120.",
                      example=example, field=field)
    _check_plain(measure, value, example, field)
    return value, None, None


def _check_plain(measure: Measure, value: float, example: str, field: str | None, what: str = "value") -> None:
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise Refusal(f"“{value:g}” is too large to be a {what} of {measure.short_id or 'a measure'}. "
                      "Check the figure.", example=example, field=field)
    if measure.unit == MeasureUnit.COUNT and value > MAX_COUNT:
        raise Refusal(f"A count over {MAX_COUNT:,} ({value:,.0f}) can't be one practice's. Check the figure.",
                      example=example, field=field)
    if measure.unit in (MeasureUnit.PERCENT, MeasureUnit.COUNT, MeasureUnit.RATE) and value < 0:
        raise Refusal(f"A {measure.unit} can't be negative ({value:g}).", example=example, field=field)
    if measure.unit == MeasureUnit.COUNT and not value.is_integer():
        raise Refusal(f"{measure.short_id or 'A count'} is a count: the {what} should be a whole number, "
                      f"not {value:g}.", example=example, field=field)
    if measure.unit == MeasureUnit.PERCENT and value > 100:
        raise Refusal(f"A percentage can't be over 100 ({value:g}). Give the numerator and denominator if you "
                      "have them, like 42/120.", example=example, field=field)


def read_period(ctx: Context, measure: Measure, text: str, example: str, field: str | None = None) -> date:
    """A period that can be read and has started (the current one counts; the future does not)."""
    try:
        period = period_tools.parse_period(text, measure.frequency, local_today(ctx.now(), ctx.time_zone))
    except period_tools.PeriodError as problem:
        raise Refusal(str(problem), example=example, field=field) from None
    current = period_tools.period_of(local_today(ctx.now(), ctx.time_zone), measure.frequency)
    if period > current:
        raise Refusal(f"{period_tools.label(period, measure.frequency)} is in the future: data can only be "
                      "recorded for a period that has started.", example=example, field=field)
    return period


# --- showing ------------------------------------------------------------------------------------

def describe_settings(measure: Measure) -> str:
    direction = {True: "higher is better", False: "lower is better", None: "no direction of good set"}
    unit = f"rate per {measure.rate_per:,}" if measure.unit == MeasureUnit.RATE else measure.unit
    goal = f" · goal {series_tools.format_value(measure, measure.goal)}" if measure.goal is not None else ""
    return f"{unit} · {direction[measure.higher_is_better]} · {measure.frequency}{goal}"


def _card(ctx: Context, measure: Measure) -> list[Line]:
    topic = store.topic_of(session=ctx.session, measure=measure)
    retired = " (retired)" if measure.status == MeasureStatus.RETIRED else ""
    lines = [line(Strong(f"{measure.short_id} · {measure.name}{retired}")),
             line("Topic: ", Code(topic.short_id), f" {topic.title} · {describe_settings(measure)}")]
    if measure.definition:
        lines.append(line(Strong("Definition:"), " ", measure.definition))
    return lines


def _practices(ctx: Context) -> list[Practice]:
    return cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster())


def _analysis_lines(ctx: Context, measure: Measure, practices: list[Practice],
                    built: tuple[list[series_tools.Series], series_tools.Series] | None = None,
                    shown: set[str] | None = None) -> list[Line]:
    """The signals of the cluster and each practice (`shown`: only those practices' codes); `built`: the
    series already built from every practice, so the cluster's figures never come from a subset."""
    if built is None:
        points = store.points(session=ctx.session, measure=measure)
        built = series_tools.build(measure, points, practices, today=local_today(ctx.now(), ctx.time_zone))
    by_practice, cluster = built
    by_practice = [s for s in by_practice if shown is None or s.code in shown]
    lines = [line(Strong("Signals"), f" ({CHART_NAMES[Method(measure.chart)]}) from complete periods only")]
    for series in [cluster, *by_practice]:
        if not series.observed:
            continue
        chart = series_tools.chart_of(measure, series)
        found = [series_tools.describe_signal(measure, series, s) for s in chart.signals]
        lines.append(line(f"• {series.label}: ",
                          "; ".join(found) if found else series_tools.verdict_of_chart(chart, series)))
    if len(lines) == 1:
        lines.append(line("No data yet. Record some: ", Code(f"/measure record {measure.short_id} "
                                                             f"{_example_period(ctx, measure)} 42/120")))
    return lines


def _example_period(ctx: Context, measure: Measure) -> str:
    return period_tools.typed(due_period(ctx, measure), measure.frequency)


def due_period(ctx: Context, measure: Measure) -> date:
    """The period data is due for now: the last one that has ended."""
    return series_tools.due_period(measure, local_today(ctx.now(), ctx.time_zone))


def _may_change(ctx: Context, measure: Measure) -> bool:
    topic = store.topic_of(session=ctx.session, measure=measure)
    return ctx.is_lead or ctx.caller.user_id in (topic.proposed_by, measure.created_by)


def _require_change(ctx: Context, measure: Measure) -> None:
    if not _may_change(ctx, measure):
        topic = store.topic_of(session=ctx.session, measure=measure)
        raise Refusal(f"Only the cluster's leads, whoever proposed {topic.short_id} (", Person(topic.proposed_by),
                      f") or whoever added {measure.short_id} (", Person(measure.created_by), ") can change it.",
                      example=f"/measure show {measure.short_id}")


def _require_member(ctx: Context, doing: str) -> None:
    if ctx.member is None:
        raise Refusal(f"Only members of this cluster can {doing}. Join your practice first.",
                      example="/cluster join 80123")


# --- adding -------------------------------------------------------------------------------------

def _parse_add(ctx: Context, rest: str) -> Measure:
    token, rest = parsing.split_first(rest)
    if not token:
        raise Refusal("Say which topic the measure belongs to, then its name.", example=ADD_EXAMPLE)
    topic = _topic(ctx, token)
    if rest.lstrip()[:1] in parsing.QUOTES:
        tokens = parsing.split_quoted(rest, ADD_EXAMPLE)
        name, words = tokens[0][1], [t for _, t in tokens[1:]]
    else:
        words = rest.split()
        start = next((i for i, w in enumerate(words) if w.lower() in OPTION_WORDS), len(words))
        name, words = " ".join(words[:start]), words[start:]
    measure = Measure(cluster_id=ctx.cluster.id, short_id="", topic_id=topic.id, name=_name(name, ADD_EXAMPLE),
                      created_by=ctx.caller.user_id)
    goal_token = None
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word in UNITS:
            measure.unit, i = word, i + 1
        elif word in FREQUENCIES:
            measure.frequency, i = word, i + 1
        elif word in ("higher", "lower"):
            measure.higher_is_better = word == "higher"
            i += 1
            while i < len(words) and words[i].lower() in ("is", "better"):
                i += 1
        elif word == "goal" and i + 1 < len(words):
            goal_token, i = words[i + 1], i + 2
        elif word == "per" and i + 1 < len(words) and (_number(words[i + 1]) or 0) >= 1:
            measure.unit, measure.rate_per, i = MeasureUnit.RATE, int(_number(words[i + 1])), i + 2
        else:
            raise Refusal(f"“{words[i]}” isn't a measure setting. After the name you can add: percent, count, "
                          "rate or number; higher is better or lower is better; monthly or weekly; goal <value>. "
                          "Put the name in quotes to use those words in it.", example=ADD_EXAMPLE)
    if goal_token is not None:
        measure.goal = _goal(measure, goal_token, ADD_EXAMPLE)
    return measure


def _created(ctx: Context, measure: Measure) -> Reply:
    _require_member(ctx, "add measures")
    measure = store.create_measure(session=ctx.session, cluster=ctx.require_cluster(), measure=measure)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " added a measure:"), *_card(ctx, measure))
    reply.lines.append(line("Each practice records its own figures, e.g. ",
                            Code(f"/measure record {measure.short_id} {_example_period(ctx, measure)} 42/120")))
    return reply


@subcommand(MEASURE, "add T3 <name> [percent|count|rate|number] [higher|lower is better] [monthly|weekly] "
            "[goal <value>]", ADD_EXAMPLE, "add a measure to a topic")
def add(ctx: Context, rest: str) -> Reply:
    return _created(ctx, _parse_add(ctx, rest))


@subcommand(MEASURE, "form", "/measure", "open the form to add a measure (also /measure alone)")
def open_form(ctx: Context, rest: str) -> Reply:
    _require_member(ctx, "add measures")
    topics = topic_store.list_topics(session=ctx.session, cluster=ctx.require_cluster(),
                                     statuses=[TopicStatus.PROPOSED, TopicStatus.AGREED, TopicStatus.ACTIVE])
    if not topics:
        raise Refusal("A measure belongs to a topic, and there are no open topics yet. Propose one first.",
                      example="/topic propose Asthma reviews after discharge")
    fields = (
        FormField("topic", "Topic", "choice", choices=tuple(Choice(t.short_id, f"{t.short_id} {t.title}"[:75])
                                                             for t in topics)),
        FormField("name", "Name: what is counted", max_length=MEASURE_NAME_MAX,
                  hint="e.g. Asthma discharges reviewed within 2 weeks"),
        FormField("definition", "Definition: numerator, denominator, source", "long_text", optional=True,
                  max_length=MEASURE_TEXT_MAX),
        FormField("unit", "Kind of number", "choice", initial=MeasureUnit.PERCENT, choices=(
            Choice("percent", "Percentage (numerator/denominator)"), Choice("count", "Count"),
            Choice("rate", "Rate per 1,000"), Choice("number", "Other number"))),
        FormField("direction", "Which way is good?", "choice", initial="higher", choices=(
            Choice("higher", "Higher is better"), Choice("lower", "Lower is better"), Choice("none", "Neither"))),
        FormField("frequency", "How often", "choice", initial="monthly", choices=(
            Choice("monthly", "Monthly"), Choice("weekly", "Weekly"))),
        FormField("goal", "Goal (optional)", optional=True, max_length=20, hint="e.g. 80"),
    )
    return Reply(lines=[line("Adding a measure takes a form. Here, type it: ", Code(ADD_EXAMPLE))],
                 form=Form("measure.form", "Add a measure", "Add", fields))


@form("measure.form")
def submit_form(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    cluster = ctx.require_cluster()
    if ctx.submission_key and store.find_submitted_measure(session=ctx.session, cluster=cluster,
                                                            submission_key=ctx.submission_key):
        return Reply()  # the same form submitted twice: the first did the work
    topic = _topic(ctx, values.get("topic") or "", field="topic")
    unit = values.get("unit") or MeasureUnit.PERCENT
    frequency = values.get("frequency") or MeasureFrequency.MONTHLY
    if unit not in UNITS or frequency not in FREQUENCIES:
        raise Refusal("Choose from the list.", field="unit" if unit not in UNITS else "frequency")
    measure = Measure(cluster_id=cluster.id, short_id="", topic_id=topic.id, created_by=ctx.caller.user_id,
                      name=_name(values.get("name") or "", ADD_EXAMPLE, "name"), unit=unit, frequency=frequency,
                      definition=_text(values.get("definition") or "", "definition", MEASURE_TEXT_MAX, ADD_EXAMPLE,
                                       "definition"),
                      higher_is_better={"higher": True, "lower": False}.get(values.get("direction") or ""),
                      submission_key=ctx.submission_key)
    if (values.get("goal") or "").strip():
        measure.goal = _goal(measure, values["goal"].strip(), ADD_EXAMPLE, "goal")
    return _created(ctx, measure)


# --- listing and showing ------------------------------------------------------------------------

@subcommand(MEASURE, "list", "/measure list", "the cluster's measures", personal=True)
def list_measures(ctx: Context, rest: str) -> Reply:
    measures = store.list_with_topics(session=ctx.session, cluster=ctx.require_cluster())
    if not measures:
        return Reply.tell(line("No measures yet. Add one to a topic: ", Code(ADD_EXAMPLE)))
    reply = Reply.tell(line(Strong(f"Measures in {ctx.cluster.name}")))
    for measure, topic, points in measures:
        retired = " (retired)" if measure.status == MeasureStatus.RETIRED else ""
        reply.lines.append(line("• ", Code(measure.short_id), f" {measure.name}{retired} — ", Code(topic.short_id),
                                f" {topic.title} · {describe_settings(measure)} · {points} data points"))
    return reply


@subcommand(MEASURE, "show D1", "/measure show D1", "a measure: definition, goal, who has recorded, signals")
def show(ctx: Context, rest: str) -> Reply:
    measure = find_measure(ctx, parsing.split_first(rest)[0], "/measure show D1")
    practices = _practices(ctx)
    reply = Reply.tell(*_card(ctx, measure))
    due = due_period(ctx, measure)
    done = store.practices_with_data(session=ctx.session, measure=measure, period=due)
    missing = [p for p in practices if p.id not in done]
    reply.lines.append(line(f"{period_tools.label(due, measure.frequency)}: {len(practices) - len(missing)} of "
                            f"{len(practices)} practices have recorded",
                            *((". Still to come: ", ", ".join(f"{p.name} ({p.code})" for p in missing))
                              if missing else ()), "."))
    if measure.rebases:
        starts = ", ".join(period_tools.label(date.fromisoformat(r), measure.frequency) for r in measure.rebases)
        reply.lines.append(line(f"Median rebased from {starts}."))
    reply.lines += _analysis_lines(ctx, measure, practices)
    reply.lines.append(line("Table: ", Code(f"/measure data {measure.short_id}"), " · chart: ",
                            Code(f"/measure chart {measure.short_id} all")))
    return reply


@subcommand(MEASURE, "data D1 [practice <code>] [suppress]", "/measure data D1 suppress",
            "the data as a table, with its signals (suppress: counts of 1 to 4, and what would give them away, as *)")
def data(ctx: Context, rest: str) -> Reply:
    example = "/measure data D1 practice 80123"
    token, rest = parsing.split_first(rest)
    measure = find_measure(ctx, token, example)
    rest, suppress = suppress_word(rest)
    practices = _practices(ctx)
    word, more = parsing.split_first(rest)
    only = None
    if word.lower() == "practice":
        only = {practice_in_cluster(ctx, parsing.practice_code(parsing.split_first(more)[0], example),
                                     example).code}
    elif word:
        raise Refusal(f"“{word}” isn't something /measure data understands: add practice <code>, suppress, or "
                      "nothing.", example=example)
    points = store.points(session=ctx.session, measure=measure)
    # The cluster is built from every practice even when one is shown: its figure and signals are the
    # cluster's; suppression is decided over the whole cluster's period too (a practice's hidden count may
    # be given back by the others), then the practice asked for is picked out.
    built = series_tools.build(measure, points, practices, today=local_today(ctx.now(), ctx.time_zone))
    by_practice, cluster = built
    hidden = 0
    if suppress:
        by_practice, cluster, hidden = disclosure.protect_lines(measure.unit, by_practice, cluster)
    by_practice = [s for s in by_practice if only is None or s.code in only]
    reply = Reply.tell(*_card(ctx, measure)[:1])
    if not cluster.periods:
        reply.lines.append(line("No data yet. Record some: ", Code(RECORD_EXAMPLE)))
        return reply
    shown = range(max(0, len(cluster.periods) - DATA_ROWS), len(cluster.periods))
    if len(cluster.periods) > DATA_ROWS:
        reply.lines.append(line(f"The latest {DATA_ROWS} of {len(cluster.periods)} periods (— means no data):"))
    for i in shown:
        cells = [f"{s.label} {_point(measure, s, i, suppress)}" for s in by_practice]
        notes = [n for n in (series_tools.method_note(measure, cluster, i), series_tools.incomplete_note(cluster, i))
                 if n]
        value = HIDDEN_MARK if suppress and cluster.values[i] is None and cluster.reported[i] else \
            series_tools.format_value(measure, cluster.values[i])
        cells.append(f"Cluster {value} ({cluster.reported[i]} of {cluster.practices} reported"
                     + "".join(f"; {n}" for n in notes) + ")")
        reply.lines.append(line(Code(period_tools.label(cluster.periods[i], measure.frequency)), " · ",
                                " · ".join(cells)))
    if suppress:
        reply.lines.append(line(disclosure.NOTE + (f" {hidden} figure{'' if hidden == 1 else 's'} hidden."
                                                   if hidden else " Nothing needed hiding.")))
    reply.lines += _analysis_lines(ctx, measure, practices, built, only)
    return reply


HIDDEN_MARK = disclosure.SHOWN_AS


def suppress_word(rest: str) -> tuple[str, bool]:
    """`suppress` anywhere after the measure (/measure data, /measure chart): the rest without it, and
    whether it was there."""
    words = rest.split()
    kept = [w for w in words if w.lower() not in ("suppress", "suppressed")]
    return " ".join(kept), len(kept) != len(words)


def _point(measure: Measure, series: series_tools.Series, i: int, suppress: bool) -> str:
    """A practice's figure for a period; * where disclosure control hid it (it had a value before)."""
    if suppress and series.values[i] is None and series.recorded_at[i] is not None:
        return HIDDEN_MARK
    return series_tools.format_point(measure, series.values[i], series.numerators[i], series.denominators[i])


def practice_in_cluster(ctx: Context, code: str, example: str) -> Practice:
    practice = cluster_store.find_practice(session=ctx.session, cluster=ctx.require_cluster(), code=code)
    if practice is None:
        raise Refusal(f"No practice with code {code} in this cluster.", example=example)
    return practice
