"""/topic: propose QI topics, shape them, and move them through the improvement lifecycle.

proposed → agreed → active → done, and dropped (with a reason) from anywhere. Leads move
topics, back as well as forward; a proposer may edit their own topic while it is proposed.
"""

import re
from datetime import datetime

from commands import bounds
from commands.context import Context
from commands.errors import Refusal, on_field
from commands.registry import FAMILIES, button, form, item_command, subcommand
from commands.results import Button, Choice, Code, Form, FormField, Line, Person, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import describe
from commands.text.guard import refuse_patient_identifiers
from storage import clusters as cluster_store
from storage import topics as store
from storage.models import (
    TOPIC_TEXT_MAX,
    TOPIC_TITLE_MAX,
    PdsaStep,
    Practice,
    Topic,
    TopicBase,
    TopicSource,
    TopicStatus,
)

TOPIC = FAMILIES["/topic"]
TOPIC.example = "/topic propose Asthma reviews after discharge -- 1 in 3 missed last year"
TOPIC.default = "form"

PROPOSE_EXAMPLE = "/topic propose Asthma reviews after discharge -- 1 in 3 missed last year"
STATUSES = [s.value for s in TopicStatus]
OPEN = [TopicStatus.PROPOSED, TopicStatus.AGREED, TopicStatus.ACTIVE]
SOURCE_LABELS = {
    TopicSource.PRACTICES: "Our practices",
    TopicSource.BOARD: "Health Board",
    TopicSource.HSCP: "HSCP",
    TopicSource.NATIONAL: "National programme",
    TopicSource.OTHER: "Other",
}
STEP = re.compile(r"^(plan|do|study|act)\s*:\s*", re.IGNORECASE)
NO_PRACTICE = "none"


# --- reading what people type -------------------------------------------------------------

def _topic(ctx: Context, token: str, example: str) -> Topic:
    return parsing.find_item(ctx, token, prefix="T", noun="topic", find=store.find_topic, example=example)


def _status(token: str, example: str) -> TopicStatus:
    if token.lower() not in STATUSES:
        what = f"“{token}” isn't a topic status" if token else "Say which status"
        raise Refusal(f"{what}. Use one of: {', '.join(STATUSES)}.", example=example)
    return TopicStatus(token.lower())


def _text(value: str, what: str, limit: int, field: str | None = None) -> str:
    cleaned = value.strip()
    if len(cleaned) > limit:
        raise Refusal(f"The {what} is {len(cleaned)} characters; the limit is {limit}.", field=field,
                      example=None if field else PROPOSE_EXAMPLE)
    return refuse_patient_identifiers(cleaned, what, field)


def _title(value: str, field: str | None = None) -> str:
    title = " ".join(value.split())
    if not title:
        raise Refusal("Give the topic a title.", field=field, example=None if field else PROPOSE_EXAMPLE)
    return _text(title, "title", TOPIC_TITLE_MAX, field)


# --- showing topics ------------------------------------------------------------------------

def _when(ctx: Context, moment: datetime) -> str:
    return describe(moment, ctx.time_zone)


def _practice(ctx: Context, practice_id: int | None) -> Practice | None:
    return ctx.session.get(Practice, practice_id) if practice_id else None


def _summary(ctx: Context, topic: Topic) -> Line:
    practice = _practice(ctx, topic.practice_id)
    return line("• ", Code(topic.short_id), " ", topic.title, " — ", SOURCE_LABELS[topic.source],
                *((" · ", practice.name) if practice else ()))


def _card(ctx: Context, topic: Topic, heading: Line | None = None) -> list[Line]:
    practice = _practice(ctx, topic.practice_id)
    lines = [heading] if heading else []
    lines += [
        line(Strong(f"{topic.short_id} · {topic.title}")),
        line(f"Status: {topic.status} · Source: {SOURCE_LABELS[topic.source]}",
             *((" · Practice: ", practice.name, " (", Code(practice.code), ")") if practice else ()),
             " · Proposed by ", Person(topic.proposed_by)),
    ]
    for label, value in (("Why it matters", topic.why), ("Aim", topic.aim), ("Measure", topic.measure)):
        if value:
            lines.append(line(Strong(label + ":"), " ", value))
    return lines


def _buttons(ctx: Context, topic: Topic) -> list[Button]:
    buttons = [Button("Show", "topic.show", topic.short_id)]
    if _may_edit(ctx, topic):
        buttons.append(Button("Edit", "topic.edit", topic.short_id))
    if topic.status == TopicStatus.PROPOSED:
        buttons += [Button("Agree (leads)", "topic.agree", topic.short_id, "primary"),
                    Button("Drop (leads)", "topic.drop", topic.short_id, "danger")]
    return buttons


def _may_edit(ctx: Context, topic: Topic) -> bool:
    return ctx.is_lead or (topic.proposed_by == ctx.caller.user_id and topic.status == TopicStatus.PROPOSED)


# --- the form ------------------------------------------------------------------------------

def topic_form(ctx: Context, topic: Topic | None = None) -> Form:
    """Propose (no topic) or edit (a topic) — the same fields, prefilled when editing."""
    practices = cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster())
    own = _practice(ctx, ctx.member.practice_id if ctx.member else None)
    current = _practice(ctx, topic.practice_id) if topic else own
    fields = [
        FormField("title", "Title", max_length=TOPIC_TITLE_MAX, initial=topic.title if topic else ""),
        FormField("why", "Why it matters", "long_text", optional=True, max_length=TOPIC_TEXT_MAX,
                  initial=topic.why if topic else ""),
        FormField("aim", "Aim: what are we trying to accomplish, by how much, by when?", "long_text",
                  optional=True, max_length=TOPIC_TEXT_MAX, initial=topic.aim if topic else "",
                  hint="e.g. 90% of patients discharged after an asthma admission reviewed within 2 weeks by June"),
        FormField("measure", "How will we know it's an improvement? (a measure)", "long_text", optional=True,
                  max_length=TOPIC_TEXT_MAX, initial=topic.measure if topic else ""),
        FormField("source", "Where did the idea come from?", "choice",
                  initial=topic.source if topic else TopicSource.PRACTICES,
                  choices=tuple(Choice(k, v) for k, v in SOURCE_LABELS.items())),
    ]
    if practices:
        fields.append(FormField(
            "practice", "Proposing practice", "choice", initial=current.code if current else NO_PRACTICE,
            choices=(Choice(NO_PRACTICE, "No practice"),
                     *(Choice(p.code, f"{p.name} ({p.code})") for p in practices)),
        ))
    if topic:
        return Form("topic.form", f"Edit {topic.short_id}", "Save", tuple(fields), {"topic": topic.short_id})
    return Form("topic.form", "Propose a QI topic", "Propose", tuple(fields))


def _topic_from_form(ctx: Context, values: dict[str, str]) -> TopicBase:
    source = values.get("source") or TopicSource.PRACTICES
    if source not in SOURCE_LABELS:
        raise Refusal("Choose where the idea came from.", field="source")
    code = values.get("practice") or NO_PRACTICE
    practice = None
    if code != NO_PRACTICE:
        practice = cluster_store.find_practice(session=ctx.session, cluster=ctx.cluster, code=code)
        if practice is None:
            raise Refusal("That practice has been removed; choose another.", field="practice")
    return TopicBase(
        title=_title(values.get("title") or "", "title"),
        why=_text(values.get("why") or "", "why it matters", TOPIC_TEXT_MAX, "why"),
        aim=_text(values.get("aim") or "", "aim", TOPIC_TEXT_MAX, "aim"),
        measure=_text(values.get("measure") or "", "measure", TOPIC_TEXT_MAX, "measure"),
        source=source,
        practice_id=practice.id if practice else None,
    )


@form("topic.form", members_only=True)
def submit_topic(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    cluster = ctx.require_cluster()
    if context.get("topic"):
        return _save_edit(ctx, _topic(ctx, context["topic"], "/topic show T3"), values)
    if ctx.submission_key and store.find_submitted_topic(session=ctx.session, cluster=cluster,
                                                          submission_key=ctx.submission_key):
        return Reply()  # the same form submitted twice: the first one did the work
    topic = store.create_topic(session=ctx.session, cluster=cluster, data=_topic_from_form(ctx, values),
                               proposed_by=ctx.caller.user_id, submission_key=ctx.submission_key)
    return _announce_new(ctx, topic)


def _save_edit(ctx: Context, topic: Topic, values: dict[str, str]) -> Reply:
    if not _may_edit(ctx, topic):
        raise Refusal(_edit_refusal(topic), field="title")
    store.update_topic(session=ctx.session, topic=topic, data=_topic_from_form(ctx, values))
    return Reply.announce(*_card(ctx, topic, line(Person(ctx.caller.user_id), " updated ", Code(topic.short_id), ":")))


def _edit_refusal(topic: Topic) -> str:
    if topic.status != TopicStatus.PROPOSED:
        return f"{topic.short_id} is {topic.status}: only leads can edit it now."
    return f"Only whoever proposed {topic.short_id}, or a lead, can edit it."


def _announce_new(ctx: Context, topic: Topic) -> Reply:
    reply = Reply.announce(*_card(ctx, topic, line(Person(ctx.caller.user_id), " proposed a QI topic:")))
    reply.buttons = _buttons(ctx, topic)
    return reply


# --- typed commands ------------------------------------------------------------------------

@subcommand(TOPIC, "form", "/topic", "open the form to propose a topic (also /topic alone)", members_only=True)
def open_form(ctx: Context, rest: str) -> Reply:
    return Reply(lines=[line("Proposing takes a form. Here, type it instead: ", Code(PROPOSE_EXAMPLE))],
                 form=topic_form(ctx))


SOURCE_WORDS = {"board": TopicSource.BOARD, "hscp": TopicSource.HSCP, "national": TopicSource.NATIONAL,
                "practices": TopicSource.PRACTICES, "practice": TopicSource.PRACTICES, "other": TopicSource.OTHER}
FIELD_MARK = re.compile(r"(?i)(?:^|\s)(aim|measure)\s*:")


def _source(word: str, example: str) -> TopicSource:
    if word.lower() not in SOURCE_WORDS:
        raise Refusal(f"“{parsing.shorten(word)}” isn't a source. Use board, hscp, national, practices or other.",
                      example=example)
    return SOURCE_WORDS[word.lower()]


def _typed_topic(ctx: Context, rest: str) -> TopicBase:
    """`<title> [-- <why>] [aim: <text>] [measure: <text>] [source board|hscp|national|practices|other]`:
    source is read only last and only with one of its words; aim and measure only with their colon."""
    words, settings = parsing.split_options(rest.split(), {
        "source": parsing.Option(lambda v: v[0].lower() in SOURCE_WORDS)})
    parts = FIELD_MARK.split(" ".join(words))
    title, _, why = parts[0].partition("--")
    fields = {name.lower(): value for name, value in zip(parts[1::2], parts[2::2], strict=True)}
    own = ctx.member.practice_id if ctx.member else None
    return TopicBase(title=_title(title), why=_text(why, "description", TOPIC_TEXT_MAX),
                     aim=_text(fields.get("aim", ""), "aim", TOPIC_TEXT_MAX),
                     measure=_text(fields.get("measure", ""), "measure", TOPIC_TEXT_MAX),
                     source=SOURCE_WORDS[settings[-1][1][0].lower()] if settings else TopicSource.PRACTICES,
                     practice_id=own)


@subcommand(TOPIC, "propose <title> [-- <why it matters>] [aim: <text>] [measure: <text>] "
            "[source board|hscp|national|practices|other]", PROPOSE_EXAMPLE, "propose a QI topic", members_only=True)
def propose(ctx: Context, rest: str) -> Reply:
    topic = store.create_topic(session=ctx.session, cluster=ctx.cluster, data=_typed_topic(ctx, rest),
                               proposed_by=ctx.caller.user_id)
    return _announce_new(ctx, topic)


@subcommand(TOPIC, "list [proposed|agreed|active|done|dropped|all]", "/topic list agreed",
            "topics grouped by status (open ones unless you say)", personal=True)
def list_topics(ctx: Context, rest: str) -> Reply:
    word = parsing.split_first(rest)[0].lower()
    statuses = OPEN if not word else STATUSES if word == "all" else [_status(word, "/topic list agreed")]
    topics = store.list_topics(session=ctx.session, cluster=ctx.cluster, statuses=statuses)
    if not topics:
        which = word or "open"
        return Reply.tell(line(f"No {which} topics. Propose one: ", Code(PROPOSE_EXAMPLE)))
    lines = [line(Strong(f"Topics in {ctx.cluster.name}"))]
    for status in statuses:
        group = [t for t in topics if t.status == status]
        if group:
            lines.append(line(Strong(f"{status.capitalize()} ({len(group)})")))
            lines += [_summary(ctx, t) for t in group[:LISTED]]
            if len(group) > LISTED:
                lines.append(line(f"…and {len(group) - LISTED} more {status} topics: every topic is in ",
                                  Code("/cluster export")))
    return Reply.tell(*lines)


@item_command(TOPIC, "show T3", "/topic show T3", "a topic's card: fields, history and notes", find=_topic,
              action="topic.show")
def show(ctx: Context, topic: Topic) -> Reply:
    lines = _card(ctx, topic)
    lines.append(line(Strong("History")))
    for move in store.topic_moves(session=ctx.session, topic=topic):
        change = "proposed it" if move.from_status is None else f"moved it from {move.from_status} to {move.to_status}"
        lines.append(line(f"• {_when(ctx, move.at)} ", Person(move.by), f" {change}",
                          *((": ", move.reason) if move.reason else ())))
    notes = store.topic_notes(session=ctx.session, topic=topic)
    if notes:
        lines.append(line(Strong("Notes")))
    if len(notes) > NOTES_SHOWN:  # the latest, numbered as ever (withdraw note <n>); all are in the workbook
        lines.append(line(f"The first {len(notes) - NOTES_SHOWN} notes are in the cluster's workbook: ",
                          Code("/cluster export")))
    for number, note in list(enumerate(notes, start=1))[-NOTES_SHOWN:]:
        step = f"[{note.step.upper()}] " if note.step else ""
        lines.append(line(f"{number}. {_when(ctx, note.at)} ", Person(note.by), f": {step}", note.text))
    for part in SHOW_PARTS:  # the QI method's modules add their parts (progress scores, …)
        lines += part(ctx, topic)
    reply = Reply.tell(*lines)
    reply.buttons = [b for b in _buttons(ctx, topic) if b.action != "topic.show"]
    return reply


# Parts of a topic's card that other modules add, each (ctx, topic) -> lines; appended when they are imported.
SHOW_PARTS: list = []


LISTED = 50  # topics of one status in /topic list: a flood of proposals still makes one message
NOTES_SHOWN = 20  # a topic's card shows its latest notes: 100 notes of 2,000 characters are more than a message takes
EDIT_EXAMPLE = "/topic edit T3 aim 90% reviewed within 2 weeks by June"
EDIT_FIELDS = ("title", "why", "aim", "measure", "source", "practice")


@subcommand(TOPIC, "edit T3 [title|why|aim|measure|source|practice <value>]", EDIT_EXAMPLE,
            "change a topic's field (or, with no field, open the form)")
def edit(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    topic = _topic(ctx, token, EDIT_EXAMPLE)
    if not _may_edit(ctx, topic):
        raise Refusal(_edit_refusal(topic), example=f"/topic show {topic.short_id}")
    field, value = parsing.split_first(rest)
    if not field:
        return Reply(lines=[line("Or type one field: ", Code(f"/topic edit {topic.short_id} aim <text>"),
                                 f" (fields: {', '.join(EDIT_FIELDS)})")], form=topic_form(ctx, topic))
    data = TopicBase.model_validate(topic, from_attributes=True)
    field = {"description": "why"}.get(field.lower(), field.lower())
    if field == "title":
        data.title = _title(value)
    elif field in ("why", "aim", "measure"):
        setattr(data, field, _text(value, field, TOPIC_TEXT_MAX))
    elif field == "source":
        data.source = _source(value, f"/topic edit {topic.short_id} source board")
    elif field == "practice":
        code = parsing.split_first(value)[0]
        data.practice_id = None if code.lower() == NO_PRACTICE else _practice_by_code(ctx, code).id
    else:
        raise Refusal(f"“{parsing.shorten(field)}” isn't a topic field. Use one of: {', '.join(EDIT_FIELDS)}.",
                      example=EDIT_EXAMPLE)
    store.update_topic(session=ctx.session, topic=topic, data=data)
    return Reply.announce(*_card(ctx, topic, line(Person(ctx.caller.user_id), f" changed the {field} of ",
                                                  Code(topic.short_id), ":")))


@button("topic.edit", opens_form=True)
def edit_button(ctx: Context, value: str) -> Reply:
    return edit(ctx, value)


def _practice_by_code(ctx: Context, code: str) -> Practice:
    practice = cluster_store.find_practice(session=ctx.session, cluster=ctx.cluster,
                                           code=parsing.practice_code(code, "/topic edit T3 practice 80123"))
    if practice is None:
        raise Refusal(f"No practice with code {code} in this cluster.", example="/cluster practice list")
    return practice


@subcommand(TOPIC, "withdraw T3 [note <n>]", "/topic withdraw T3",
            "withdraw your proposed topic, or one of your notes (leads: anyone's)", audited=True)
def withdraw(ctx: Context, rest: str) -> Reply:
    example = "/topic withdraw T3"
    token, rest = parsing.split_first(rest)
    topic = _topic(ctx, token, example)
    word, number = parsing.split_first(rest)
    if word.lower() == "note":
        notes = store.topic_notes(session=ctx.session, topic=topic)
        note = notes[parsing.item_number(number, len(notes), "note", f"/topic show {topic.short_id}") - 1]
        if note.by != ctx.caller.user_id and not ctx.is_lead:
            raise Refusal("Only whoever wrote that note (", Person(note.by), ") or a lead can withdraw it.",
                          example=f"/topic show {topic.short_id}")
        store.remove_note(session=ctx.session, note=note)
        return Reply.announce(line(Person(ctx.caller.user_id), " withdrew a note from ", Code(topic.short_id),
                                   ": ", note.text))
    if word:
        raise Refusal(f"“{parsing.shorten(word)}” isn't something to withdraw: give nothing (the topic) or "
                      "note <n>.", example=example)
    if topic.status != TopicStatus.PROPOSED:
        raise Refusal(f"{topic.short_id} is {topic.status}, not proposed: a lead can move it instead.",
                      example=f"/topic move {topic.short_id} dropped <reason>")
    if topic.proposed_by != ctx.caller.user_id and not ctx.is_lead:
        raise Refusal("Only whoever proposed ", Code(topic.short_id), " (", Person(topic.proposed_by),
                      ") or a lead can withdraw it.", example=f"/topic show {topic.short_id}")
    return _move(ctx, topic, TopicStatus.DROPPED, "withdrawn")


@subcommand(TOPIC, "move T3 <status> [reason]", "/topic move T3 agreed",
            "move a topic on (or back); dropping needs a reason", leads_only=True)
def move(ctx: Context, rest: str) -> Reply:
    example = "/topic move T3 agreed"
    token, rest = parsing.split_first(rest)
    topic = _topic(ctx, token, example)
    word, reason = parsing.split_first(rest)
    return _move(ctx, topic, _status(word, example), reason)


def _move(ctx: Context, topic: Topic, to: TopicStatus, reason: str = "") -> Reply:
    if topic.status == to:
        return Reply.tell(line(Code(topic.short_id), f" is already {to}."))
    reason = _text(reason, "reason", TOPIC_TEXT_MAX)
    if to == TopicStatus.DROPPED and not reason:
        raise Refusal(f"Say why {topic.short_id} is dropped, so the cluster can see it later.",
                      example=f"/topic move {topic.short_id} dropped Covered by the Health Board's programme")
    before = topic.status
    store.move_topic(session=ctx.session, topic=topic, to_status=to, by=ctx.caller.user_id, reason=reason)
    return Reply.announce(line(Person(ctx.caller.user_id), " moved ", Code(topic.short_id), " ", topic.title,
                               f" from {before} to ", Strong(to), *((": ", reason) if reason else ()), "."))


@button("topic.agree", audited=True)
def agree_button(ctx: Context, value: str) -> Reply:
    ctx.require_lead("/topic move")
    return _move(ctx, _topic(ctx, value, "/topic move T3 agreed"), TopicStatus.AGREED)


@button("topic.drop", opens_form=True)
def drop_button(ctx: Context, value: str) -> Reply:
    ctx.require_lead("/topic move")
    topic = _topic(ctx, value, "/topic move T3 dropped <reason>")
    if topic.status == TopicStatus.DROPPED:
        return Reply.tell(line(Code(topic.short_id), " is already dropped."))
    reason = FormField("reason", f"Why is {topic.short_id} dropped?", "long_text", max_length=TOPIC_TEXT_MAX)
    return Reply(lines=[line("Type it instead: ", Code(f"/topic move {topic.short_id} dropped <reason>"))],
                 form=Form("topic.drop", f"Drop {topic.short_id}", "Drop", (reason,), {"topic": topic.short_id}))


@form("topic.drop", audited=True)
def submit_drop(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    ctx.require_lead("/topic move")
    topic = _topic(ctx, context.get("topic", ""), "/topic move T3 dropped <reason>")
    reason = (values.get("reason") or "").strip()
    if not reason:
        raise Refusal("Say why it's dropped.", field="reason")
    return on_field("reason", _move, ctx, topic, TopicStatus.DROPPED, reason)


@subcommand(TOPIC, "note T3 [plan:|do:|study:|act:] <text>", "/topic note T3 study: 7 of 10 reviewed in time",
            "add a dated progress note, optionally a PDSA step", members_only=True)
def note(ctx: Context, rest: str) -> Reply:
    example = "/topic note T3 study: 7 of 10 reviewed in time"
    token, text = parsing.split_first(rest)
    topic = _topic(ctx, token, example)
    step = STEP.match(text)
    text = text[step.end():] if step else text
    if not text.strip():
        raise Refusal("Write the note after the topic id.", example=example)
    ctx.require_member("add notes")
    bounds.refuse_when_full(
        store.count_notes(session=ctx.session, topic=topic), bounds.TOPIC_NOTES,
        f"{topic.short_id} has {bounds.TOPIC_NOTES} notes, the most a topic keeps, so this one wasn't added. "
        "Withdraw one you no longer need first, or put the progress so far in the topic's aim or measure.",
        example=f"/topic withdraw {topic.short_id} note 1")
    saved = store.add_note(session=ctx.session, topic=topic, by=ctx.caller.user_id,
                           text=_text(text, "note", TOPIC_TEXT_MAX),
                           step=PdsaStep(step.group(1).lower()) if step else None)
    label = f" ({saved.step.upper()} step)" if saved.step else ""
    return Reply.announce(line(Person(ctx.caller.user_id), f" added a note{label} to ", Code(topic.short_id), " ",
                               topic.title, ": ", saved.text))
