"""Data functions for what happened at meetings: attendance, minute lines, decisions, and the day's moves."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

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
    query = select(Meeting).where(Meeting.cluster_id == cluster.id, Meeting.status == MeetingStatus.SCHEDULED,
                                  col(Meeting.starts_at) < until).order_by(Meeting.starts_at)
    if since is not None:
        query = query.where(col(Meeting.starts_at) >= since)
    return list(session.exec(query))
