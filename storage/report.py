"""Data functions for the Board report: a period's meetings with their record, polls with who took
part, and each practice's part in the cluster's work."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, func, select

from storage.meeting_record import decisions, past_meetings
from storage.models import (
    Action,
    ActionStatus,
    Attendance,
    Ballot,
    Cluster,
    Measure,
    MeasurePoint,
    MinuteLine,
    Poll,
    Practice,
)


@dataclass(frozen=True)
class MeetingRecordRow:
    short_id: str
    title: str
    starts_at: datetime
    place: str
    present: list[tuple[str | None, str | None]]    # (user id, practice code): a practice, a person, or both
    apologies: list[tuple[str | None, str | None]]
    practices_present: int
    practices: int
    decisions: list[str]
    minute_lines: int
    actions_raised: int


def meeting_records(*, session: Session, cluster: Cluster, since: datetime | None,
                    until: datetime) -> list[MeetingRecordRow]:
    """Meetings held in the period (not cancelled), each with its attendance and decisions."""
    practices = session.exec(select(func.count()).select_from(Practice).where(
        Practice.cluster_id == cluster.id, col(Practice.archived_at).is_(None))).one()
    rows = []
    for meeting in past_meetings(session=session, cluster=cluster, since=since, until=until):
        marks = session.exec(
            select(Attendance, Practice).join(Practice, col(Attendance.practice_id) == Practice.id, isouter=True)
            .where(Attendance.meeting_id == meeting.id).order_by(Practice.code, Attendance.id)).all()
        present = [(a.user_id, p.code if p else None) for a, p in marks if a.present]
        apologies = [(a.user_id, p.code if p else None) for a, p in marks if not a.present]
        came = {a.practice_id for a, _ in marks if a.present and a.practice_id}
        lines = session.exec(select(func.count()).select_from(MinuteLine)
                             .where(MinuteLine.meeting_id == meeting.id)).one()
        raised = session.exec(select(func.count()).select_from(Action).where(Action.meeting_id == meeting.id)).one()
        rows.append(MeetingRecordRow(
            meeting.short_id, meeting.title, meeting.starts_at, meeting.place, present, apologies, len(came),
            practices, [d.text for d in decisions(session=session, cluster=cluster, meeting=meeting)], lines, raised))
    return rows


@dataclass
class Turnout:
    """Who took part in a poll. For anonymous polls only the number is kept here: nobody is named."""

    voted_practices: set[int] = field(default_factory=set)
    people_by_practice: Counter = field(default_factory=Counter)
    ballots: int = 0


def poll_turnout(*, session: Session, cluster: Cluster) -> dict[int, Turnout]:
    """Per poll id: the practices (and people per practice) with a ballot in, counting only; an
    anonymous poll's ballots give their number and nothing else."""
    query = (select(Ballot.poll_id, Ballot.practice_id, Poll.anonymous).join(Poll, col(Ballot.poll_id) == Poll.id)
             .where(Poll.cluster_id == cluster.id, Ballot.choices != ""))
    found: dict[int, Turnout] = defaultdict(Turnout)
    for poll_id, practice_id, anonymous in session.exec(query):
        turnout = found[poll_id]
        turnout.ballots += 1
        if not anonymous and practice_id:
            turnout.voted_practices.add(practice_id)
            turnout.people_by_practice[practice_id] += 1
    return found


def poll_ids(*, session: Session, cluster: Cluster, since: datetime | None,
             until: datetime | None) -> dict[str, int]:
    """short id -> id of the polls opened in the period."""
    query = select(Poll.short_id, Poll.id).where(Poll.cluster_id == cluster.id)
    if until is not None:
        query = query.where(col(Poll.created_at) < until)
    if since is not None:
        query = query.where(col(Poll.created_at) >= since)
    return dict(session.exec(query).all())


def actions_by_practice(*, session: Session, cluster: Cluster, since: datetime | None,
                        until: datetime | None) -> dict[int, tuple[int, int]]:
    """practice id -> (actions owned in the period, of which done), for actions raised before the
    period's end that were open or done in it."""
    query = (select(Action.practice_id, Action.status, func.count()).where(
        Action.cluster_id == cluster.id, col(Action.practice_id).is_not(None))
        .group_by(Action.practice_id, Action.status))
    if until is not None:
        query = query.where(col(Action.created_at) < until)
    if since is not None:
        query = query.where((Action.status == ActionStatus.OPEN) | (col(Action.done_at) >= since))
    owned: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for practice_id, status, n in session.exec(query):
        owned[practice_id][0] += n
        if status == ActionStatus.DONE:
            owned[practice_id][1] += n
    return {k: (v[0], v[1]) for k, v in owned.items()}


def data_points_by_practice(*, session: Session, cluster: Cluster, since: datetime | None,
                            until: datetime | None) -> dict[int, int]:
    """practice id -> measure values it recorded (or last replaced) in the period."""
    query = (select(MeasurePoint.practice_id, func.count()).join(Measure, col(MeasurePoint.measure_id) == Measure.id)
             .where(Measure.cluster_id == cluster.id).group_by(MeasurePoint.practice_id))
    if since is not None:
        query = query.where(col(MeasurePoint.recorded_at) >= since)
    if until is not None:
        query = query.where(col(MeasurePoint.recorded_at) < until)
    return dict(session.exec(query).all())
