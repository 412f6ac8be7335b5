"""`/meeting minutes M1 [word]`: a meeting's minutes from its record, in the chat or as a Word file.

The minutes gather what the record holds (attendance, minute lines, decisions), the agenda items,
the actions raised at the meeting and the topic moves made on its day. With nothing recorded they
are a clear, empty template that says how to fill each part.
"""

import io
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from commands.context import Context
from commands.errors import Refusal
from commands.exports import looks_identifying, upload
from commands.meetings import lock
from commands.meetings.record import find_meeting, represented
from commands.meetings.schedule import MEETING, _item_notes
from commands.registry import subcommand
from commands.results import Code, Line, Person, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import local_to_utc
from reports import lazily
from storage import clusters as cluster_store
from storage import meeting_record as store
from storage import meetings as meeting_store
from storage.models import Cluster, Meeting, MeetingStatus

minutes_doc = lazily("reports.minutes")
workbook = lazily("reports.workbook")

MINUTES_EXAMPLE = "/meeting minutes M1 word"
DOCX = "docx"


def _wants_word(rest: str) -> bool:
    """The minutes as a file (`minutes M1 word`); in the chat, they are no file."""
    return parsing.split_first(rest)[1].strip().lower() in ("word", "docx")


def _parse(ctx: Context, rest: str) -> tuple[Meeting, bool]:
    token, more = parsing.split_first(rest)
    meeting = find_meeting(ctx, token, MINUTES_EXAMPLE)
    if more.lower() not in ("", "word", "docx"):
        raise Refusal(f"“{more[:40]}” isn't a minutes setting: add word for a Word file, or nothing.",
                      example=MINUTES_EXAMPLE)
    return meeting, bool(more)


@subcommand(MEETING, "minutes M1 [word]", MINUTES_EXAMPLE,
            "the minutes: attendance, items, minute lines, decisions, actions (word: a Word file in the channel)",
            later=lambda ctx, rest: _word(ctx, rest), files=lambda rest: _wants_word(rest))
def minutes(ctx: Context, rest: str) -> Reply:
    meeting, word = _parse(ctx, rest)
    if word:
        return Reply.tell(line("Preparing the minutes of ", Code(meeting.short_id), " as a Word file…"))
    reply = Reply.tell(*minutes_lines(gather(ctx, meeting)))
    if meeting.status != MeetingStatus.CANCELLED and lock.is_locked(ctx, meeting):
        reply.lines.append(line("These minutes are read-only (a lead can open them: ",
                                Code(f"/meeting unlock {meeting.short_id}"), ")."))
    return reply


def _word(ctx: Context, rest: str) -> Reply:
    meeting, word = _parse(ctx, rest)
    if not word:
        return Reply()  # the minutes were shown in the chat
    cluster = ctx.require_cluster()
    out = io.BytesIO()
    minutes_doc.write_minutes(out, gather(ctx, meeting), ctx.directory,
                              lambda text: workbook.WITHHELD if looks_identifying(text) else text)
    title = f"Minutes of {meeting.short_id} {meeting.title}"
    return Reply.quiet(upload(ctx, cluster, title, f"minutes-{meeting.short_id.lower()}", DOCX, out.getvalue()))


def gather(ctx: Context, meeting: Meeting) -> "minutes_doc.Minutes":
    """Everything the minutes hold, read now."""
    session, tz = ctx.session, ZoneInfo(ctx.time_zone)
    cluster = session.get(Cluster, meeting.cluster_id)
    starts = meeting.starts_at.astimezone(tz)
    ends = starts + timedelta(minutes=meeting.minutes)
    found = minutes_doc.Minutes(cluster.name, meeting.short_id, meeting.title,
                    f"{starts:%A %-d %B %Y}, {starts:%H:%M}–{ends:%H:%M}", meeting.place,
                    represented(ctx, meeting), generated_at=ctx.now().astimezone(tz))
    came: set[int] = set()
    for row, practice in store.attendance(session=session, meeting=meeting):
        label = f"{practice.code} {practice.name}" if practice else None
        (found.present if row.present else found.apologies).append(minutes_doc.Attendee(row.user_id, label))
        if row.present and practice:
            came.add(practice.id)
    found.not_represented = [f"{p.code} {p.name}" for p in cluster_store.list_practices(session=session,
                                                                                        cluster=cluster)
                             if p.id not in came]
    found.agenda = [item.text + "".join(_item_notes(ctx, item))
                    for item in meeting_store.agenda_items(session=session, meeting=meeting)]
    found.lines = [row.text for row in store.minute_lines(session=session, meeting=meeting)]
    found.decisions = [minutes_doc.Decided(d.text, d.topic, d.topic_title)
                       for d in store.decisions(session=session, cluster=cluster, meeting=meeting)]
    found.actions = [minutes_doc.RaisedAction(a.short_id, a.description, a.owner, a.due_on, a.status)
                     for a in store.meeting_actions(session=session, meeting=meeting)]
    day_starts = local_to_utc(starts.date(), time(0, 0), ctx.time_zone)
    day_ends = local_to_utc(starts.date() + timedelta(days=1), time(0, 0), ctx.time_zone)
    found.moves = [minutes_doc.Move(t.short_id, t.title, m.from_status, m.to_status, m.by, m.reason)
                   for m, t in store.topic_moves_between(session=session, cluster=cluster, since=day_starts,
                                                         until=day_ends)]
    return found


def _attendee(attendee: "minutes_doc.Attendee") -> tuple:
    if attendee.user_id:
        return (Person(attendee.user_id), *((f" ({attendee.practice})",) if attendee.practice else ()))
    return (attendee.practice,)


def _joined(attendees: "list[minutes_doc.Attendee]") -> tuple:
    segments: list = []
    for i, attendee in enumerate(attendees):
        segments += ["; "] if i else []
        segments += _attendee(attendee)
    return tuple(segments)


def minutes_lines(minutes: "minutes_doc.Minutes") -> list[Line]:
    m = minutes.meeting
    lines = [line(Strong(f"Minutes · {m} · {minutes.title}")),
             line(minutes.when, *((" · ", minutes.place) if minutes.place else ()), " · ", minutes.represented)]
    if minutes.is_empty:
        lines.append(line("Nothing is recorded for this meeting yet. Fill in the template below."))
    lines.append(line(Strong("Present:"), " ", *(_joined(minutes.present) or
                                            ("none recorded — ", Code(f"/meeting attended {m} 80123 @Jane")))))
    lines.append(line(Strong("Apologies:"), " ", *(_joined(minutes.apologies) or
                                              ("none recorded — ", Code(f"/meeting apologies {m} 80456")))))
    if minutes.not_represented and (minutes.present or minutes.apologies):
        lines.append(line(Strong("Not represented:"), " ", "; ".join(minutes.not_represented)))
    _numbered(lines, "Agenda", minutes.agenda, f"/meeting item {m} <text>")
    _numbered(lines, "Minutes", minutes.lines, f"/meeting note {m} <text>")
    lines.append(line(Strong("Decisions")))
    lines += [line(f"{n}. ", d.text, *((" (", Code(d.topic), " ", d.topic_title, ")") if d.topic else ()))
              for n, d in enumerate(minutes.decisions, 1)] or [
        line("None recorded — ", Code(f"/meeting decision {m} <text> [topic T3]"))]
    lines.append(line(Strong("Actions raised")))
    lines += [line("• ", Code(a.short_id), " ", a.what, " — ", Person(a.owner),
                   f", due {minutes_doc.due_text(a.due_on)}",
                   " (done)" if a.status == "done" else "") for a in minutes.actions] or [
        line("None — ", Code(f"/action add <what> @owner due <date> meeting {m}"))]
    if minutes.moves:
        lines.append(line(Strong("Topic changes on the day")))
        lines += [line("• ", Code(mv.topic), f" {mv.title}: ",
                       f"{mv.from_status} → {mv.to_status}" if mv.from_status else "proposed",
                       *((f" ({mv.reason})",) if mv.reason else ()), " by ", Person(mv.by)) for mv in minutes.moves]
    lines.append(line("As a Word file: ", Code(f"/meeting minutes {m} word")))
    return lines


def _numbered(lines: list[Line], title: str, texts: list[str], how: str) -> None:
    lines.append(line(Strong(title)))
    lines.extend([line(f"{n}. ", text) for n, text in enumerate(texts, 1)] or [line("None recorded — ", Code(how))])
