"""Data functions for meetings, agenda items and reminders (claimed before they are sent)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, func, or_, select

from storage.models import AgendaItem, Cluster, Meeting, MeetingStatus, Reminder
from storage.short_ids import next_short_id

MEETING_PREFIX = "M"
LEASE = timedelta(minutes=5)  # a claimed reminder not confirmed sent by then is taken over


def create_meeting(*, session: Session, cluster: Cluster, meeting: Meeting) -> Meeting:
    meeting.cluster_id = cluster.id
    meeting.short_id = next_short_id(session=session, cluster=cluster, prefix=MEETING_PREFIX)
    session.add(meeting)
    session.flush()
    return meeting


def find_meeting(*, session: Session, cluster: Cluster, short_id: str) -> Meeting | None:
    return session.exec(
        select(Meeting).where(Meeting.cluster_id == cluster.id, Meeting.short_id == short_id)
    ).first()


def find_submitted_meeting(*, session: Session, cluster: Cluster, submission_key: str) -> Meeting | None:
    return session.exec(
        select(Meeting).where(Meeting.cluster_id == cluster.id, Meeting.submission_key == submission_key)
    ).first()


def upcoming_meetings(*, session: Session, cluster: Cluster, since: datetime) -> list[Meeting]:
    """Scheduled meetings that have not ended before `since`, soonest first."""
    started_within = session.exec(
        select(Meeting)
        .where(Meeting.cluster_id == cluster.id, Meeting.status == MeetingStatus.SCHEDULED,
               col(Meeting.starts_at) >= since - timedelta(hours=12))  # no meeting is longer
        .order_by(Meeting.starts_at)
    )
    return [m for m in started_within if m.starts_at + timedelta(minutes=m.minutes) > since]


def previous_meeting(*, session: Session, meeting: Meeting) -> Meeting | None:
    """The cluster's last meeting before this one (for "new topics since the last meeting")."""
    return session.exec(
        select(Meeting)
        .where(Meeting.cluster_id == meeting.cluster_id, Meeting.status == MeetingStatus.SCHEDULED,
               col(Meeting.starts_at) < meeting.starts_at)
        .order_by(col(Meeting.starts_at).desc()).limit(1)
    ).first()


def plan_reminders(*, session: Session, meeting: Meeting, due: list[tuple[str, datetime]]) -> None:
    """Replace the meeting's unsent reminders with these (offset, due time) pairs."""
    session.execute(delete(Reminder).where(Reminder.meeting_id == meeting.id, col(Reminder.sent_at).is_(None)))
    session.add_all(Reminder(meeting_id=meeting.id, offset=offset, due_at=at) for offset, at in due)
    session.flush()


def pending_reminders(*, session: Session, meeting: Meeting) -> list[Reminder]:
    return list(session.exec(
        select(Reminder).where(Reminder.meeting_id == meeting.id, col(Reminder.sent_at).is_(None))
        .order_by(Reminder.due_at)
    ))


def add_item(*, session: Session, meeting: Meeting, by: str, text: str) -> AgendaItem:
    item = AgendaItem(meeting_id=meeting.id, by=by, text=text)
    session.add(item)
    session.flush()
    return item


def count_items(*, session: Session, meeting: Meeting) -> int:
    """How many agenda items the meeting has (one count on the meeting_id index)."""
    return session.exec(select(func.count()).select_from(AgendaItem).where(AgendaItem.meeting_id == meeting.id)).one()


def agenda_items(*, session: Session, meeting: Meeting) -> list[AgendaItem]:
    return list(session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id).order_by(AgendaItem.id)))


def remove_item(*, session: Session, item: AgendaItem) -> None:
    session.delete(item)
    session.flush()


def at_the_same_time(*, session: Session, meeting: Meeting) -> list[Meeting]:
    """Other scheduled meetings of the cluster starting at the very same moment."""
    return list(session.exec(select(Meeting).where(
        Meeting.cluster_id == meeting.cluster_id, Meeting.starts_at == meeting.starts_at,
        Meeting.status == MeetingStatus.SCHEDULED, Meeting.id != meeting.id)))


# --- the scheduler's side ----------------------------------------------------------------------

def _claimable(now: datetime):
    return (col(Reminder.sent_at).is_(None), col(Reminder.due_at) <= now,
            or_(col(Reminder.claimed_at).is_(None), col(Reminder.claimed_at) < now - LEASE))


def due_reminders(*, session: Session, now: datetime) -> list[int]:
    """Reminders due and not sent (nor claimed by a live sender), in every cluster, oldest first."""
    return list(session.exec(select(Reminder.id).where(*_claimable(now)).order_by(Reminder.due_at)))


def claim_reminder(*, session: Session, reminder_id: int, now: datetime) -> bool:
    """True for exactly one caller, however many processes race for it."""
    claimed = session.execute(
        update(Reminder).where(Reminder.id == reminder_id, *_claimable(now)).values(claimed_at=now)
    )
    return claimed.rowcount == 1


def mark_reminder(*, session: Session, reminder_id: int, now: datetime, skipped: bool = False) -> None:
    session.execute(update(Reminder).where(Reminder.id == reminder_id).values(sent_at=now, skipped=skipped))



def ended_meetings(*, session: Session, now: datetime) -> list[int]:
    """Scheduled meetings whose end has passed and whose end has not been marked yet."""
    meetings = session.exec(
        select(Meeting).where(Meeting.status == MeetingStatus.SCHEDULED, col(Meeting.ended_at).is_(None),
                              col(Meeting.starts_at) <= now)
    )
    return [m.id for m in meetings if m.starts_at + timedelta(minutes=m.minutes) <= now]


def claim_end(*, session: Session, meeting_id: int, now: datetime) -> bool:
    return session.execute(
        update(Meeting).where(Meeting.id == meeting_id, col(Meeting.ended_at).is_(None)).values(ended_at=now)
    ).rowcount == 1


@dataclass(frozen=True)
class MeetingRow:
    """A meeting for the cluster workbook. `repeats` holds the rule; the caller may put it in words."""

    short_id: str
    title: str
    starts_at: datetime
    minutes: int
    place: str
    repeats: str | None
    status: str
    agenda_items: int
    created_by: str


def meeting_rows(*, session: Session, cluster: Cluster) -> list[MeetingRow]:
    items = func.count(AgendaItem.id)
    query = (
        select(Meeting, items)
        .join(AgendaItem, col(AgendaItem.meeting_id) == Meeting.id, isouter=True)
        .where(Meeting.cluster_id == cluster.id)
        .group_by(Meeting.id)
        .order_by(Meeting.starts_at)
    )
    return [MeetingRow(m.short_id, m.title, m.starts_at, m.minutes, m.place, m.recurrence, m.status, n, m.created_by)
            for m, n in session.exec(query)]
