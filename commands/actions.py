"""/action: the cluster's action log — assign, chase, complete (its export: commands/exports.py).

The owner, the creator and the cluster's leads may change an action; nobody else.
"""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from commands import bounds
from commands.context import Caller, Context
from commands.errors import Refusal
from commands.registry import FAMILIES, TICKS, button, form, item_command, subcommand
from commands.results import (
    Button,
    Choice,
    Code,
    Direct,
    Form,
    FormField,
    HomeChanged,
    Line,
    Person,
    Reply,
    Strong,
    line,
)
from commands.text import parsing
from commands.text.dates import (
    describe,
    describe_day,
    is_working_day,
    local_to_utc,
    local_today,
    parse_day,
    reads_as_date,
)
from commands.text.guard import refuse_beyond_horizon, refuse_patient_identifiers
from storage import actions as store
from storage import clusters as cluster_store
from storage import meetings as meeting_store
from storage import topics as topic_store
from storage.models import ACTION_TEXT_MAX, Action, ActionStatus, Meeting, Practice, Topic

ACTION = FAMILIES["/action"]
ACTION.example = "/action add Audit asthma discharges @Jane due 3/12/2026"
ACTION.default = "form"

ADD_EXAMPLE = "/action add Audit asthma discharges @Jane due 3/12/2026 topic T3 meeting M1"
LIST_LIMIT = 40          # Slack allows 50 blocks a message; one per action, plus headings
DIGEST_HOURS = (8, 10)   # working-day mornings, local time: from 08:00, never after 10:00
SYSTEM = "clusterbot"


# --- reading what people type ----------------------------------------------------------------

def _action(ctx: Context, token: str, example: str) -> Action:
    return parsing.find_item(ctx, token, prefix="A", noun="action", find=store.find_action, example=example)


def _description(text: str, field: str | None = None) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise Refusal("Say what the action is.", example=ADD_EXAMPLE, field=field)
    if len(cleaned) > ACTION_TEXT_MAX:
        raise Refusal(f"That is {len(cleaned)} characters; the limit is {ACTION_TEXT_MAX}.", example=ADD_EXAMPLE,
                      field=field)
    return refuse_patient_identifiers(cleaned, "action", field)


def _due(ctx: Context, words: list[str], example: str) -> date:
    return parse_day(" ".join(words), local_today(ctx.now(), ctx.time_zone), example)


def _topic(ctx: Context, token: str) -> Topic:
    return parsing.find_item(ctx, token, prefix="T", noun="topic", find=topic_store.find_topic, example=ADD_EXAMPLE)


def _meeting(ctx: Context, token: str) -> Meeting:
    return parsing.find_item(ctx, token, prefix="M", noun="meeting", find=meeting_store.find_meeting,
                             example=ADD_EXAMPLE)


def _add_options(ctx: Context) -> dict[str, parsing.Option]:
    today = local_today(ctx.now(), ctx.time_zone)
    return {
        "practice": parsing.Option(lambda v: bool(parsing.PRACTICE_CODE.match(v[0]))),
        "due": parsing.Option(lambda v: reads_as_date(v, today), most=6),
        "topic": parsing.Option(lambda v: bool(re.match(r"^[Tt]\d{1,9}$", v[0]))),
        "meeting": parsing.Option(lambda v: bool(re.match(r"^[Mm]\d{1,9}$", v[0]))),
    }


def _parse_add(ctx: Context, rest: str) -> Action:
    """`<what> [@owner] [practice <code>] [due <date>] [topic T3] [meeting M1]`. Settings are read only at
    the end, and only where they make sense ("to practice managers" stays in the text); quote <what> to be
    sure."""
    if rest.lstrip()[:1] in parsing.QUOTES:
        tokens = parsing.split_quoted(rest, ADD_EXAMPLE)
        what, tail = tokens[0][1], [t for _, t in tokens[1:]]
        words, settings = parsing.split_options(tail, _add_options(ctx), lone=parsing.MENTION.match)
        if words:
            raise Refusal(f"“{words[0]}” isn't an action setting. After the description you can add: @owner, "
                          "practice <code>, due <date>, topic T3, meeting M1.", example=ADD_EXAMPLE)
    else:
        words, settings = parsing.split_options(rest.split(), _add_options(ctx), lone=parsing.MENTION.match)
        what = " ".join(words)
    action = Action(cluster_id=ctx.cluster.id, short_id="", description=_description(what),
                    owner=ctx.caller.user_id, created_by=ctx.caller.user_id)
    practice_given = False
    for keyword, value in settings:
        if keyword == "":
            action.owner = parsing.mention(value[0], ADD_EXAMPLE)
        elif keyword == "practice":
            action.practice_id, practice_given = _practice(ctx, value[0]).id, True
        elif keyword == "due":
            action.due_on = _due(ctx, value, ADD_EXAMPLE)
        elif keyword == "topic":
            action.topic_id = _topic(ctx, value[0]).id
        elif keyword == "meeting":
            action.meeting_id = _meeting(ctx, value[0]).id
    if not practice_given:
        action.practice_id = _owners_practice(ctx, action.owner)
    return action


def _practice(ctx: Context, code: str) -> Practice:
    practice = cluster_store.find_practice(session=ctx.session, cluster=ctx.cluster, code=code)
    if practice is None:
        raise Refusal(f"No practice with code {code} in this cluster.", example="/cluster practice list")
    return practice


def _owners_practice(ctx: Context, owner: str) -> int | None:
    member = cluster_store.find_member(session=ctx.session, cluster=ctx.cluster, user_id=owner)
    return member.practice_id if member else None


# --- showing actions ----------------------------------------------------------------------------

def _state(ctx: Context, action: Action) -> str:
    if action.status == ActionStatus.DONE:
        return "done"
    today = local_today(ctx.now(), ctx.time_zone)
    if action.due_on and action.due_on < today:
        return "OVERDUE"
    return "open"


def _due_text(action: Action) -> str:
    return f"due {describe_day(action.due_on)}" if action.due_on else "no due date"


def _summary(ctx: Context, action: Action) -> Line:
    practice = ctx.session.get(Practice, action.practice_id) if action.practice_id else None
    state = _state(ctx, action)
    flag = "⚠️ OVERDUE · " if state == "OVERDUE" else ("✅ " if state == "done" else "")
    return line("• ", Code(action.short_id), " ", action.description, " — ", flag, Person(action.owner),
                *((" · ", practice.name) if practice else ()), f" · {_due_text(action)}")


def _may_change(ctx: Context, action: Action) -> bool:
    return ctx.is_lead or ctx.caller.user_id in (action.owner, action.created_by)


def _require_change(ctx: Context, action: Action) -> None:
    if not _may_change(ctx, action):
        raise Refusal(f"Only {action.short_id}'s owner (", Person(action.owner), "), whoever created it (",
                      Person(action.created_by), ") or a lead can change it.",
                      example=f"/action show {action.short_id}")


def _card(ctx: Context, action: Action) -> list[Line]:
    practice = ctx.session.get(Practice, action.practice_id) if action.practice_id else None
    topic = ctx.session.get(Topic, action.topic_id) if action.topic_id else None
    meeting = ctx.session.get(Meeting, action.meeting_id) if action.meeting_id else None
    lines = [
        line(Strong(f"{action.short_id} · {action.description}")),
        line(f"Status: {_state(ctx, action)} · Owner: ", Person(action.owner),
             *((" · Practice: ", practice.name) if practice else ()), f" · {_due_text(action)}",
             *((" · Topic: ", Code(topic.short_id), " ", topic.title) if topic else ()),
             *((" · From meeting ", Code(meeting.short_id)) if meeting else ())),
        line("Created by ", Person(action.created_by), f" on {describe(action.created_at, ctx.time_zone)}",
             *((" · done by ", Person(action.done_by), f" on {describe(action.done_at, ctx.time_zone)}")
               if action.done_at else ())),
    ]
    if action.source_link:
        lines.append(line("From this message: ", action.source_link))
    return lines


def _buttons(action: Action, channel: str | None = None) -> list[Button]:
    """`channel`: the cluster's channel, for buttons shown elsewhere (a DM)."""
    if action.status == ActionStatus.DONE:
        return [Button("Reopen", "action.reopen", action.short_id, channel=channel)]
    return [Button("Done", "action.done", action.short_id, "primary", channel=channel)]


# --- adding -------------------------------------------------------------------------------------

def _homes(ctx: Context, *user_ids: str) -> list[HomeChanged]:
    return [HomeChanged(u, ctx.caller.team_id) for u in dict.fromkeys(user_ids)]


def _created(ctx: Context, action: Action) -> Reply:
    if action.due_on:
        refuse_beyond_horizon(action.due_on, local_today(ctx.now(), ctx.time_zone), "due date")
    action = store.create_action(session=ctx.session, cluster=ctx.require_cluster(), action=action)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " added an action:"), *_card(ctx, action)[:2])
    today = local_today(ctx.now(), ctx.time_zone)
    if action.due_on and action.due_on < today:
        reply.lines.append(line(f"Note: the due date ({describe_day(action.due_on)}) has already passed, "
                                "so it shows as overdue."))
    reply.buttons = _buttons(action)
    reply.effects = [*_tell_new_owner(ctx, action), *_homes(ctx, action.owner)]
    return reply


def _tell_new_owner(ctx: Context, action: Action) -> list[Direct]:
    if action.owner == ctx.caller.user_id:
        return []
    note = Reply.tell(line(Person(ctx.caller.user_id), f" gave you a cluster action in {ctx.cluster.name}:"),
                      *_card(ctx, action)[:2])
    note.buttons = _buttons(action, ctx.cluster.channel_id)
    return [Direct(action.owner, note)]


@subcommand(ACTION, "add <what> [@owner] [practice <code>] [due <date>] [topic T3] [meeting M1]", ADD_EXAMPLE,
            "add an action (yours unless you mention an owner)", members_only=True)
def add(ctx: Context, rest: str) -> Reply:
    return _created(ctx, _parse_add(ctx, rest))


@subcommand(ACTION, "form", "/action", "open the form to add an action (also /action alone)", members_only=True)
def open_form(ctx: Context, rest: str) -> Reply:
    return Reply(lines=[line("Adding an action takes a form. Here, type it: ", Code(ADD_EXAMPLE))],
                 form=action_form(ctx))


def action_form(ctx: Context, description: str = "", link: str | None = None) -> Form:
    cluster = ctx.require_cluster()
    practices = cluster_store.list_practices(session=ctx.session, cluster=cluster)
    topics = topic_store.list_topics(session=ctx.session, cluster=cluster, statuses=["proposed", "agreed", "active"])
    own = ctx.member.practice_id if ctx.member else None
    fields = [
        FormField("description", "What needs doing?", "long_text", max_length=ACTION_TEXT_MAX,
                  initial=description[:ACTION_TEXT_MAX]),
        FormField("owner", "Owner (you, if left empty)", "person", optional=True),
        FormField("due", "Due", "date", optional=True),
    ]
    if practices:
        fields.append(FormField("practice", "Practice (the owner's, if left empty)", "choice", optional=True,
                                choices=tuple(Choice(p.code, f"{p.name} ({p.code})") for p in practices),
                                initial=next((p.code for p in practices if p.id == own), "")))
    if topics:
        fields.append(FormField("topic", "Linked topic", "choice", optional=True,
                                choices=tuple(Choice(t.short_id, f"{t.short_id} {t.title}") for t in topics)))
    recent = ctx.now() - timedelta(days=7)
    meetings = meeting_store.upcoming_meetings(session=ctx.session, cluster=cluster, since=recent)
    if meetings:
        fields.append(FormField("meeting", "From meeting", "choice", optional=True,
                                choices=tuple(Choice(m.short_id, f"{m.short_id} {m.title}") for m in meetings)))
    return Form("action.form", "Add a cluster action", "Add", tuple(fields), {"link": link} if link else {})


def _source_link(link: str | None) -> str | None:
    """The message an action came from, as the form carried it: a web link, guarded like any text."""
    if not link:
        return None
    link = link.strip()
    if not link.startswith("https://") or len(link) > 500 or any(c.isspace() for c in link):
        return None  # not a link the platform made: the action is kept, the link dropped
    return refuse_patient_identifiers(link, "message link")


@form("action.form", members_only=True)
def submit_form(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    cluster = ctx.require_cluster()
    if ctx.submission_key and store.find_submitted_action(session=ctx.session, cluster=cluster,
                                                           submission_key=ctx.submission_key):
        return Reply()
    owner = parsing.person(values.get("owner", ""), ctx.caller.platform, "owner",
                           "the action is yours") or ctx.caller.user_id
    action = Action(cluster_id=cluster.id, short_id="", description=_description(values.get("description", ""),
                    "description"), owner=owner, created_by=ctx.caller.user_id,
                    source_link=_source_link(context.get("link")), submission_key=ctx.submission_key)
    if values.get("due"):
        try:
            action.due_on = date.fromisoformat(values["due"])
        except ValueError:
            raise Refusal("Pick a date from the calendar.", field="due") from None
        refuse_beyond_horizon(action.due_on, local_today(ctx.now(), ctx.time_zone), "due date", field="due")
    code = values.get("practice")
    action.practice_id = _practice(ctx, code).id if code else _owners_practice(ctx, owner)
    if values.get("topic"):
        action.topic_id = _topic(ctx, values["topic"]).id
    if values.get("meeting"):
        action.meeting_id = _meeting(ctx, values["meeting"]).id
    return _created(ctx, action)


@button("action.from_message", members_only=True)
def from_message(ctx: Context, value: str) -> Reply:
    """The message shortcut: `value` is "<permalink> <message text>"."""
    link, _, text = value.partition(" ")
    return Reply(lines=[line("The form wouldn't open; type the action instead: ", Code(ADD_EXAMPLE))],
                 form=action_form(ctx, text, link or None))


# --- listing and showing -----------------------------------------------------------------------

@subcommand(ACTION, "list [mine|overdue|open|done|all|@person|practice <code>]", "/action list overdue",
            "actions, soonest due first (open ones unless you say)", personal=True)
def list_actions(ctx: Context, rest: str) -> Reply:
    example = "/action list overdue"
    word, more = parsing.split_first(rest)
    today = local_today(ctx.now(), ctx.time_zone)
    choices = {
        "": ("Open actions", store.ActionFilter(status=ActionStatus.OPEN)),
        "open": ("Open actions", store.ActionFilter(status=ActionStatus.OPEN)),
        "mine": ("Your open actions", store.ActionFilter(status=ActionStatus.OPEN, owner=ctx.caller.user_id)),
        "overdue": ("Overdue actions", store.ActionFilter(status=ActionStatus.OPEN, due_before=today)),
        "done": ("Done actions", store.ActionFilter(status=ActionStatus.DONE)),
        "all": ("All actions", store.ActionFilter()),
    }
    if word.lower() in choices:
        heading, which = choices[word.lower()]
    elif parsing.MENTION.match(word):
        who = parsing.mention(word, example)
        heading, which = ("Open actions of ", Person(who)), store.ActionFilter(status=ActionStatus.OPEN, owner=who)
    elif word.lower() == "practice":
        practice = _practice(ctx, parsing.practice_code(parsing.split_first(more)[0], "/action list practice 80123"))
        heading = f"Open actions of {practice.name}"
        which = store.ActionFilter(status=ActionStatus.OPEN, practice_id=practice.id)
    else:
        raise Refusal(f"“{word}” isn't a list I know. Use mine, overdue, open, done, all, @person or "
                      "practice <code>.", example=example)
    found = store.list_actions(session=ctx.session, cluster=ctx.cluster, which=which, limit=LIST_LIMIT)
    heading = heading if isinstance(heading, tuple) else (heading,)
    if not found:
        return Reply.tell(line(*heading, ": none.", " Add one: ", Code(ADD_EXAMPLE)))
    title = (Strong(f"{heading[0]} in {ctx.cluster.name}"),) if len(heading) == 1 else \
        (*heading, f" in {ctx.cluster.name}")  # mrkdwn bold cannot wrap a mention
    reply = Reply.tell(line(*title))
    for action in found:
        if action.status == ActionStatus.OPEN:
            reply.line_buttons[len(reply.lines)] = Button("Done", "action.done", action.short_id)
        reply.lines.append(_summary(ctx, action))
    total = store.count_actions(session=ctx.session, cluster=ctx.cluster, which=which)
    if total > len(found):
        reply.lines.append(line(f"…and {total - len(found)} more. The whole log: ", Code("/action export all")))
    return reply


@subcommand(ACTION, "show A7", "/action show A7", "an action's card, with its notes")
def show(ctx: Context, rest: str) -> Reply:
    action = _action(ctx, parsing.split_first(rest)[0], "/action show A7")
    reply = Reply.tell(*_card(ctx, action))
    notes = store.action_notes(session=ctx.session, action=action)
    if notes:
        reply.lines.append(line(Strong("Notes")))
    if len(notes) > bounds.SHOWN:  # the latest; every note is in the action log
        reply.lines.append(line(f"The first {len(notes) - bounds.SHOWN} notes are in the action log: ",
                                Code("/action export all")))
    for note in notes[-bounds.SHOWN:]:
        reply.lines.append(line(f"• {describe(note.at, ctx.time_zone)} ", Person(note.by), ": ", note.text))
    if _may_change(ctx, action):
        reply.buttons = _buttons(action)
    return reply


# --- changing -----------------------------------------------------------------------------------

@item_command(ACTION, "done A7 [A8 …]", "/action done A7", "mark actions done (owner, creator or a lead)",
              find=_action, action="action.done", many=True)
def done(ctx: Context, action: Action) -> Reply:
    if action.status == ActionStatus.DONE:
        return Reply.tell(line(Code(action.short_id), " was already done by ", Person(action.done_by),
                               f" on {describe(action.done_at, ctx.time_zone)}."))
    _require_change(ctx, action)
    action.status, action.done_at, action.done_by = ActionStatus.DONE, ctx.now(), ctx.caller.user_id
    store.touch(session=ctx.session, action=action)
    reply = Reply.announce(line("✅ ", Person(ctx.caller.user_id), " completed ", Code(action.short_id), " ",
                                action.description, "."))
    reply.effects = _homes(ctx, action.owner, ctx.caller.user_id)
    return reply


@item_command(ACTION, "reopen A7", "/action reopen A7", "open a done action again", find=_action,
              action="action.reopen")
def reopen(ctx: Context, action: Action) -> Reply:
    if action.status == ActionStatus.OPEN:
        return Reply.tell(line(Code(action.short_id), " is open already."))
    _require_change(ctx, action)
    action.status, action.done_at, action.done_by = ActionStatus.OPEN, None, None
    store.touch(session=ctx.session, action=action)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " reopened ", Code(action.short_id), " ",
                                action.description, "."))
    reply.effects = _homes(ctx, action.owner)
    return reply


@subcommand(ACTION, "assign A7 @person", "/action assign A7 @Jane", "give an action to someone else")
def assign(ctx: Context, rest: str) -> Reply:
    example = "/action assign A7 @Jane"
    token, rest = parsing.split_first(rest)
    action = _action(ctx, token, example)
    owner = parsing.mention(parsing.split_first(rest)[0], example)
    _require_change(ctx, action)
    if owner == action.owner:
        return Reply.tell(line(Code(action.short_id), " is already ", Person(owner), "'s."))
    before, action.owner = action.owner, owner
    action.practice_id = _owners_practice(ctx, owner) or action.practice_id
    store.touch(session=ctx.session, action=action)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " gave ", Code(action.short_id), " ", action.description,
                                " to ", Person(owner), "."))
    reply.effects = [*_tell_new_owner(ctx, action), *_homes(ctx, owner, before)]
    return reply


@subcommand(ACTION, "due A7 <date>", "/action due A7 friday", "change the due date")
def due(ctx: Context, rest: str) -> Reply:
    example = "/action due A7 friday"
    token, rest = parsing.split_first(rest)
    action = _action(ctx, token, example)
    _require_change(ctx, action)  # who may act is checked before any date is read
    day = _due(ctx, rest.split(), example)
    action.due_on = day
    store.touch(session=ctx.session, action=action)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " moved ", Code(action.short_id), " ", action.description,
                                f" to {_due_text(action)}."))
    if day < local_today(ctx.now(), ctx.time_zone):
        reply.lines.append(line(f"Note: {describe_day(day)} has already passed, so it shows as overdue."))
    return reply


@subcommand(ACTION, "note A7 <text>", "/action note A7 Letters sent to 40 patients", "add a dated note")
def note(ctx: Context, rest: str) -> Reply:
    example = "/action note A7 Letters sent to 40 patients"
    token, text = parsing.split_first(rest)
    action = _action(ctx, token, example)
    if not text.strip():
        raise Refusal("Write the note after the action id.", example=example)
    _require_change(ctx, action)
    bounds.refuse_when_full(
        store.count_notes(session=ctx.session, action=action), bounds.ACTION_NOTES,
        f"{action.short_id} has {bounds.ACTION_NOTES} notes, the most an action keeps, so this one wasn't added. "
        "If the work has moved on, mark it done and add a new action for what remains.",
        example=f"/action done {action.short_id}")
    saved = store.add_note(session=ctx.session, action=action, by=ctx.caller.user_id, text=_description(text))
    return Reply.announce(line(Person(ctx.caller.user_id), " noted on ", Code(action.short_id), ": ", saved.text))


# --- the daily digest -------------------------------------------------------------------------------

def in_digest_window(now: datetime, time_zone: str) -> bool:
    """A working-day morning, 08:00 to 10:00 where the cluster is: a digest that missed its window waits
    for the next working morning rather than arriving in the afternoon or on a bank holiday."""
    local = now.astimezone(ZoneInfo(time_zone))
    return is_working_day(local.date()) and DIGEST_HOURS[0] <= local.hour < DIGEST_HOURS[1]


def _digest_due(session, now: datetime, time_zone: str) -> list[tuple[str, str]]:
    local = now.astimezone(ZoneInfo(time_zone))
    if not in_digest_window(now, time_zone):
        return []
    return store.owners_with_actions_due(session=session, until=local.date() + timedelta(days=6),
                                         not_sent_on=local.date())


def _send_digest(ctx_for, session, item: tuple[str, str], now: datetime) -> list:
    team_id, owner = item
    clusters = cluster_store.clusters_of_team(session=session, team_id=team_id)
    if not clusters:
        return []
    ctx = ctx_for(session, clusters[0], Caller(SYSTEM, clusters[0].channel_id, team_id))
    if not in_digest_window(now, ctx.time_zone):
        return []  # the cluster's own morning is not now
    today = local_today(now, ctx.time_zone)
    if not store.claim_digest(session=session, team_id=team_id, user_id=owner, day=today):
        return []  # another process sent it
    due = store.digest_actions(session=session, team_id=team_id, owner=owner, until=today + timedelta(days=6))
    if not due:
        return []
    overdue = [(a, c) for a, c in due if a.due_on < today]
    soon = [(a, c) for a, c in due if a.due_on >= today]
    reply = Reply.tell(line(Strong(f"Good morning: your cluster actions for {today:%A %-d %B}")))
    for heading, group in (("Overdue", overdue), ("Due this week", soon)):
        if group:
            reply.lines.append(line(Strong(f"{heading} ({len(group)})")))
        for action, cluster in group:
            reply.line_buttons[len(reply.lines)] = Button("Done", "action.done", action.short_id,
                                                          channel=cluster.channel_id)
            reply.lines.append(line("• ", Code(action.short_id), " ", action.description,
                                    f" — {_due_text(action)} · {cluster.name}"))
    # A morning's digest is not sent on another day: it says "Good morning" and what is due this week.
    # Its team says whose platform sends it and which cluster it counts to (without it, every digest was
    # queued for the default platform, Slack, and for no cluster).
    return [Direct(owner, reply, team_id=team_id,
                   until=local_to_utc(today + timedelta(days=1), time(0, 0), ctx.time_zone))]


TICKS.append((_digest_due, _send_digest))
