"""The minutes lock: a meeting's record (attendance, minute lines, decisions, covered marks) becomes
read-only MINUTES_LOCK_DAYS after the meeting ended, so the minutes a cluster agreed stay as agreed.
A lead can `/meeting unlock M1` them (and `/meeting lock M1` again, or early); either is said in the
channel and kept in the audit log, the record's history of who changed it.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from commands.context import Context
from commands.errors import Refusal
from commands.meetings.schedule import MEETING, _meeting
from commands.registry import subcommand
from commands.results import Code, Person, Reply, line
from commands.text import parsing
from storage.models import Meeting, MeetingStatus

UNLOCK_EXAMPLE = "/meeting unlock M1"
LOCK_EXAMPLE = "/meeting lock M1"
OPEN, LOCKED = "open", "locked"


def locks_at(ctx: Context, meeting: Meeting) -> datetime:
    """When the minutes become read-only by themselves: MINUTES_LOCK_DAYS after the meeting ended (or after it
    was recorded, for a meeting recorded after the fact: its record is written then)."""
    ended = meeting.starts_at + timedelta(minutes=meeting.minutes)
    return max(ended, meeting.created_at or ended) + timedelta(days=ctx.minutes_lock_days)


def is_locked(ctx: Context, meeting: Meeting) -> bool:
    if meeting.minutes_lock == OPEN:
        return False
    return meeting.minutes_lock == LOCKED or ctx.now() >= locks_at(ctx, meeting)


def refuse_when_locked(ctx: Context, meeting: Meeting) -> None:
    """Nothing in a locked record changes; says why and how a lead opens it."""
    if not is_locked(ctx, meeting):
        return
    m = meeting.short_id
    why = ("a lead locked them" if meeting.minutes_lock == LOCKED else
           f"they became read-only {ctx.minutes_lock_days} days after the meeting")
    raise Refusal(f"The minutes of {m} ({_day(ctx, meeting)}) are read-only: {why}. Nothing was changed. "
                  "A lead can open them again with ", Code(f"/meeting unlock {m}"), ".",
                  example=f"/meeting minutes {m}")


def _day(ctx: Context, meeting: Meeting) -> str:
    return f"{meeting.starts_at.astimezone(ZoneInfo(ctx.time_zone)):%a %-d %b %Y}"


def _held(ctx: Context, rest: str, example: str) -> Meeting:
    meeting = _meeting(ctx, parsing.split_first(rest)[0], example)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refusal(f"{meeting.short_id} was cancelled, so it has no minutes.", example="/meeting list past")
    return meeting


@subcommand(MEETING, "unlock M1", UNLOCK_EXAMPLE,
            "open a meeting's minutes for changes again after they locked (leads; said in the channel)",
            leads_only=True)
def unlock(ctx: Context, rest: str) -> Reply:
    meeting = _held(ctx, rest, UNLOCK_EXAMPLE)
    if not is_locked(ctx, meeting):
        auto = "" if meeting.minutes_lock == OPEN else (
            f" They lock by themselves {ctx.minutes_lock_days} days after the meeting.")
        return Reply.tell(line("The minutes of ", Code(meeting.short_id), " are open for changes already.", auto))
    meeting.minutes_lock = OPEN
    ctx.session.add(meeting)
    return Reply.announce(line(Person(ctx.caller.user_id), " unlocked the minutes of ", Code(meeting.short_id), " ",
                               meeting.title, f" ({_day(ctx, meeting)}): its record can be changed again until a "
                               "lead locks it with ", Code(f"/meeting lock {meeting.short_id}"), "."))


@subcommand(MEETING, "lock M1", LOCK_EXAMPLE, "make a meeting's minutes read-only now (leads; said in the channel)",
            leads_only=True)
def lock(ctx: Context, rest: str) -> Reply:
    meeting = _held(ctx, rest, LOCK_EXAMPLE)
    if meeting.minutes_lock == LOCKED or (meeting.minutes_lock is None and is_locked(ctx, meeting)):
        return Reply.tell(line("The minutes of ", Code(meeting.short_id), " are read-only already."))
    meeting.minutes_lock = LOCKED
    ctx.session.add(meeting)
    return Reply.announce(line(Person(ctx.caller.user_id), " locked the minutes of ", Code(meeting.short_id), " ",
                               meeting.title, f" ({_day(ctx, meeting)}): its record is read-only now (a lead can ",
                               Code(f"/meeting unlock {meeting.short_id}"), " it)."))
