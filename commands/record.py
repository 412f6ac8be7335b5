"""The record of meetings that happened: `/meeting record`, attendance and apologies, minute lines,
decisions, and the cluster's decision log (`/cluster decisions`). Minutes: commands/minutes.py.

The meeting's organiser and the cluster's leads write the record; anyone in the cluster reads it.
"""

import re
from datetime import datetime, timedelta

from commands import parsing
from commands.cluster import CLUSTER
from commands.context import Context
from commands.dates import BACK, describe, local_to_utc, local_today, parse_day
from commands.errors import Refusal
from commands.meetings import MEETING, _rest, _when_words, record_invitation
from commands.registry import subcommand
from commands.results import Code, Person, Reply, Strong, line
from storage import clusters as cluster_store
from storage import meetings as meeting_store
from storage import record as store
from storage import topics as topic_store
from storage.models import MINUTE_TEXT_MAX, Cluster, Meeting, MeetingStatus, Practice

RECORD_EXAMPLE = "/meeting record 12/11/2026 12:30 Cluster QI meeting for 90m"
ATTENDED_EXAMPLE = "/meeting attended M1 80123 80456 @Jane"
APOLOGIES_EXAMPLE = "/meeting apologies M1 80789"
NOTE_EXAMPLE = "/meeting note M1 Prescribing lead presented the DOAC audit"
DECISION_EXAMPLE = "/meeting decision M1 Adopt the asthma recall template topic T3"
ATTENDEE = re.compile(r"<@[^>]*>|[^\s,;]+")  # a mention (which may hold spaces) or a word
TOPIC_TAIL = re.compile(r"\s+topic\s+(\S+)\s*$", re.IGNORECASE)
LOG_LIMIT = 40  # lines in /cluster decisions (a message has room for about 50)
OLDEST = timedelta(days=10 * 366)  # a meeting recorded after the fact: within the last ten years


def find_meeting(ctx: Context, token: str, example: str) -> Meeting:
    return parsing.find_item(ctx, token, prefix="M", noun="meeting", find=meeting_store.find_meeting,
                             example=example)


def require_recorder(ctx: Context, meeting: Meeting, doing: str) -> None:
    """The meeting's organiser or a lead; nobody else writes its record."""
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refusal(f"{meeting.short_id} was cancelled, so it has no record.", example="/meeting list")
    if meeting.created_by != ctx.caller.user_id:
        ctx.require_lead(doing)


def _meeting_and_text(ctx: Context, rest: str, example: str, doing: str) -> tuple[Meeting, str]:
    token, text = parsing.split_first(rest)
    meeting = find_meeting(ctx, token, example)
    require_recorder(ctx, meeting, doing)
    return meeting, text


# --- /meeting record ----------------------------------------------------------------------------------

@subcommand(MEETING, "record <date> <HH:MM> <title> [for <length>] [at <place>]", RECORD_EXAMPLE,
            "record a meeting that has already happened (no reminders)")
def record(ctx: Context, rest: str) -> Reply:
    cluster = ctx.require_cluster()
    date_words, clock, after = _when_words(rest.split(), RECORD_EXAMPLE)
    day = parse_day(" ".join(date_words), local_today(ctx.now(), ctx.time_zone), RECORD_EXAMPLE, BACK)
    starts_at = local_to_utc(day, clock, ctx.time_zone)
    if starts_at > ctx.now():
        raise Refusal(f"{describe(starts_at, ctx.time_zone)} is still to come: to plan a meeting, use schedule "
                      "(record is for meetings that have happened).", example=f"/meeting schedule {rest.strip()}"[:200])
    if starts_at < ctx.now() - OLDEST:
        raise Refusal(f"{describe(starts_at, ctx.time_zone)} is more than ten years ago: check the year.",
                      example=RECORD_EXAMPLE)
    meeting = Meeting(cluster_id=cluster.id, short_id="", title="", created_by=ctx.caller.user_id,
                      starts_at=starts_at, reminders="")
    _rest(ctx, meeting, after, RECORD_EXAMPLE)
    if meeting.reminders:
        raise Refusal("A meeting that has happened needs no reminders: leave out remind.", example=RECORD_EXAMPLE)
    meeting.ended_at = ctx.now()  # already over: no end-of-meeting post, no reminders, ever
    meeting = meeting_store.create_meeting(session=ctx.session, cluster=cluster, meeting=meeting)
    ends = meeting.starts_at + timedelta(minutes=meeting.minutes)
    reply = Reply.announce(
        line(Person(ctx.caller.user_id), " recorded a meeting: ", Strong(f"{meeting.short_id} · {meeting.title}")),
        line(f"{describe(meeting.starts_at, ctx.time_zone)}–{describe(ends, ctx.time_zone)[-5:]}",
             *((" · ", meeting.place) if meeting.place else ())),
        *record_invitation(meeting),
    )
    return reply


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
            "record who came (organiser or leads)")
def attended(ctx: Context, rest: str) -> Reply:
    return _mark(ctx, rest, present=True)


@subcommand(MEETING, "apologies M1 <practice codes or @people>", APOLOGIES_EXAMPLE,
            "record apologies (organiser or leads)")
def apologies(ctx: Context, rest: str) -> Reply:
    return _mark(ctx, rest, present=False)


# --- minute lines and decisions -------------------------------------------------------------------------

@subcommand(MEETING, "note M1 <text>", NOTE_EXAMPLE, "add a line to the minutes, in order (organiser or leads)")
def note(ctx: Context, rest: str) -> Reply:
    meeting, text = _meeting_and_text(ctx, rest, NOTE_EXAMPLE, "/meeting note")
    saved = store.add_minute(session=ctx.session, meeting=meeting, by=ctx.caller.user_id, at=ctx.now(),
                             text=parsing.name(text, "minute line", NOTE_EXAMPLE, MINUTE_TEXT_MAX))
    count = len(store.minute_lines(session=ctx.session, meeting=meeting))
    return Reply.announce(line(Person(ctx.caller.user_id), f" minuted ({count}) at ", Code(meeting.short_id), ": ",
                               saved.text))


@subcommand(MEETING, "decision M1 <text> [topic T3]", DECISION_EXAMPLE,
            "record a decision, for the cluster's decision log (organiser or leads)")
def decision(ctx: Context, rest: str) -> Reply:
    meeting, text = _meeting_and_text(ctx, rest, DECISION_EXAMPLE, "/meeting decision")
    topic = None
    tail = TOPIC_TAIL.search(text)
    if tail:
        topic = parsing.find_item(ctx, tail.group(1), prefix="T", noun="topic", find=topic_store.find_topic,
                                  example=DECISION_EXAMPLE)
        text = text[:tail.start()]
    saved = store.add_decision(session=ctx.session, meeting=meeting, topic=topic, by=ctx.caller.user_id,
                               at=ctx.now(), text=parsing.name(text, "decision", DECISION_EXAMPLE, MINUTE_TEXT_MAX))
    return Reply.announce(line(Person(ctx.caller.user_id), " recorded a decision at ", Code(meeting.short_id), ": ",
                               Strong(saved.text),
                               *((" (", Code(topic.short_id), " ", topic.title, ")") if topic else ())))


# --- /cluster decisions ----------------------------------------------------------------------------------

@subcommand(CLUSTER, "decisions [since <date>]", "/cluster decisions since 1/4/2026",
            "the cluster's decision log: every decision, by meeting")
def decisions(ctx: Context, rest: str) -> Reply:
    example = "/cluster decisions since 1/4/2026"
    cluster = ctx.require_cluster()
    since: datetime | None = None
    word, when = parsing.split_first(rest)
    if word.lower() == "since":
        day = parse_day(when, local_today(ctx.now(), ctx.time_zone), example, BACK)
        since = local_to_utc(day, datetime.min.time(), ctx.time_zone)
    elif word:
        raise Refusal(f"“{word[:40]}” isn't a decisions setting: say since <date>, or nothing.", example=example)
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
