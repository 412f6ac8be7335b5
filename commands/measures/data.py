"""/measure record: data per practice and period — typed (several lines at once) or one period for
every practice in a form. Every line is checked before anything is stored: one bad line stores nothing."""

import re
from dataclasses import dataclass
from datetime import date

from analysis import periods as period_tools
from commands.context import Context
from commands.errors import Refusal
from commands.measures import series as series_tools
from commands.measures.core import (
    MEASURE,
    RECORD_EXAMPLE,
    due_period,
    find_measure,
    practice_in_cluster,
    read_period,
    read_value,
)
from commands.registry import form, subcommand
from commands.results import Code, Form, FormField, Line, Person, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import local_today
from storage import clusters as cluster_store
from storage import measures as store
from storage.models import Measure, MeasureStatus, Practice, Topic, TopicStatus

MAX_LINES = 60
ENTER_EXAMPLE = "/measure enter D1 Oct 2026"


@dataclass
class Entry:
    measure: Measure
    practice: Practice
    period: date
    value: float
    numerator: float | None
    denominator: float | None


def recordable(ctx: Context, measure: Measure, field: str | None = None) -> Measure:
    """Refuse data for a retired measure or one whose topic was dropped."""
    if measure.status == MeasureStatus.RETIRED:
        raise Refusal(f"{measure.short_id} {measure.name} is retired, so it takes no more data.",
                      example=f"/measure show {measure.short_id}", field=field)
    topic = ctx.session.get(Topic, measure.topic_id)
    if topic.status == TopicStatus.DROPPED:
        raise Refusal(f"{measure.short_id}'s topic {topic.short_id} was dropped, so it takes no more data.",
                      example=f"/topic show {topic.short_id}", field=field)
    return measure


def _practice_for(ctx: Context, code: str | None, example: str) -> Practice:
    """The practice a line is for: the caller's own unless named; only leads record for other practices."""
    if ctx.member is None:
        raise Refusal("Only members of this cluster can record data. Join your practice first.",
                      example="/cluster join 80123")
    if code is None:
        if ctx.member.practice_id is None:
            raise Refusal("You aren't in a practice yet, so say which practice the figures are for.",
                          example=f"{RECORD_EXAMPLE} practice 80123")
        return ctx.session.get(Practice, ctx.member.practice_id)
    practice = practice_in_cluster(ctx, parsing.practice_code(code, example), example)
    if practice.id != ctx.member.practice_id and not ctx.is_lead:
        raise Refusal(f"Only the cluster's leads can record figures for another practice ({practice.name}); "
                      "you can record your own practice's.", example=RECORD_EXAMPLE)
    return practice


def _parse_line(ctx: Context, text: str, measure: Measure | None, example: str) -> Entry:
    words = text.split()
    if words and words[0][:1] in "Dd" and words[0][1:].isdigit():
        measure = recordable(ctx, find_measure(ctx, words[0], example))
        words = words[1:]
    if measure is None:
        raise Refusal("Say which measure first, like D1.", example=example)
    code = None
    lowered = [w.lower() for w in words]
    if "practice" in lowered:
        at = lowered.index("practice")
        code = words[at + 1] if at + 1 < len(words) else ""
        words = words[:at] + words[at + 2:]
    if len(words) < 2 or _is_period(" ".join(words), measure):
        raise Refusal("Give the period and then the value.", example=example)
    period = read_period(ctx, measure, " ".join(words[:-1]), example)
    value, numerator, denominator = read_value(measure, words[-1], example)
    return Entry(measure, _practice_for(ctx, code, example), period, value, numerator, denominator)


def _is_period(text: str, measure: Measure) -> bool:
    try:
        period_tools.parse_period(text, measure.frequency)
    except period_tools.PeriodError:
        return False
    return True


def _store(ctx: Context, entries: list[Entry]) -> Reply:
    seen: set[tuple[int, int, date]] = set()
    for entry in entries:
        key = (entry.measure.id, entry.practice.id, entry.period)
        if key in seen:
            label = period_tools.label(entry.period, entry.measure.frequency)
            raise Refusal(f"{label} appears twice for {entry.practice.name} on {entry.measure.short_id}: "
                          "give each period once.", example=RECORD_EXAMPLE)
        seen.add(key)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " recorded:"))
    before = _signals_now(ctx, entries)  # signals: posted only when this save creates or changes one
    for entry in entries:
        done = store.record_point(session=ctx.session, measure=entry.measure, practice=entry.practice,
                                  period=entry.period, value=entry.value, numerator=entry.numerator,
                                  denominator=entry.denominator, by=ctx.caller.user_id, at=ctx.now())
        reply.lines.append(_recorded_line(entry, done))
    reply.lines += _new_signals(ctx, entries, before)
    return reply


def _recorded_line(entry: Entry, done: store.Recorded) -> Line:
    measure = entry.measure
    text = series_tools.format_point(measure, entry.value, entry.numerator, entry.denominator)
    segments: list = ["• ", Code(measure.short_id), f" {measure.name} · {entry.practice.name} · ",
                      Strong(period_tools.label(entry.period, measure.frequency)), f": {text}"]
    if done.unchanged:
        segments.append(" (already recorded: unchanged)")
    elif done.replaced:
        old = done.replaced
        segments += [f" (replaces {series_tools.format_point(measure, old.value, old.numerator, old.denominator)}"
                     " recorded by ", Person(old.recorded_by), "; the old value is kept in the history)"]
    return line(*segments)


SignalsNow = dict[tuple, Line]  # each signal (measure, series, rule, side, periods, points) and its line
SIGNAL_ICONS = {"improvement": "✅", "deterioration": "⚠️", None: "🔔"}


def _new_signals(ctx: Context, entries: list[Entry], before: SignalsNow) -> list[Line]:
    """Signals this save created or changed (not in `before`, read just before storing), each posted once:
    re-saving unchanged figures, or figures that leave every signal as it was, posts nothing."""
    return [words for key, words in _signals_now(ctx, entries).items() if key not in before]


def _signals_now(ctx: Context, entries: list[Entry]) -> SignalsNow:
    """The signals of the series `entries` touch: the cluster's (complete periods only, series.py) and each
    named practice's. The icon says improvement, deterioration or neither, by the measure's direction of good."""
    today = local_today(ctx.now(), ctx.time_zone)
    practices = cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster())
    found: SignalsNow = {}
    for measure in {e.measure.id: e.measure for e in entries}.values():
        codes = {e.practice.code for e in entries if e.measure.id == measure.id}
        by_practice, cluster = series_tools.build(measure, store.points(session=ctx.session, measure=measure),
                                                  practices, today=today)
        for series in [cluster, *(s for s in by_practice if s.code in codes)]:
            for signal in series_tools.chart_of(measure, series).signals if series.observed else ():
                key = (measure.id, series.code, signal.rule, signal.side, series.periods[signal.first],
                       series.periods[signal.last], signal.points)
                where = " for the cluster" if series.code is None else f" at {series.label}"
                icon = SIGNAL_ICONS[signal.verdict(measure.higher_is_better)]
                found[key] = line(f"{icon} ", Code(measure.short_id), f"{where}: ",
                                  series_tools.describe_signal(measure, series, signal))
    return found


@subcommand(MEASURE, "record D1 <period> <value or n/d> [practice <code>]", RECORD_EXAMPLE,
            "record a period's figure (one line each for several periods)")
def record(ctx: Context, rest: str) -> Reply:
    lines = [text for text in re.split(r"[\n;]", rest) if text.strip()]  # `;` for one-line adapters (the console)
    if not lines:
        raise Refusal("Say which measure, the period and the value.", example=RECORD_EXAMPLE)
    if len(lines) > MAX_LINES:
        raise Refusal(f"That is {len(lines)} lines; one message can record up to {MAX_LINES}.", example=RECORD_EXAMPLE)
    first = parsing.split_first(lines[0])[0]
    measure = recordable(ctx, find_measure(ctx, first, RECORD_EXAMPLE))
    entries = []
    for number, text in enumerate(lines, start=1):
        try:
            entries.append(_parse_line(ctx, text, measure, RECORD_EXAMPLE))
        except Refusal as refusal:
            if len(lines) > 1:
                refusal.message = (f"Line {number} (nothing was recorded): ", *refusal.message)
            raise
        measure = entries[-1].measure
    return _store(ctx, entries)


# --- one period for every practice, in a form ------------------------------------------------------

@subcommand(MEASURE, "enter D1 [<period>]", ENTER_EXAMPLE,
            "a form to record one period for every practice", leads_only=True)
def enter(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    measure = recordable(ctx, find_measure(ctx, token, ENTER_EXAMPLE))
    period = read_period(ctx, measure, rest, ENTER_EXAMPLE) if rest else due_period(ctx, measure)
    practices = cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster())
    if not practices:
        raise Refusal("The cluster has no practices yet.", example="/cluster practice add 80123 Riverside")
    fields = [FormField("period", "Period", initial=period_tools.typed(period, measure.frequency),
                        hint=period_tools.forms(measure.frequency))]
    fields += [FormField(f"p{p.code}", f"{p.name} ({p.code})"[:48], optional=True, max_length=30,
                         hint="a number or numerator/denominator, like 42/120; leave empty if not known")
               for p in practices]
    title = f"Record {measure.short_id}"
    typed = f"/measure record {measure.short_id} {period_tools.typed(period, measure.frequency)} 42/120 practice 80123"
    return Reply(lines=[line("Recording for every practice takes a form. Here, type one line per practice: ",
                             Code(typed))],
                 form=Form("measure.enter", title, "Record", tuple(fields), {"measure": measure.short_id}))


@form("measure.enter")
def submit_enter(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    ctx.require_lead("/measure enter")
    measure = recordable(ctx, find_measure(ctx, context.get("measure", ""), ENTER_EXAMPLE), field="period")
    period = read_period(ctx, measure, values.get("period") or "", ENTER_EXAMPLE, field="period")
    entries = []
    for practice in cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster()):
        typed = (values.get(f"p{practice.code}") or "").strip()
        if typed:
            value, numerator, denominator = read_value(measure, typed, field=f"p{practice.code}")
            entries.append(Entry(measure, practice, period, value, numerator, denominator))
    if not entries:
        raise Refusal("Fill in at least one practice's figure.", field="period")
    return _store(ctx, entries)
