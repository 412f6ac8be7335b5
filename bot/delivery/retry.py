"""Delivery's retry policy: how long a claimed outbox row is held, when it is tried again, and when it
is given up. Numbers only, and the rules that read them; no platform, no database."""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    lease: timedelta = timedelta(seconds=60)        # a claimed row not sent by then is taken over by another worker
    db_wait: float = 5.0                            # seconds between tries of a claimed row while the database is down
    cap: float = 600.0                              # seconds: the longest wait between tries of a row after errors
    give_up_after: timedelta = timedelta(hours=24)  # a scheduled row still refused after this long is dropped
    refused_wait: float = 60.0                      # seconds at least before a refused scheduled row is tried again

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try of a row tried `attempts` times: doubling from 2 s, capped."""
        return min(self.cap, 2.0 * 2 ** min(attempts, 10))

    def database_wait(self, waits: int) -> float | None:
        """A row claimed while the database is down, before anything was sent: seconds until this
        worker tries it again (its `waits`-th wait), or None to leave it to its lease, which runs out
        before another worker could take it over."""
        return self.db_wait if waits * self.db_wait < self.lease.total_seconds() - self.db_wait else None

    def after_refusal(self, *, attempts: int, age: timedelta, asked: bool) -> float | None:
        """A row the platform refused: seconds until it is tried again, or None to give it up. A post a
        person asked for (a poll) is given up at once and they are told; a scheduled one (a reminder) is
        tried again, in case the bot is invited back, until it is `give_up_after` old."""
        if asked or age >= self.give_up_after:
            return None
        return max(self.backoff(attempts), self.refused_wait)


DEFAULT = RetryPolicy()
