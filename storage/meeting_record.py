"""Data functions for what happened at meetings: attendance, minute lines, decisions, and the day's moves."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from storage.models import (
    Action,
    Attendance,
    Cluster,
    Decision,
    Meeting,
    MeetingStatus,
    MinuteLine,
    Practice,
    Topic,
    TopicMove,
)


def practice_key(practice: Practice) -> str:
    return f"practice:{practice.id}"


def person_key(user_id: str) -> str:
    return f"person:{user_id}"


def mark_attendance(*, session: Session, meeting: Meeting, attendee: str, practice_id: int | None,
                    user_id: str | None, present: bool, by: str, at: datetime) -> Attendance:
    """Record one attendee as present or sending apologies (a second record changes the first)."""
    row = session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                Attendance.attendee == attendee)).first()
    row = row or Attendance(meeting_id=meeting.id, attendee=attendee, by=by)
    row.practice_id, row.user_id, row.present, row.by, row.at = practice_id, user_id, present, by, at
    session.add(row)
    session.flush()
    return row


def clear_attendance(*, session: Session, meeting: Meeting, attendee: str) -> None:
    """Forget one attendee's record at the meeting (neither present nor apologies any more)."""
    session.execute(delete(Attendance).where(Attendance.meeting_id == meeting.id, Attendance.attendee == attendee))


def attendance(*, session: Session, meeting: Meeting) -> list[tuple[Attendance, Practice | None]]:
    query = (select(Attendance, Practice).join(Practice, col(Attendance.practice_id) == Practice.id, isouter=True)
             .where(Attendance.meeting_id == meeting.id)
             .order_by(col(Attendance.user_id).is_not(None), Practice.code, Attendance.id))  # practices first
    return list(session.exec(query))


def add_minute(*, session: Session, meeting: Meeting, by: str, text: str, at: datetime) -> MinuteLine:
    row = MinuteLine(meeting_id=meeting.id, by=by, text=text, at=at)
    session.add(row)
    session.flush()
    return row


def count_minutes(*, session: Session, meeting: Meeting) -> int:
    """How many minute lines the meeting has (one count on the meeting_id index)."""
    return session.exec(select(func.count()).select_from(MinuteLine).where(MinuteLine.meeting_id == meeting.id)).one()


def count_decisions(*, session: Session, meeting: Meeting) -> int:
    """How many decisions were recorded at the meeting (one count on the meeting_id index)."""
    return session.exec(select(func.count()).select_from(Decision).where(Decision.meeting_id == meeting.id)).one()


def minute_lines(*, session: Session, meeting: Meeting) -> list[MinuteLine]:
    return list(session.exec(select(MinuteLine).where(MinuteLine.meeting_id == meeting.id).order_by(MinuteLine.id)))


def add_decision(*, session: Session, meeting: Meeting, topic: Topic | None, by: str, text: str,
                 at: datetime) -> Decision:
    row = Decision(cluster_id=meeting.cluster_id, meeting_id=meeting.id, topic_id=topic.id if topic else None,
                   by=by, text=text, at=at)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class DecisionRow:
    """A decision with its meeting and topic, for the decision log, minutes and the Board report."""

    text: str
    by: str
    at: datetime
    meeting: str
    meeting_title: str
    meeting_starts_at: datetime
    topic: str | None
    topic_title: str | None


def decisions(*, session: Session, cluster: Cluster, meeting: Meeting | None = None,
              since: datetime | None = None, until: datetime | None = None) -> list[DecisionRow]:
    """The cluster's decisions (of one meeting, or of meetings in [since, until)), by meeting date then
    the order taken."""
    query = (
        select(Decision.text, Decision.by, Decision.at, Meeting.short_id, Meeting.title, Meeting.starts_at,
               Topic.short_id, Topic.title)
        .join(Meeting, col(Decision.meeting_id) == Meeting.id)
        .join(Topic, col(Decision.topic_id) == Topic.id, isouter=True)
        .where(Decision.cluster_id == cluster.id)
        .order_by(Meeting.starts_at, Decision.id)
    )
    if meeting is not None:
        query = query.where(Decision.meeting_id == meeting.id)
    if since is not None:
        query = query.where(col(Meeting.starts_at) >= since)
    if until is not None:
        query = query.where(col(Meeting.starts_at) < until)
    return [DecisionRow(*row) for row in session.exec(query)]


def meeting_actions(*, session: Session, meeting: Meeting) -> list[Action]:
    """Actions raised at the meeting (those that name it), in the order raised."""
    return list(session.exec(select(Action).where(Action.meeting_id == meeting.id).order_by(Action.id)))


def topic_moves_between(*, session: Session, cluster: Cluster, since: datetime,
                        until: datetime) -> list[tuple[TopicMove, Topic]]:
    """Moves of the cluster's topics in [since, until) (the meeting's day), oldest first; the first step
    of a topic (proposed) is a move too."""
    query = (select(TopicMove, Topic).join(Topic, col(TopicMove.topic_id) == Topic.id)
             .where(Topic.cluster_id == cluster.id, col(TopicMove.at) >= since, col(TopicMove.at) < until)
             .order_by(TopicMove.id))
    return list(session.exec(query))


def past_meetings(*, session: Session, cluster: Cluster, since: datetime | None, until: datetime) -> list[Meeting]:
    """Meetings that were held (not cancelled) starting in [since, until), oldest first."""
    return list(session.exec(select(Meeting).where(*held(cluster=cluster, since=since, until=until))
                             .order_by(Meeting.starts_at)))


def held(*, cluster: Cluster, since: datetime | None, until: datetime) -> list:
    """The conditions of `past_meetings`, for queries about those meetings' records."""
    conditions = [Meeting.cluster_id == cluster.id, Meeting.status == MeetingStatus.SCHEDULED,
                  col(Meeting.starts_at) < until]
    return conditions if since is None else [*conditions, col(Meeting.starts_at) >= since]


def latest_meetings(*, session: Session, cluster: Cluster, before: datetime, limit: int) -> list[Meeting]:
    """Meetings held (not cancelled) that started before `before`, newest first."""
    query = (select(Meeting).where(Meeting.cluster_id == cluster.id, Meeting.status == MeetingStatus.SCHEDULED,
                                   col(Meeting.starts_at) < before)
             .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc()).limit(limit))
    return list(session.exec(query))


@dataclass(frozen=True)
class RecordCounts:
    """How much of a meeting's record is written, for a list of meetings."""

    decisions: int = 0
    minute_lines: int = 0
    attendance: int = 0  # attendees recorded, present or sending apologies
    practices_present: frozenset[int] = frozenset()  # practices that came, or whose people did


def record_counts(*, session: Session, meetings: list[Meeting]) -> dict[int, RecordCounts]:
    """Each meeting's counts, in three grouped queries however many meetings there are."""
    ids = [m.id for m in meetings]
    decided = dict(session.exec(select(Decision.meeting_id, func.count()).where(col(Decision.meeting_id).in_(ids))
                                .group_by(Decision.meeting_id)).all())
    minuted = dict(session.exec(select(MinuteLine.meeting_id, func.count())
                                .where(col(MinuteLine.meeting_id).in_(ids)).group_by(MinuteLine.meeting_id)).all())
    marked: dict[int, list[int | None]] = {}
    for meeting_id, practice_id, present in session.exec(
            select(Attendance.meeting_id, Attendance.practice_id, Attendance.present)
            .where(col(Attendance.meeting_id).in_(ids))):
        marked.setdefault(meeting_id, []).append(practice_id if present else None)
    return {i: RecordCounts(decided.get(i, 0), minuted.get(i, 0), len(marked.get(i, [])),
                            frozenset(p for p in marked.get(i, []) if p is not None)) for i in ids}
