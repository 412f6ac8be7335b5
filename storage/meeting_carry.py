"""Data functions for meetings that carry on: uncovered agenda items and open actions carried to the
cluster's next meeting (claimed, so it happens once), covered marks, invites and the minutes lock."""

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import Action, ActionStatus, AgendaItem, Meeting, MeetingStatus


def to_carry(*, session: Session) -> list[tuple[Meeting, Meeting]]:
    """Meetings that have ended, whose open items have not been carried yet and that have a meeting after
    them to carry into: (the meeting, the one right after), oldest first. A meeting with none after it
    waits, asked about in no tick's work until one is scheduled."""
    later = aliased(Meeting)
    after = (select(later.id).where(later.cluster_id == Meeting.cluster_id, later.status == MeetingStatus.SCHEDULED,
                                    later.starts_at > Meeting.starts_at).exists())
    ended = session.exec(
        select(Meeting).where(Meeting.status == MeetingStatus.SCHEDULED, col(Meeting.ended_at).is_not(None),
                              col(Meeting.carried_at).is_(None), after).order_by(Meeting.starts_at))
    return [(m, following(session=session, meeting=m)) for m in ended]


def following(*, session: Session, meeting: Meeting) -> Meeting | None:
    """The cluster's meeting right after this one (scheduled, starting later), or None."""
    return session.exec(
        select(Meeting).where(Meeting.cluster_id == meeting.cluster_id, Meeting.status == MeetingStatus.SCHEDULED,
                              col(Meeting.starts_at) > meeting.starts_at, Meeting.id != meeting.id)
        .order_by(Meeting.starts_at, Meeting.id).limit(1)).first()


def claim_carry(*, session: Session, meeting_id: int, now: datetime) -> bool:
    """True for exactly one caller: the carrying is said once, however many processes tick."""
    return session.execute(
        update(Meeting).where(Meeting.id == meeting_id, col(Meeting.carried_at).is_(None)).values(carried_at=now)
    ).rowcount == 1


def uncovered_items(*, session: Session, meeting: Meeting) -> list[AgendaItem]:
    return list(session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id,
                                                      col(AgendaItem.covered_at).is_(None)).order_by(AgendaItem.id)))


def open_actions(*, session: Session, meeting: Meeting) -> list[Action]:
    """Actions raised at the meeting that are still open, in the order raised."""
    return list(session.exec(select(Action).where(Action.meeting_id == meeting.id,
                                                  Action.status == ActionStatus.OPEN).order_by(Action.id)))


def carried_copy(*, session: Session, item: AgendaItem, into: Meeting) -> AgendaItem | None:
    """The copy of `item` carried into `into`, if there is one (same text and person, carried from its meeting)."""
    origin = item.carried_from or item.meeting_id
    return session.exec(select(AgendaItem).where(
        AgendaItem.meeting_id == into.id, AgendaItem.carried_from == origin, AgendaItem.text == item.text,
        AgendaItem.by == item.by).order_by(AgendaItem.id).limit(1)).first()


def set_covered(*, session: Session, item: AgendaItem, at: datetime | None) -> None:
    item.covered_at = at
    session.add(item)
    session.flush()
