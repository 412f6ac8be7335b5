"""Data functions for topics' progress scores (IHI / Life QI scale) and their monthly question."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from storage.clock import now as now_of
from storage.measures import DEFAULT_NUDGE_DAY
from storage.models import (
    CheckinSettings,
    Cluster,
    MeasureSettings,
    Member,
    ProgressAsk,
    ProgressScore,
    Role,
    Topic,
    TopicStatus,
)
from storage.types import upsert

HISTORY = 12  # scores shown per topic: a year of monthly scores
# The IHI / Life QI progress scale, in half-points (1 = 0.5 … 10 = 5): how commands and files word a score.
SCALE = {1: "intending", 2: "forming", 3: "planning", 4: "activity", 5: "changes tested",
         6: "modest improvement", 7: "improvement", 8: "significant improvement", 9: "sustainable improvement",
         10: "outstanding sustainable results"}


def add_score(*, session: Session, topic: Topic, halves: int, by: str) -> ProgressScore:
    score = ProgressScore(topic_id=topic.id, halves=halves, by=by)
    session.add(score)
    session.flush()
    return score


def scores(*, session: Session, topic: Topic, most: int = HISTORY) -> list[ProgressScore]:
    """The topic's latest scores, oldest first."""
    rows = session.exec(select(ProgressScore).where(ProgressScore.topic_id == topic.id)
                        .order_by(col(ProgressScore.at).desc(), col(ProgressScore.id).desc()).limit(most))
    return list(reversed(list(rows)))


def scores_of(*, session: Session, topic_ids: list[int], most: int = 4) -> dict[int, list[int]]:
    """topic id -> its latest `most` scores in half-points, oldest first: one query for many topics."""
    if not topic_ids:
        return {}
    rows = session.exec(select(ProgressScore.topic_id, ProgressScore.halves)
                        .where(col(ProgressScore.topic_id).in_(topic_ids))
                        .order_by(ProgressScore.topic_id, col(ProgressScore.at).desc(), col(ProgressScore.id).desc()))
    found: dict[int, list[int]] = {}
    for topic_id, halves in rows:
        kept = found.setdefault(topic_id, [])
        if len(kept) < most:
            kept.append(halves)
    return {topic_id: list(reversed(kept)) for topic_id, kept in found.items()}


@dataclass(frozen=True)
class AsksPending:
    cluster_id: int
    time_zone: str | None
    working_day: int
    scores_month: date | None


def asks_pending(*, session: Session, before: date) -> list[AsksPending]:
    """Clusters with an active topic and data-due reminders on (the scores are asked on the same day)
    whose scores have not been asked for the month `before` or later: one query."""
    day = func.coalesce(MeasureSettings.nudge_working_day, DEFAULT_NUDGE_DAY)
    active_one = (select(Topic.id).where(Topic.cluster_id == Cluster.id, Topic.status == TopicStatus.ACTIVE)
                  .limit(1).correlate(Cluster).scalar_subquery())
    rows = session.exec(
        select(Cluster.id, Cluster.time_zone, day, CheckinSettings.scores_month)
        .join(MeasureSettings, col(MeasureSettings.cluster_id) == Cluster.id, isouter=True)
        .join(CheckinSettings, col(CheckinSettings.cluster_id) == Cluster.id, isouter=True)
        .where(active_one.is_not(None), day != 0,
               col(CheckinSettings.scores_month).is_(None) | (col(CheckinSettings.scores_month) < before))
        .order_by(Cluster.id))
    return [AsksPending(*row) for row in rows]


def asks_sent(*, session: Session, cluster: Cluster, month: date) -> bool:
    """Mark the cluster's score questions for `month` sent: True for the one process that marks it first."""
    changed = session.execute(
        upsert(session, CheckinSettings).values(cluster_id=cluster.id, working_day=0, minute=600, scores_month=month)
        .on_conflict_do_update(index_elements=["cluster_id"], set_={"scores_month": month},
                               where=col(CheckinSettings.scores_month).is_(None)
                               | (col(CheckinSettings.scores_month) < month))
        .returning(CheckinSettings.cluster_id))
    return changed.first() is not None


def claim_ask(*, session: Session, topic: Topic, month: date) -> bool:
    """True for exactly one caller per topic and month, however many processes try."""
    inserted = session.execute(
        upsert(session, ProgressAsk).values(topic_id=topic.id, month=month, sent_at=now_of(session))
        .on_conflict_do_nothing().returning(ProgressAsk.topic_id))
    return inserted.first() is not None


def active_topics(*, session: Session, cluster: Cluster) -> list[Topic]:
    return list(session.exec(select(Topic).where(Topic.cluster_id == cluster.id, Topic.status == TopicStatus.ACTIVE)
                             .order_by(Topic.id)))


def people(*, session: Session, cluster: Cluster) -> tuple[set[str], list[str]]:
    """Everyone in the cluster, and its leads (in id order)."""
    rows = list(session.exec(select(Member.user_id, Member.role).where(Member.cluster_id == cluster.id)
                             .order_by(Member.user_id)))
    return {user for user, _ in rows}, [user for user, role in rows if role == Role.LEAD]


def histories(*, session: Session, topic_ids: list[int], until: datetime | None = None,
              most: int = HISTORY) -> dict[int, list[ProgressScore]]:
    """topic id -> its latest `most` scores given before `until` (None: up to now), oldest first: one query for
    many topics (the Board report's QI sheets)."""
    if not topic_ids:
        return {}
    query = select(ProgressScore).where(col(ProgressScore.topic_id).in_(topic_ids))
    if until is not None:
        query = query.where(ProgressScore.at < until)
    found: dict[int, list[ProgressScore]] = {}
    for score in session.exec(query.order_by(ProgressScore.topic_id, col(ProgressScore.at).desc(),
                                             col(ProgressScore.id).desc())):
        kept = found.setdefault(score.topic_id, [])
        if len(kept) < most:
            kept.append(score)
    return {topic_id: list(reversed(kept)) for topic_id, kept in found.items()}


@dataclass(frozen=True)
class ScoreExportRow:
    """A score as the cluster's workbook lists it."""

    topic: str          # T3
    topic_title: str
    topic_status: str
    halves: int
    by: str
    at: datetime


def export_rows(*, session: Session, cluster: Cluster) -> list[ScoreExportRow]:
    """Every progress score of the cluster's topics, by topic then when given: one query."""
    rows = session.exec(select(Topic.short_id, Topic.title, Topic.status, ProgressScore.halves, ProgressScore.by,
                               ProgressScore.at)
                        .join(Topic, col(Topic.id) == ProgressScore.topic_id).where(Topic.cluster_id == cluster.id)
                        .order_by(Topic.id, ProgressScore.at, ProgressScore.id))
    return [ScoreExportRow(*row) for row in rows]
