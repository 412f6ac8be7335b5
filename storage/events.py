"""Platform events already handled, so a retried delivery (Slack's event_id, Bot Framework's activity
id) is handled once; ids older than a day are forgotten by the housekeeping tick."""

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.clock import now as now_of
from storage.models import HandledEvent
from storage.types import upsert


def first_time(*, session: Session, event_id: str) -> bool:
    """True the first time an event id is seen, for exactly one of any number of deliveries."""
    inserted = session.execute(
        upsert(session, HandledEvent).values(event_id=event_id, at=now_of(session)).on_conflict_do_nothing()
        .returning(HandledEvent.event_id)
    )
    return inserted.first() is not None


def has_events_before(*, session: Session, before: datetime) -> bool:
    return session.exec(select(HandledEvent.event_id).where(col(HandledEvent.at) < before).limit(1)).first() \
        is not None


def forget_events(*, session: Session, before: datetime) -> None:
    """Slack retries for minutes, not days: old event ids can go."""
    session.execute(delete(HandledEvent).where(col(HandledEvent.at) < before))
