"""Assertions the feature tests share."""

from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import event, update
from sqlmodel import SQLModel, col, func, select

from storage.models import Outbox


def snapshot(db) -> dict[str, list[str]]:
    """Every row of every table, to show that a refusal stored nothing, anywhere. Handled request ids
    (retried events, replayed commands) are the adapters' bookkeeping of what arrived, not data."""
    with db.engine.connect() as connection:
        return {table.name: sorted(map(repr, connection.execute(table.select()).all()))
                for table in SQLModel.metadata.sorted_tables if table.name != "handled_event"}


def assert_refused(response, says: str) -> None:
    """A refusal: shown only to the person, marked as a problem, saying what was wrong."""
    assert response.status == 200
    assert response.json["response_type"] == "ephemeral" and response.text.startswith(":warning:"), response.text
    assert says in response.text, response.text


def unsent_outbox(db) -> int:
    """Outbox rows not yet sent (nor given up)."""
    with db.session() as session:
        return session.exec(select(func.count()).select_from(Outbox).where(
            col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None))).one()


def retry_now(db) -> None:
    """Bring every waiting outbox row due now (rather than after its back-off)."""
    with db.session() as session:
        session.execute(update(Outbox).where(col(Outbox.sent_at).is_(None))
                        .values(not_before=datetime(2000, 1, 1, tzinfo=UTC)))


@contextmanager
def statements(db):
    """The SQL statements (text, parameters) run on `db`, by either of its engines, while the block runs."""
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, None if executemany else parameters))

    engines = {db.engine, db.reader}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", keep)


def statements_while(db, work) -> int:
    """How many SQL statements `work()` made the database run."""
    with statements(db) as seen:
        work()
    return len(seen)
