"""Column types shared by every table."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """An aware datetime, stored as UTC on every database.

    PostgreSQL keeps the offset (timestamptz); SQLite has no time zones and hands back naive
    values, so we store naive UTC there and attach UTC on the way out. Naive input is refused:
    a naive datetime is a bug waiting for the clock change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a time zone (storage keeps UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def upsert(session, table):
    """An INSERT that can end in ON CONFLICT DO NOTHING / DO UPDATE, spelt for the session's database.
    SQLite and PostgreSQL write it alike, but SQLAlchemy keeps it per dialect: the one place that picks."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(table)
