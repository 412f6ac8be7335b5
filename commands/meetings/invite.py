"""Calendar invites: `/meeting invite M1` posts the meeting as an .ics file (RFC 5545) that Outlook and
Google Calendar import. Once an invite is out, moving or cancelling the meeting posts the updated one.

- UID: made when the meeting is first invited and kept; the meetings of a series share it (the next one
  inherits it), so a calendar holds one series, not one per meeting.
- SEQUENCE: raised on every move and on a cancel, so a calendar takes the newer version over the older.
- METHOD:PUBLISH for a meeting that goes ahead, METHOD:CANCEL (and STATUS:CANCELLED) for a cancelled one.
- Times are local wall-clock times with TZID=Europe/London (the cluster's zone) and its VTIMEZONE: a
  12:30 meeting stays 12:30 across the clock change, as the series' rule says.
- A recurring meeting's invite carries its RRULE; a moved occurrence of a series is that occurrence only
  (RECURRENCE-ID: its start before it was first moved), as RFC 5545 says an exception is.
"""

import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vRecur

from commands.context import Context
from commands.errors import Refusal
from commands.meetings.schedule import CHANGED, MEETING, _meeting
from commands.registry import subcommand
from commands.results import Code, Person, Reply, Upload, line
from commands.text import parsing
from commands.text.dates import describe
from commands.text.recurrence import describe_rule
from storage.models import Cluster, Meeting, MeetingStatus

INVITE_EXAMPLE = "/meeting invite M1"
PRODID = "-//clusterbot//Cluster meetings//EN"
ICS = "ics"


# --- the file ---------------------------------------------------------------------------------------

def london_zone() -> Timezone:
    """Europe/London as its rules (BST from the last Sunday of March at 01:00 GMT to the last Sunday of
    October at 01:00 GMT), which every calendar reads for any year: no list of dates that runs out."""
    zone = Timezone()
    zone.add("tzid", "Europe/London")
    zone.add("x-lic-location", "Europe/London")
    summer = TimezoneDaylight()
    summer.add("tzname", "BST")
    summer.add("dtstart", datetime(1981, 3, 29, 1, 0))
    summer.add("tzoffsetfrom", timedelta(0))
    summer.add("tzoffsetto", timedelta(hours=1))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1SU"})
    winter = TimezoneStandard()
    winter.add("tzname", "GMT")
    winter.add("dtstart", datetime(1996, 10, 27, 2, 0))
    winter.add("tzoffsetfrom", timedelta(hours=1))
    winter.add("tzoffsetto", timedelta(0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1SU"})
    zone.add_component(summer)
    zone.add_component(winter)
    return zone


def zone_of(time_zone: str, around: datetime) -> Timezone:
    if time_zone == "Europe/London":
        return london_zone()
    # Another zone (CLUSTER_TZ): its transitions over the years a meeting or series may reach.
    return Timezone.from_tzid(time_zone, first_date=date(around.year - 1, 1, 1), last_date=date(around.year + 10, 1, 1))


def ics(ctx: Context, cluster: Cluster, meeting: Meeting) -> bytes:
    """The meeting's invite as it stands, RFC 5545 text (CRLF lines, folded at 75 octets)."""
    zone = ZoneInfo(ctx.time_zone)
    cancelled = meeting.status == MeetingStatus.CANCELLED
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    calendar.add_component(zone_of(ctx.time_zone, meeting.starts_at))
    event = Event()
    event.add("uid", meeting.invite_uid)
    event.add("dtstamp", ctx.now())
    event.add("sequence", meeting.sequence)
    starts = meeting.starts_at.astimezone(zone)
    event.add("dtstart", starts)
    event.add("dtend", starts + timedelta(minutes=meeting.minutes))
    event.add("summary", meeting.title)
    if meeting.place:
        event.add("location", meeting.place)
    event.add("description", f"{meeting.short_id} of {cluster.name}. The agenda is kept in the cluster's channel.")
    if meeting.recurrence_id is not None and not cancelled:
        event.add("recurrence-id", meeting.recurrence_id.astimezone(zone))
    elif meeting.recurrence:
        event.add("rrule", vRecur.from_ical(meeting.recurrence))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()


def _file(ctx: Context, cluster: Cluster, meeting: Meeting, comment: Reply) -> Upload:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", cluster.name).strip("-").lower() or "cluster"
    name = f"{slug}-{meeting.short_id.lower()}-{'cancelled' if meeting.status == MeetingStatus.CANCELLED else 'invite'}"
    name += f"-{meeting.sequence}.{ICS}" if meeting.sequence else f".{ICS}"
    return Upload(cluster.channel_id, name, f"{meeting.short_id} {meeting.title}: calendar invite",
                  ics(ctx, cluster, meeting), comment)


# --- /meeting invite ----------------------------------------------------------------------------------

@subcommand(MEETING, "invite M1", INVITE_EXAMPLE,
            "post the meeting as a calendar file for Outlook or Google Calendar (moves and cancels post it again)",
            members_only=True)
def invite(ctx: Context, rest: str) -> Reply:
    token, more = parsing.split_first(rest)
    meeting = _meeting(ctx, token, INVITE_EXAMPLE)
    if more:
        raise Refusal(f"{INVITE_EXAMPLE.split()[1]} takes only the meeting's id (“{parsing.shorten(more, 40)}”).",
                      example=INVITE_EXAMPLE.replace("M1", meeting.short_id))
    cluster = ctx.require_cluster()
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refusal(f"{meeting.short_id} is cancelled: there is nothing to put in a calendar.",
                      example="/meeting list")
    if meeting.starts_at + timedelta(minutes=meeting.minutes) <= ctx.now():
        raise Refusal(f"{meeting.short_id} is over ({describe(meeting.starts_at, ctx.time_zone)}).",
                      example="/meeting list")
    first = meeting.invite_uid is None
    if first:
        meeting.invite_uid = f"{uuid.uuid4()}@clusterbot"
    meeting.invited_at = meeting.invited_at or ctx.now()
    ctx.session.add(meeting)
    repeats = f", repeats {describe_rule(meeting.recurrence)}" if meeting.recurrence else ""
    comment = Reply.announce(line(
        Person(ctx.caller.user_id), " posted the calendar invite for ", Code(meeting.short_id), " ", meeting.title,
        f" ({describe(meeting.starts_at, ctx.time_zone)}{repeats})",
        ". Open the file to add it to Outlook or Google Calendar; if it moves or is cancelled, the update is posted "
        "here too."))
    return Reply.quiet(_file(ctx, cluster, meeting, comment))


def _changed(ctx: Context, meeting: Meeting, reply: Reply, before: datetime | None = None) -> None:
    """A move or a cancel: SEQUENCE up, and once an invite is out, the updated one beside the announcement."""
    if before is not None and meeting.recurrence and meeting.recurrence_id is None:
        meeting.recurrence_id = before  # this occurrence of the series, as calendars know it
    meeting.sequence += 1
    ctx.session.add(meeting)
    if meeting.invited_at is None or meeting.invite_uid is None:
        return
    cancelled = meeting.status == MeetingStatus.CANCELLED
    comment = Reply.announce(line(
        "The updated calendar invite for ", Code(meeting.short_id), " ", meeting.title,
        ": open it to remove the meeting from your calendar." if cancelled else
        f": open it to move the meeting in your calendar to {describe(meeting.starts_at, ctx.time_zone)}."))
    reply.effects.append(_file(ctx, ctx.require_cluster(), meeting, comment))


CHANGED.append(_changed)
