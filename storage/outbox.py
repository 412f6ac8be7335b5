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
    useful_until: datetime | None = None  # not sent after this (None: no limit)
    cluster_id: int | None = None


# Outbox statements run for nearly every request and delivery: built once, run on the Core connection
# (building a statement and loading ORM objects costs more CPU than SQLite or PostgreSQL take to run it).
_TABLE = Outbox.__table__
_C = _TABLE.c
_ENQUEUE = _TABLE.insert().returning(_C.id)


def _waiting(c):
    """Not yet sent nor given up: the predicate of the outbox's partial indexes (models.WAITING)."""
    return and_(c.sent_at.is_(None), c.failed_at.is_(None))


def _claimable(c):
    """Waiting, due, of this platform, and held by nobody (or by a worker whose lease ran out).
    (Bound names differ from column names: an UPDATE keeps those for its SET clause.)"""
    return and_(_waiting(c), c.not_before <= bindparam("b_now"), c.platform == bindparam("b_platform"),
                or_(c.lease_until.is_(None), c.lease_until < bindparam("b_now")))


_CLAIMABLE = _claimable(_C)
_CLAIMED_COLUMNS = (_C.id, _C.kind, _C.key, _C.channel, _C.team_id, _C.asker, _C.payload, _C.attempts,
                    _C.uncertain, _C.created_at, _C.ref, _C.useful_until, _C.cluster_id)


def _heads():
    """The oldest claimable row of each cluster with rows waiting, at most one a cluster, in index
    order. Which clusters have rows waiting is found by skipping along ix_outbox_fair (a recursive
    query: the least cluster id, then the least one above it …), so its cost follows the number of
    clusters with something waiting, never the number of rows: a flood of 10,000 rows is one cluster."""
    first, following, oldest = _TABLE.alias("o1"), _TABLE.alias("o2"), _TABLE.alias("o3")
    platform = bindparam("b_platform")
    clusters = (select(func.min(first.c.cluster_id).label("cid"))
                .where(first.c.platform == platform, _waiting(first.c))
                .cte("waiting_clusters", recursive=True))
    step = (select(func.min(following.c.cluster_id))
            .where(following.c.platform == platform, _waiting(following.c), following.c.cluster_id > clusters.c.cid)
            .scalar_subquery())
    clusters = clusters.union_all(select(step).where(clusters.c.cid.is_not(None)))
    head = (select(oldest.c.id).where(oldest.c.cluster_id == clusters.c.cid, _claimable(oldest.c))
            .order_by(oldest.c.not_before, oldest.c.id).limit(1).scalar_subquery())
    # Rows for no cluster (queued before migration 0023, or for no cluster at all) are one group more.
    loose = (select(_C.id).where(_C.cluster_id.is_(None), _CLAIMABLE).order_by(_C.not_before, _C.id).limit(1)
             .scalar_subquery())
    return select(head.label("id")).where(clusters.c.cid.is_not(None)).union_all(select(loose.label("id")))


_HEADS = _heads()
# The claim itself: the heads found above (at most `b_heads_limit`), then the oldest due rows, first in
# first out, up to the batch. Rows another process is claiming right now are skipped, not waited for
# (PostgreSQL's FOR UPDATE SKIP LOCKED; SQLite, which has no FOR UPDATE and is left without it, has
# one writer at a time, so the UPDATE and its subqueries see no other claim).
_HEAD_ROWS = select(_C.id).where(_C.id.in_(bindparam("b_heads", expanding=True)), _CLAIMABLE)
_OLDEST = (select(_C.id).where(_CLAIMABLE, _C.id.not_in(bindparam("b_heads", expanding=True)))
           .order_by(_C.not_before, _C.id).limit(bindparam("b_limit")))
_CLAIM = (_TABLE.update()
          .where(or_(_C.id.in_(_HEAD_ROWS.with_for_update(skip_locked=True)),
                     _C.id.in_(_OLDEST.with_for_update(skip_locked=True))), _CLAIMABLE)
          .values(claimed_by=bindparam("b_worker"), lease_until=bindparam("b_lease_until"))
          .returning(*_CLAIMED_COLUMNS))
_MINE = and_(_C.id == bindparam("b_row_id"), _C.claimed_by == bindparam("b_worker"), _C.sent_at.is_(None))
_MARK_SENT = _TABLE.update().where(_MINE).values(sent_at=bindparam("b_now"), ref=bindparam("b_ref"),
                                                 lease_until=None)
TOO_LATE = "too_late"  # last_error of a row dropped past its useful life


def enqueue(*, session: Session, kind: str, channel: str, payload: str, key: str | None = None,
            team_id: str | None = None, asker: str | None = None, platform: str = DEFAULT_PLATFORM,
            ref: str | None = None, now: datetime | None = None, cluster_id: int | None = None,
            useful_for: timedelta | None = None) -> int:
    """A row for `platform`'s delivery to send; its id, for the effect that names it. `ref`: for an
    "update", the posted message to update. `cluster_id`: whose it is, for the fair claim. `useful_for`:
    how long from now it is worth sending (None: no limit); past that it is dropped, never sent late."""
    # The outbox keeps the sending machinery's time (seconds between tries, leases, giving up), which
    # only the machine's clock measures: a test's product clock stands still. No product rule reads it.
    made = wall_clock()
    return session.connection().execute(_ENQUEUE, {
        "kind": kind, "key": key, "channel": channel, "payload": payload, "team_id": team_id, "asker": asker,
        "platform": platform, "ref": ref, "created_at": made, "not_before": now or made, "attempts": 0,
        "uncertain": False, "cluster_id": cluster_id,
        "useful_until": None if useful_for is None else made + useful_for}).scalar_one()


def claim_due(*, session: Session, worker: str, now: datetime, lease: timedelta, limit: int = 20,
              platform: str = DEFAULT_PLATFORM) -> list[Claimed]:
    """Up to `limit` due rows of `platform`, claimed in one conditional UPDATE, so of any number of
    workers (threads or processes) exactly one holds a row at a time. Fair across clusters: each
    cluster's oldest due row comes first (clusters in the order of their oldest rows), then the rest
    first in first out, so one cluster's flood of posts cannot hold another cluster's reminder back
    for longer than one batch. Returned in that order: the order they should be sent in."""
    connection = session.connection()
    bound = {"b_now": now, "b_platform": platform}
    heads = [row_id for (row_id,) in connection.execute(_HEADS, bound) if row_id is not None]
    heads = sorted(heads)[:limit]  # ids grow with time: the clusters that have waited longest first
    rows = connection.execute(_CLAIM, {**bound, "b_heads": heads, "b_limit": limit - len(heads),
                                       "b_worker": worker, "b_lease_until": now + lease}).all()
    first = {row_id: n for n, row_id in enumerate(heads)}
    return sorted((Claimed(*row) for row in rows), key=lambda c: (first.get(c.id, len(first)), c.id))


def drop_late(*, session: Session, rows: list[Claimed], worker: str, now: datetime) -> list[Claimed]:
    """Of rows this worker just claimed, those past their useful life: given up (marked failed, "too
    late", in one UPDATE) and returned, so the caller never sends them."""
    late = [row for row in rows if row.useful_until is not None and row.useful_until <= now]
    if late:
        session.connection().execute(_TABLE.update().where(
            _C.id.in_([row.id for row in late]), _C.claimed_by == worker, _C.sent_at.is_(None)).values(
            failed_at=now, last_error=TOO_LATE, lease_until=None))
    return late


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
    """When the earliest unsent row of `platform` falls due (for a worker deciding how long to sleep;
    in the past: how long the oldest due row has waited, for /healthz). ix_outbox_unsent, in order."""
    return session.exec(select(func.min(Outbox.not_before)).where(
        col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None), Outbox.platform == platform)).one()


def purge(*, session: Session, now: datetime, keep: timedelta = KEEP_SENT) -> int:
    """Forget rows sent (or given up) longer than `keep` ago; how many."""
    old = now - keep
    return session.execute(Outbox.__table__.delete().where(
        or_(col(Outbox.sent_at) < old, col(Outbox.failed_at) < old))).rowcount
