"""Data functions for the monthly practice check-in: settings, rounds, answers."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.clock import now as now_of
from storage.models import CheckinAnswer, CheckinRound, CheckinSettings, Cluster, Member, Practice
from storage.types import upsert


def settings(*, session: Session, cluster: Cluster) -> CheckinSettings | None:
    return session.get(CheckinSettings, cluster.id)


def set_day(*, session: Session, cluster: Cluster, day: int, minute: int) -> None:
    found = session.get(CheckinSettings, cluster.id) or CheckinSettings(cluster_id=cluster.id)
    found.working_day, found.minute = day, minute
    session.add(found)
    session.flush()


@dataclass(frozen=True)
class Pending:
    cluster_id: int
    time_zone: str | None
    working_day: int
    minute: int
    opened_month: date | None


def pending(*, session: Session, before: date) -> list[Pending]:
    """Clusters with the check-in on whose check-in has not opened for the month `before` or later."""
    rows = session.exec(
        select(Cluster.id, Cluster.time_zone, CheckinSettings.working_day, CheckinSettings.minute,
               CheckinSettings.opened_month)
        .join(CheckinSettings, col(CheckinSettings.cluster_id) == Cluster.id)
        .where(CheckinSettings.working_day != 0,
               col(CheckinSettings.opened_month).is_(None) | (col(CheckinSettings.opened_month) < before))
        .order_by(Cluster.id))
    return [Pending(*row) for row in rows]


def open_round(*, session: Session, cluster: Cluster, month: date, remind_at: datetime,
               digest_at: datetime) -> CheckinRound | None:
    """The month's round, for the one process that opens it first (None for every other)."""
    settings_row = session.execute(
        update(CheckinSettings).where(CheckinSettings.cluster_id == cluster.id,
                                      col(CheckinSettings.opened_month).is_(None)
                                      | (col(CheckinSettings.opened_month) < month))
        .values(opened_month=month).returning(CheckinSettings.cluster_id))
    if settings_row.first() is None:
        return None
    inserted = session.execute(
        upsert(session, CheckinRound).values(cluster_id=cluster.id, month=month, opened_at=now_of(session),
                                             remind_at=remind_at, digest_at=digest_at)
        .on_conflict_do_nothing().returning(CheckinRound.id))
    found = inserted.first()
    return session.get(CheckinRound, found[0]) if found else None


def rounds_to_remind(*, session: Session, now: datetime) -> list[int]:
    return list(session.exec(select(CheckinRound.id).where(col(CheckinRound.reminded_at).is_(None),
                                                           CheckinRound.remind_at <= now).order_by(CheckinRound.id)))


def rounds_to_digest(*, session: Session, now: datetime) -> list[int]:
    return list(session.exec(select(CheckinRound.id).where(col(CheckinRound.digested_at).is_(None),
                                                           CheckinRound.digest_at <= now).order_by(CheckinRound.id)))


def claim(*, session: Session, round_id: int, what: str) -> bool:
    """Mark the round reminded ("reminded_at") or digested ("digested_at"): True for the first caller only."""
    column = getattr(CheckinRound, what)
    changed = session.execute(update(CheckinRound).where(CheckinRound.id == round_id, column.is_(None))
                              .values({what: now_of(session)}).returning(CheckinRound.id))
    return changed.first() is not None


def current_round(*, session: Session, cluster: Cluster) -> CheckinRound | None:
    """The cluster's latest round."""
    return session.exec(select(CheckinRound).where(CheckinRound.cluster_id == cluster.id)
                        .order_by(col(CheckinRound.month).desc()).limit(1)).first()


def latest_opened(*, session: Session, cluster: Cluster, before: datetime) -> CheckinRound | None:
    """The latest round opened before `before` (a meeting's start)."""
    return session.exec(select(CheckinRound).where(CheckinRound.cluster_id == cluster.id,
                                                   CheckinRound.opened_at < before)
                        .order_by(col(CheckinRound.month).desc()).limit(1)).first()


def answers(*, session: Session, round_: CheckinRound) -> list[CheckinAnswer]:
    return list(session.exec(select(CheckinAnswer).where(CheckinAnswer.round_id == round_.id)
                             .order_by(CheckinAnswer.practice_id)))


def answer_of(*, session: Session, round_: CheckinRound, practice_id: int) -> CheckinAnswer | None:
    return session.exec(select(CheckinAnswer).where(CheckinAnswer.round_id == round_.id,
                                                    CheckinAnswer.practice_id == practice_id)).first()


def save_answer(*, session: Session, round_: CheckinRound, practice_id: int, by: str, tested: str, blockers: str,
                data: str) -> tuple[CheckinAnswer, bool]:
    """The practice's answer, written or replaced (one per practice): the row and whether it was new."""
    found = answer_of(session=session, round_=round_, practice_id=practice_id)
    new = found is None
    if new:
        found = CheckinAnswer(round_id=round_.id, practice_id=practice_id, by=by)
    else:
        found.by, found.at = by, now_of(session)
    found.tested, found.blockers, found.data = tested, blockers, data
    session.add(found)
    session.flush()
    return found, new


def practice_members(*, session: Session, cluster: Cluster) -> list[Member]:
    """Everyone in a practice of the cluster, by practice then person."""
    return list(session.exec(select(Member).where(Member.cluster_id == cluster.id, col(Member.practice_id).is_not(None))
                             .order_by(Member.practice_id, Member.user_id)))


@dataclass(frozen=True)
class CheckinExportRow:
    """A practice's check-in answer as a workbook lists it."""

    month: date
    practice_code: str
    practice_name: str
    tested: str
    blockers: str
    data: str
    by: str
    at: datetime


def export_rows(*, session: Session, cluster: Cluster, first: date | None = None,
                last: date | None = None) -> list[CheckinExportRow]:
    """The cluster's check-in answers, by month then practice; with `first`/`last`, only the rounds of the
    months those days fall in (a report's period). One query."""
    query = (select(CheckinRound.month, Practice.code, Practice.name, CheckinAnswer.tested, CheckinAnswer.blockers,
                    CheckinAnswer.data, CheckinAnswer.by, CheckinAnswer.at)
             .join(CheckinRound, col(CheckinRound.id) == CheckinAnswer.round_id)
             .join(Practice, col(Practice.id) == CheckinAnswer.practice_id)
             .where(CheckinRound.cluster_id == cluster.id))
    if first is not None:
        query = query.where(CheckinRound.month >= first.replace(day=1))
    if last is not None:
        query = query.where(CheckinRound.month <= last)
    return [CheckinExportRow(*row) for row in session.exec(query.order_by(CheckinRound.month, Practice.code))]
