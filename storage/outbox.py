"""The outbox: messages a committed change must send, claimed by delivery workers with a lease.

Enqueued in the same transaction as the change, so a message is never promised and then lost; a
worker that dies with a row claimed loses the lease, and another worker takes the row over.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from storage.models import DEFAULT_PLATFORM, Outbox
from storage.types import utcnow

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


def enqueue(*, session: Session, kind: str, channel: str, payload: str, key: str | None = None,
            team_id: str | None = None, asker: str | None = None, platform: str = DEFAULT_PLATFORM,
            ref: str | None = None, now: datetime | None = None) -> Outbox:
    """A row for `platform`'s delivery to send. `ref`: for an "update", the posted message to update."""
    row = Outbox(kind=kind, key=key, channel=channel, payload=payload, team_id=team_id, asker=asker,
                 platform=platform, ref=ref, not_before=now or utcnow())
    session.add(row)
    session.flush()  # the id now, for the effect that names it
    return row


def _claimable(now: datetime, platform: str):
    return (col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None), col(Outbox.not_before) <= now,
            Outbox.platform == platform, or_(col(Outbox.lease_until).is_(None), col(Outbox.lease_until) < now))


def claim_due(*, session: Session, worker: str, now: datetime, lease: timedelta, limit: int = 20,
              platform: str = DEFAULT_PLATFORM) -> list[Claimed]:
    """Up to `limit` due rows of `platform`, each claimed by a conditional UPDATE, so of any number of
    workers (threads or processes) exactly one holds a row at a time."""
    candidates = session.exec(select(Outbox.id).where(*_claimable(now, platform))
                              .order_by(Outbox.not_before, Outbox.id).limit(limit)).all()
    claimed = []
    for row_id in candidates:
        won = session.execute(update(Outbox).where(Outbox.id == row_id, *_claimable(now, platform))
                              .values(claimed_by=worker, lease_until=now + lease)).rowcount == 1
        if won:
            claimed.append(row_id)
    if not claimed:
        return []
    rows = session.exec(select(Outbox).where(col(Outbox.id).in_(claimed)).order_by(Outbox.id)).all()
    return [Claimed(r.id, r.kind, r.key, r.channel, r.team_id, r.asker, r.payload, r.attempts, r.uncertain,
                    r.created_at, r.ref) for r in rows]


def _mine(row_id: int, worker: str):
    return Outbox.id == row_id, Outbox.claimed_by == worker, col(Outbox.sent_at).is_(None)


def mark_sent(*, session: Session, row_id: int, worker: str, ref: str | None, now: datetime) -> bool:
    """False if the lease was lost meanwhile (another worker took over): that worker decides."""
    return session.execute(update(Outbox).where(*_mine(row_id, worker))
                           .values(sent_at=now, ref=ref, lease_until=None)).rowcount == 1


def retry_later(*, session: Session, row_id: int, worker: str, at: datetime, error: str, uncertain: bool) -> None:
    """Give the row back, due again at `at`. `uncertain`: the last try may have arrived."""
    session.execute(update(Outbox).where(*_mine(row_id, worker)).values(
        not_before=at, claimed_by=None, lease_until=None, attempts=Outbox.attempts + 1, last_error=error[:64],
        **({"uncertain": True} if uncertain else {})))


def mark_failed(*, session: Session, row_id: int, worker: str, error: str, now: datetime) -> None:
    session.execute(update(Outbox).where(*_mine(row_id, worker)).values(
        failed_at=now, last_error=error[:64], lease_until=None, attempts=Outbox.attempts + 1))


def pending(*, session: Session, platform: str = DEFAULT_PLATFORM) -> int:
    return session.exec(select(func.count()).select_from(Outbox).where(
        col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None), Outbox.platform == platform)).one()


def next_due(*, session: Session, platform: str = DEFAULT_PLATFORM) -> datetime | None:
    """When the earliest unsent row of `platform` falls due (for a worker deciding how long to sleep)."""
    return session.exec(select(func.min(Outbox.not_before)).where(
        col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None), Outbox.platform == platform)).one()


def purge(*, session: Session, now: datetime) -> int:
    """Forget rows sent (or given up) long ago."""
    old = now - KEEP_SENT
    return session.execute(Outbox.__table__.delete().where(
        or_(col(Outbox.sent_at) < old, col(Outbox.failed_at) < old))).rowcount
