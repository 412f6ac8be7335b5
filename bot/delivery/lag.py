"""Whether delivery keeps up: /healthz's second question about it, after "is it running".

A delivery whose threads are alive can still be stuck (a platform that answers nothing, a process that
claims and never sends) while posts wait. So /healthz also asks how long the oldest due outbox row of
its platform has waited, and says 503 past DELIVERY_LAG_LIMIT. One indexed read (ix_outbox_unsent, in
order), its answer kept a few seconds: a load balancer asking every second costs one query per
`ttl`, whatever the number of servers' threads asking.
"""

import threading
import time
from collections.abc import Callable

from commands.outbox_port import OutboxPort
from storage.db import DatabaseUnavailable

DEFAULT_LIMIT = 300  # seconds: DELIVERY_LAG_LIMIT's default
TTL = 5.0            # seconds an answer is kept


class Lag:
    """How far behind one platform's delivery is, asked of the outbox through the product's port."""

    def __init__(self, outbox: OutboxPort, limit: float = DEFAULT_LIMIT, *, ttl: float = TTL,
                 clock: Callable[[], float] = time.monotonic):
        self.outbox, self.limit, self.ttl, self.clock = outbox, limit, ttl, clock
        self._lock = threading.Lock()
        self._asked_at = float("-inf")
        self._waited = 0.0

    def behind(self) -> float | None:
        """Seconds the oldest due row has waited, when that is more than `limit`; else None. With the
        database down it says None: /healthz reports the database itself."""
        with self._lock:
            if self.clock() - self._asked_at >= self.ttl:
                try:
                    self._waited = self.outbox.oldest_due()
                except DatabaseUnavailable:
                    self._waited = 0.0
                self._asked_at = self.clock()
            return self._waited if self._waited > self.limit else None
