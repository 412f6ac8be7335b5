"""/measure record: data per practice and period — typed (several lines at once) or one period for
every practice in a form. Every line is checked before anything is stored: one bad line stores nothing."""

import re
import statistics
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

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
from storage.models import Measure, MeasureStatus, MeasureUnit, Practice, Topic, TopicStatus

MAX_LINES = 60
MAX_PERIOD_WORDS = 6  # the longest period people type: "Mon 30th of November 2026"
ENTER_EXAMPLE = "/measure enter D1 Oct 2026"
HISTORY_EXAMPLE = "/measure history D1 practice 80123"
REMOVE_WORDS = ("none", "delete", "-", "—")  # and "no data": the figure goes, and the period shows as a gap
CONFIRM = "confirm"
EARLIEST = date(2000, 1, 1)
DENOMINATOR_DRIFT = 0.5  # a denominator this far from the practice's median asks to be confirmed
DENOMINATORS_NEEDED = 3  # recorded denominators before a median says what is usual
HISTORY_SHOWN = 20
CONFIRM_EXAMPLE_MAX = 240  # characters: a longer message is not said back whole


@dataclass
class Entry:
    measure: Measure
    practice: Practice
    period: date
    value: float
    numerator: float | None
    denominator: float | None
    removal: bool = False     # `none`: take the figure away
    incomplete: bool = False  # the period has not ended yet


def is_complete_period(measure: Measure, period: date, today: date) -> bool:
    """Whether `period` has ended on `today` (the cluster's local date): a figure for the current period is
    kept but is incomplete, and must never feed signals."""
    return period < period_tools.period_of(today, measure.frequency)


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
    words = _tokens(text)
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
    today = local_today(ctx.now(), ctx.time_zone)
    if len(words) < 2 or _is_period(" ".join(words), measure, today):
        raise Refusal(_period_without_value(" ".join(words), measure, today), example=example)
    split = _period_end(words, measure, today)
    period = read_period(ctx, measure, _period_text(words[:split]), example)
    value, numerator, denominator = read_value(measure, " ".join(words[split:]), example)
    return Entry(measure, _practice_for(ctx, code, example), period, value, numerator, denominator)


def _tokens(text: str) -> list[str]:
    """The words of a line, with a value's spaces closed up: `229 / 402` is `229/402`, `57 %` is `57%`."""
    text = re.sub(r"(?<=\d)\s*/\s*(?=\d)", "/", text)
    return re.sub(r"(?<=\d)\s+%", "%", text).split()


def _period_end(words: list[str], measure: Measure, today: date) -> int:
    """Where the period ends: before the last word, unless only a shorter start of the line is a period
    (then what follows it is a value that could not be read, and the refusal names the value)."""
    if _is_period(_period_text(words[:-1]), measure, today):
        return len(words) - 1
    for end in range(min(len(words) - 2, MAX_PERIOD_WORDS), 0, -1):
        if _is_period(_period_text(words[:end]), measure, today):
            return end
    return len(words) - 1


def _period_text(words: list[str]) -> str:
    return " ".join(words).rstrip(":=,-– ")  # "Nov 2025: 57%", "Nov 2025 - 57%"


def _period_without_value(text: str, measure: Measure, today: date) -> str:
    """The whole line reads as a period: say which one, so `November 25` meant as a value is noticed."""
    try:
        period = period_tools.parse_period(text, measure.frequency, today)
    except period_tools.PeriodError:
        return "Give the period and then the value."
    return (f"“{text}” reads as {period_tools.label(period, measure.frequency)} with no value. "
            "Give the period and then the value.")


def _is_period(text: str, measure: Measure, today: date) -> bool:
    try:
        period_tools.parse_period(text, measure.frequency, today)
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
    named = {e.measure.id: f"{e.measure.short_id} {e.measure.name}" for e in entries}
    did = "removed figures of" if all(e.removal for e in entries) else "recorded on"
    reply = Reply.announce(line(Person(ctx.caller.user_id), f" {did} {', '.join(named.values())}:"))
    before = _signals_now(ctx, entries)  # signals: posted only when this save creates or changes one
    for entry in entries:
        if entry.removal:
            gone = store.remove_point(session=ctx.session, measure=entry.measure, practice=entry.practice,
                                      period=entry.period, by=ctx.caller.user_id, at=ctx.now())
            reply.lines.append(_removed_line(entry, gone))
            continue
        done = store.record_point(session=ctx.session, measure=entry.measure, practice=entry.practice,
                                  period=entry.period, value=entry.value, numerator=entry.numerator,
                                  denominator=entry.denominator, by=ctx.caller.user_id, at=ctx.now())
        reply.lines.append(_recorded_line(entry, done))
    reply.lines += _new_signals(ctx, entries, before)
    return reply


def _figure(measure: Measure, value: float, numerator: float | None, denominator: float | None) -> str:
    """`210/330 = 63.6%`, or the value alone."""
    shown = series_tools.format_value(measure, value)
    if numerator is None or denominator is None:
        return shown
    return f"{series_tools.format_count(numerator)}/{series_tools.format_count(denominator)} = {shown}"


def _where(entry: Entry) -> list:
    """`D1 · 80567 · Sep 2026 · `: which measure, practice and period a line is about."""
    return ["• ", Code(entry.measure.short_id), f" · {entry.practice.code} · ",
            Strong(period_tools.label(entry.period, entry.measure.frequency)), " · "]


def _incomplete(entry: Entry) -> list:
    if not entry.incomplete:
        return []
    label = period_tools.label(entry.period, entry.measure.frequency)
    return [f" (incomplete: {label} hasn't ended, so it is kept but not used for signals until it has)"]


def _recorded_line(entry: Entry, done: store.Recorded) -> Line:
    measure = entry.measure
    segments: list = [*_where(entry), _figure(measure, entry.value, entry.numerator, entry.denominator)]
    if done.unchanged:
        segments.append(" (already recorded: unchanged)")
    elif done.replaced:
        old = done.replaced
        segments += [f" — replaced {entry.practice.code}'s figure "
                     f"{_figure(measure, old.value, old.numerator, old.denominator)} → "
                     f"{_figure(measure, entry.value, entry.numerator, entry.denominator)}, recorded by ",
                     Person(old.recorded_by), " (kept in ", Code(f"/measure history {measure.short_id}"), ")"]
    return line(*segments, *_incomplete(entry))


def _removed_line(entry: Entry, gone) -> Line:
    if gone is None:
        return line(*_where(entry), "no figure was recorded, so there was nothing to remove")
    old = _figure(entry.measure, gone.value, gone.numerator, gone.denominator)
    return line(*_where(entry), f"removed {entry.practice.code}'s figure {old} → no data, recorded by ",
                Person(gone.recorded_by), " (kept in ", Code(f"/measure history {entry.measure.short_id}"), ")")


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
            "record a period's figure (one line each for several periods; none removes one)")
def record(ctx: Context, rest: str) -> Reply:
    lines = [text for text in re.split(r"[\n;]", rest) if text.strip()]  # `;` for one-line adapters (the console)
    if not lines:
        raise Refusal("Say which measure, the period and the value.", example=RECORD_EXAMPLE)
    if len(lines) > MAX_LINES:
        raise Refusal(f"That is {len(lines)} lines; one message can record up to {MAX_LINES}.", example=RECORD_EXAMPLE)
    confirmed = any(CONFIRM in text.lower().split() for text in lines)
    lines = [" ".join(w for w in text.split() if w.lower() != CONFIRM) for text in lines]
    lines = _with_message_practice(lines)
    first = parsing.split_first(lines[0])[0]
    measure = recordable(ctx, find_measure(ctx, first, RECORD_EXAMPLE))
    entries, questions = [], []
    today = local_today(ctx.now(), ctx.time_zone)
    for number, text in enumerate(lines, start=1):
        try:
            entry = _read_line(ctx, text, measure, today)
        except Refusal as refusal:
            if len(lines) > 1:
                refusal.message = (f"Line {number} (nothing was recorded): ", *refusal.message)
            raise
        entries.append(entry)
        measure = entry.measure
        if not confirmed and (question := _plausible(entry, _value_word(text))):
            questions.append((number, _typed(entry, text), question))
    if not confirmed:
        questions += _unusual_denominators(ctx, entries, lines)
    if questions:
        return _ask_to_confirm(questions, lines)
    return _store(ctx, entries)


def _practice_words(words: list[str]) -> set[int]:
    lowered = [w.lower() for w in words]
    if "practice" not in lowered:
        return set()
    at = lowered.index("practice")
    return {at, at + 1}


def _with_message_practice(lines: list[str]) -> list[str]:
    """`practice <code>` on any line is for the whole message, except lines naming their own; lines that
    name different practices leave the others unclear, so they must each say."""
    named = []
    for text in lines:
        words = text.split()
        at = sorted(_practice_words(words))
        named.append(words[at[1]] if len(at) == 2 and at[1] < len(words) else None)
    codes = {code for code in named if code}
    if not codes:
        return lines
    if len(codes) > 1 and None in named:
        unnamed = named.index(None) + 1
        raise Refusal(f"Your lines name different practices ({', '.join(sorted(codes))}), so line {unnamed} "
                      "could be for any of them: put practice <code> on every line. Nothing was recorded.",
                      example=f"{RECORD_EXAMPLE} practice {sorted(codes)[0]}")
    if len(codes) > 1:
        return lines
    code = codes.pop()
    return [text if name else f"{text} practice {code}" for text, name in zip(lines, named, strict=True)]


def _value_word(text: str) -> str:
    """The word a line's value is in (the last one that is not `practice <code>`)."""
    words = text.split()
    skip = _practice_words(words)
    rest = [w for i, w in enumerate(words) if i not in skip]
    return rest[-1] if rest else ""


def _as_removal(text: str) -> str | None:
    """The line with its `none` (`delete`, `-`, `no data`) made a placeholder value, when it removes a
    figure; None when it records one. The line's period and practice are read as for any line."""
    words = text.split()
    skip = _practice_words(words)
    rest = [i for i in range(len(words)) if i not in skip]
    lowered = [w.lower() for w in words]
    if len(rest) >= 2 and (lowered[rest[-2]], lowered[rest[-1]]) == ("no", "data"):
        return " ".join(w if i != rest[-1] else "0" for i, w in enumerate(words) if i != rest[-2])
    if rest and lowered[rest[-1]] in REMOVE_WORDS:
        return " ".join(w if i != rest[-1] else "0" for i, w in enumerate(words))
    return None


def _read_line(ctx: Context, text: str, measure: Measure, today: date) -> Entry:
    placeholder = _as_removal(text)
    entry = _parse_line(ctx, placeholder or text, measure, RECORD_EXAMPLE)
    entry.removal = placeholder is not None
    _not_before_2000(entry.measure, entry.period, RECORD_EXAMPLE)
    entry.incomplete = not entry.removal and not is_complete_period(entry.measure, entry.period, today)
    return entry


def _not_before_2000(measure: Measure, period: date, example: str, field: str | None = None) -> None:
    if period < EARLIEST:
        raise Refusal(f"{period_tools.label(period, measure.frequency)} is before 2000: figures can be recorded "
                      f"from {period_tools.label(EARLIEST, period_tools.MONTHLY)} on.", example=example, field=field)


def _plausible(entry: Entry, typed: str) -> str | None:
    """A question about a figure that can be stored but is probably a slip, or None."""
    measure = entry.measure
    if (not entry.removal and measure.unit == MeasureUnit.PERCENT and entry.numerator is None
            and 0 < entry.value < 1 and not typed.endswith("%")):
        return (f"{typed} on {measure.short_id} (a percentage) would be {entry.value:g}%: did you mean "
                f"{entry.value * 100:g}%? Then type {entry.value * 100:g}.")
    return None


def _unusual_denominators(ctx: Context, entries: list[Entry], lines: list[str]) -> list[tuple[int, str, str]]:
    """Denominators more than half again or less than half of what the practice usually records."""
    questions = []
    for measure in {e.measure.id: e.measure for e in entries if e.denominator is not None}.values():
        mine = [(i, e) for i, e in enumerate(entries) if e.measure.id == measure.id and e.denominator is not None]
        known = store.denominators(session=ctx.session, measure=measure, practice_ids={e.practice.id for _, e in mine})
        for i, entry in mine:
            if len(known[entry.practice.id]) < DENOMINATORS_NEEDED:
                continue
            usual = statistics.median(known[entry.practice.id])
            if usual > 0 and abs(entry.denominator - usual) > DENOMINATOR_DRIFT * usual:
                questions.append((i + 1, _typed(entry, lines[i]), (
                    f"the denominator {series_tools.format_count(entry.denominator)} is far from "
                    f"{entry.practice.code}'s usual {series_tools.format_count(usual)} (the median of what it "
                    f"has recorded for {measure.short_id}): is it right?")))
    return sorted(questions)


def _typed(entry: Entry, text: str) -> str:
    """The line as it could be sent alone: with its measure's id in front."""
    first = parsing.split_first(text)[0].upper()
    return text if first == entry.measure.short_id.upper() else f"{entry.measure.short_id} {text}"


def _ask_to_confirm(questions: list[tuple[int, str, str]], lines: list[str]) -> Reply:
    """Nothing is stored: say what looks wrong and how to store it as typed."""
    reply = Reply.problem(line(Strong("Nothing was recorded yet"), ": please check"
                               + (" these lines:" if len(lines) > 1 else " this figure:")))
    for at, _, question in questions:
        reply.lines.append(line(f"• Line {at}: " if len(lines) > 1 else "• ", question))
    if len(lines) == 1:
        reply.lines.append(line("If it is right as typed, send it again with ", Code(CONFIRM), " at the end: ",
                                Code(f"/measure record {questions[0][1]} {CONFIRM}")))
        return reply
    again = f"/measure record {'; '.join(lines)} {CONFIRM}"
    reply.lines.append(line("If they are right as typed, send the whole message again with ", Code(CONFIRM),
                            " at the end of any line",
                            *((", e.g. ", Code(again)) if len(again) <= CONFIRM_EXAMPLE_MAX else ("",)), "."))
    return reply


@subcommand(MEASURE, "history D1 [practice <code>]", "/measure history D1",
            "who recorded, replaced or removed a measure's figures, and when", read_only=True)
def history(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    measure = find_measure(ctx, token, HISTORY_EXAMPLE)
    practice = None
    word, more = parsing.split_first(rest)
    if word.lower() == "practice":
        practice = practice_in_cluster(ctx, parsing.practice_code(parsing.split_first(more)[0], HISTORY_EXAMPLE),
                                       HISTORY_EXAMPLE)
    elif word:
        raise Refusal(f"“{word}” isn't something /measure history understands: add practice <code>, or nothing.",
                      example=HISTORY_EXAMPLE)
    rows, total = store.changes(session=ctx.session, measure=measure, practice=practice, limit=HISTORY_SHOWN)
    whose = f" for {practice.code}" if practice else ""
    if not rows:
        return Reply.tell(line(f"No figures recorded on {measure.short_id}{whose} yet."))
    codes = {p.id: p.code for p in cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster())}
    zone = ZoneInfo(ctx.time_zone)
    reply = Reply.tell(line(Strong(f"History of {measure.short_id} {measure.name}{whose}"), " (newest first)"))
    for row in rows:
        old = _figure(measure, row.old_value, row.old_numerator, row.old_denominator) \
            if row.old_value is not None else "no data"
        new = _figure(measure, row.new_value, row.new_numerator, row.new_denominator) \
            if row.new_value is not None else "no data"
        reply.lines.append(line(f"• {row.at.astimezone(zone):%d %b %Y %H:%M} · ", Person(row.by),
                                f" · {row.action} · {codes.get(row.practice_id, 'a former practice')} · "
                                f"{period_tools.label(row.period, measure.frequency)} · {old} → {new}"))
    if total > len(rows):
        reply.lines.append(line(f"…and {total - len(rows)} more, older."))
    return reply


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
    _not_before_2000(measure, period, ENTER_EXAMPLE, field="period")
    incomplete = not is_complete_period(measure, period, local_today(ctx.now(), ctx.time_zone))
    entries = []
    for practice in cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster()):
        typed = (values.get(f"p{practice.code}") or "").strip()
        if typed:
            value, numerator, denominator = read_value(measure, typed, field=f"p{practice.code}")
            entries.append(Entry(measure, practice, period, value, numerator, denominator, incomplete=incomplete))
    if not entries:
        raise Refusal("Fill in at least one practice's figure.", field="period")
    return _store(ctx, entries)
