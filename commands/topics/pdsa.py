"""/pdsa: PDSA cycles as ramps of a change idea (C4.1, C4.2 …): plan with a prediction, do, study against the
prediction, act (adopt, adapt or abandon; adapting offers the next cycle, prefilled).

A cycle may name the measure it should move (measure D1): `/measure chart D1` then marks the cycle at its period.
A cycle with a `by` date asks its planner, once, on the first working day after it (Scottish bank holidays
skipped), how it went, with the study form a tap away: the step teams most often skip (BJGP Open 2023).
"""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from commands.context import Caller, Context
from commands.errors import Refusal, on_field
from commands.measures.core import find_measure
from commands.meetings import schedule
from commands.registry import FAMILIES, TICKS, button, form, subcommand
from commands.results import (
    FORMER_MEMBER,
    Button,
    Choice,
    Code,
    Direct,
    Form,
    FormField,
    Line,
    Person,
    Reply,
    Strong,
    line,
)
from commands.text import parsing
from commands.text.dates import describe_day, is_working_day, local_today, parse_day, reads_as_date
from commands.text.guard import refuse_patient_identifiers
from commands.topics import core
from commands.topics.drivers import find_idea
from storage import clusters as cluster_store
from storage import meetings as meeting_store
from storage import qi as store
from storage.models import (
    PDSA_TEXT_MAX,
    ChangeIdea,
    Cluster,
    Measure,
    Meeting,
    PdsaAct,
    PdsaCycle,
    Practice,
    Topic,
)

PDSA = FAMILIES["/pdsa"]
PLAN_EXAMPLE = "/pdsa plan C4 Ward clerk emails the discharge list for 2 weeks predict 8 of 10 reviewed in time " \
               "measure D1"
PDSA.example = PLAN_EXAMPLE
PDSA.default = "list"
CYCLE_ID = re.compile(r"^[Cc](\d{1,9})\.(\d{1,4})$")
ACTS = {PdsaAct.ADOPT: "adopt: it works, make it how we do things",
        PdsaAct.ADAPT: "adapt: change it and test again",
        PdsaAct.ABANDON: "abandon: it didn't work, try another idea"}
ACT_WORDS = {"adopt": PdsaAct.ADOPT, "adopted": PdsaAct.ADOPT, "adapt": PdsaAct.ADAPT, "adapted": PdsaAct.ADAPT,
             "abandon": PdsaAct.ABANDON, "abandoned": PdsaAct.ABANDON}
LISTED = 40   # cycles in one /pdsa list answer
MONTH_AHEAD = timedelta(hours=14)  # the earliest time zone is UTC+14
SYSTEM = "clusterbot"


# --- reading what people type --------------------------------------------------------------------

def find_cycle(ctx: Context, token: str, example: str) -> tuple[ChangeIdea, PdsaCycle]:
    found = CYCLE_ID.match(token or "")
    if not found:
        what = f"“{parsing.shorten(token)}” isn't a PDSA cycle's id" if token else "Say which cycle"
        raise Refusal(f"{what}: cycles have ids like C4.1 (idea C4, cycle 1).", example=example)
    idea = find_idea(ctx, f"C{found.group(1)}", example)
    cycle = store.find_cycle(session=ctx.session, idea=idea, number=int(found.group(2)))
    if cycle is None:
        raise Refusal(f"{idea.short_id} has no cycle {idea.short_id}.{int(found.group(2))}.",
                      example=f"/pdsa list {idea.short_id}")
    return idea, cycle


def cycle_id(idea: ChangeIdea, cycle: PdsaCycle) -> str:
    return f"{idea.short_id}.{cycle.number}"


def _text(value: str, what: str, field: str | None = None, example: str | None = None) -> str:
    cleaned = " ".join(value.split()) if "\n" not in value else value.strip()
    if len(cleaned) > PDSA_TEXT_MAX:
        raise Refusal(f"The {what} is {len(cleaned)} characters; the limit is {PDSA_TEXT_MAX}.", field=field,
                      example=None if field else example)
    return refuse_patient_identifiers(cleaned, what, field)


def _by_date(ctx: Context, words: str, example: str, field: str | None = None) -> date:
    today = local_today(ctx.now(), ctx.time_zone)
    day = on_field(field, parse_day, words, today, example) if field else parse_day(words, today, example)
    if day < today:
        raise Refusal(f"{describe_day(day)} has passed: give the day the test should be done by.", field=field,
                      example=None if field else example)
    if day > today + timedelta(days=400):
        raise Refusal(f"{describe_day(day)} is more than a year away: a PDSA cycle is a small, quick test.",
                      field=field, example=None if field else example)
    return day


def _practice(ctx: Context, code: str, example: str, field: str | None = None) -> Practice:
    practice = cluster_store.find_practice(session=ctx.session, cluster=ctx.require_cluster(), code=code)
    if practice is None:
        raise Refusal(f"No practice with code {code} in this cluster.", field=field,
                      example=None if field else example)
    return practice


def stage_of(cycle: PdsaCycle) -> str:
    if cycle.act:
        return f"act: {cycle.act}"
    return "study" if cycle.study else "do" if cycle.done else "plan"


# --- saying a cycle back -------------------------------------------------------------------------

def cycle_lines(ctx: Context, idea: ChangeIdea, cycle: PdsaCycle, *, full: bool = True) -> list[Line]:
    practice = ctx.session.get(Practice, cycle.practice_id) if cycle.practice_id else None
    measure = ctx.session.get(Measure, cycle.measure_id) if cycle.measure_id else None
    where = [*((" · at ", practice.name, " (", Code(practice.code), ")") if practice else ()),
             *((" · measure ", Code(measure.short_id), f" {measure.name}") if measure else ()),
             *((f" · by {describe_day(cycle.due_on)}",) if cycle.due_on else ())]
    lines = [line(Strong(f"{cycle_id(idea, cycle)}"), f" ({stage_of(cycle)}) · idea ", Code(idea.short_id), " ",
                  idea.text, *where, " · planned by ", Person(cycle.planned_by))]
    if not full:
        return lines
    lines.append(line(Strong("Plan:"), " ", cycle.plan))
    lines.append(line(Strong("Prediction:"), " ", cycle.prediction or "(none: what do we expect to happen?)"))
    if cycle.done:
        lines.append(line(Strong("Do:"), " ", cycle.done))
    if cycle.study:
        lines.append(line(Strong("Study:"), " ", cycle.study))
    if cycle.act:
        lines.append(line(Strong("Act:"), f" {cycle.act}", *((": ", cycle.act_note) if cycle.act_note else ())))
    return lines


def _next_buttons(idea: ChangeIdea, cycle: PdsaCycle) -> list[Button]:
    short = cycle_id(idea, cycle)
    if cycle.act == PdsaAct.ADAPT:
        return [Button(f"Plan {idea.short_id}.{cycle.number + 1}", "pdsa.next", short, "primary")]
    if cycle.act:
        return []
    if cycle.study:
        return [Button("Act", "pdsa.act", short, "primary")]
    if cycle.done:
        return [Button("Study", "pdsa.study", short, "primary")]
    return [Button("Do", "pdsa.do", short, "primary"), Button("Study", "pdsa.study", short)]


# --- plan ------------------------------------------------------------------------------------------

def _plan_options(ctx: Context) -> dict[str, parsing.Option]:
    today = local_today(ctx.now(), ctx.time_zone)
    return {
        "by": parsing.Option(lambda v: reads_as_date(v, today), most=6),
        "practice": parsing.Option(lambda v: bool(parsing.PRACTICE_CODE.match(v[0]))),
        "measure": parsing.Option(lambda v: bool(re.match(r"^[Dd]\d{1,9}$", v[0]))),
    }


PREDICT = re.compile(r"(?i)(?:^|\s)predicts?\s*:?\s+")


@subcommand(PDSA, "plan C4 <what we will test> predict <prediction> [by <date>] [practice <code>] [measure D1]",
            PLAN_EXAMPLE, "plan a PDSA cycle of a change idea (C4.1, C4.2 …) with its prediction", members_only=True)
def plan(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    idea = find_idea(ctx, token, PLAN_EXAMPLE)
    example = PLAN_EXAMPLE.replace("C4", idea.short_id)
    if not rest.strip():
        return Reply(lines=[line("Or type it: ", Code(example))], form=plan_form(ctx, idea))
    parts = PREDICT.split(rest, maxsplit=1)
    if len(parts) < 2 or not parts[0].strip():
        raise Refusal("Say what you will test, then predict and what you expect to happen: a test without a "
                      "prediction teaches little.", example=example)
    words, settings = parsing.split_options(parts[1].split(), _plan_options(ctx))
    if not words:
        raise Refusal("Say what you expect to happen after predict.", example=example)
    due = practice = measure = None
    for keyword, value in settings:
        if keyword == "by":
            due = _by_date(ctx, " ".join(value), example)
        elif keyword == "practice":
            practice = _practice(ctx, value[0], example)
        else:
            measure = find_measure(ctx, value[0], example)
    if practice is None and ctx.member and ctx.member.practice_id:
        practice = ctx.session.get(Practice, ctx.member.practice_id)
    return _save_plan(ctx, idea, _text(parts[0], "plan", example=example), _text(" ".join(words), "prediction",
                      example=example), due, practice, measure)


def _save_plan(ctx: Context, idea: ChangeIdea, what: str, prediction: str, due: date | None,
               practice: Practice | None, measure: Measure | None) -> Reply:
    cycle = store.add_cycle(session=ctx.session, cluster=ctx.require_cluster(), idea=idea, plan=what,
                            prediction=prediction, due_on=due, practice_id=practice.id if practice else None,
                            measure_id=measure.id if measure else None, by=ctx.caller.user_id,
                            submission_key=ctx.submission_key)
    short = cycle_id(idea, cycle)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " planned PDSA cycle ", Code(short), ":"),
                           *cycle_lines(ctx, idea, cycle))
    if due:
        reply.lines.append(line(f"On the first working day after {describe_day(due)}, ", Person(cycle.planned_by),
                                f" will be asked how {short} went."))
    if measure is None:
        reply.lines.append(line("Link a measure so the run chart shows when it was tried: ",
                                Code(f"/pdsa plan {idea.short_id} … measure D1"), " (next time)."))
    reply.buttons = _next_buttons(idea, cycle)
    return reply


def plan_form(ctx: Context, idea: ChangeIdea, after: PdsaCycle | None = None) -> Form:
    """The plan form; `after` (an adapted cycle) prefills the next one from it."""
    practices = cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster())
    own = after.practice_id if after else (ctx.member.practice_id if ctx.member else None)
    chosen = next((p.code for p in practices if p.id == own), "none")
    measure = ctx.session.get(Measure, after.measure_id) if after and after.measure_id else None
    fields = [
        FormField("plan", "What will we test (who, where, how many, for how long)?", "long_text",
                  max_length=PDSA_TEXT_MAX, initial=after.plan if after else "",
                  hint="Small and quick: one clinician, one week, ten patients"),
        FormField("prediction", "What do we predict will happen?", "long_text", max_length=PDSA_TEXT_MAX,
                  initial=after.prediction if after else ""),
        FormField("by", "Done by", "date", optional=True),
        FormField("measure", "Measure it should move (e.g. D1)", optional=True, max_length=12,
                  initial=measure.short_id if measure else ""),
    ]
    if practices:
        fields.append(FormField("practice", "Practice testing it", "choice", initial=chosen, choices=(
            Choice("none", "The whole cluster"), *(Choice(p.code, f"{p.name} ({p.code})") for p in practices))))
    number = f"{idea.short_id}.{after.number + 1}" if after else idea.short_id
    return Form("pdsa.plan", f"Plan a cycle of {number}"[:24], "Plan", tuple(fields), {"idea": idea.short_id})


@form("pdsa.plan", members_only=True)
def submit_plan(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    cluster = ctx.require_cluster()
    if ctx.submission_key and store.find_submitted_cycle(session=ctx.session, cluster=cluster,
                                                          submission_key=ctx.submission_key):
        return Reply()  # the same form submitted twice: the first one did the work
    idea = find_idea(ctx, context.get("idea", ""), PLAN_EXAMPLE)
    what = _text(values.get("plan") or "", "plan", "plan")
    if not what:
        raise Refusal("Say what you will test.", field="plan")
    prediction = _text(values.get("prediction") or "", "prediction", "prediction")
    if not prediction:
        raise Refusal("Say what you predict will happen: a test without a prediction teaches little.",
                      field="prediction")
    due = None
    if values.get("by"):
        try:
            due = date.fromisoformat(values["by"])
        except ValueError:
            raise Refusal("Pick a date from the calendar.", field="by") from None
        due = _by_date(ctx, f"{due:%Y-%m-%d}", PLAN_EXAMPLE, "by")
    measure = None
    if (values.get("measure") or "").strip():
        measure = on_field("measure", find_measure, ctx, values["measure"].strip(), PLAN_EXAMPLE)
    practice = None
    if (values.get("practice") or "none") != "none":
        practice = _practice(ctx, values["practice"], PLAN_EXAMPLE, "practice")
    return _save_plan(ctx, idea, what, prediction, due, practice, measure)


@button("pdsa.next", members_only=True)
def next_button(ctx: Context, value: str) -> Reply:
    idea, cycle = find_cycle(ctx, value, "/pdsa show C4.1")
    return Reply(lines=[line("Or type it: ", Code(f"/pdsa plan {idea.short_id} <what> predict <prediction>"))],
                 form=plan_form(ctx, idea, after=cycle))


# --- do, study, act ----------------------------------------------------------------------------------

STEPS = {
    "do": ("What happened when we tried it?", "done", "Record what happened"),
    "study": ("What did we learn, against the prediction?", "study", "Record what we learned"),
}


def _step_form(step: str, short: str, initial: str = "") -> Form:
    label, _, title = STEPS[step]
    return Form(f"pdsa.{step}", f"{step.capitalize()}: {short}", "Save",
                (FormField("text", label, "long_text", max_length=PDSA_TEXT_MAX, initial=initial),), {"cycle": short})


def _record(ctx: Context, step: str, token: str, text: str, field: str | None = None) -> Reply:
    example = f"/pdsa {step} C4.1 " + ("7 of 10 reviewed in time" if step == "do" else
                                        "fewer than predicted: letters came late on Fridays")
    idea, cycle = find_cycle(ctx, token, example)
    short = cycle_id(idea, cycle)
    if not text.strip():
        if field:
            raise Refusal("Write it down, however short.", field=field)
        return Reply(lines=[line("Or type it: ", Code(f"/pdsa {step} {short} <text>"))],
                     form=_step_form(step, short, getattr(cycle, STEPS[step][1])))
    if cycle.act:
        raise Refusal(f"{short} is finished ({cycle.act}). Plan the next cycle to test again.", field=field,
                      example=None if field else f"/pdsa plan {idea.short_id} <what> predict <prediction>")
    setattr(cycle, STEPS[step][1], _text(text, "study" if step == "study" else "note", field,
                                         example.replace("C4.1", short)))
    store.save_cycle(session=ctx.session, cycle=cycle)
    word = "what happened (Do)" if step == "do" else "what was learned (Study)"
    reply = Reply.announce(line(Person(ctx.caller.user_id), f" recorded {word} in ", Code(short), ":"),
                           *cycle_lines(ctx, idea, cycle)[:1], line(Strong("Prediction:"), " ", cycle.prediction),
                           line(Strong("Do:" if step == "do" else "Study:"), " ", text.strip()))
    if step == "study":
        reply.lines.append(line("Next: adopt, adapt or abandon? ", Code(f"/pdsa act {short} adapt <what changes>")))
    reply.buttons = _next_buttons(idea, cycle)
    return reply


@subcommand(PDSA, "do C4.1 [<what happened>]", "/pdsa do C4.1 Ran for 2 weeks; 10 patients discharged",
            "record what happened when the test was run", members_only=True)
def do(ctx: Context, rest: str) -> Reply:
    token, text = parsing.split_first(rest)
    return _record(ctx, "do", token, text)


@subcommand(PDSA, "study C4.1 [<what we learned, against the prediction>]",
            "/pdsa study C4.1 7 of 10 reviewed, fewer than the 8 predicted: Friday letters came late",
            "record what was learned, against the prediction", members_only=True)
def study(ctx: Context, rest: str) -> Reply:
    token, text = parsing.split_first(rest)
    return _record(ctx, "study", token, text)


@button("pdsa.do", members_only=True)
def do_button(ctx: Context, value: str) -> Reply:
    return _record(ctx, "do", value, "")


@button("pdsa.study", members_only=True)
def study_button(ctx: Context, value: str) -> Reply:
    return _record(ctx, "study", value, "")


@form("pdsa.do", members_only=True)
def submit_do(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    return _record(ctx, "do", context.get("cycle", ""), values.get("text") or "", "text")


@form("pdsa.study", members_only=True)
def submit_study(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    return _record(ctx, "study", context.get("cycle", ""), values.get("text") or "", "text")


ACT_EXAMPLE = "/pdsa act C4.1 adapt Try it with the Friday letters too"


def _act_form(short: str) -> Form:
    return Form("pdsa.act", f"Act: {short}", "Save", (
        FormField("act", "What now?", "choice", initial=PdsaAct.ADAPT,
                  choices=tuple(Choice(k.value, v) for k, v in ACTS.items())),
        FormField("note", "Why, and what changes next?", "long_text", optional=True, max_length=PDSA_TEXT_MAX),
    ), {"cycle": short})


def _act(ctx: Context, token: str, word: str, note: str, field: str | None = None) -> Reply:
    idea, cycle = find_cycle(ctx, token, ACT_EXAMPLE)
    short = cycle_id(idea, cycle)
    if not word:
        return Reply(lines=[line("Or type it: ", Code(f"/pdsa act {short} adopt|adapt|abandon <note>"))],
                     form=_act_form(short))
    act = ACT_WORDS.get(word.lower())
    if act is None:
        raise Refusal(f"“{parsing.shorten(word)}” isn't a decision: adopt, adapt or abandon.", field=field or None,
                      example=None if field else ACT_EXAMPLE.replace("C4.1", short))
    cycle.act, cycle.act_note = act, _text(note, "note", "note" if field else None, ACT_EXAMPLE)
    store.save_cycle(session=ctx.session, cycle=cycle)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " decided to ", Strong(act.value), " ", Code(short), " (",
                                idea.text, ")", *((": ", cycle.act_note) if cycle.act_note else ()), "."))
    if not cycle.study:
        reply.lines.append(line("Its study step is empty: what was learned, against the prediction? ",
                                Code(f"/pdsa study {short} <what we learned>")))
    if act == PdsaAct.ADAPT:
        nxt = f"{idea.short_id}.{cycle.number + 1}"
        reply.lines.append(line(f"The next cycle, {nxt}, is ready to plan from this one: ",
                                Code(f"/pdsa plan {idea.short_id} <what changes> predict <prediction>")))
    elif act == PdsaAct.ADOPT:
        reply.lines.append(line("Keep measuring to see the change hold: ",
                                Code(f"/measure chart {_measure_id(ctx, cycle)}") if cycle.measure_id else
                                "a measure of the topic shows it."))
    reply.buttons = _next_buttons(idea, cycle)
    return reply


def _measure_id(ctx: Context, cycle: PdsaCycle) -> str:
    return ctx.session.get(Measure, cycle.measure_id).short_id


@subcommand(PDSA, "act C4.1 adopt|adapt|abandon [<note>]", ACT_EXAMPLE,
            "decide: adopt, adapt (offers the next cycle, prefilled) or abandon", members_only=True)
def act(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    word, note = parsing.split_first(rest)
    return _act(ctx, token, word, note)


@button("pdsa.act", members_only=True)
def act_button(ctx: Context, value: str) -> Reply:
    return _act(ctx, value, "", "")


@form("pdsa.act", members_only=True)
def submit_act(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    return _act(ctx, context.get("cycle", ""), values.get("act") or "", values.get("note") or "", "act")


# --- reading cycles ------------------------------------------------------------------------------------

@subcommand(PDSA, "list [T3|C4|mine]", "/pdsa list T3", "PDSA cycles: of a topic, of an idea, or yours",
            personal=True)
def list_cycles(ctx: Context, rest: str) -> Reply:
    word = parsing.split_first(rest)[0]
    cluster = ctx.require_cluster()
    if not word:
        rows, whose = store.cycles(session=ctx.session, cluster=cluster), "in the cluster"
    elif word.lower() == "mine":
        rows, whose = store.cycles(session=ctx.session, cluster=cluster, planned_by=ctx.caller.user_id), "you planned"
    elif word[:1] in "Tt":
        topic = core._topic(ctx, word, "/pdsa list T3")
        rows, whose = store.cycles(session=ctx.session, cluster=cluster, topic=topic), f"of {topic.short_id}"
    else:
        idea = find_idea(ctx, word, "/pdsa list C4")
        rows, whose = store.cycles(session=ctx.session, cluster=cluster, idea=idea), f"of {idea.short_id}"
    if not rows:
        return Reply.tell(line(f"No PDSA cycles {whose} yet. Plan one: ", Code(PLAN_EXAMPLE)))
    lines = [line(Strong(f"PDSA cycles {whose} ({len(rows)})"))]
    for row in rows[-LISTED:]:
        lines.append(line("• ", Code(row.short_id), f" [{stage_of(row.cycle)}] ", row.cycle.plan[:120],
                          f" ({row.topic.short_id})"))
    if len(rows) > LISTED:
        lines.append(line(f"The first {len(rows) - LISTED} are in the cluster's workbook: ", Code("/cluster export")))
    return Reply.tell(*lines)


@subcommand(PDSA, "show C4.1", "/pdsa show C4.1", "a cycle: plan, prediction, do, study and act", personal=True)
def show(ctx: Context, rest: str) -> Reply:
    idea, cycle = find_cycle(ctx, parsing.split_first(rest)[0], "/pdsa show C4.1")
    reply = Reply.tell(*cycle_lines(ctx, idea, cycle))
    reply.buttons = _next_buttons(idea, cycle)
    return reply


def cycles_lines(ctx: Context, topic: Topic) -> list[Line]:
    """A topic's cycles on its card (core's `show` hook): each with its stage and its study."""
    rows = store.cycles(session=ctx.session, cluster=ctx.require_cluster(), topic=topic)
    if not rows:
        return []
    lines = [line(Strong(f"PDSA cycles ({len(rows)})"))]
    for row in rows[-core.NOTES_SHOWN:]:
        lines.append(line("• ", Code(row.short_id), f" [{stage_of(row.cycle)}] ", row.cycle.plan[:150],
                          *((" · learned: ", row.cycle.study[:150]) if row.cycle.study else ())))
    return lines


core.SHOW_PARTS.append(cycles_lines)


# --- the scheduler: "How did C4.1 go?" ---------------------------------------------------------------

def _prompts_due(session, now: datetime, time_zone: str) -> list[int]:
    """Cycles whose `by` day has passed somewhere (the earliest time zone first) and whose planner has not
    been asked; each is checked against its cluster's own day and working days when sent."""
    return store.prompts_due(session=session, before=(now + MONTH_AHEAD).date())


def _send_prompt(ctx_for, session, item: int, now: datetime) -> list:
    cycle = session.get(PdsaCycle, item)
    if cycle is None or cycle.study or cycle.act or cycle.prompted_at is not None or cycle.planned_by == FORMER_MEMBER:
        return []  # learned, finished, asked already, or its planner was erased: nobody to ask
    cluster = session.get(Cluster, cycle.cluster_id)
    ctx = ctx_for(session, cluster, Caller(SYSTEM, cluster.channel_id, cluster.team_id))
    today = local_today(now, ctx.time_zone)
    if today <= cycle.due_on or not is_working_day(today):
        return []  # the day after `by` has not come, or it is a weekend or a Scottish bank holiday: a working day
    if not store.claim_prompt(session=session, cycle_id=item, now=now):
        return []  # another process asked
    idea = session.get(ChangeIdea, cycle.idea_id)
    short = cycle_id(idea, cycle)
    reply = Reply.tell(line(Strong(f"How did {short} go?"), f" ({cluster.name})"),
                       line("You planned: ", cycle.plan),
                       line("You predicted: ", cycle.prediction),
                       line("What did you learn, against the prediction? ",
                            Code(f"/pdsa study {short} <what we learned>"),
                            " in the cluster's channel, or the button."))
    reply.buttons = [Button("Record the study", "pdsa.study", short, "primary", channel=cluster.channel_id)]
    if not cycle.done:
        reply.buttons.append(Button("Record what happened", "pdsa.do", short, channel=cluster.channel_id))
    return [Direct(cycle.planned_by, reply, team_id=cluster.team_id)]


TICKS.append((_prompts_due, _send_prompt))


# --- the meeting's agenda: cycles to study or decide ----------------------------------------------------

AGENDA_PLAN = 60  # characters of a cycle's plan in the agenda
AGENDA_STATES = {"planned": "planned", "doing": "doing: study it", "studied": "studied: adopt, adapt or abandon?"}


def agenda_lines(ctx: Context, meeting: Meeting, cut, most: int) -> list[Line]:
    """"QI cycles": cycles not yet acted on whose `by` date falls on or before the meeting's day and that are not
    studied yet, or whose Do or Study was recorded since the previous meeting. One query."""
    cluster = ctx.session.get(Cluster, meeting.cluster_id)
    previous = meeting_store.previous_meeting(session=ctx.session, meeting=meeting)
    tz = ZoneInfo(ctx.time_zone)
    day = meeting.starts_at.astimezone(tz).date()
    rows = store.agenda_cycles(session=ctx.session, cluster=cluster, since=previous.starts_at if previous else None,
                               day=day)
    if not rows:
        return []
    lines = [line(Strong("QI cycles to study or decide"))]
    for row in rows[:most]:
        cycle = row.cycle
        state = "studied" if cycle.study else "doing" if cycle.done else "planned"
        by = f" · by {describe_day(cycle.due_on)}" if cycle.due_on else ""
        lines.append(line("• ", Code(row.short_id), " ", cut(parsing.shorten(cycle.plan, AGENDA_PLAN)), " (",
                          Person(cycle.planned_by), f") — {AGENDA_STATES[state]}{by}"))
    if len(rows) > most:
        lines.append(line(f"…and {len(rows) - most} more: ", Code("/pdsa list")))
    first = rows[0]
    step = "act" if first.cycle.study else "study"
    hint = (f"/pdsa act {first.short_id} adopt|adapt|abandon" if step == "act"
            else f"/pdsa study {first.short_id} <what we learned>")
    lines.append(line("Record it: ", Code(hint)))
    return lines


schedule.AGENDA_PARTS.append(agenda_lines)
