"""Data functions for QI topics, their moves and notes."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.clusters import next_short_id
from storage.models import Cluster, Practice, Topic, TopicBase, TopicMove, TopicNote, TopicStatus
from storage.types import utcnow

TOPIC_PREFIX = "T"


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
    topic.updated_at = utcnow()
    session.add(topic)
    session.flush()
    return topic


def move_topic(*, session: Session, topic: Topic, to_status: str, by: str, reason: str = "") -> TopicMove:
    move = TopicMove(topic_id=topic.id, by=by, from_status=topic.status, to_status=to_status, reason=reason)
    topic.status, topic.updated_at = to_status, utcnow()
    session.add_all([topic, move])
    session.flush()
    return move


def add_note(*, session: Session, topic: Topic, by: str, text: str, step: str | None) -> TopicNote:
    note = TopicNote(topic_id=topic.id, by=by, text=text, step=step)
    topic.updated_at = utcnow()
    session.add_all([topic, note])
    session.flush()
    return note


def remove_note(*, session: Session, note: TopicNote) -> None:
    session.delete(note)
    session.flush()


def topic_moves(*, session: Session, topic: Topic) -> list[TopicMove]:
    return list(session.exec(select(TopicMove).where(TopicMove.topic_id == topic.id).order_by(TopicMove.id)))


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


def topic_rows(*, session: Session, cluster: Cluster) -> list[TopicRow]:
    """Every topic of the cluster, oldest first, with its proposing practice (for the Excel export)."""
    query = (
        select(Topic, Practice)
        .join(Practice, col(Topic.practice_id) == Practice.id, isouter=True)
        .where(Topic.cluster_id == cluster.id)
        .order_by(Topic.id)
    )
    return [
        TopicRow(t.short_id, t.title, t.status, t.source, p.code if p else None, p.name if p else None,
                 t.proposed_by, t.created_at, t.updated_at, t.why, t.aim, t.measure)
        for t, p in session.exec(query)
    ]
