"""The outbox port: the one object through which a platform's delivery reads and writes the outbox.

Delivery (bot/delivery/) is an adapter-side component: it reaches storage only through the product,
and of the outbox only through this port, made by `Clusterbot.outbox(platform, worker)`. Every call
is one short transaction; each raises `DatabaseUnavailable` when the database is down (delivery
decides what to do then: bot/delivery/retry.py). The outbox keeps the sending machinery's time, the
machine's clock (docs/design.md, One clock).
"""

from datetime import timedelta

from commands.registry import POSTED
from storage import outbox
from storage.clock import wall_clock
from storage.db import Database
from storage.outbox import Claimed

__all__ = ["Claimed", "OutboxPort"]


class OutboxPort:
    """One platform's rows, worked on by one delivery (`worker`, the name its leases carry)."""

    def __init__(self, db: Database, platform: str, worker: str):
        self.db, self.platform, self.worker = db, platform, worker

    def claim(self, *, lease: timedelta, limit: int) -> tuple[list[Claimed], list[Claimed]]:
        """Up to `limit` due rows, held by this worker for `lease`, each cluster's oldest first (the
        order to send them in); and, apart, those of them past their useful life, given up in the same
        transaction: they are never sent."""
        with self.db.session() as session:
            now = wall_clock()
            rows = outbox.claim_due(session=session, worker=self.worker, now=now, lease=lease, limit=limit,
                                    platform=self.platform)
            late = outbox.drop_late(session=session, rows=rows, worker=self.worker, now=now)
        dropped = {row.id for row in late}
        return [row for row in rows if row.id not in dropped], late

    def delivered(self, row_id: int, key: str | None, channel: str, ref: str | None) -> bool:
        """The platform took the row: marked sent and, for a kept message, its reference remembered, in
        one transaction. False if this worker's lease was lost meanwhile (another sent it too)."""
        with self.db.session() as session:
            if not outbox.mark_sent(session=session, row_id=row_id, worker=self.worker, ref=ref, now=wall_clock()):
                return False
            if key and ref:
                kind, _, item = key.partition(":")
                POSTED[kind].remember(session, int(item), channel, ref)
            return True

    def again_in(self, row_id: int, seconds: float, *, error: str, uncertain: bool) -> None:
        """Give the row back, due again in `seconds`. `uncertain`: the last try may have arrived."""
        with self.db.session() as session:
            outbox.retry_later(session=session, row_id=row_id, worker=self.worker,
                               at=wall_clock() + timedelta(seconds=seconds), error=error, uncertain=uncertain)

    def give_up(self, row_id: int, *, error: str) -> None:
        """The row is not sent, ever: marked failed (kept for the retention, then purged)."""
        with self.db.session() as session:
            outbox.mark_failed(session=session, row_id=row_id, worker=self.worker, error=error, now=wall_clock())

    def waiting(self) -> int:
        """Rows not yet sent nor given up (the backlog)."""
        with self.db.session(read_only=True) as session:
            return outbox.pending(session=session, platform=self.platform)

    def due_within(self, seconds: float) -> bool:
        """Whether a row falls due within `seconds` from now."""
        with self.db.session(read_only=True) as session:
            due = outbox.next_due(session=session, platform=self.platform)
        return due is not None and due <= wall_clock() + timedelta(seconds=seconds)

    def oldest_due(self) -> float:
        """Seconds the oldest due row has waited since it fell due (0 when none is due): one read of
        ix_outbox_unsent, in order. /healthz's delivery lag."""
        with self.db.session(read_only=True) as session:
            due = outbox.next_due(session=session, platform=self.platform)
        return 0.0 if due is None else max(0.0, (wall_clock() - due).total_seconds())

    @staticmethod
    def age(row: Claimed) -> timedelta:
        """How long ago the row was queued."""
        return wall_clock() - row.created_at

    def __repr__(self) -> str:
        return f"OutboxPort({self.platform!r}, worker={self.worker!r})"

