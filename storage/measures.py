"""Data functions for measures (D1, D2 …), their data points, replaced values and data-due reminders."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select, update

from storage.clock import now as now_of
from storage.models import (
    Cluster,
    Measure,
    MeasureChange,
    MeasureNudge,
    MeasurePoint,
    MeasurePointHistory,
    MeasureSettings,
    MeasureStatus,
    Member,
    Practice,
    Topic,
    TopicStatus,
)
from storage.short_ids import next_short_id
from storage.types import upsert

MEASURE_PREFIX = "D"
DEFAULT_NUDGE_DAY = 5


def create_measure(*, session: Session, cluster: Cluster, measure: Measure) -> Measure:
    measure.cluster_id = cluster.id
    measure.short_id = next_short_id(session=session, cluster=cluster, prefix=MEASURE_PREFIX)
    session.add(measure)
    session.flush()
    return measure


def find_measure(*, session: Session, cluster: Cluster, short_id: str) -> Measure | None:
    return session.exec(select(Measure).where(Measure.cluster_id == cluster.id, Measure.short_id == short_id)).first()


def find_submitted_measure(*, session: Session, cluster: Cluster, submission_key: str) -> Measure | None:
    return session.exec(select(Measure).where(Measure.cluster_id == cluster.id,
                                              Measure.submission_key == submission_key)).first()


def list_measures(*, session: Session, cluster: Cluster, active_only: bool = False) -> list[Measure]:
    query = select(Measure).where(Measure.cluster_id == cluster.id)
    if active_only:
        query = query.where(Measure.status == MeasureStatus.ACTIVE)
    return list(session.exec(query.order_by(Measure.id)))


def list_with_topics(*, session: Session, cluster: Cluster) -> list[tuple[Measure, Topic, int]]:
    """Every measure of the cluster with its topic and how many data points it holds, in one query."""
    counted = (select(MeasurePoint.measure_id, func.count().label("n")).join(Measure)
               .where(Measure.cluster_id == cluster.id).group_by(MeasurePoint.measure_id).subquery())
    return [(m, t, n or 0) for m, t, n in session.exec(
        select(Measure, Topic, counted.c.n).join(Topic, col(Measure.topic_id) == Topic.id)
        .join(counted, counted.c.measure_id == Measure.id, isouter=True)
        .where(Measure.cluster_id == cluster.id).order_by(Measure.id))]


def touch(*, session: Session, measure: Measure) -> Measure:
    """Its settings changed: what was worked out from them (its run-chart signals) is out of date."""
    measure.updated_at = now_of(session)
    session.add(measure)
    session.flush()
    _revised(session, measure)
    return measure


def _revised(session: Session, measure: Measure) -> None:
    """Count the measure's revision up in the database, not from what this session read: two practices
    recording at once each add one (their updates queue on the row), so no change shares a revision."""
    session.execute(update(Measure).where(col(Measure.id) == measure.id).values(revision=Measure.revision + 1))
    session.expire(measure, ["revision"])


@dataclass(frozen=True)
class Recorded:
    point: MeasurePoint
    replaced: MeasurePointHistory | None  # the value it replaced, kept as history
    unchanged: bool = False               # the same figures again (a repeated submission): nothing to do


def record_point(*, session: Session, measure: Measure, practice: Practice, period: date, value: float,
                 numerator: float | None, denominator: float | None, by: str, at: datetime) -> Recorded:
    """Store one practice's value for one period. A value already there is replaced and kept in the history.
    The unique constraint, not a read-then-write, decides between two recordings at once."""
    existing = _point(session, measure, practice, period)
    if existing is None:
        point = MeasurePoint(measure_id=measure.id, practice_id=practice.id, period=period, value=value,
                             numerator=numerator, denominator=denominator, recorded_by=by, recorded_at=at)
        try:
            with session.begin_nested():
                session.add(point)
                session.flush()
            _revised(session, measure)
            _changed(session, point, "recorded", None, by, at)
            return Recorded(point, None)
        except IntegrityError:
            existing = _point(session, measure, practice, period)  # someone recorded it a moment ago
    if (existing.value, existing.numerator, existing.denominator) == (value, numerator, denominator):
        return Recorded(existing, None, unchanged=True)
    old = MeasurePointHistory(point_id=existing.id, numerator=existing.numerator, denominator=existing.denominator,
                              value=existing.value, recorded_by=existing.recorded_by,
                              recorded_at=existing.recorded_at, replaced_by=by, replaced_at=at)
    existing.numerator, existing.denominator, existing.value = numerator, denominator, value
    existing.recorded_by, existing.recorded_at = by, at
    session.add_all([old, existing])
    session.flush()
    _revised(session, measure)
    _changed(session, existing, "replaced", old, by, at)
    return Recorded(existing, old)


def remove_point(*, session: Session, measure: Measure, practice: Practice, period: date, by: str,
                 at: datetime) -> MeasurePoint | None:
    """Remove one practice's figure for one period (None: there was none). Its removal, with the figure it
    held, goes into the measure's history; the measure's revision moves on, so nothing worked out from the
    old figure is served again."""
    existing = _point(session, measure, practice, period)
    if existing is None:
        return None
    gone = MeasurePoint(measure_id=existing.measure_id, practice_id=existing.practice_id, period=existing.period,
                        value=existing.value, numerator=existing.numerator, denominator=existing.denominator,
                        recorded_by=existing.recorded_by, recorded_at=existing.recorded_at)
    session.add(MeasureChange(measure_id=measure.id, practice_id=practice.id, period=period, action="removed",
                              old_numerator=gone.numerator, old_denominator=gone.denominator, old_value=gone.value,
                              by=by, at=at))
    for replaced in session.exec(select(MeasurePointHistory).where(MeasurePointHistory.point_id == existing.id)):
        session.delete(replaced)  # tied to the point; its story stays in measure_history from now on
    session.flush()
    session.delete(existing)
    session.flush()
    _revised(session, measure)
    return gone


def _changed(session: Session, point: MeasurePoint, action: str, old: MeasurePointHistory | None, by: str,
             at: datetime) -> None:
    session.add(MeasureChange(measure_id=point.measure_id, practice_id=point.practice_id, period=point.period,
                              action=action, old_numerator=old.numerator if old else None,
                              old_denominator=old.denominator if old else None,
                              old_value=old.value if old else None, new_numerator=point.numerator,
                              new_denominator=point.denominator, new_value=point.value, by=by, at=at))
    session.flush()


def changes(*, session: Session, measure: Measure, practice: Practice | None = None,
            limit: int = 20) -> tuple[list[MeasureChange], int]:
    """The measure's latest changes, newest first, at most `limit`, and how many there are in all."""
    where = [MeasureChange.measure_id == measure.id]
    if practice is not None:
        where.append(MeasureChange.practice_id == practice.id)
    rows = list(session.exec(select(MeasureChange).where(*where)
                             .order_by(col(MeasureChange.at).desc(), col(MeasureChange.id).desc()).limit(limit)))
    total = session.exec(select(func.count()).select_from(MeasureChange).where(*where)).one()
    return rows, total


def denominators(*, session: Session, measure: Measure, practice_ids: set[int]) -> dict[int, list[float]]:
    """Each of `practice_ids`' recorded denominators of the measure, in one query."""
    found: dict[int, list[float]] = {p: [] for p in practice_ids}
    if not practice_ids:
        return found
    for practice_id, denominator in session.exec(
            select(MeasurePoint.practice_id, MeasurePoint.denominator).where(
                MeasurePoint.measure_id == measure.id, col(MeasurePoint.practice_id).in_(practice_ids),
                col(MeasurePoint.denominator).is_not(None))):
        found[practice_id].append(denominator)
    return found


def _point(session: Session, measure: Measure, practice: Practice, period: date) -> MeasurePoint | None:
    return session.exec(select(MeasurePoint).where(
        MeasurePoint.measure_id == measure.id, MeasurePoint.practice_id == practice.id,
        MeasurePoint.period == period)).first()


def points(*, session: Session, measure: Measure) -> list[MeasurePoint]:
    """Every data point of a measure, by period then practice."""
    return list(session.exec(select(MeasurePoint).where(MeasurePoint.measure_id == measure.id)
                             .order_by(MeasurePoint.period, MeasurePoint.practice_id)))


class StoredPoint(NamedTuple):
    """A data point as plain columns (what a workbook reads: no ORM object, no identity map)."""

    measure_id: int
    practice_id: int
    period: date
    numerator: float | None
    denominator: float | None
    value: float
    recorded_by: str
    recorded_at: datetime


class PointLine(NamedTuple):
    """One row of the long-format export: a point with its measure, topic and (current) practice."""

    measure: str
    measure_name: str
    frequency: str
    topic: str
    unit: str
    practice_code: str | None  # None: the practice is archived
    practice_name: str | None
    period: date
    numerator: float | None
    denominator: float | None
    value: float
    recorded_by: str
    recorded_at: datetime


BATCH = 2000  # rows per fetch when streaming: memory stays bounded whatever the cluster's size


def cluster_points(*, session: Session, cluster: Cluster) -> Iterator[StoredPoint]:
    """Every data point of the cluster's measures, by measure id, period, then practice: one SELECT,
    streamed in batches."""
    query = (select(MeasurePoint.measure_id, MeasurePoint.practice_id, MeasurePoint.period, MeasurePoint.numerator,
                    MeasurePoint.denominator, MeasurePoint.value, MeasurePoint.recorded_by, MeasurePoint.recorded_at)
             .join(Measure, col(MeasurePoint.measure_id) == Measure.id)
             .where(Measure.cluster_id == cluster.id)
             .order_by(Measure.id, MeasurePoint.period, MeasurePoint.practice_id))
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield StoredPoint(*row)


def point_lines(*, session: Session, cluster: Cluster) -> Iterator[PointLine]:
    """The cluster's data points in long format, each with its measure, topic and practice (None when the
    practice is archived), in the order of `cluster_points`: one SELECT, streamed in batches."""
    current = (col(MeasurePoint.practice_id) == Practice.id) & col(Practice.archived_at).is_(None)
    query = (select(Measure.short_id, Measure.name, Measure.frequency, Topic.short_id, Measure.unit, Practice.code,
                    Practice.name, MeasurePoint.period, MeasurePoint.numerator, MeasurePoint.denominator,
                    MeasurePoint.value, MeasurePoint.recorded_by, MeasurePoint.recorded_at)
             .join(Measure, col(MeasurePoint.measure_id) == Measure.id)
             .join(Topic, col(Measure.topic_id) == Topic.id)
             .join(Practice, current, isouter=True)
             .where(Measure.cluster_id == cluster.id)
             .order_by(Measure.id, MeasurePoint.period, MeasurePoint.practice_id))
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield PointLine(*row)


def history(*, session: Session, measure: Measure) -> list[tuple[MeasurePointHistory, MeasurePoint]]:
    """Replaced values, newest first, with the point that replaced them."""
    return list(session.exec(
        select(MeasurePointHistory, MeasurePoint)
        .join(MeasurePoint, col(MeasurePointHistory.point_id) == MeasurePoint.id)
        .where(MeasurePoint.measure_id == measure.id)
        .order_by(col(MeasurePointHistory.replaced_at).desc(), col(MeasurePointHistory.id).desc())))


def points_of(*, session: Session, measures: list[Measure]) -> Iterator[tuple[int, list[StoredPoint]]]:
    """(measure id, its data points by period then practice) for those of `measures` with data: one SELECT,
    streamed in batches, so one measure's points are held at a time."""
    if not measures:
        return
    query = (select(MeasurePoint.measure_id, MeasurePoint.practice_id, MeasurePoint.period, MeasurePoint.numerator,
                    MeasurePoint.denominator, MeasurePoint.value, MeasurePoint.recorded_by, MeasurePoint.recorded_at)
             .where(col(MeasurePoint.measure_id).in_([m.id for m in measures]))
             .order_by(MeasurePoint.measure_id, MeasurePoint.period, MeasurePoint.practice_id))
    rows = (StoredPoint(*row) for row in session.execute(query.execution_options(yield_per=BATCH)))
    for measure_id, points in groupby(rows, key=lambda p: p.measure_id):
        yield measure_id, list(points)


def measures_in_use(*, session: Session, cluster: Cluster) -> list[Measure]:
    """The cluster's active measures whose topic is not dropped: those data are asked for and charted."""
    return list(session.exec(
        select(Measure).join(Topic, col(Measure.topic_id) == Topic.id)
        .where(Measure.cluster_id == cluster.id, Measure.status == MeasureStatus.ACTIVE,
               Topic.status != TopicStatus.DROPPED)
        .order_by(Measure.id)))


def recorded(*, session: Session, wanted: dict[int, date]) -> set[tuple[int, int]]:
    """(measure id, practice id) of every practice with data for the period `wanted` of each measure id,
    in one query."""
    if not wanted:
        return set()
    rows = session.exec(select(MeasurePoint.measure_id, MeasurePoint.practice_id, MeasurePoint.period).where(
        col(MeasurePoint.measure_id).in_(wanted), col(MeasurePoint.period).in_(set(wanted.values()))))
    return {(m, p) for m, p, period in rows if wanted[m] == period}


def topic_of(*, session: Session, measure: Measure) -> Topic:
    return session.get(Topic, measure.topic_id)


def practices_with_data(*, session: Session, measure: Measure, period: date) -> set[int]:
    return set(session.exec(select(MeasurePoint.practice_id).where(
        MeasurePoint.measure_id == measure.id, MeasurePoint.period == period)))


def count_cluster_points(*, session: Session, cluster: Cluster) -> int:
    return session.exec(select(func.count()).select_from(MeasurePoint).join(Measure)
                        .where(Measure.cluster_id == cluster.id)).one()


# --- data-due reminders ------------------------------------------------------------------------

def nudge_day(*, session: Session, cluster: Cluster) -> int:
    """The working day of the month data-due reminders go on (0: never)."""
    found = session.get(MeasureSettings, cluster.id)
    return DEFAULT_NUDGE_DAY if found is None else found.nudge_working_day


def set_nudge_day(*, session: Session, cluster: Cluster, day: int) -> None:
    found = session.get(MeasureSettings, cluster.id) or MeasureSettings(cluster_id=cluster.id)
    found.nudge_working_day = day
    session.add(found)
    session.flush()


@dataclass(frozen=True)
class NudgesPending:
    cluster_id: int
    time_zone: str | None
    working_day: int
    nudged_month: date | None


def nudges_pending(*, session: Session, before: date) -> list[NudgesPending]:
    """Clusters with active measures and reminders on whose reminders have not gone for the month
    `before` or later: one query, and after each cluster's reminder day it no longer lists that cluster."""
    day = func.coalesce(MeasureSettings.nudge_working_day, DEFAULT_NUDGE_DAY)
    # one active measure looked up per cluster by its index (a semi-join would read every cluster's measures)
    active_one = (select(Measure.id).where(Measure.cluster_id == Cluster.id, Measure.status == MeasureStatus.ACTIVE)
                  .limit(1).correlate(Cluster).scalar_subquery())
    rows = session.exec(
        select(Cluster.id, Cluster.time_zone, day, MeasureSettings.nudged_month)
        .join(MeasureSettings, col(MeasureSettings.cluster_id) == Cluster.id, isouter=True)
        .where(active_one.is_not(None), day != 0,
               col(MeasureSettings.nudged_month).is_(None) | (col(MeasureSettings.nudged_month) < before))
        .order_by(Cluster.id))
    return [NudgesPending(*row) for row in rows]


def nudges_sent(*, session: Session, cluster: Cluster, month: date) -> bool:
    """Mark the cluster's reminders for `month` sent: True for the one process that marks it first."""
    changed = session.execute(
        upsert(session, MeasureSettings).values(cluster_id=cluster.id, nudge_working_day=DEFAULT_NUDGE_DAY,
                                                nudged_month=month)
        .on_conflict_do_update(index_elements=["cluster_id"], set_={"nudged_month": month},
                               where=col(MeasureSettings.nudged_month).is_(None)
                               | (col(MeasureSettings.nudged_month) < month))
        .returning(MeasureSettings.cluster_id))
    return changed.first() is not None


def members_of_practices(*, session: Session, cluster: Cluster, practice_ids: set[int]) -> list[Member]:
    if not practice_ids:
        return []
    return list(session.exec(select(Member).where(Member.cluster_id == cluster.id,
                                                  col(Member.practice_id).in_(practice_ids))
                             .order_by(Member.user_id)))


def nudged(*, session: Session, cluster: Cluster, period: date) -> set[str]:
    return set(session.exec(select(MeasureNudge.user_id).where(MeasureNudge.cluster_id == cluster.id,
                                                               MeasureNudge.period == period)))


def claim_nudge(*, session: Session, cluster: Cluster, user_id: str, period: date) -> bool:
    """True for exactly one caller per person, cluster and period, however many processes try."""
    inserted = session.execute(
        upsert(session, MeasureNudge).values(cluster_id=cluster.id, user_id=user_id, period=period,
                                             sent_at=now_of(session))
        .on_conflict_do_nothing().returning(MeasureNudge.user_id))
    return inserted.first() is not None
