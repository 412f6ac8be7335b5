"""Meetings that carry on: when a meeting ends, its agenda items not marked covered and the open actions
raised at it go on to the agenda of the cluster's next meeting ("carried from 4 Dec"), said once in the
channel. `/meeting item M2 covered 3` marks an item covered (and `uncovered` takes the mark off).

They are carried at 08:00 the morning after the meeting (CARRY_AT), not at its last minute: the actions
of a meeting are added as it ends (its end-of-meeting post asks for them), and the chair may mark what
was covered then too. A meeting whose next one starts before that morning carries as soon as it ends.

The carrying is the scheduler's work, claimed (meeting.carried_at) so that any number of processes
ticking at once carry each meeting once. A meeting that ends with no next meeting planned waits: its
items are carried when the next one is scheduled. If the meeting right after it has already begun by
then, the chance has passed and nothing is carried. Open actions due by the next meeting are not
carried: its agenda lists them already ("Actions due by the meeting").
"""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from commands import bounds
from commands.context import Context
from commands.errors import Refusal
from commands.meetings.lock import refuse_when_locked
from commands.meetings.schedule import ITEM_MARKS, _system
from commands.registry import TICKS
from commands.results import Code, Person, Post, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import describe, local_to_utc
from storage import meeting_carry as store
from storage import meetings as meeting_store
from storage.models import AGENDA_ITEM_MAX, AgendaItem, Cluster, Meeting, MeetingStatus

COVERED_EXAMPLE = "/meeting item M1 covered 2"
CARRY_AT = time(8, 0)  # local time, the morning after the meeting


def short_day(ctx: Context, moment: datetime) -> str:
    """"4 Dec", as the agenda says where an item was carried from."""
    return f"{moment.astimezone(ZoneInfo(ctx.time_zone)):%-d %b}"


# --- covered marks ----------------------------------------------------------------------------------

def _numbers(text: str, count: int, meeting: Meeting) -> list[int]:
    example = COVERED_EXAMPLE.replace("M1", meeting.short_id)
    tokens = [t for t in re.split(r"[,\s]+", text) if t]
    if not tokens:
        raise Refusal("Say which agenda item, by its number on the agenda.", example=example)
    agenda = f"/meeting agenda {meeting.short_id}"
    return list(dict.fromkeys(parsing.item_number(t, count, "agenda item", agenda) for t in tokens))


def _mark(ctx: Context, meeting: Meeting, text: str, covered: bool) -> Reply:
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refusal(f"{meeting.short_id} is cancelled.", example="/meeting list")
    ctx.require_member("mark agenda items covered")
    items = meeting_store.agenda_items(session=ctx.session, meeting=meeting)
    chosen = [items[n - 1] for n in _numbers(text, len(items), meeting)]
    if not (ctx.is_lead or meeting.created_by == ctx.caller.user_id
            or all(item.by == ctx.caller.user_id for item in chosen)):
        raise Refusal("Only whoever scheduled ", Code(meeting.short_id), " (", Person(meeting.created_by),
                      "), a lead or whoever added the item can mark it.", example=f"/meeting agenda {meeting.short_id}")
    refuse_when_locked(ctx, meeting)
    word = "covered" if covered else "not covered"
    reply, changed = Reply.announce(), False
    for item in chosen:
        n = items.index(item) + 1
        if bool(item.covered_at) == covered:
            reply.lines.append(line(f"Item {n} of ", Code(meeting.short_id), f" was {word} already: ", item.text))
            continue
        store.set_covered(session=ctx.session, item=item, at=ctx.now() if covered else None)
        said = line(Person(ctx.caller.user_id), f" marked item {n} of ", Code(meeting.short_id), f" {word}: ",
                    item.text)
        reply.lines.append(line(*said, *_after_carry(ctx, meeting, item, covered)))
        changed = True
    return reply if changed else Reply.tell(*reply.lines)


def _after_carry(ctx: Context, meeting: Meeting, item: AgendaItem, covered: bool) -> tuple:
    """A mark made after the meeting's items were carried: the next meeting's agenda follows it."""
    if meeting.carried_at is None:
        return ()
    upcoming = store.following(session=ctx.session, meeting=meeting)
    if upcoming is None or upcoming.starts_at <= ctx.now():
        return ()
    copy = store.carried_copy(session=ctx.session, item=item, into=upcoming)
    if covered and copy is not None and copy.covered_at is None:
        meeting_store.remove_item(session=ctx.session, item=copy)
        return (" (taken off the agenda of ", Code(upcoming.short_id), ", where it had been carried)",)
    if not covered and copy is None:
        if meeting_store.count_items(session=ctx.session, meeting=upcoming) >= bounds.AGENDA_ITEMS:
            return (" (not carried: the agenda of ", Code(upcoming.short_id),
                    f" has {bounds.AGENDA_ITEMS} items, the most a meeting takes)",)
        ctx.session.add(AgendaItem(meeting_id=upcoming.id, by=item.by, text=item.text,
                                   carried_from=item.carried_from or meeting.id))
        ctx.session.flush()
        return (" (carried to the agenda of ", Code(upcoming.short_id), ")",)
    return ()


ITEM_MARKS["covered"] = lambda ctx, meeting, text: _mark(ctx, meeting, text, True)
ITEM_MARKS["uncovered"] = lambda ctx, meeting, text: _mark(ctx, meeting, text, False)


# --- the scheduler: carrying at the end of a meeting --------------------------------------------------

def carry_time(meeting: Meeting, time_zone: str, upcoming: Meeting | None = None) -> datetime:
    """When a meeting's open items are carried: 08:00 the morning after it, or at its end if the next
    meeting starts sooner than that."""
    ends = meeting.starts_at + timedelta(minutes=meeting.minutes)
    morning = local_to_utc(ends.astimezone(ZoneInfo(time_zone)).date() + timedelta(days=1), CARRY_AT, time_zone)
    return ends if upcoming is not None and upcoming.starts_at <= morning else morning


def _carry_due(session, now: datetime, time_zone: str) -> list[int]:
    return [meeting.id for meeting, upcoming in store.to_carry(session=session)
            if now >= carry_time(meeting, session.get(Cluster, meeting.cluster_id).time_zone, upcoming)]


def _carry(ctx_for, session, item: int, now: datetime) -> list:
    meeting = session.get(Meeting, item)
    upcoming = store.following(session=session, meeting=meeting)
    if upcoming is None:
        return []  # nothing planned yet: carried when the next meeting is scheduled
    ctx, cluster = _system(ctx_for, session, meeting)
    if now < carry_time(meeting, ctx.time_zone, upcoming):
        return []  # the morning after: the meeting's actions and covered marks are in by then
    if not store.claim_carry(session=session, meeting_id=item, now=now):
        return []  # another process has it
    if upcoming.starts_at <= now:
        return []  # the next meeting has begun already: too late to carry anything into it
    items = store.uncovered_items(session=session, meeting=meeting)
    day = upcoming.starts_at.astimezone(ZoneInfo(ctx.time_zone)).date()
    actions = [a for a in store.open_actions(session=session, meeting=meeting) if a.due_on is None or a.due_on > day]
    if not items and not actions:
        return []
    room = max(0, bounds.AGENDA_ITEMS - meeting_store.count_items(session=session, meeting=upcoming))
    carried: list = []
    for old in items:
        carried.append(AgendaItem(meeting_id=upcoming.id, by=old.by, text=old.text,
                                  carried_from=old.carried_from or meeting.id))
    for action in actions:
        text = parsing.shorten(f"Open action {action.short_id}: {action.description}", AGENDA_ITEM_MAX)
        carried.append(AgendaItem(meeting_id=upcoming.id, by=action.owner, text=text, carried_from=meeting.id))
    kept, left = carried[:room], carried[room:]
    session.add_all(kept)
    session.flush()
    what = ", ".join(part for part in (_count(len(items), "agenda item not covered", "agenda items not covered"),
                                       _count(len(actions), "open action", "open actions")) if part)
    reply = Reply.announce(
        line("↪️ Carried from ", Code(meeting.short_id), f" ({short_day(ctx, meeting.starts_at)}) to the agenda of ",
             Strong(f"{upcoming.short_id} · {upcoming.title}"), f" ({describe(upcoming.starts_at, ctx.time_zone)}): "
             f"{what}."),
        *bounds.at_most([line("• ", parsing.shorten(c.text, 200), " (", Person(c.by), ")") for c in kept],
                        bounds.SHOWN, lambda k: line(f"…and {k} more: ", Code(f"/meeting agenda {upcoming.short_id}"))),
    )
    if left:
        reply.lines.append(line(f"{len(left)} more didn't fit: the agenda of ", Code(upcoming.short_id),
                                f" has {bounds.AGENDA_ITEMS} items, the most a meeting takes."))
    reply.lines.append(line("Covered already? ", Code(f"/meeting item {upcoming.short_id} covered <n>"),
                            " marks one, so it is not carried again."))
    return [Post(None, cluster.channel_id, reply, until=upcoming.starts_at)]


def _count(n: int, one: str, many: str) -> str:
    return "" if n == 0 else f"1 {one}" if n == 1 else f"{n} {many}"


TICKS.append((_carry_due, _carry))
