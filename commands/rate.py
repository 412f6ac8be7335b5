"""The per-person rate of commands that post to a cluster's channel (issue 26: one member typed 13,525
agenda items in 40 s). One rule for every platform: `Clusterbot` applies it to typed commands and forms
whose answer goes to the channel (or that post or send direct messages), whatever adapter they came through.

Kept in this process's memory, not the database (docs/design.md, "Bounds"): one server process serves a
deployment's platform today, a restart only forgets a minute of counts, and nothing here is worth a write
per command. Memory stays bounded: at most `people` (channel, person) pairs, least recently active forgotten
first, each holding at most `per_minute` times.
"""

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=1)
DEFAULT_PER_MINUTE = 20  # RATE_LIMIT_PER_MINUTE; 0 turns the limit off
PEOPLE = 5_000  # (channel, person) pairs remembered: ~125 clusters of ~40 people each


class PostingRate:
    """A sliding minute per (channel, person): how many posting commands each ran in it."""

    def __init__(self, per_minute: int = DEFAULT_PER_MINUTE, people: int = PEOPLE):
        self.per_minute = per_minute
        self._people = people
        self._recent: OrderedDict[tuple[str, str], deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()  # requests run on many threads

    def take(self, channel: str, person: str, now: datetime) -> datetime | None:
        """Count one posting command at `now`. None when it may go ahead; otherwise the moment the person
        may post again (and nothing is counted: a refused command must not push that moment on)."""
        if self.per_minute <= 0:
            return None
        key = (channel, person)
        with self._lock:
            times = self._recent.pop(key, None) or deque()
            while times and times[0] <= now - WINDOW:
                times.popleft()
            self._recent[key] = times  # most recently active last
            if len(times) >= self.per_minute:
                return times[0] + WINDOW
            times.append(now)
            while len(self._recent) > self._people:
                self._recent.popitem(last=False)
            return None

    def give_back(self, channel: str, person: str, at: datetime) -> None:
        """Uncount a command counted at `at` whose change was then not committed."""
        with self._lock:
            times = self._recent.get((channel, person))
            if times and at in times:
                times.remove(at)

    def __len__(self) -> int:
        return len(self._recent)
