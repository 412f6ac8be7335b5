"""The outbox: messages a committed change must send, claimed by delivery workers with a lease.

Enqueued in the same transaction as the change, so a message is never promised and then lost; a
worker that dies with a row claimed loses the lease, and another worker takes the row over.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_
from sqlmodel import Session, col, select

from storage.clock import wall_clock
from storage.models import DEFAULT_PLATFORM, Outbox

KEEP_SENT = timedelta(days=2)   # sent rows are kept this long (to answer "was it sent?"), then purged


@dataclass(frozen=True)
class Claimed:
    """A row a worker holds until `lease_until`: everything needed to send it, read once."""

    id: int
    kind: str
    key: str | None
    channel: str
    team_id: str | None
    asker: str | None
    payload: str
    attempts: int
    uncertain: bool
    created_at: datetime
    ref: str | None = None  # an update's message


# Outbox statements run for nearly every request and delivery: built once, run on the Core connection
# (building a statement and loading ORM objects costs more CPU than SQLite or PostgreSQL take to run it).
_TABLE = Outbox.__table__
_C = _TABLE.c
_ENQUEUE = _TABLE.insert().returning(_C.id)
# (Bound names differ from column names: an UPDATE keeps those for its SET clause.)
_CLAIMABLE = and_(_C.sent_at.is_(None), _C.failed_at.is_(None), _C.not_before <= bindparam("b_now"),
                  _C.platform == bindparam("b_platform"),
                  or_(_C.lease_until.is_(None), _C.lease_until < bindparam("b_now")))
_CLAIMED_COLUMNS = (_C.id, _C.kind, _C.key, _C.channel, _C.team_id, _C.asker, _C.payload, _C.attempts,
                    _C.uncertain, _C.created_at, _C.ref)
_CANDIDATES = select(_C.id).where(_CLAIMABLE).order_by(_C.not_before, _C.id).limit(bindparam("b_limit"))
# Rows another process is claiming right now are skipped, not waited for (PostgreSQL's FOR UPDATE SKIP
# LOCKED; SQLite, which has no FOR UPDATE and is left without it, has one writer at a time, so the UPDATE
# and its subquery see no other claim).
_CLAIM = (_TABLE.update().where(_C.id.in_(_CANDIDATES.with_for_update(skip_locked=True)), _CLAIMABLE)
          .values(claimed_by=bindparam("b_worker"), lease_until=bindparam("b_lease_until"))
          .returning(*_CLAIMED_COLUMNS))
_MINE = and_(_C.id == bindparam("b_row_id"), _C.claimed_by == bindparam("b_worker"), _C.sent_at.is_(None))
_MARK_SENT = _TABLE.update().where(_MINE).values(sent_at=bindparam("b_now"), ref=bindparam("b_ref"),
                                                 lease_until=None)


def enqueue(*, session: Session, kind: str, channel: str, payload: str, key: str | None = None,
            team_id: str | None = None, asker: str | None = None, platform: str = DEFAULT_PLATFORM,
            ref: str | None = None, now: datetime | None = None) -> int:
    """A row for `platform`'s delivery to send; its id, for the effect that names it. `ref`: for an
    "update", the posted message to update."""
    # The outbox keeps the sending machinery's time (seconds between tries, leases, giving up), which
    # only the machine's clock measures: a test's product clock stands still. No product rule reads it.
    made = wall_clock()
    return session.connection().execute(_ENQUEUE, {
        "kind": kind, "key": key, "channel": channel, "payload": payload, "team_id": team_id, "asker": asker,
        "platform": platform, "ref": ref, "created_at": made, "not_before": now or made, "attempts": 0,
        "uncertain": False}).scalar_one()


def claim_due(*, session: Session, worker: str, now: datetime, lease: timedelta, limit: int = 20,
              platform: str = DEFAULT_PLATFORM) -> list[Claimed]:
    """Up to `limit` due rows of `platform`, claimed in one conditional UPDATE, so of any number of
    workers (threads or processes) exactly one holds a row at a time."""
    rows = session.connection().execute(_CLAIM, {"b_now": now, "b_platform": platform, "b_limit": limit,
                                                    "b_worker": worker, "b_lease_until": now + lease}).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def mark_sent(*, session: Session, row_id: int, worker: str, ref: str | None, now: datetime) -> bool:
    """False if the lease was lost meanwhile (another worker took over): that worker decides."""
    return session.connection().execute(_MARK_SENT, {"b_row_id": row_id, "b_worker": worker, "b_ref": ref,
                                                     "b_now": now}).rowcount == 1


def retry_later(*, session: Session, row_id: int, worker: str, at: datetime, error: str, uncertain: bool) -> None:
    """Give the row back, due again at `at`. `uncertain`: the last try may have arrived."""
    session.connection().execute(_TABLE.update().where(_MINE).values(
        not_before=at, claimed_by=None, lease_until=None, attempts=_C.attempts + 1, last_error=error[:64],
        **({"uncertain": True} if uncertain else {})), {"b_row_id": row_id, "b_worker": worker})


def mark_failed(*, session: Session, row_id: int, worker: str, error: str, now: datetime) -> None:
    session.connection().execute(_TABLE.update().where(_MINE).values(
        failed_at=now, last_error=error[:64], lease_until=None, attempts=_C.attempts + 1),
        {"b_row_id": row_id, "b_worker": worker})


def pending(*, session: Session, platform: str = DEFAULT_PLATFORM) -> int:
    return session.exec(select(func.count()).select_from(Outbox).where(
        col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None), Outbox.platform == platform)).one()


def next_due(*, session: Session, platform: str = DEFAULT_PLATFORM) -> datetime | None:
    """When the earliest unsent row of `platform` falls due (for a worker deciding how long to sleep)."""
    return session.exec(select(func.min(Outbox.not_before)).where(
        col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None), Outbox.platform == platform)).one()


def purge(*, session: Session, now: datetime, keep: timedelta = KEEP_SENT) -> int:
    """Forget rows sent (or given up) longer than `keep` ago; how many."""
    old = now - keep
    return session.execute(Outbox.__table__.delete().where(
        or_(col(Outbox.sent_at) < old, col(Outbox.failed_at) < old))).rowcount
