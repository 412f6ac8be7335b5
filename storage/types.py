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


def upsert(session, table):
    """An INSERT that can end in ON CONFLICT DO NOTHING / DO UPDATE, spelt for the session's database.
    SQLite and PostgreSQL write it alike, but SQLAlchemy keeps it per dialect: the one place that picks."""
    return _insert_for(session.get_bind().dialect.name)(table)


def _insert_for(dialect_name: str):
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if dialect_name == "postgresql" else sqlite).insert


_BUILT: dict = {}


def built_upsert(session, build):
    """The statement `build(insert)` makes, built once per kind of database and kept: for upserts run on
    every click (a vote), whose building costs more than running them. `build` takes the dialect's
    `insert` and uses bindparams for the values."""
    name = session.get_bind().dialect.name
    statement = _BUILT.get((build, name))
    if statement is None:
        statement = _BUILT[(build, name)] = build(_insert_for(name))
    return statement
