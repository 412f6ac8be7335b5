"""The record of meetings that happened: `/meeting record`, attendance and apologies, minute lines,
decisions, their forms, the meetings held (`/meeting list past`) and the cluster's decision log
(`/cluster decisions`). Minutes: commands/meetings/minutes.py.

The meeting's organiser and the cluster's leads write the record; anyone in the cluster reads it.
Each writing command typed with nothing after the meeting's id opens its form (so do the buttons under
a recorded or ended meeting); the typed way stays for the console and for people who prefer it.
"""

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from commands import bounds
from commands.cluster import CLUSTER
from commands.context import Context
from commands.errors import Refusal, on_field
from commands.meetings.lock import refuse_when_locked
from commands.meetings.schedule import (
    LENGTH_CHOICES,
    MEETING,
    PAST_LIST,
    _minutes,
    _rest,
    _when_words,
    record_buttons,
    record_invitation,
)
from commands.registry import button, form, subcommand
from commands.results import Choice, Code, Form, FormField, Line, Person, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import BACK, describe, local_to_utc, local_today, parse_clock, parse_day, since_setting
from storage import clusters as cluster_store
from storage import events
from storage import meeting_record as store
from storage import meetings as meeting_store
from storage import topics as topic_store
from storage.models import (
    MEETING_PLACE_MAX,
    MEETING_TITLE_MAX,
    MINUTE_TEXT_MAX,
    PLATFORM_ID_MAX,
    Cluster,
    Meeting,
    MeetingStatus,
    MinuteLine,
    Practice,
    Topic,
    TopicStatus,
)

RECORD_EXAMPLE = "/meeting record 12/11/2026 12:30 Cluster QI meeting for 90m"
ATTENDED_EXAMPLE = "/meeting attended M1 80123 80456 @Jane"
APOLOGIES_EXAMPLE = "/meeting apologies M1 80789"
NOTE_EXAMPLE = "/meeting note M1 Prescribing lead presented the DOAC audit"
DECISION_EXAMPLE = "/meeting decision M1 Adopt the asthma recall template topic T3"
ATTENDEE = re.compile(r"<@[^>]*>|[^\s,;]+")  # a mention (which may hold spaces) or a word
TOPIC_TAIL = re.compile(r"\s+topic\s+(\S+)\s*$", re.IGNORECASE)
LOG_LIMIT = 40  # lines in /cluster decisions (a message has room for about 50)
OLDEST = timedelta(days=10 * 366)  # a meeting recorded after the fact: within the last ten years
NOTES_FORM_MAX = 3000  # several minute lines typed at once in the form (the most a text field takes everywhere)
NOTES_AT_ONCE = 30
CHOICES_MAX = 100  # the longest choice list every platform shows
PAST_LIMIT = 15  # meetings in /meeting list past
MARKS = {"present": True, "apologies": False}  # the attendance form's choices, as Attendance.present
ATTENDANCE_CHOICES = (Choice("present", "Present"), Choice("apologies", "Apologies"),
                      Choice("none", "Not recorded"))


def find_meeting(ctx: Context, token: str, example: str) -> Meeting:
    return parsing.find_item(ctx, token, prefix="M", noun="meeting", find=meeting_store.find_meeting,
                             example=example)


def require_recorder(ctx: Context, meeting: Meeting, doing: str) -> None:
    """The meeting's organiser or a lead; nobody else writes its record, nor anyone once it is locked."""
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refusal(f"{meeting.short_id} was cancelled, so it has no record.", example="/meeting list")
    if meeting.created_by != ctx.caller.user_id:
        ctx.require_lead(doing)
    refuse_when_locked(ctx, meeting)


def _meeting_and_text(ctx: Context, rest: str, example: str, doing: str) -> tuple[Meeting, str]:
    token, text = parsing.split_first(rest)
    meeting = find_meeting(ctx, token, example)
    require_recorder(ctx, meeting, doing)
    return meeting, text


# --- /meeting record ----------------------------------------------------------------------------------

@subcommand(MEETING, "record <date> <HH:MM> <title> [for <length>] [at <place>]", RECORD_EXAMPLE,
            "record a meeting that has already happened (no reminders; with nothing after it, a form)", audited=True,
            members_only=True)
def record(ctx: Context, rest: str) -> Reply:
    cluster = ctx.require_cluster()
    if not rest.strip():
        return _record_form(ctx)
    date_words, clock, after = _when_words(rest.split(), RECORD_EXAMPLE)
    day = parse_day(" ".join(date_words), local_today(ctx.now(), ctx.time_zone), RECORD_EXAMPLE, BACK)
    starts_at = local_to_utc(day, clock, ctx.time_zone)
    _refuse_unless_held(ctx, starts_at, f"/meeting schedule {rest.strip()}"[:200])
    meeting = Meeting(cluster_id=cluster.id, short_id="", title="", created_by=ctx.caller.user_id,
                      starts_at=starts_at, reminders="")
    _rest(ctx, meeting, after, RECORD_EXAMPLE)
    if meeting.reminders:
        raise Refusal("A meeting that has happened needs no reminders: leave out remind.", example=RECORD_EXAMPLE)
    return _save_record(ctx, cluster, meeting)


def _refuse_unless_held(ctx: Context, starts_at: datetime, schedule: str, field: str | None = None) -> None:
    """A recorded meeting has started, within ten years. `schedule`: the typed way to plan it instead;
    `field`: the form's date field, where the form has one (which says how to plan it in its own words)."""
    when = describe(starts_at, ctx.time_zone)
    if starts_at > ctx.now():
        plan = ("this form is for meetings that have happened. To plan one, type /meeting" if field else
                "to plan a meeting, use schedule (record is for meetings that have happened)")
        raise Refusal(f"{when} is still to come: {plan}.", example=schedule, field=field)
    if starts_at < ctx.now() - OLDEST:
        raise Refusal(f"{when} is more than ten years ago: check the year.", example=RECORD_EXAMPLE, field=field)


def _save_record(ctx: Context, cluster: Cluster, meeting: Meeting) -> Reply:
    meeting.ended_at = ctx.now()  # already over: no end-of-meeting post, no reminders, ever
    meeting = meeting_store.create_meeting(session=ctx.session, cluster=cluster, meeting=meeting)
    ends = meeting.starts_at + timedelta(minutes=meeting.minutes)
    reply = Reply.announce(
        line(Person(ctx.caller.user_id), " recorded a meeting: ", Strong(f"{meeting.short_id} · {meeting.title}")),
        line(f"{describe(meeting.starts_at, ctx.time_zone)}–{describe(ends, ctx.time_zone)[-5:]}",
             *((" · ", meeting.place) if meeting.place else ())),
        *record_invitation(meeting),
    )
    reply.buttons = record_buttons(meeting)
    return reply


def _record_form(ctx: Context) -> Reply:
    fields = (
        FormField("title", "Title", max_length=MEETING_TITLE_MAX, initial="Cluster QI meeting"),
        FormField("date", "Date it was held", "date", initial=local_today(ctx.now(), ctx.time_zone).isoformat()),
        FormField("time", "Start", "time", initial="12:30"),
        FormField("minutes", "Length", "choice", initial="60", choices=LENGTH_CHOICES),
        FormField("place", "Where it was held", optional=True, max_length=MEETING_PLACE_MAX),
    )
    return Reply(lines=[line("Recording a meeting takes a form. Here, type it: ", Code(RECORD_EXAMPLE))],
                 form=Form("meeting.record", "Record a past meeting", "Record", fields))


@form("meeting.record", audited=True, members_only=True)
def submit_record_form(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    cluster = ctx.require_cluster()
    if ctx.submission_key and meeting_store.find_submitted_meeting(session=ctx.session, cluster=cluster,
                                                                    submission_key=ctx.submission_key):
        return Reply()  # the same form submitted twice: recorded once
    day = _picked_day(values.get("date") or "")
    clock = on_field("time", parse_clock, values.get("time") or "", RECORD_EXAMPLE)
    starts_at = local_to_utc(day, clock, ctx.time_zone)
    _refuse_unless_held(ctx, starts_at, "/meeting", field="date")
    place = (values.get("place") or "").strip()
    meeting = Meeting(
        cluster_id=cluster.id, short_id="", created_by=ctx.caller.user_id, starts_at=starts_at, reminders="",
        title=parsing.name(values.get("title", ""), "title", RECORD_EXAMPLE, MEETING_TITLE_MAX, "title"),
        minutes=on_field("minutes", _minutes, values.get("minutes") or "60", RECORD_EXAMPLE),
        place=parsing.name(place, "place", RECORD_EXAMPLE, MEETING_PLACE_MAX, "place") if place else "",
        submission_key=ctx.submission_key,
    )
    return _save_record(ctx, cluster, meeting)


def _picked_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refusal("Pick the date the meeting was held.", field="date") from None


# --- forms of the record: opened by the typed commands with nothing after the meeting, and by buttons -----

def _first_submission(ctx: Context) -> bool:
    """False for a form submitted again (a double click): its key is kept with the change it made, so a
    repeat, even at the same moment, finds it. A submission that was refused kept nothing."""
    return not ctx.submission_key or events.first_time(
        session=ctx.session, event_id=f"form:{ctx.submission_key}"[:PLATFORM_ID_MAX])


def _submitted_meeting(ctx: Context, context: dict, doing: str) -> Meeting:
    """The meeting a record form was opened for, checked again: roles and meetings change while a form is open."""
    meeting = find_meeting(ctx, str(context.get("meeting", "")), "/meeting list past")
    require_recorder(ctx, meeting, doing)
    return meeting


def _opened(ctx: Context, token: str, doing: str, example: str, make: Callable[[Context, Meeting], Reply]) -> Reply:
    """A button's form: `make(ctx, meeting)` for a meeting the caller may write the record of."""
    meeting = find_meeting(ctx, token, example)
    require_recorder(ctx, meeting, doing)
    return make(ctx, meeting)


# --- attendance ---------------------------------------------------------------------------------------

def _attendees(ctx: Context, text: str, example: str) -> list[tuple[str, Practice | None, str | None]]:
    """(attendee key, practice, user id) for each practice code or @mention in `text`."""
    tokens = ATTENDEE.findall(text)
    if not tokens:
        raise Refusal("Name the practices (their 5-digit codes) or people (@mention them).", example=example)
    cluster = ctx.require_cluster()
    found: dict[str, tuple[str, Practice | None, str | None]] = {}
    for token in tokens:
        if token.startswith("<@"):
            user_id = parsing.mention(token, example)
            member = cluster_store.find_member(session=ctx.session, cluster=cluster, user_id=user_id)
            practice = ctx.session.get(Practice, member.practice_id) if member and member.practice_id else None
            found[store.person_key(user_id)] = (store.person_key(user_id), practice, user_id)
        elif parsing.PRACTICE_CODE.match(token):
            practice = cluster_store.find_practice(session=ctx.session, cluster=cluster, code=token)
            if practice is None:
                raise Refusal(f"{token} isn't a practice of this cluster. Its practices: "
                              f"{_practice_codes(ctx, cluster)}.", example=example)
            found[store.practice_key(practice)] = (store.practice_key(practice), practice, None)
        else:
            raise Refusal(f"“{token[:40]}” isn't a practice code (5 digits) or an @mention.", example=example)
    return list(found.values())


def _practice_codes(ctx: Context, cluster: Cluster) -> str:
    practices = cluster_store.list_practices(session=ctx.session, cluster=cluster)
    return ", ".join(f"{p.code} {p.name}" for p in practices) or "none yet (add one with /cluster practice add)"


def _mark(ctx: Context, rest: str, present: bool) -> Reply:
    example = ATTENDED_EXAMPLE if present else APOLOGIES_EXAMPLE
    doing = "/meeting attended" if present else "/meeting apologies"
    meeting, text = _meeting_and_text(ctx, rest, example, doing)
    if not text.strip():
        return _attendance_form(ctx, meeting)
    marked = _attendees(ctx, text, example)
    for key, practice, user_id in marked:
        store.mark_attendance(session=ctx.session, meeting=meeting, attendee=key,
                              practice_id=practice.id if practice else None, user_id=user_id, present=present,
                              by=ctx.caller.user_id, at=ctx.now())
    what = "present" if present else "apologies"
    names: list = []
    for i, (_, practice, user_id) in enumerate(marked):
        names += [", "] if i else []
        names += [Person(user_id), *((f" ({practice.code})",) if practice else ())] if user_id else [
            f"{practice.code} {practice.name}"]
    return Reply.announce(line(Person(ctx.caller.user_id), f" recorded {what} at ", Code(meeting.short_id), ": ",
                               *names, "."),
                          line(represented(ctx, meeting)))


def represented(ctx: Context, meeting: Meeting) -> str:
    """"5 of 6 practices represented" (a practice is represented when it, or one of its people, came)."""
    cluster = ctx.session.get(Cluster, meeting.cluster_id)
    practices = cluster_store.list_practices(session=ctx.session, cluster=cluster)
    present = {row.practice_id for row, _ in store.attendance(session=ctx.session, meeting=meeting)
               if row.present and row.practice_id}
    n = len([p for p in practices if p.id in present])
    return f"{n} of {len(practices)} practice{'s' if len(practices) != 1 else ''} represented"


@subcommand(MEETING, "attended M1 <practice codes or @people>", ATTENDED_EXAMPLE,
            "record who came (organiser or leads; with no names, a form of the practices)", audited=True,
            members_only=True)
def attended(ctx: Context, rest: str) -> Reply:
    return _mark(ctx, rest, present=True)


@subcommand(MEETING, "apologies M1 <practice codes or @people>", APOLOGIES_EXAMPLE,
            "record apologies (organiser or leads; with no names, the same form)", audited=True, members_only=True)
def apologies(ctx: Context, rest: str) -> Reply:
    return _mark(ctx, rest, present=False)


def _practice_marks(ctx: Context, meeting: Meeting) -> dict[int, bool]:
    """practice id -> present (False: apologies), for practices recorded as practices (not through a person)."""
    return {row.practice_id: row.present for row, _ in store.attendance(session=ctx.session, meeting=meeting)
            if row.user_id is None and row.practice_id}


def _attendance_form(ctx: Context, meeting: Meeting) -> Reply:
    """One choice per practice, showing what is recorded now, so the form both records and corrects."""
    m = meeting.short_id
    practices = cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster())
    if not practices:
        raise Refusal("The cluster has no practices yet, so there are none to tick: mention the people who came.",
                      example=f"/meeting attended {m} @Jane")
    marks = _practice_marks(ctx, meeting)
    choice = {True: "present", False: "apologies"}
    fields = tuple(FormField(f"p{p.code}", f"{p.name} ({p.code})"[:48], "choice",
                             initial=choice.get(marks.get(p.id), "none"), choices=ATTENDANCE_CHOICES)
                   for p in practices)
    return Reply(lines=[line("Recording attendance takes a form. Here, type it: ",
                             Code(f"/meeting attended {m} 80123 80456 @Jane"), " and ",
                             Code(f"/meeting apologies {m} 80789"))],
                 form=Form("meeting.attendance", f"Attendance at {m}", "Save", fields, {"meeting": m}))


@button("meeting.attendance", members_only=True, opens_form=True)
def attendance_button(ctx: Context, value: str) -> Reply:
    return _opened(ctx, value, "/meeting attended", ATTENDED_EXAMPLE, _attendance_form)


@form("meeting.attendance", audited=True, members_only=True)
def submit_attendance(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    meeting = _submitted_meeting(ctx, context, "/meeting attended")
    if not _first_submission(ctx):
        return Reply()
    practices = cluster_store.list_practices(session=ctx.session, cluster=ctx.require_cluster())
    before = _practice_marks(ctx, meeting)
    changed = False
    for practice in practices:
        changed |= _set_mark(ctx, meeting, practice, values.get(f"p{practice.code}", ""), before.get(practice.id))
    if not changed:
        return Reply.tell(line("Nothing changed at ", Code(meeting.short_id), ": ", represented(ctx, meeting), "."))
    marks = _practice_marks(ctx, meeting)
    return Reply.announce(
        line(Person(ctx.caller.user_id), " recorded attendance at ", Code(meeting.short_id), ":"),
        _named("Present", [p for p in practices if marks.get(p.id) is True]),
        _named("Apologies", [p for p in practices if marks.get(p.id) is False]),
        line(represented(ctx, meeting)),
    )


def _set_mark(ctx: Context, meeting: Meeting, practice: Practice, chosen: str, now: bool | None) -> bool:
    """Record the practice as chosen on the form; whether that changed anything. Nothing chosen (a practice
    added after the form was opened) leaves its record as it is."""
    if chosen not in (*MARKS, "none", ""):
        raise Refusal("Pick present, apologies or not recorded.", field=f"p{practice.code}")
    key = store.practice_key(practice)
    if chosen == "none" and now is not None:
        store.clear_attendance(session=ctx.session, meeting=meeting, attendee=key)
        return True
    if chosen in MARKS and MARKS[chosen] != now:
        store.mark_attendance(session=ctx.session, meeting=meeting, attendee=key, practice_id=practice.id,
                              user_id=None, present=MARKS[chosen], by=ctx.caller.user_id, at=ctx.now())
        return True
    return False


def _named(label: str, practices: list[Practice]) -> Line:
    return line(Strong(f"{label}:"), " ", "; ".join(f"{p.code} {p.name}" for p in practices) or "none")


# --- minute lines and decisions -------------------------------------------------------------------------

@subcommand(MEETING, "note M1 <text>", NOTE_EXAMPLE,
            "add a line to the minutes, in order (organiser or leads; several lines: one each; no text: a form)",
            audited=True, members_only=True)
def note(ctx: Context, rest: str) -> Reply:
    meeting, text = _meeting_and_text(ctx, rest, NOTE_EXAMPLE, "/meeting note")
    if not text.strip():
        return _note_form(ctx, meeting)
    typed = [t for t in text.splitlines() if t.strip()]
    if len(typed) > 1:  # typed with Shift+Enter between lines: one minute line each, as the form does
        if len(typed) > NOTES_AT_ONCE:
            raise Refusal(f"That is {len(typed)} lines; up to {NOTES_AT_ONCE} go in at a time. Nothing was added.",
                          example=NOTE_EXAMPLE)
        texts = [_minute_line(t, n) for n, t in enumerate(typed, 1)]
    else:
        texts = [parsing.name(text, "minute line", NOTE_EXAMPLE, MINUTE_TEXT_MAX)]
    _room_for_minutes(ctx, meeting, len(texts))
    return _minuted(ctx, meeting, [store.add_minute(session=ctx.session, meeting=meeting, by=ctx.caller.user_id,
                                                    at=ctx.now(), text=t) for t in texts])


def _room_for_minutes(ctx: Context, meeting: Meeting, adding: int, field: str | None = None) -> None:
    """Refuse lines that would take the meeting's minutes past their most (nothing of them is added)."""
    count = store.count_minutes(session=ctx.session, meeting=meeting)
    if count + adding > bounds.MINUTE_LINES:
        room = bounds.MINUTE_LINES - count
        raise Refusal(f"{meeting.short_id}'s minutes have {count} lines, and a meeting's minutes take at most "
                      f"{bounds.MINUTE_LINES}: " + (f"there is room for {room} more. " if room else "") +
                      "Nothing was added. Put several points in one line, or record the rest in the minutes' "
                      "Word file.", example=f"/meeting minutes {meeting.short_id} word", field=field)


def _minuted(ctx: Context, meeting: Meeting, saved: list[MinuteLine]) -> Reply:
    """"minuted (3) at M1: …" for one line; the new lines numbered as in the minutes for several."""
    count = len(store.minute_lines(session=ctx.session, meeting=meeting))
    if len(saved) == 1:
        return Reply.announce(line(Person(ctx.caller.user_id), f" minuted ({count}) at ", Code(meeting.short_id),
                                   ": ", saved[0].text))
    first = count - len(saved) + 1
    return Reply.announce(line(Person(ctx.caller.user_id), f" minuted {len(saved)} lines at ",
                               Code(meeting.short_id), ":"),
                          *(line(f"{n}. ", row.text) for n, row in enumerate(saved, first)))


def _note_form(ctx: Context, meeting: Meeting) -> Reply:
    m = meeting.short_id
    text = FormField("text", "Minute lines, one per line", "long_text", max_length=NOTES_FORM_MAX,
                     hint="each line is added to the minutes in order")
    return Reply(lines=[line("Writing several minute lines takes a form. Here, type one at a time: ",
                             Code(f"/meeting note {m} <minute line>"))],
                 form=Form("meeting.note", f"Minutes of {m}", "Add", (text,), {"meeting": m}))


@button("meeting.note", members_only=True, opens_form=True)
def note_button(ctx: Context, value: str) -> Reply:
    return _opened(ctx, value, "/meeting note", NOTE_EXAMPLE, _note_form)


@form("meeting.note", audited=True, members_only=True)
def submit_note(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    meeting = _submitted_meeting(ctx, context, "/meeting note")
    if not _first_submission(ctx):
        return Reply()
    texts = [_minute_line(text, n) for n, text in enumerate(_lines(values.get("text", "")), 1)]
    _room_for_minutes(ctx, meeting, len(texts), field="text")
    return _minuted(ctx, meeting, [store.add_minute(session=ctx.session, meeting=meeting, by=ctx.caller.user_id,
                                                    at=ctx.now(), text=text) for text in texts])


def _lines(text: str) -> list[str]:
    lines = [t for t in text.splitlines() if t.strip()]
    if not lines:
        raise Refusal("Write at least one minute line.", field="text")
    if len(lines) > NOTES_AT_ONCE:
        raise Refusal(f"That is {len(lines)} lines; the form takes up to {NOTES_AT_ONCE} at a time.", field="text")
    return lines


def _minute_line(text: str, number: int) -> str:
    """One line of the form, checked like a typed one; a problem names the line."""
    try:
        return parsing.name(text, "minute line", NOTE_EXAMPLE, MINUTE_TEXT_MAX, "text")
    except Refusal as refusal:
        refusal.message = (f"Line {number} (nothing was added): ", *refusal.message)
        raise


@subcommand(MEETING, "decision M1 <text> [topic T3]", DECISION_EXAMPLE,
            "record a decision, for the cluster's decision log (organiser or leads; with no text, a form)",
            audited=True, members_only=True)
def decision(ctx: Context, rest: str) -> Reply:
    meeting, text = _meeting_and_text(ctx, rest, DECISION_EXAMPLE, "/meeting decision")
    if not text.strip():
        return _decision_form(ctx, meeting)
    topic = None
    tail = TOPIC_TAIL.search(text)
    if tail:
        topic = _topic(ctx, tail.group(1))
        text = text[:tail.start()]
    return _decided(ctx, meeting, parsing.name(text, "decision", DECISION_EXAMPLE, MINUTE_TEXT_MAX), topic)


def _topic(ctx: Context, token: str) -> Topic:
    return parsing.find_item(ctx, token, prefix="T", noun="topic", find=topic_store.find_topic,
                             example=DECISION_EXAMPLE)


def _decided(ctx: Context, meeting: Meeting, text: str, topic: Topic | None) -> Reply:
    bounds.refuse_when_full(
        store.count_decisions(session=ctx.session, meeting=meeting), bounds.DECISIONS,
        f"{meeting.short_id} has {bounds.DECISIONS} decisions, the most one meeting records, so this one wasn't "
        "added. Record the rest as minute lines.", example=f"/meeting note {meeting.short_id} <minute line>")
    saved = store.add_decision(session=ctx.session, meeting=meeting, topic=topic, by=ctx.caller.user_id,
                               at=ctx.now(), text=text)
    return Reply.announce(line(Person(ctx.caller.user_id), " recorded a decision at ", Code(meeting.short_id), ": ",
                               Strong(saved.text),
                               *((" (", Code(topic.short_id), " ", topic.title, ")") if topic else ())))


def _decision_form(ctx: Context, meeting: Meeting) -> Reply:
    m = meeting.short_id
    statuses = [s for s in TopicStatus if s != TopicStatus.DROPPED]
    topics = topic_store.list_topics(session=ctx.session, cluster=ctx.require_cluster(), statuses=statuses)
    fields = [FormField("text", "Decision", "long_text", max_length=MINUTE_TEXT_MAX)]
    if topics:  # the newest, when there are more than a choice list holds
        fields.append(FormField("topic", "About a topic", "choice", optional=True,
                                choices=tuple(Choice(t.short_id, f"{t.short_id} {t.title}")
                                              for t in topics[-CHOICES_MAX:])))
    return Reply(lines=[line("Recording a decision takes a form. Here, type it: ",
                             Code(f"/meeting decision {m} <text> [topic T3]"))],
                 form=Form("meeting.decision", f"Decision at {m}", "Record", tuple(fields), {"meeting": m}))


@button("meeting.decision", members_only=True, opens_form=True)
def decision_button(ctx: Context, value: str) -> Reply:
    return _opened(ctx, value, "/meeting decision", DECISION_EXAMPLE, _decision_form)


@form("meeting.decision", audited=True, members_only=True)
def submit_decision(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    meeting = _submitted_meeting(ctx, context, "/meeting decision")
    if not _first_submission(ctx):
        return Reply()
    text = parsing.name(values.get("text", ""), "decision", DECISION_EXAMPLE, MINUTE_TEXT_MAX, "text")
    topic = on_field("topic", _topic, ctx, values["topic"]) if values.get("topic") else None
    return _decided(ctx, meeting, text, topic)


# --- /meeting list past ------------------------------------------------------------------------------------

@subcommand(MEETING, "list past", PAST_LIST,
            "meetings already held, newest first, with what their record holds", read_only=True)
def list_past(ctx: Context, rest: str) -> Reply:
    if rest.strip():
        raise Refusal(f"{PAST_LIST} takes nothing more (“{parsing.shorten(rest.strip())}”).", example=PAST_LIST)
    cluster = ctx.require_cluster()
    held = _held(ctx, cluster)
    if not held:
        return Reply.tell(line("No meetings have been held yet. Record one that has: ", Code(RECORD_EXAMPLE)),
                          line("Meetings to come: ", Code("/meeting list")))
    shown = held[:PAST_LIMIT]
    counts = store.record_counts(session=ctx.session, meetings=shown)
    practices = {p.id for p in cluster_store.list_practices(session=ctx.session, cluster=cluster)}
    reply = Reply.tell(line(Strong(f"Meetings held by {cluster.name}"), ", newest first"))
    reply.lines += [line("• ", Code(m.short_id), " ", m.title, f" — {describe(m.starts_at, ctx.time_zone)} — ",
                         _summary(counts[m.id], practices)) for m in shown]
    if len(held) > PAST_LIMIT:
        reply.lines.append(line(f"The latest {PAST_LIMIT}; the Board report has them all: ", Code("/cluster report")))
    reply.lines.append(line("The minutes of one: ", Code(f"/meeting minutes {shown[0].short_id}"),
                            " · meetings to come: ", Code("/meeting list")))
    return reply


def _held(ctx: Context, cluster: Cluster) -> list[Meeting]:
    """Meetings that have ended, newest first: one more than the list shows, to know there are more.
    A meeting under way is still in /meeting list, so it is left out here."""
    now = ctx.now()
    under_way = {m.id for m in meeting_store.upcoming_meetings(session=ctx.session, cluster=cluster, since=now)
                 if m.starts_at <= now}
    latest = store.latest_meetings(session=ctx.session, cluster=cluster, before=now,
                                   limit=PAST_LIMIT + 1 + len(under_way))
    return [m for m in latest if m.id not in under_way][:PAST_LIMIT + 1]


def _summary(counts: store.RecordCounts, practices: set[int]) -> str:
    """"4 of 6 practices, 2 decisions, no minute lines", or "nothing recorded yet"."""
    if not (counts.attendance or counts.decisions or counts.minute_lines):
        return "nothing recorded yet"
    came = len(counts.practices_present & practices)
    attendance = (f"{came} of {len(practices)} practice{'s' if len(practices) != 1 else ''}"
                  if counts.attendance else "no attendance")
    return ", ".join((attendance, _count(counts.decisions, "decision"), _count(counts.minute_lines, "minute line")))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}" if n else f"no {noun}s"


# --- /cluster decisions ----------------------------------------------------------------------------------

@subcommand(CLUSTER, "decisions [since <date>]", "/cluster decisions since 1/4/2026",
            "the cluster's decision log: every decision, by meeting")
def decisions(ctx: Context, rest: str) -> Reply:
    example = "/cluster decisions since 1/4/2026"
    cluster = ctx.require_cluster()
    since = since_setting(rest, ctx.now(), ctx.time_zone, "a decisions", example)
    rows = store.decisions(session=ctx.session, cluster=cluster, since=since)
    if not rows:
        return Reply.tell(line("No decisions recorded", " since then" if since else "", ". Record one: ",
                               Code(DECISION_EXAMPLE)))
    reply = Reply.tell(line(Strong(f"Decision log of {cluster.name}"), f" ({len(rows)})"))
    meeting = None
    for row in rows[-LOG_LIMIT:]:
        if row.meeting != meeting:
            meeting = row.meeting
            reply.lines.append(line(Strong(f"{row.meeting} · {row.meeting_title}"),
                                    f" — {describe(row.meeting_starts_at, ctx.time_zone)}"))
        reply.lines.append(line("• ", row.text, *((" (", Code(row.topic), " ", row.topic_title, ")")
                                                  if row.topic else ())))
    if len(rows) > LOG_LIMIT:
        reply.lines.insert(1, line(f"The latest {LOG_LIMIT}; the Board report has them all: ",
                                   Code("/cluster report")))
    return reply
