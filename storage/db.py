"""Engine, sessions and schema upkeep: one session per unit of work."""

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Mapper
from sqlmodel import Session, create_engine

from storage.clock import CLOCK, Clock, now, wall_clock
from storage.models import STAMP

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseUnavailable(Exception):
    """The database could not be reached; the caller should tell people to try again shortly."""


class Conflict(Exception):
    """A unique constraint stopped a write: another request did the same thing at the same moment."""


def normalise_url(url: str) -> str:
    """Accept the URLs hosting platforms hand out (postgres://, postgresql://) and use psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# Connections kept open: enough for every thread that may hold one at once (8 server threads, 16
# delivery workers, the poller, the scheduler). A connection beyond the pool is closed when returned, so
# a pool smaller than the threads reconnects under load (for SQLite, four PRAGMAs each time). Measured
# with 16 clients on /cluster who: 4 reconnects in 966 requests with a pool of 5, none with 28.
POOL_SIZE = 28


def _make_engine(url: str, *, for_writing: bool = True) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=10, hide_parameters=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True,
                           pool_size=POOL_SIZE, max_overflow=10)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        # What is deleted is overwritten, not left in free pages: a closed anonymous poll's who-cast rows
        # and voter hashes would otherwise stay readable in the file (storage.anonymity).
        dbapi_connection.execute("PRAGMA secure_delete=ON")
        if url.split("///", 1)[-1] not in ("", ":memory:"):
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=NORMAL: a commit survives the process being killed (the case the
            # outbox is for) but not a power cut in the same instant; it saves an fsync per request.
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    # SQLite, for units of work that may write: take the write lock at BEGIN, so concurrent requests
    # queue instead of failing with "database is locked" when a reader upgrades to a writer.
    # Read-only work (exports, the Home tab) uses a plain BEGIN: in WAL mode readers never wait.
    # Sent straight to the driver: through exec_driver_sql it cost a tenth of a short request.
    begin = "BEGIN IMMEDIATE" if for_writing else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        try:
            connection.connection.driver_connection.execute(begin)
        except sqlite3.Error as error:  # as SQLAlchemy would have raised it: the database is unavailable
            raise OperationalError(begin, None, error) from error

    return engine


_STAMPS: dict[Mapper, tuple[str, ...]] = {}


def _stamp_columns(mapper: Mapper) -> tuple[str, ...]:
    found = _STAMPS.get(mapper)
    if found is None:
        found = _STAMPS[mapper] = tuple(mapper.get_property_by_column(c).key for c in mapper.columns
                                        if c.info.get(STAMP))
    return found


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _flush_context, _instances) -> None:
    """New rows' unset stamp columns (created_at, at …) get the unit of work's "now"."""
    moment = None
    for row in session.new:
        for key in _stamp_columns(row.__mapper__):
            if getattr(row, key) is None:
                moment = moment or now(session)
                setattr(row, key, moment)


class Database:
    """One database: its engine, its schema kept current, and sessions that commit or roll back whole.

    `clock` is what its sessions call "now" when they stamp rows: the product sets it to its own clock
    (`Clusterbot`), so one clock serves the product and its storage."""

    def __init__(self, url: str, clock: Clock = wall_clock):
        self.clock = clock
        self.url = normalise_url(url)
        self.engine = _make_engine(self.url)
        sqlite = self.engine.dialect.name == "sqlite"
        self.reader = _make_engine(self.url, for_writing=False) if sqlite else self.engine
        self._schema_ready = False
        self._lock = threading.Lock()
        # SQLite allows one writer; queueing this process's threads on a lock is fairer and faster
        # than SQLite's busy handler, which sleeps and retries (a long tail under load).
        self._one_writer = threading.Lock() if sqlite else nullcontext()

    def migrate(self) -> None:
        """Bring the schema up to date (Alembic). Safe to call from several processes at once."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Several bot processes may start together: one migrates, the others wait.
                    connection.execute(text("SELECT pg_advisory_xact_lock(7210301)"))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except DBAPIError as error:
            raise DatabaseUnavailable(str(error.orig)) from error
        self._schema_ready = True

    def ensure_schema(self) -> None:
        """Migrate once, on first use, so a bot started while the database was down heals itself."""
        if self._schema_ready:
            return
        with self._lock:
            if not self._schema_ready:
                self.migrate()

    def is_healthy(self) -> bool:
        try:
            self.ensure_schema()
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except (DatabaseUnavailable, DBAPIError):
            return False

    @contextmanager
    def session(self, read_only: bool = False) -> Iterator[Session]:
        """A unit of work: committed if the block finishes, rolled back if it raises. `read_only` work
        (a long export) neither waits for nor holds up the writers."""
        self.ensure_schema()
        lock, engine = (nullcontext(), self.reader) if read_only else (self._one_writer, self.engine)
        try:
            with lock, Session(engine, expire_on_commit=False, info={CLOCK: self.clock}) as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except (OperationalError, InterfaceError) as error:
            raise DatabaseUnavailable(str(error.orig)) from error
        except IntegrityError as error:
            raise Conflict(str(error.orig)) from error

    def dispose(self) -> None:
        self.engine.dispose()
        self.reader.dispose()
