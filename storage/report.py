"""Data functions for the Board report: a period's meetings with their record, polls with who took
part, and each practice's part in the cluster's work."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from storage.meeting_record import held as held_conditions
from storage.meeting_record import past_meetings
from storage.models import (
    Action,
    ActionStatus,
    Attendance,
    Ballot,
    Cluster,
    Decision,
    Measure,
    MeasurePoint,
    Meeting,
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
    """Meetings held in the period (not cancelled), each with its attendance and decisions: a handful of
    queries for the whole period (attendance, decisions and counts grouped by meeting), none per meeting."""
    practices = session.exec(select(func.count()).select_from(Practice).where(
        Practice.cluster_id == cluster.id, col(Practice.archived_at).is_(None))).one()
    meetings = past_meetings(session=session, cluster=cluster, since=since, until=until)
    if not meetings:
        return []
    held = select(Meeting.id).where(*held_conditions(cluster=cluster, since=since, until=until))
    marks: dict[int, list[tuple[bool, str | None, int | None, str | None]]] = defaultdict(list)
    for meeting_id, present, user_id, practice_id, code in session.exec(
            select(Attendance.meeting_id, Attendance.present, Attendance.user_id, Attendance.practice_id, Practice.code)
            .join(Practice, col(Attendance.practice_id) == Practice.id, isouter=True)
            .where(col(Attendance.meeting_id).in_(held))
            .order_by(Attendance.meeting_id, Practice.code, Attendance.id)):
        marks[meeting_id].append((present, user_id, practice_id, code))
    said: dict[int, list[str]] = defaultdict(list)
    for meeting_id, text in session.exec(select(Decision.meeting_id, Decision.text).where(
            Decision.cluster_id == cluster.id, col(Decision.meeting_id).in_(held)).order_by(Decision.id)):
        said[meeting_id].append(text)
    lines = _count_by_meeting(session, MinuteLine.meeting_id, held)
    raised = _count_by_meeting(session, Action.meeting_id, held)
    rows = []
    for meeting in meetings:
        marked = marks.get(meeting.id, ())
        present = [(user_id, code) for was_there, user_id, _, code in marked if was_there]
        apologies = [(user_id, code) for was_there, user_id, _, code in marked if not was_there]
        came = {practice_id for was_there, _, practice_id, _ in marked if was_there and practice_id}
        rows.append(MeetingRecordRow(
            meeting.short_id, meeting.title, meeting.starts_at, meeting.place, present, apologies, len(came),
            practices, said.get(meeting.id, []), lines.get(meeting.id, 0), raised.get(meeting.id, 0)))
    return rows


def _count_by_meeting(session: Session, meeting_id, held) -> dict[int, int]:
    return dict(session.exec(select(meeting_id, func.count()).where(col(meeting_id).in_(held))
                             .group_by(meeting_id)).all())


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


def data_points_by_practice(*, session: Session, cluster: Cluster, first: date | None,
                            last: date | None) -> dict[int, int]:
    """practice id -> measure values it holds for periods the report covers: counted by the period the data
    describe (a month starting within first..last), not the day they were typed, so a year's report counts
    that year's data even when it was entered later."""
    query = (select(MeasurePoint.practice_id, func.count()).join(Measure, col(MeasurePoint.measure_id) == Measure.id)
             .where(Measure.cluster_id == cluster.id).group_by(MeasurePoint.practice_id))
    if first is not None:
        query = query.where(col(MeasurePoint.period) >= first)
    if last is not None:
        query = query.where(col(MeasurePoint.period) <= last)
    return dict(session.exec(query).all())
