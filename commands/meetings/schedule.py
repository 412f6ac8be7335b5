"""/meeting: cluster meetings — one-off or recurring — with reminders and an agenda built from live data.

Reminders are rows with a due time; the scheduler claims each before sending it, so every reminder
goes out once: late (after downtime, if its meeting has not started) rather than never.
"""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from commands import bounds
from commands.context import Caller, Context
from commands.errors import Refusal, on_field
from commands.measures import news as measure_news
from commands.polls import core as polls
from commands.registry import FAMILIES, TICKS, form, item_command, subcommand
from commands.results import Button, Choice, Code, Form, FormField, Line, Person, Post, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import (
    LOOKS_LIKE_CLOCK,
    describe,
    describe_day,
    local_to_utc,
    local_today,
    parse_clock,
    parse_day,
)
from commands.text.guard import refuse_beyond_horizon
from commands.text.recurrence import describe_rule, first_day, next_day, parse_rule
from storage import actions as action_store
from storage import clusters as cluster_store
from storage import meetings as store
from storage import polls as poll_store
from storage import topics as topic_store
from storage.models import (
    AGENDA_ITEM_MAX,
    MEETING_PLACE_MAX,
    MEETING_TITLE_MAX,
    ActionStatus,
    Cluster,
    Meeting,
    MeetingStatus,
    Reminder,
    TopicStatus,
)

MEETING = FAMILIES["/meeting"]
MEETING.example = "/meeting schedule 3/12/2026 12:30 Cluster QI meeting at Riverside MP remind 7d,1d"
MEETING.default = "form"

SCHEDULE_EXAMPLE = "/meeting schedule 3/12/2026 12:30 Cluster QI meeting for 90m at Riverside MP remind 7d,1d,1h"
REPEAT_EXAMPLE = "/meeting schedule every month on the first wednesday 12:30 Cluster QI meeting"
PAST_LIST = "/meeting list past"  # commands/meetings/record.py: meetings already held
OFFSET = re.compile(r"^(\d{1,3})([dhm])$")
DURATION = re.compile(r"^(?:(\d{1,2})h)?(?:(\d{1,3})m?)?$")
SYSTEM = "clusterbot"
LENGTH_CHOICES = tuple(Choice(str(m), f"{m} minutes") for m in (30, 45, 60, 90, 120))  # the forms' lengths
MAX_OFFSET = timedelta(days=60)
REMINDER_TEXT = 200  # a reminder shows free text to this length (the full agenda shows it whole)


# --- reading what people type ------------------------------------------------------------------

def _meeting(ctx: Context, token: str, example: str) -> Meeting:
    return parsing.find_item(ctx, token, prefix="M", noun="meeting", find=store.find_meeting, example=example)


def parse_offsets(text: str, example: str) -> list[str]:
    """"7d,1d,1h" → ["7d", "1d", "1h"]: whole days, hours or minutes before the meeting."""
    offsets = [o.strip().lower() for o in text.replace(" ", ",").split(",") if o.strip()]
    if not offsets:
        raise Refusal("Give the reminders as times before the meeting, like 7d,1d,1h.", example=example)
    for offset in offsets:
        found = OFFSET.match(offset)
        if not found or int(found.group(1)) == 0:
            raise Refusal(f"“{offset}” isn't a reminder time: use days, hours or minutes before the meeting, "
                          "like 7d, 1d, 2h or 30m.", example=example)
        if _offset_delta(offset) > MAX_OFFSET:
            raise Refusal(f"“{offset}” is more than 60 days before the meeting.", example=example)
    offsets = list(dict.fromkeys(offsets))
    if len(offsets) > bounds.REMINDERS:  # one meeting once took 399, each a post to the channel
        raise Refusal(f"That is {len(offsets)} reminders; a meeting takes at most {bounds.REMINDERS}. "
                      "Keep the ones that matter most, like 7d,1d,1h.", example=example)
    return offsets


def _offset_delta(offset: str) -> timedelta:
    n, unit = int(offset[:-1]), offset[-1]
    return timedelta(days=n) if unit == "d" else timedelta(hours=n) if unit == "h" else timedelta(minutes=n)


def reminder_time(starts_at: datetime, offset: str, tz: str) -> datetime:
    """Days before are calendar days at the meeting's wall-clock time (right across clock changes);
    hours and minutes before are exact."""
    if offset.endswith("d"):
        local = starts_at.astimezone(ZoneInfo(tz))
        return local_to_utc(local.date() - timedelta(days=int(offset[:-1])), local.time(), tz)
    return starts_at - _offset_delta(offset)


def _minutes(text: str, example: str) -> int:
    found = DURATION.match(_length_text(text))
    if not text or not found or not (found.group(1) or found.group(2)):
        raise Refusal(f"“{text}” isn't a length: use minutes or hours, like 45m, 90m, 1h or 1h30.", example=example)
    minutes = int(found.group(1) or 0) * 60 + int(found.group(2) or 0)
    if not 10 <= minutes <= 12 * 60:
        raise Refusal("A meeting lasts from 10 minutes to 12 hours.", example=example)
    return minutes


def _length_text(text: str) -> str:
    """"1 hour 30", "90 minutes", "90 mins" → "1h30", "90m"."""
    compact = text.lower().replace(" ", "")
    return re.sub(r"(?:hours|hour|hrs|hr)", "h", re.sub(r"(?:minutes|minute|mins|min)", "m", compact))


def _reads_as_length(words: list[str]) -> bool:
    return words[0][:1].isdigit()  # "for 90m", "for 2 hours"; "for winter pressures" is words


def _reads_as_place(words: list[str]) -> bool:
    """A place is a link, something quoted, or starts like a name (Riverside MP, Room 3, the Health Centre)."""
    first = words[0]
    if first[:1] in parsing.QUOTES or "://" in first or first.lower().startswith("www."):
        return True
    if first.lower() == "the" and len(words) > 1:
        first = words[1]
    return first[:1].isupper() or first[:1].isdigit()


def _reads_as_offsets(words: list[str]) -> bool:
    offsets = [o for o in " ".join(words).replace(" ", ",").split(",") if o]
    return bool(offsets) and all(re.match(r"^[-+]?\d+[a-z]*$", o.lower()) for o in offsets)


MEETING_OPTIONS = {
    "for": parsing.Option(_reads_as_length, most=4),
    "at": parsing.Option(_reads_as_place, most=20),
    "remind": parsing.Option(_reads_as_offsets, most=6),
}


def _when_words(words: list[str], example: str) -> tuple[list[str], time, list[str]]:
    """Split `<date words> <HH:MM> <the rest>`."""
    at = next((i for i, w in enumerate(words) if LOOKS_LIKE_CLOCK.match(w) or re.match(r"^\d{1,2}:\d+$", w)), None)
    if at is None:
        raise Refusal("Give the time as HH:MM, after the date.", example=example)
    return words[:at], parse_clock(words[at], example), words[at + 1:]


def _rest(ctx: Context, meeting: Meeting, words: list[str], example: str) -> None:
    """Title, then settings in any order: for <length>, at <place>, remind <offsets> — read only as an
    unbroken tail where each reads as what it is ("Look at prescribing data" is a title)."""
    if words and words[0][:1] in parsing.QUOTES:
        title, words = _after_quote(" ".join(words), example)
        tail, settings = parsing.split_options(words, MEETING_OPTIONS)
        if tail:
            raise Refusal(f"“{tail[0]}” isn't a meeting setting. After the title you can add: for <length>, "
                          "at <place>, remind 7d,1d.", example=example)
    else:
        words, settings = parsing.split_options(words, MEETING_OPTIONS)
        title = " ".join(words)
    meeting.title = parsing.name(title, "title", example, MEETING_TITLE_MAX)
    for keyword, value in settings:
        if keyword == "for":
            meeting.minutes = _minutes(" ".join(value), example)
        elif keyword == "at":
            meeting.place = parsing.name(" ".join(value).strip("\"“”„"), "place", example, MEETING_PLACE_MAX)
        elif keyword == "remind":
            meeting.reminders = ",".join(parse_offsets(" ".join(value), example))


def _after_quote(text: str, example: str) -> tuple[str, list[str]]:
    """A quoted title and the words after it."""
    text = text.strip()
    end = parsing.closing_quote(text, 1, parsing.QUOTES[text[0]])
    if end < 0:
        raise Refusal("A quote is never closed: put the title in one pair of quotes.", example=example)
    return text[1:end], text[end + 1:].split()


# --- planning --------------------------------------------------------------------------------

def _plan(ctx: Context, meeting: Meeting) -> list[str]:
    """(Re)plan the meeting's reminders; returns the offsets skipped because they are already past."""
    now, due, skipped = ctx.now(), [], []
    for offset in meeting.reminders.split(","):
        at = reminder_time(meeting.starts_at, offset, ctx.time_zone)
        (due.append((offset, at)) if at > now else skipped.append(offset))
    store.plan_reminders(session=ctx.session, meeting=meeting, due=due)
    return skipped


def _ambiguity(words: list[str], day: date) -> str:
    """Say how a d/m date like 3/4 was read: UK order, day first."""
    typed = " ".join(words)
    numbers = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})(?:[/.-]\d{2,4})?", typed)
    if numbers and int(numbers.group(1)) <= 12 and int(numbers.group(2)) <= 12 and numbers.group(1) != numbers.group(2):
        return f" (“{typed}” read as {day:%-d %B}: dates are day first)"
    return ""


def _schedule(ctx: Context, meeting: Meeting, note: str = "") -> Reply:
    cluster = ctx.require_cluster()
    refuse_beyond_horizon(meeting.starts_at.date(), ctx.now().date(), "meeting date",
                          field="date" if ctx.submission_key else None)
    if meeting.starts_at <= ctx.now():
        raise Refusal(f"{describe(meeting.starts_at, ctx.time_zone)} has already passed: give a time in the future.",
                      example=SCHEDULE_EXAMPLE, field="date" if ctx.submission_key else None)
    meeting = store.create_meeting(session=ctx.session, cluster=cluster, meeting=meeting)
    skipped = _plan(ctx, meeting)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " scheduled a meeting:"), *_card(ctx, meeting))
    if note:
        reply.lines.append(line(note.strip()))
    for other in store.at_the_same_time(session=ctx.session, meeting=meeting):
        reply.lines.append(line("Note: ", Code(other.short_id), " ", other.title, " is at the same time. If this one "
                                "replaces it, cancel it: ", Code(f"/meeting cancel {other.short_id}")))
    if skipped:
        reply.lines.append(line(f"Reminders {', '.join(skipped)} before would already be past, so they are skipped."))
    reply.buttons = [Button("Agenda", "meeting.agenda", meeting.short_id)]
    return reply


@subcommand(MEETING, "schedule <date> <HH:MM> <title> [for <length>] [at <place or link>] [remind 7d,1d,1h]",
            SCHEDULE_EXAMPLE, "schedule a meeting (or: schedule every <rule> <HH:MM> <title>)", members_only=True)
def schedule(ctx: Context, rest: str) -> Reply:
    words = rest.split()
    if words and words[0].lower() == "every":
        return _schedule_series(ctx, words[1:])
    example = SCHEDULE_EXAMPLE
    date_words, clock, after = _when_words(words, example)
    day = parse_day(" ".join(date_words), local_today(ctx.now(), ctx.time_zone), example)
    meeting = Meeting(cluster_id=ctx.cluster.id, short_id="", title="", created_by=ctx.caller.user_id,
                      starts_at=local_to_utc(day, clock, ctx.time_zone), reminders=ctx.cluster.reminders)
    _rest(ctx, meeting, after, example)
    return _schedule(ctx, meeting, _ambiguity(date_words, day))


def _schedule_series(ctx: Context, words: list[str]) -> Reply:
    rule_words, clock, after = _when_words(words, REPEAT_EXAMPLE)
    rule = parse_rule(rule_words, REPEAT_EXAMPLE)
    now_local = ctx.now().astimezone(ZoneInfo(ctx.time_zone))
    day = first_day(rule, now_local, clock)
    meeting = Meeting(cluster_id=ctx.cluster.id, short_id="", title="", created_by=ctx.caller.user_id,
                      starts_at=local_to_utc(day, clock, ctx.time_zone), recurrence=rule,
                      reminders=ctx.cluster.reminders)
    _rest(ctx, meeting, after, REPEAT_EXAMPLE)
    return _schedule(ctx, meeting)


@subcommand(MEETING, "form", "/meeting", "open the form to schedule a meeting (also /meeting alone)", members_only=True)
def open_form(ctx: Context, rest: str) -> Reply:
    cluster = ctx.require_cluster()
    fields = (
        FormField("title", "Title", max_length=MEETING_TITLE_MAX, initial="Cluster QI meeting"),
        FormField("date", "Date", "date"),
        FormField("time", "Start", "time", initial="12:30"),
        FormField("minutes", "Length", "choice", initial="60", choices=LENGTH_CHOICES),
        FormField("place", "Where (a room, or a Teams/Near Me link)", optional=True, max_length=MEETING_PLACE_MAX),
        FormField("reminders", "Reminders before the meeting", initial=cluster.reminders, max_length=64,
                  hint="days, hours or minutes before, like 7d,1d,1h"),
    )
    return Reply(lines=[line("Scheduling takes a form. Here, type it: ", Code(SCHEDULE_EXAMPLE))],
                 form=Form("meeting.form", "Schedule a meeting", "Schedule", fields))


@form("meeting.form", members_only=True)
def submit_form(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    cluster = ctx.require_cluster()
    if ctx.submission_key and store.find_submitted_meeting(session=ctx.session, cluster=cluster,
                                                            submission_key=ctx.submission_key):
        return Reply()
    try:
        day = date.fromisoformat(values.get("date") or "")
    except ValueError:
        raise Refusal("Pick the date.", field="date") from None
    refuse_beyond_horizon(day, local_today(ctx.now(), ctx.time_zone), "date", field="date")
    clock = on_field("time", parse_clock, values.get("time") or "", SCHEDULE_EXAMPLE)
    reminders = ",".join(on_field("reminders", parse_offsets, values.get("reminders") or cluster.reminders,
                                   SCHEDULE_EXAMPLE))
    title = parsing.name(values.get("title", ""), "title", SCHEDULE_EXAMPLE, MEETING_TITLE_MAX, "title")
    place = values.get("place", "").strip()
    meeting = Meeting(
        cluster_id=cluster.id, short_id="", created_by=ctx.caller.user_id, title=title,
        starts_at=local_to_utc(day, clock, ctx.time_zone),
        minutes=on_field("minutes", _minutes, values.get("minutes") or "60", SCHEDULE_EXAMPLE),
        place=parsing.name(place, "place", SCHEDULE_EXAMPLE, MEETING_PLACE_MAX, "place") if place else "",
        reminders=reminders, submission_key=ctx.submission_key,
    )
    return _schedule(ctx, meeting)


# --- showing ---------------------------------------------------------------------------------

def _card(ctx: Context, meeting: Meeting) -> list[Line]:
    ends = meeting.starts_at + timedelta(minutes=meeting.minutes)
    lines = [
        line(Strong(f"{meeting.short_id} · {meeting.title}")),
        line(f"{describe(meeting.starts_at, ctx.time_zone)}–{describe(ends, ctx.time_zone)[-5:]}",
             *((" · ", meeting.place) if meeting.place else ()),
             *((f" · repeats {describe_rule(meeting.recurrence)}",) if meeting.recurrence else ()),
             *((" · CANCELLED",) if meeting.status == MeetingStatus.CANCELLED else ())),
    ]
    pending = store.pending_reminders(session=ctx.session, meeting=meeting)
    if pending and meeting.status == MeetingStatus.SCHEDULED:
        lines.append(line("Reminders: " + ", ".join(f"{r.offset} before ({describe(r.due_at, ctx.time_zone)})"
                                                    for r in pending)))
    return lines


@subcommand(MEETING, "list", "/meeting list", "upcoming meetings", personal=True)
def list_meetings(ctx: Context, rest: str) -> Reply:
    if rest.strip().lower() not in ("", "upcoming"):
        raise Refusal(f"“{parsing.shorten(rest.strip())}” isn't a list of meetings: /meeting list shows those to "
                      f"come, {PAST_LIST} those already held.", example=PAST_LIST)
    meetings = store.upcoming_meetings(session=ctx.session, cluster=ctx.cluster, since=ctx.now())
    held = line("Meetings already held, and what their record holds: ", Code(PAST_LIST))
    if not meetings:
        return Reply.tell(line("No meetings planned. Schedule one: ", Code(SCHEDULE_EXAMPLE)), held)
    reply = Reply.tell(line(Strong(f"Meetings of {ctx.cluster.name}")))
    for meeting in meetings:
        reply.lines.append(line("• ", Code(meeting.short_id), " ", meeting.title, " — ",
                                describe(meeting.starts_at, ctx.time_zone), *((" · ", meeting.place)
                                                                              if meeting.place else ())))
    reply.lines.append(held)
    return reply


@subcommand(MEETING, "show M1", "/meeting show M1", "a meeting's details and reminders")
def show(ctx: Context, rest: str) -> Reply:
    meeting = _meeting(ctx, parsing.split_first(rest)[0], "/meeting show M1")
    reply = Reply.tell(*_card(ctx, meeting))
    reply.buttons = [Button("Agenda", "meeting.agenda", meeting.short_id)]
    return reply


def agenda_lines(ctx: Context, meeting: Meeting, most: int = bounds.AGENDA_ITEMS,
                 text_most: int | None = None) -> list[Line]:
    """The agenda, built now from live data: items, topics, polls, actions. Each part shows at most `most`
    entries, then how many more and where to see them; `text_most`: free text shortened to it (a reminder),
    so whatever the data, the message stays within what every platform takes."""
    cluster = ctx.session.get(Cluster, meeting.cluster_id)
    m = meeting.short_id
    cut = (lambda text: text) if text_most is None else (lambda text: parsing.shorten(text, text_most))
    lines: list[Line] = []
    items = store.agenda_items(session=ctx.session, meeting=meeting)
    lines.append(line(Strong("Agenda items")))
    numbered = [line(f"{n}. ", cut(item.text), " (", Person(item.by), ")") for n, item in enumerate(items, 1)]
    lines += bounds.at_most(numbered, most, _more("agenda items", f"/meeting agenda {m}")) or [
        line("None yet: add one with ", Code(f"/meeting item {m} <text>"))]
    working = topic_store.list_topics(session=ctx.session, cluster=cluster,
                                      statuses=[TopicStatus.AGREED, TopicStatus.ACTIVE])
    if working:
        lines.append(line(Strong("Topics agreed or active")))
        lines += bounds.at_most([line("• ", Code(t.short_id), f" {cut(t.title)} ({t.status})") for t in working],
                                most, _more("topics", "/topic list"))
    previous = store.previous_meeting(session=ctx.session, meeting=meeting)
    fresh = [t for t in topic_store.list_topics(session=ctx.session, cluster=cluster, statuses=[TopicStatus.PROPOSED])
             if previous is None or t.created_at > previous.starts_at]
    if fresh:
        lines.append(line(Strong("New topics since the last meeting" if previous else "Proposed topics")))
        lines += bounds.at_most([line("• ", Code(t.short_id), " ", cut(t.title), " (", Person(t.proposed_by), ")")
                                 for t in fresh], most, _more("topics", "/topic list proposed"))
    lines += measure_news.signal_lines(ctx, cluster, previous.starts_at if previous else None)
    open_polls = [p for p in poll_store.list_polls(session=ctx.session, cluster=cluster, closed_since=ctx.now())
                  if p.closed_at is None]
    if open_polls:
        lines.append(line(Strong("Open polls")))
        shown = open_polls[:most]
        turnout = polls.turnouts(ctx, shown, cluster)
        for poll in shown:
            n = turnout[poll.id].voted
            noun = ("practice" if n == 1 else "practices") if poll.per_practice else ("person" if n == 1 else "people")
            lines.append(line("• ", Code(poll.short_id), " ", cut(poll.question), f" — {n} {noun} voted so far"))
        lines += [_more("open polls", "/poll list")(len(open_polls) - len(shown))][:len(open_polls) > len(shown)]
    meeting_day = meeting.starts_at.astimezone(ZoneInfo(ctx.time_zone)).date()
    due = action_store.list_actions(
        session=ctx.session, cluster=cluster, limit=30,
        which=action_store.ActionFilter(status=ActionStatus.OPEN, due_before=meeting_day + timedelta(days=1)))
    if due:
        today = local_today(ctx.now(), ctx.time_zone)
        lines.append(line(Strong("Actions due by the meeting, by owner")))
        shown_actions = []
        for action in sorted(due, key=lambda a: (a.owner, a.due_on)):
            flag = " ⚠️ overdue" if action.due_on < today else ""
            shown_actions.append(line("• ", Person(action.owner), ": ", Code(action.short_id), " ",
                                      cut(action.description), f" — due {describe_day(action.due_on)}{flag}"))
        lines += bounds.at_most(shown_actions, most, _more("actions", "/action list overdue"))
    for part in AGENDA_PARTS:  # parts other modules add (the practices' check-in): (ctx, meeting, cut, most)
        lines += part(ctx, meeting, cut, most)
    return lines


# Parts of the agenda that other modules add, appended when they are imported (commands/checkin.py).
AGENDA_PARTS: list = []


def _more(what: str, command: str):
    """"…and 40 more agenda items: /meeting agenda M2", for `bounds.at_most`."""
    return lambda k: line(f"…and {k} more {what}: ", Code(command))


@item_command(MEETING, "agenda M1", "/meeting agenda M1", "the agenda, from live cluster data", find=_meeting,
              action="meeting.agenda")
def agenda(ctx: Context, meeting: Meeting) -> Reply:
    return Reply.tell(*_card(ctx, meeting)[:2], *agenda_lines(ctx, meeting))


@subcommand(MEETING, "item M1 <text>", "/meeting item M1 Feedback from the prescribing lead",
            "add an item to the agenda", members_only=True)
def item(ctx: Context, rest: str) -> Reply:
    example = "/meeting item M1 Feedback from the prescribing lead"
    token, text = parsing.split_first(rest)
    meeting = _meeting(ctx, token, example)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refusal(f"{meeting.short_id} is cancelled.", example="/meeting list")
    ctx.require_member("add agenda items")
    bounds.refuse_when_full(
        store.count_items(session=ctx.session, meeting=meeting), bounds.AGENDA_ITEMS,
        f"{meeting.short_id} has {bounds.AGENDA_ITEMS} agenda items, the most a meeting takes, so this one wasn't "
        "added. Take one off first with ", Code(f"/meeting withdraw {meeting.short_id} item <n>"),
        " (a lead can take off anyone's), or add it to the next meeting.",
        example=f"/meeting agenda {meeting.short_id}")
    added = store.add_item(session=ctx.session, meeting=meeting, by=ctx.caller.user_id,
                           text=parsing.name(text, "agenda item", example, AGENDA_ITEM_MAX))
    return Reply.announce(line(Person(ctx.caller.user_id), " added to the agenda of ", Code(meeting.short_id), ": ",
                               added.text))


@subcommand(MEETING, "withdraw M1 item <n>", "/meeting withdraw M1 item 2",
            "take your item off the agenda (leads: anyone's)")
def withdraw(ctx: Context, rest: str) -> Reply:
    example = "/meeting withdraw M1 item 2"
    token, rest = parsing.split_first(rest)
    meeting = _meeting(ctx, token, example)
    word, number = parsing.split_first(rest)
    if word.lower() != "item":
        raise Refusal("Say which agenda item, by its number on the agenda.", example=example)
    items = store.agenda_items(session=ctx.session, meeting=meeting)
    item = items[parsing.item_number(parsing.split_first(number)[0], len(items), "agenda item",
                                     f"/meeting agenda {meeting.short_id}") - 1]
    if item.by != ctx.caller.user_id and not ctx.is_lead:
        raise Refusal("Only whoever added that item (", Person(item.by), ") or a lead can withdraw it.",
                      example=f"/meeting agenda {meeting.short_id}")
    store.remove_item(session=ctx.session, item=item)
    return Reply.announce(line(Person(ctx.caller.user_id), " took an item off the agenda of ",
                               Code(meeting.short_id), ": ", item.text))


# --- changing --------------------------------------------------------------------------------

def _require_organiser(ctx: Context, meeting: Meeting, doing: str) -> None:
    ctx.require_owner_or_lead(meeting.created_by, f"scheduled {meeting.short_id}", doing)


@subcommand(MEETING, "cancel M1", "/meeting cancel M1", "cancel a meeting (whoever scheduled it, or a lead)",
            audited=True)
def cancel(ctx: Context, rest: str) -> Reply:
    meeting = _meeting(ctx, parsing.split_first(rest)[0], "/meeting cancel M1")
    if meeting.status == MeetingStatus.CANCELLED:
        return Reply.tell(line(Code(meeting.short_id), " is already cancelled."))
    _require_organiser(ctx, meeting, "/meeting cancel")
    meeting.status = MeetingStatus.CANCELLED
    ctx.session.add(meeting)
    store.plan_reminders(session=ctx.session, meeting=meeting, due=[])
    return Reply.announce(line(Person(ctx.caller.user_id), " cancelled ", Code(meeting.short_id), " ", meeting.title,
                               f" ({describe(meeting.starts_at, ctx.time_zone)}). Its reminders won't be sent."))


@subcommand(MEETING, "move M1 <date> <HH:MM>", "/meeting move M1 10/12/2026 13:00",
            "move a meeting; its reminders are planned again", audited=True)
def move(ctx: Context, rest: str) -> Reply:
    example = "/meeting move M1 10/12/2026 13:00"
    token, rest = parsing.split_first(rest)
    meeting = _meeting(ctx, token, example)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refusal(f"{meeting.short_id} is cancelled; schedule a new meeting instead.", example=SCHEDULE_EXAMPLE)
    _require_organiser(ctx, meeting, "/meeting move")
    date_words, clock, extra = _when_words(rest.split(), example)
    if extra:
        raise Refusal(f"After the time, {example.split()[1]} takes nothing more (“{' '.join(extra)}”).",
                      example=example)
    day = parse_day(" ".join(date_words), local_today(ctx.now(), ctx.time_zone), example)
    starts_at = local_to_utc(day, clock, ctx.time_zone)
    if starts_at <= ctx.now():
        raise Refusal(f"{describe(starts_at, ctx.time_zone)} has already passed: give a time in the future.",
                      example=example)
    before, meeting.starts_at = meeting.starts_at, starts_at
    ctx.session.add(meeting)
    skipped = _plan(ctx, meeting)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " moved ", Code(meeting.short_id), " ", meeting.title,
                                f" from {describe(before, ctx.time_zone)} to ",
                                Strong(describe(starts_at, ctx.time_zone)), _ambiguity(date_words, day), "."))
    if skipped:
        reply.lines.append(line(f"Reminders {', '.join(skipped)} before would already be past, so they are skipped."))
    return reply


EDIT_EXAMPLE = "/meeting edit M1 place Riverside MP, room 2"
EDIT_FIELDS = ("title", "place", "length", "reminders")


@subcommand(MEETING, "edit M1 title|place|length|reminders <value>", EDIT_EXAMPLE,
            "change a meeting's title, place (or none), length or reminders (whoever scheduled it, or a lead)")
def edit(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    meeting = _meeting(ctx, token, EDIT_EXAMPLE)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refusal(f"{meeting.short_id} is cancelled.", example="/meeting list")
    _require_organiser(ctx, meeting, "/meeting edit")
    field, value = parsing.split_first(rest)
    field = {"length": "length", "for": "length", "at": "place", "remind": "reminders"}.get(field.lower(),
                                                                                             field.lower())
    if field == "title":
        meeting.title = parsing.name(value.strip('"“”„'), "title", EDIT_EXAMPLE, MEETING_TITLE_MAX)
    elif field == "place":
        none = value.strip().lower() in ("none", "-")
        meeting.place = "" if none else parsing.name(value.strip('"“”„'), "place", EDIT_EXAMPLE, MEETING_PLACE_MAX)
    elif field == "length":
        meeting.minutes = _minutes(value, EDIT_EXAMPLE)
    elif field == "reminders":
        meeting.reminders = ",".join(parse_offsets(value, EDIT_EXAMPLE))
    else:
        what = f"“{parsing.shorten(field)}” isn't a meeting field" if field else "Say which field to change"
        raise Refusal(f"{what}: use {', '.join(EDIT_FIELDS)} (and /meeting move for the date).",
                      example=EDIT_EXAMPLE)
    ctx.session.add(meeting)
    if field == "reminders":
        _plan(ctx, meeting)
    return Reply.announce(line(Person(ctx.caller.user_id), f" changed the {field} of ", Code(meeting.short_id), ":"),
                          *_card(ctx, meeting))


@subcommand(MEETING, "reminders <offsets>", "/meeting reminders 7d,1d,1h",
            "the cluster's default reminders for new meetings", leads_only=True)
def reminders(ctx: Context, rest: str) -> Reply:
    offsets = ",".join(parse_offsets(rest, "/meeting reminders 7d,1d,1h"))
    cluster_store.set_reminders(session=ctx.session, cluster_id=ctx.cluster.id, offsets=offsets)
    return Reply.announce(line(Person(ctx.caller.user_id),
                               f" set the cluster's meeting reminders to {offsets} before."))


# --- the scheduler: reminders, and the end of each meeting -------------------------------------

def _system(ctx_for, session, meeting: Meeting) -> tuple[Context, Cluster]:
    cluster = session.get(Cluster, meeting.cluster_id)
    return ctx_for(session, cluster, Caller(SYSTEM, cluster.channel_id, cluster.team_id)), cluster


def _reminders_due(session, now: datetime, time_zone: str) -> list[int]:
    return store.due_reminders(session=session, now=now)


def _send_reminder(ctx_for, session, item: int, now: datetime) -> list:
    if not store.claim_reminder(session=session, reminder_id=item, now=now):
        return []  # another process has it
    reminder = session.get(Reminder, item)
    meeting = session.get(Meeting, reminder.meeting_id)
    if meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at <= now:
        store.mark_reminder(session=session, reminder_id=item, now=now, skipped=True)
        return []  # too late to be useful: the meeting has started (or is off)
    ctx, cluster = _system(ctx_for, session, meeting)
    reply = Reply.announce(line("⏰ Reminder: ", Strong(f"{meeting.short_id} · {meeting.title}"),
                                f" — {_in(meeting.starts_at - now)}"),
                           *_card(ctx, meeting)[1:2],
                           *agenda_lines(ctx, meeting, most=bounds.SHOWN, text_most=REMINDER_TEXT))
    reply.buttons = [Button("Full agenda", "meeting.agenda", meeting.short_id)]
    # The claim and the reminder in the outbox commit together: sent, as far as the scheduler goes.
    store.mark_reminder(session=session, reminder_id=item, now=now)
    return [Post(None, cluster.channel_id, reply, until=meeting.starts_at)]  # after that, not sent at all


def _in(delta: timedelta) -> str:
    """"in 7 days", "in 1 hour", "in 30 minutes" (rounded down to what is true)."""
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        n = int(delta.total_seconds() // size)
        if n >= 1:
            return f"in {n} {unit}{'s' if n != 1 else ''}"
    return "now"


def _ended_due(session, now: datetime, time_zone: str) -> list[int]:
    return store.ended_meetings(session=session, now=now)


def _end_meeting(ctx_for, session, item: int, now: datetime) -> list:
    if not store.claim_end(session=session, meeting_id=item, now=now):
        return []
    meeting = session.get(Meeting, item)
    ctx, cluster = _system(ctx_for, session, meeting)
    reply = Reply.announce(
        line(Strong(f"{meeting.short_id} · {meeting.title}"), " has ended. Record what was decided and who does what:"),
        line(Code(f"/action add <what> @owner due <date> meeting {meeting.short_id}")),
        *record_invitation(meeting),
    )
    reply.buttons = record_buttons(meeting)
    if meeting.recurrence:
        upcoming = _next_in_series(ctx, meeting)
        reply.lines.append(line("Next: ", Code(upcoming.short_id), f" {describe(upcoming.starts_at, ctx.time_zone)}."))
    return [Post(None, cluster.channel_id, reply)]


def record_invitation(meeting: Meeting) -> list[Line]:
    """What to add to a meeting's record (after recording it, and when a scheduled meeting ends)."""
    m = meeting.short_id
    return [
        line("Add who came and what was decided: ", Code(f"/meeting attended {m} <practice codes or @people>"),
             " · ", Code(f"/meeting apologies {m} <…>"), " · ", Code(f"/meeting decision {m} <text> [topic T3]"),
             " · ", Code(f"/meeting note {m} <minute line>")),
        line("Then ", Code(f"/meeting minutes {m}"), " shows the minutes (", Code(f"/meeting minutes {m} word"),
             " for a Word file)."),
    ]


def record_buttons(meeting: Meeting) -> list[Button]:
    """Buttons that open the record's forms (commands/meetings/record.py handles them)."""
    m = meeting.short_id
    return [Button("Attendance", "meeting.attendance", m), Button("Add a decision", "meeting.decision", m),
            Button("Add minute lines", "meeting.note", m)]


def _next_in_series(ctx: Context, meeting: Meeting) -> Meeting:
    local = meeting.starts_at.astimezone(ZoneInfo(ctx.time_zone))
    day = next_day(meeting.recurrence, local.date(), local.time())
    upcoming = Meeting(cluster_id=meeting.cluster_id, short_id="", title=meeting.title, minutes=meeting.minutes,
                       place=meeting.place, recurrence=meeting.recurrence, reminders=meeting.reminders,
                       created_by=meeting.created_by, starts_at=local_to_utc(day, local.time(), ctx.time_zone))
    upcoming = store.create_meeting(session=ctx.session, cluster=ctx.session.get(Cluster, meeting.cluster_id),
                                    meeting=upcoming)
    _plan(ctx, upcoming)
    return upcoming


TICKS.append((_reminders_due, _send_reminder))
TICKS.append((_ended_due, _end_meeting))
