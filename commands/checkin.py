"""/checkin: a monthly practice check-in, asynchronous in the style of stand-up bots.

On the cluster's chosen working day of each month, everyone in a practice gets one message with three
questions (what did you test, what is getting in the way, any data to record). Each practice gives one
answer, which anyone in the practice may change until the digest; practices that have not answered are
reminded once, two working days later; the digest goes to the cluster's channel DIGEST_AFTER working days
after the check-in opened, and the answers show under "Practice updates" in the next meeting's agenda.
Working days are Monday to Friday, Scottish bank holidays skipped (commands/text/dates.is_working_day)."""

import re
from datetime import date, datetime, time, timedelta

from analysis import periods as period_tools
from commands.context import Caller, Context
from commands.errors import Refusal, on_field
from commands.measures import data as measure_data
from commands.measures import news as measure_news
from commands.measures.core import due_period, find_measure
from commands.meetings import schedule
from commands.registry import TICKS, button, family, form, subcommand
from commands.results import Button, Code, Direct, Form, FormField, Line, Person, Post, Reply, Strong, line
from commands.text.dates import (
    LOOKS_LIKE_CLOCK,
    describe,
    is_working_day,
    local_to_utc,
    local_today,
    nth_working_day,
    parse_clock,
)
from commands.text.guard import refuse_patient_identifiers
from storage import checkins as store
from storage import clusters as cluster_store
from storage import meetings as meeting_store
from storage.models import CHECKIN_TEXT_MAX, CheckinRound, Cluster, Meeting, Practice

CHECKIN = family("/checkin", "A monthly check-in from each practice: what was tested, what is in the way, data",
                 "on <working day> [HH:MM] | off | answer | show", example="/checkin on 3 10:00")
ON_EXAMPLE = "/checkin on 3 10:00"
ANSWER_EXAMPLE = "/checkin answer tested: text reminders for asthma reviews blockers: locum cover data: 7 of 10 seen"
REMIND_AFTER = 2   # working days after the check-in opens: practices that have not answered are reminded
DIGEST_AFTER = 5   # working days after it opens: the digest, and answers no longer change
DEFAULT_TIME = time(10, 0)
MONTH_AHEAD = timedelta(hours=14)  # the earliest time zone is UTC+14
RECORD_BUTTONS = 3  # measures offered with a record button in the check-in message
SYSTEM = "clusterbot"
QUESTIONS = (("tested", "What did you test this month?", "e.g. text reminders for asthma reviews after discharge"),
             ("blockers", "What is getting in the way?", "e.g. locum cover; no time in the practice meeting"),
             ("data", "Any data to record?", "e.g. 7 of 10 reviewed within 2 weeks"))
LABELS = {"tested": "Tested", "blockers": "In the way", "data": "Data"}
MARK = re.compile(r"(?i)(?:^|\s)(tested|blockers|data)\s*:")


# --- working days ---------------------------------------------------------------------------------

def working_days_after(day: date, n: int) -> date:
    while n:
        day += timedelta(days=1)
        n -= is_working_day(day)
    return day


def _month_label(month: date) -> str:
    return f"{month:%B %Y}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- turning it on and off ---------------------------------------------------------------------------

@subcommand(CHECKIN, "on <working day> [HH:MM]", ON_EXAMPLE,
            "ask each practice for a check-in on this working day of every month (leads)", leads_only=True)
def turn_on(ctx: Context, rest: str) -> Reply:
    cluster = ctx.require_cluster()
    words = rest.split()
    clock = DEFAULT_TIME
    if words and LOOKS_LIKE_CLOCK.match(words[-1]):
        clock = parse_clock(words[-1], ON_EXAMPLE)
        words = words[:-1]
    word = (words[0] if len(words) == 1 else "").lower().rstrip("stndrh")
    if not (word.isdigit() and 1 <= int(word) <= 20):
        raise Refusal("Give the working day of the month from 1 to 20 (bank holidays don't count), and a time "
                      "if not 10:00.", example=ON_EXAMPLE)
    day = int(word)
    store.set_day(session=ctx.session, cluster=cluster, day=day, minute=clock.hour * 60 + clock.minute)
    first = _next_opening(ctx, cluster, day, clock)
    return Reply.announce(line(Person(ctx.caller.user_id), " turned the monthly practice check-in on: the ",
                               Strong(f"{_ordinal(day)} working day"), f" of each month at {clock:%H:%M}, "
                               f"first on {describe(first, ctx.time_zone)}. Everyone in a practice is asked what "
                               "they tested, what is in the way and what data to record; the answers are posted "
                               f"here {DIGEST_AFTER} working days later."))


def _next_opening(ctx: Context, cluster: Cluster, day: int, clock: time) -> datetime:
    """When the check-in next opens; a day already passed this month waits for next month's."""
    today = local_today(ctx.now(), ctx.time_zone)
    month = today.replace(day=1)
    moment = local_to_utc(nth_working_day(month, day), clock, ctx.time_zone)
    if moment <= ctx.now():
        settings = store.settings(session=ctx.session, cluster=cluster)
        settings.opened_month = month  # not this month: it would arrive late, unannounced
        ctx.session.add(settings)
        month = (month + timedelta(days=32)).replace(day=1)
        moment = local_to_utc(nth_working_day(month, day), clock, ctx.time_zone)
    return moment


@subcommand(CHECKIN, "off", "/checkin off", "stop the monthly practice check-in (leads)", leads_only=True)
def turn_off(ctx: Context, rest: str) -> Reply:
    store.set_day(session=ctx.session, cluster=ctx.require_cluster(), day=0, minute=600)
    return Reply.announce(line(Person(ctx.caller.user_id), " turned the monthly practice check-in off."))


# --- answering ----------------------------------------------------------------------------------------

def _open_round(ctx: Context, example: str = ANSWER_EXAMPLE, field: str | None = None) -> CheckinRound:
    found = store.current_round(session=ctx.session, cluster=ctx.require_cluster())
    if found is None:
        raise Refusal("No check-in has opened yet: a lead turns it on.", example=ON_EXAMPLE, field=field)
    if found.digested_at is not None:
        raise Refusal(f"The {_month_label(found.month)} check-in has been posted to the channel, so its answers "
                      "no longer change. The next one opens next month.", example="/checkin show", field=field)
    return found


def _practice(ctx: Context, field: str | None = None) -> Practice:
    ctx.require_member("answer the check-in")
    practice = ctx.session.get(Practice, ctx.member.practice_id) if ctx.member.practice_id else None
    if practice is None:
        raise Refusal("The check-in is answered for a practice, and you're in none here: pick yours first.",
                      example="/cluster join 80123", field=field)
    return practice


def answer_form(ctx: Context, round_: CheckinRound, practice: Practice) -> Form:
    current = store.answer_of(session=ctx.session, round_=round_, practice_id=practice.id)
    fields = tuple(FormField(name, label, "long_text", optional=True, max_length=CHECKIN_TEXT_MAX, hint=hint,
                             initial=getattr(current, name) if current else "")
                   for name, label, hint in QUESTIONS)
    return Form("checkin.form", "Monthly check-in", "Save", fields, {"round": str(round_.id)})


@subcommand(CHECKIN, "answer [tested: <text>] [blockers: <text>] [data: <text>]", ANSWER_EXAMPLE,
            "your practice's answer to this month's check-in (or, alone, its form)", members_only=True)
def answer(ctx: Context, rest: str) -> Reply:
    round_ = _open_round(ctx)
    practice = _practice(ctx)
    if not rest.strip():
        return Reply(lines=[line("Or type it: ", Code(ANSWER_EXAMPLE))], form=answer_form(ctx, round_, practice))
    parts = MARK.split(" " + rest)
    if parts[0].strip():
        raise Refusal("Start each part with tested:, blockers: or data:.", example=ANSWER_EXAMPLE)
    current = store.answer_of(session=ctx.session, round_=round_, practice_id=practice.id)
    values = {name: getattr(current, name) if current else "" for name in LABELS}
    values |= {name.lower(): text for name, text in zip(parts[1::2], parts[2::2], strict=True)}
    return _save(ctx, round_, practice, values)


@button("checkin.answer", members_only=True, opens_form=True)
def answer_button(ctx: Context, value: str) -> Reply:
    return answer(ctx, "")


@form("checkin.form", members_only=True)
def submit_answer(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    round_ = _open_round(ctx, field="tested")
    if str(round_.id) != str(context.get("round")):
        raise Refusal("That check-in has closed; this month's is open now: answer it from its message.",
                      field="tested")
    return _save(ctx, round_, _practice(ctx, "tested"), values, form=True)


def _save(ctx: Context, round_: CheckinRound, practice: Practice, values: dict[str, str], form: bool = False) -> Reply:
    cleaned = {}
    for name, label in LABELS.items():
        text = " ".join((values.get(name) or "").split()) if not form else (values.get(name) or "").strip()
        if len(text) > CHECKIN_TEXT_MAX:
            raise Refusal(f"“{label}” is {len(text)} characters; the limit is {CHECKIN_TEXT_MAX}.",
                          field=name if form else None, example=None if form else ANSWER_EXAMPLE)
        cleaned[name] = refuse_patient_identifiers(text, label.lower(), name if form else None)
    if not any(cleaned.values()):
        raise Refusal("Say at least what you tested, what is in the way or what data you have.",
                      field="tested" if form else None, example=None if form else ANSWER_EXAMPLE)
    saved, new = store.save_answer(session=ctx.session, round_=round_, practice_id=practice.id,
                                   by=ctx.caller.user_id, **cleaned)
    verb = "Saved" if new else "Updated"
    reply = Reply.tell(line(Strong(f"{verb} {practice.name}'s check-in for {_month_label(round_.month)}")),
                       *_answer_lines(saved),
                       line(f"Anyone in {practice.name} can change it until it is posted to the channel on "
                            f"{describe(round_.digest_at, ctx.time_zone)}: ", Code("/checkin answer")))
    return reply


def _answer_lines(answer, cut=lambda text: text) -> list[Line]:
    return [line(f"{LABELS[name]}: ", cut(getattr(answer, name))) for name in LABELS if getattr(answer, name)]


@subcommand(CHECKIN, "show", "/checkin show", "this month's check-in: who has answered, and the answers",
            read_only=True)
def show(ctx: Context, rest: str) -> Reply:
    cluster = ctx.require_cluster()
    round_ = store.current_round(session=ctx.session, cluster=cluster)
    if round_ is None:
        settings = store.settings(session=ctx.session, cluster=cluster)
        state = (f"it opens on the {_ordinal(settings.working_day)} working day of the month"
                 if settings and settings.working_day else "a lead turns it on")
        return Reply.tell(line(f"No check-in yet: {state}. ", Code(ON_EXAMPLE)))
    return Reply.tell(*_digest_lines(ctx, cluster, round_))


def _digest_lines(ctx: Context, cluster: Cluster, round_: CheckinRound) -> list[Line]:
    practices = cluster_store.list_practices(session=ctx.session, cluster=cluster)
    given = {a.practice_id: a for a in store.answers(session=ctx.session, round_=round_)}
    lines = [line(Strong(f"Practice check-in, {_month_label(round_.month)}: {len(given)} of {len(practices)} "
                         "practices answered"))]
    for practice in practices:
        if practice.id in given:
            lines.append(line(Strong(practice.name), " (", Person(given[practice.id].by), ")"))
            lines += [line("    ", *segments) for segments in _answer_lines(given[practice.id])]
    missing = [p.name for p in practices if p.id not in given]
    if missing:
        lines.append(line("No answer from: " + ", ".join(missing) + "."))
    return lines


# --- recording data from the check-in message --------------------------------------------------------

@button("checkin.record", members_only=True, opens_form=True)
def record_button(ctx: Context, value: str) -> Reply:
    measure = find_measure(ctx, value, "/measure list")
    practice = _practice(ctx)
    period = period_tools.typed(due_period(ctx, measure), measure.frequency)
    fields = (FormField("period", "Period", initial=period, hint=period_tools.forms(measure.frequency)),
              FormField("value", f"{practice.name}'s figure", max_length=30,
                        hint="a number or numerator/denominator, like 42/120"))
    return Reply(lines=[line("Or type it: ", Code(f"/measure record {measure.short_id} {period} 42/120"))],
                 form=Form("checkin.record", f"Record {measure.short_id}", "Record", fields,
                           {"measure": measure.short_id}))


@form("checkin.record", members_only=True)
def submit_record(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    typed = f"{context.get('measure', '')} {values.get('period') or ''} {values.get('value') or ''}"
    return on_field("value", measure_data.record, ctx, " ".join(typed.split()))


# --- the monthly round: open, remind, digest -----------------------------------------------------------

def _opening_due(session, now: datetime, time_zone: str) -> list[int]:
    latest = (now + MONTH_AHEAD).date().replace(day=1)
    due = []
    for pending in store.pending(session=session, before=latest):
        zone = pending.time_zone or time_zone
        today = local_today(now, zone)
        month = today.replace(day=1)
        opens = local_to_utc(nth_working_day(month, pending.working_day),
                             time(pending.minute // 60, pending.minute % 60), zone)
        if now >= opens and pending.opened_month != month:
            due.append(pending.cluster_id)
    return due


def _context(ctx_for, session, cluster: Cluster) -> Context:
    return ctx_for(session, cluster, Caller(SYSTEM, cluster.channel_id, cluster.team_id))


def _open(ctx_for, session, cluster_id: int, now: datetime) -> list:
    cluster = session.get(Cluster, cluster_id)
    ctx = _context(ctx_for, session, cluster)
    today = local_today(now, ctx.time_zone)
    settings = store.settings(session=session, cluster=cluster)
    clock = time(settings.minute // 60, settings.minute % 60)
    round_ = store.open_round(
        session=session, cluster=cluster, month=today.replace(day=1),
        remind_at=local_to_utc(working_days_after(today, REMIND_AFTER), clock, ctx.time_zone),
        digest_at=local_to_utc(working_days_after(today, DIGEST_AFTER), clock, ctx.time_zone))
    if round_ is None:
        return []  # another process opened it
    members = store.practice_members(session=session, cluster=cluster)
    missing = measure_news.missing_data(ctx, cluster, sorted({m.practice_id for m in members}))
    practices = {p.id: p for p in cluster_store.list_practices(session=session, cluster=cluster)}
    effects = []
    for member in members:
        practice = practices.get(member.practice_id)
        if practice is not None:
            effects.append(Direct(member.user_id, _question(ctx, cluster, round_, practice,
                                                            missing.get(practice.id, [])), team_id=cluster.team_id))
    return effects


def _question(ctx: Context, cluster: Cluster, round_: CheckinRound, practice: Practice, due: list,
              reminder: bool = False) -> Reply:
    heading = (f"Reminder: {practice.name} hasn't answered the {_month_label(round_.month)} check-in yet"
               if reminder else f"Monthly check-in for {practice.name} ({cluster.name}), {_month_label(round_.month)}")
    reply = Reply.tell(
        line(Strong(heading)),
        line("One answer for the practice: anyone in it can give it, and change it until it is posted to the "
             f"cluster's channel on {describe(round_.digest_at, ctx.time_zone)}."),
        *(line(f"{n}. {label}") for n, (_, label, _) in enumerate(QUESTIONS, start=1)),
        line("Answer with the button, or type ", Code(ANSWER_EXAMPLE), " in the cluster's channel."))
    reply.buttons = [Button("Answer", "checkin.answer", str(round_.id), "primary", channel=cluster.channel_id)]
    for measure, period in due[:RECORD_BUTTONS]:
        reply.lines.append(line("Data due: ", Code(measure.short_id), f" {measure.name} for "
                                f"{period_tools.label(period, measure.frequency)}"))
        reply.buttons.append(Button(f"Record {measure.short_id}", "checkin.record", measure.short_id,
                                    channel=cluster.channel_id))
    reply.lines += measure_news.more_due(due) if len(due) > RECORD_BUTTONS else []
    return reply


def _reminders_due(session, now: datetime, time_zone: str) -> list[int]:
    return store.rounds_to_remind(session=session, now=now)


def _remind(ctx_for, session, round_id: int, now: datetime) -> list:
    round_ = session.get(CheckinRound, round_id)
    if round_.digested_at is not None or not store.claim(session=session, round_id=round_id, what="reminded_at"):
        return []
    cluster = session.get(Cluster, round_.cluster_id)
    ctx = _context(ctx_for, session, cluster)
    answered = {a.practice_id for a in store.answers(session=session, round_=round_)}
    members = [m for m in store.practice_members(session=session, cluster=cluster) if m.practice_id not in answered]
    missing = measure_news.missing_data(ctx, cluster, sorted({m.practice_id for m in members}))
    practices = {p.id: p for p in cluster_store.list_practices(session=session, cluster=cluster)}
    return [Direct(m.user_id, _question(ctx, cluster, round_, practices[m.practice_id],
                                        missing.get(m.practice_id, []), reminder=True), team_id=cluster.team_id)
            for m in members if m.practice_id in practices]


def _digests_due(session, now: datetime, time_zone: str) -> list[int]:
    return store.rounds_to_digest(session=session, now=now)


def _digest(ctx_for, session, round_id: int, now: datetime) -> list:
    if not store.claim(session=session, round_id=round_id, what="digested_at"):
        return []
    round_ = session.get(CheckinRound, round_id)
    cluster = session.get(Cluster, round_.cluster_id)
    ctx = _context(ctx_for, session, cluster)
    reply = Reply.announce(*_digest_lines(ctx, cluster, round_))
    reply.lines.append(line("These show under Practice updates in the next meeting's agenda."))
    return [Post(None, cluster.channel_id, reply)]


TICKS.append((_opening_due, _open))
TICKS.append((_reminders_due, _remind))
TICKS.append((_digests_due, _digest))


# --- the next meeting's agenda --------------------------------------------------------------------------

def agenda_lines(ctx: Context, meeting: Meeting, cut, most: int) -> list[Line]:
    """"Practice updates": the latest check-in opened since the meeting before this one."""
    cluster = ctx.session.get(Cluster, meeting.cluster_id)
    round_ = store.latest_opened(session=ctx.session, cluster=cluster, before=meeting.starts_at)
    previous = meeting_store.previous_meeting(session=ctx.session, meeting=meeting)
    if round_ is None or (previous is not None and round_.opened_at <= previous.starts_at):
        return []
    given = store.answers(session=ctx.session, round_=round_)
    if not given:
        return []
    names = {p.id: p.name for p in cluster_store.list_practices(session=ctx.session, cluster=cluster)}
    lines = [line(Strong(f"Practice updates ({_month_label(round_.month)} check-in)"))]
    for answer_ in given[:most]:
        parts = [f"{LABELS[n]}: {cut(getattr(answer_, n))}" for n in LABELS if getattr(answer_, n)]
        lines.append(line("• ", Strong(names.get(answer_.practice_id, "A practice")), " — ", " · ".join(parts)))
    if len(given) > most:
        lines.append(line(f"…and {len(given) - most} more: ", Code("/checkin show")))
    return lines


schedule.AGENDA_PARTS.append(agenda_lines)
