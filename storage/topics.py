"""Data functions for QI topics, their moves and notes."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from storage.clock import now as now_of
from storage.models import Cluster, Practice, Topic, TopicBase, TopicMove, TopicNote, TopicStatus
from storage.short_ids import next_short_id

TOPIC_PREFIX = "T"
BATCH = 2000  # rows per fetch when streaming a workbook's rows


def create_topic(
    *, session: Session, cluster: Cluster, data: TopicBase, proposed_by: str, submission_key: str | None = None,
) -> Topic:
    """A new proposed topic with the first step of its history."""
    topic = Topic.model_validate(
        data, update={"cluster_id": cluster.id, "proposed_by": proposed_by, "submission_key": submission_key,
                      "short_id": next_short_id(session=session, cluster=cluster, prefix=TOPIC_PREFIX)},
    )
    session.add(topic)
    session.flush()
    session.add(TopicMove(topic_id=topic.id, by=proposed_by, from_status=None, to_status=TopicStatus.PROPOSED))
    session.flush()
    return topic


def find_topic(*, session: Session, cluster: Cluster, short_id: str) -> Topic | None:
    return session.exec(select(Topic).where(Topic.cluster_id == cluster.id, Topic.short_id == short_id)).first()


def find_submitted_topic(*, session: Session, cluster: Cluster, submission_key: str) -> Topic | None:
    return session.exec(
        select(Topic).where(Topic.cluster_id == cluster.id, Topic.submission_key == submission_key)
    ).first()


def list_topics(*, session: Session, cluster: Cluster, statuses: list[str]) -> list[Topic]:
    return list(session.exec(
        select(Topic).where(Topic.cluster_id == cluster.id, col(Topic.status).in_(statuses)).order_by(Topic.id)
    ))


def update_topic(*, session: Session, topic: Topic, data: TopicBase) -> Topic:
    for field, value in data.model_dump().items():
        setattr(topic, field, value)
    topic.updated_at = now_of(session)
    session.add(topic)
    session.flush()
    return topic


def move_topic(*, session: Session, topic: Topic, to_status: str, by: str, reason: str = "") -> TopicMove:
    move = TopicMove(topic_id=topic.id, by=by, from_status=topic.status, to_status=to_status, reason=reason)
    topic.status, topic.updated_at = to_status, now_of(session)
    session.add_all([topic, move])
    session.flush()
    return move


def add_note(*, session: Session, topic: Topic, by: str, text: str, step: str | None) -> TopicNote:
    note = TopicNote(topic_id=topic.id, by=by, text=text, step=step)
    topic.updated_at = now_of(session)
    session.add_all([topic, note])
    session.flush()
    return note


def remove_note(*, session: Session, note: TopicNote) -> None:
    session.delete(note)
    session.flush()


def topic_moves(*, session: Session, topic: Topic) -> list[TopicMove]:
    return list(session.exec(select(TopicMove).where(TopicMove.topic_id == topic.id).order_by(TopicMove.id)))


def count_notes(*, session: Session, topic: Topic) -> int:
    """How many notes the topic has (one count on the topic_id index)."""
    return session.exec(select(func.count()).select_from(TopicNote).where(TopicNote.topic_id == topic.id)).one()


def topic_notes(*, session: Session, topic: Topic) -> list[TopicNote]:
    return list(session.exec(select(TopicNote).where(TopicNote.topic_id == topic.id).order_by(TopicNote.id)))


@dataclass(frozen=True)
class TopicRow:
    """One topic as the cluster workbook shows it."""

    short_id: str
    title: str
    status: str
    source: str
    practice_code: str | None
    practice_name: str | None
    proposed_by: str
    created_at: datetime
    updated_at: datetime
    why: str
    aim: str
    measure: str
    notes: int = 0
    drop_reason: str = ""  # why it was dropped (the latest drop), when it is dropped


def topic_rows(*, session: Session, cluster: Cluster) -> list[TopicRow]:
    """Every topic of the cluster, oldest first, with its proposing practice, how many notes it has and,
    when dropped, why (for the workbooks)."""
    query = (
        select(Topic, Practice)
        .join(Practice, col(Topic.practice_id) == Practice.id, isouter=True)
        .where(Topic.cluster_id == cluster.id)
        .order_by(Topic.id)
    )
    notes = dict(session.exec(
        select(TopicNote.topic_id, func.count()).join(Topic, col(TopicNote.topic_id) == Topic.id)
        .where(Topic.cluster_id == cluster.id).group_by(TopicNote.topic_id)
    ).all())
    reasons = {topic_id: reason for topic_id, reason in session.exec(
        select(TopicMove.topic_id, TopicMove.reason).join(Topic, col(TopicMove.topic_id) == Topic.id)
        .where(Topic.cluster_id == cluster.id, TopicMove.to_status == TopicStatus.DROPPED).order_by(TopicMove.id)
    )}  # the latest drop of each topic wins
    return [
        TopicRow(t.short_id, t.title, t.status, t.source, p.code if p else None, p.name if p else None,
                 t.proposed_by, t.created_at, t.updated_at, t.why, t.aim, t.measure, notes.get(t.id, 0),
                 reasons.get(t.id, "") if t.status == TopicStatus.DROPPED else "")
        for t, p in session.exec(query)
    ]


@dataclass(frozen=True)
class TopicNoteRow:
    """One progress note (a PDSA step, when tagged) with its topic, for the workbooks."""

    topic: str
    topic_title: str
    topic_status: str
    step: str | None
    text: str
    by: str
    at: datetime


def topic_note_rows(*, session: Session, cluster: Cluster, since: datetime | None = None,
                    until: datetime | None = None) -> Iterator[TopicNoteRow]:
    """Every note of the cluster's topics (written in [since, until) when given), by topic then date:
    streamed in batches (bounded memory)."""
    query = (
        select(Topic.short_id, Topic.title, Topic.status, TopicNote.step, TopicNote.text, TopicNote.by, TopicNote.at)
        .join(Topic, col(TopicNote.topic_id) == Topic.id)
        .where(Topic.cluster_id == cluster.id)
        .order_by(Topic.id, TopicNote.id)
    )
    if since is not None:
        query = query.where(col(TopicNote.at) >= since)
    if until is not None:
        query = query.where(col(TopicNote.at) < until)
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield TopicNoteRow(*row)
