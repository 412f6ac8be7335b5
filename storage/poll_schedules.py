"""Data functions for polls on a timetable (commands/polls/timetable.py): schedules that post a poll later or
again and again, the once-only reminder before a deadline, and edits to a posted poll."""

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import Cluster, Poll, PollSchedule
from storage.short_ids import next_short_id

SCHEDULE_PREFIX = "S"


def create_schedule(*, session: Session, cluster: Cluster, schedule: PollSchedule) -> PollSchedule:
    schedule.cluster_id = cluster.id
    schedule.short_id = next_short_id(session=session, cluster=cluster, prefix=SCHEDULE_PREFIX)
    session.add(schedule)
    session.flush()
    return schedule


def find_schedule(*, session: Session, cluster: Cluster, short_id: str) -> PollSchedule | None:
    return session.exec(select(PollSchedule).where(PollSchedule.cluster_id == cluster.id,
                                                   PollSchedule.short_id == short_id)).first()


def active_schedules(*, session: Session, cluster: Cluster) -> list[PollSchedule]:
    """The cluster's schedules still to post, soonest first."""
    return list(session.exec(select(PollSchedule).where(
        PollSchedule.cluster_id == cluster.id, col(PollSchedule.next_at).is_not(None),
        col(PollSchedule.stopped_at).is_(None)).order_by(PollSchedule.next_at)))


def posted_by(*, session: Session, schedule: PollSchedule) -> list[str]:
    """The short ids of the polls a schedule has posted, in order."""
    return list(session.exec(select(Poll.short_id).where(Poll.schedule_id == schedule.id).order_by(Poll.id)))


def stop_schedule(*, session: Session, schedule: PollSchedule, by: str, now: datetime) -> bool:
    """True for the one caller that stops it (False: already stopped or done)."""
    stopped = session.execute(update(PollSchedule).where(
        PollSchedule.id == schedule.id, col(PollSchedule.stopped_at).is_(None),
        col(PollSchedule.next_at).is_not(None)).values(stopped_at=now, stopped_by=by, next_at=None)).rowcount == 1
    session.refresh(schedule)
    return stopped


def due_schedules(*, session: Session, now: datetime) -> list[int]:
    """Schedules whose next posting is due, in every cluster."""
    return list(session.exec(select(PollSchedule.id).where(
        col(PollSchedule.next_at) <= now, col(PollSchedule.stopped_at).is_(None)).order_by(PollSchedule.next_at)))


def claim_posting(*, session: Session, schedule: PollSchedule, due_at: datetime, then: datetime | None) -> bool:
    """Move the schedule on from `due_at` to `then` (None: done): True for exactly one caller, which posts
    the poll in this same transaction (so the claim needs no lease)."""
    return session.execute(update(PollSchedule).where(
        PollSchedule.id == schedule.id, PollSchedule.next_at == due_at, col(PollSchedule.stopped_at).is_(None))
        .values(next_at=then, posted=PollSchedule.posted + 1)).rowcount == 1


def reminder_candidates(*, session: Session, now: datetime, within: timedelta) -> list[tuple[int, datetime,
                                                                                            datetime, str]]:
    """Open polls that remind, not reminded yet, closing within `within`: (id, closes_at, created_at, time
    zone). Which of them are due (the working day before the close) the caller decides."""
    rows = session.exec(select(Poll.id, Poll.closes_at, Poll.created_at, Cluster.time_zone)
                        .join(Cluster, Cluster.id == Poll.cluster_id)
                        .where(col(Poll.closed_at).is_(None), Poll.remind == True,  # noqa: E712
                               col(Poll.reminded_at).is_(None), col(Poll.closes_at) > now,
                               col(Poll.closes_at) <= now + within)
                        .order_by(Poll.closes_at))
    return [tuple(r) for r in rows]


def claim_reminder(*, session: Session, poll_id: int, now: datetime) -> bool:
    """True for exactly one caller: the one that puts the reminders in the outbox, in this same transaction."""
    return session.execute(update(Poll).where(
        Poll.id == poll_id, col(Poll.reminded_at).is_(None), col(Poll.closed_at).is_(None))
        .values(reminded_at=now)).rowcount == 1


def lock_poll(*, session: Session, poll: Poll) -> None:
    """Read the poll afresh, locked (PostgreSQL) until the edit commits: two edits never lose one another."""
    session.refresh(poll, with_for_update=True)


def edit_poll(*, session: Session, poll: Poll, now: datetime, what: str, question: str | None = None,
              options: list[str] | None = None) -> bool:
    """Change an open poll's question or options, marking it edited (`what`: "question", "option 2");
    False if it closed meanwhile."""
    marks = list(dict.fromkeys([*(poll.edited or []), what]))
    values = dict(edited_at=now, edited=marks)
    if question is not None:
        values["question"] = question
    if options is not None:
        values["options"] = options
    changed = session.execute(update(Poll).where(Poll.id == poll.id, col(Poll.closed_at).is_(None))
                              .values(**values)).rowcount == 1
    session.refresh(poll)
    return changed
