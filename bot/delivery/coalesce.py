"""Coalescing: a message kept up to date (a poll's card) or a person's Home is refreshed at most once
per interval, and always once after its last change, reading the committed state when it is sent."""

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from bot.delivery.queue import Jobs
from bot.platform import NoAnswer, RateLimited
from storage.db import DatabaseUnavailable

RETRY_AT_LEAST = 2.0  # seconds before a refresh that got no answer (or no database) is tried again


@dataclass
class Shown:
    """Something being kept up to date: when it was last sent, and whether it changed since."""

    channel: str
    ref: str
    dirty: bool = False
    scheduled: bool = False
    last_sent: float = float("-inf")


class Coalescer:
    """Refreshes of one kind ("update" or "home"), keyed by what they refresh, on `jobs`."""

    def __init__(self, jobs: Jobs, what: str, interval: float, stats: dict):
        self.jobs, self.what, self.interval, self.stats = jobs, what, interval, stats
        self.shown: dict[Hashable, Shown] = {}

    def changed(self, key: Hashable, send: Callable[[Shown], None], bucket: str,
                channel: str = "", ref: str = "") -> None:
        """`key` changed: refreshed now if it was not for `interval`, else once that has passed;
        changes meanwhile fold into that one refresh."""
        with self.jobs.lock:
            shown = self.shown.setdefault(key, Shown(channel, ref))
            if channel:
                shown.channel, shown.ref = channel, ref
            shown.dirty = True
            if not shown.scheduled:
                shown.scheduled = True
                self.jobs.push(max(self.jobs.clock(), shown.last_sent + self.interval),
                               lambda: self._refresh(key, send, bucket), bucket, self.what)

    def sent_now(self, shown: Shown) -> None:
        """The platform call is leaving now: the interval runs from here (a slow read under load)."""
        with self.jobs.lock:
            shown.last_sent = self.jobs.clock()

    def _refresh(self, key: Hashable, send: Callable[[Shown], None], bucket: str) -> None:
        """One coalesced refresh. A change that arrives while it is being sent gets its own refresh,
        `interval` after this one's platform call; a refresh that could not be sent is tried again.
        It stays `scheduled` while it is sent, so a change meanwhile only marks it dirty: the next
        refresh is timed here, from the call, never from before it."""
        shown, clock = self.shown[key], self.jobs.clock
        with self.jobs.lock:
            shown.dirty = False  # changes from now on are not in what is about to be read
            shown.last_sent = clock()
        again_at = shown.last_sent + self.interval
        try:
            send(shown)  # may move last_sent to when its platform call left
            again_at = shown.last_sent + self.interval
        except RateLimited as limited:
            self.stats["rate_limited"] += 1
            again_at = clock() + limited.retry_after
            with self.jobs.lock:
                shown.dirty = True
            self.jobs.pause(bucket, again_at)
        except (NoAnswer, DatabaseUnavailable):
            again_at = clock() + max(self.interval, RETRY_AT_LEAST)
            with self.jobs.lock:
                shown.dirty = True
        finally:
            with self.jobs.lock:
                shown.scheduled = shown.dirty
                if shown.dirty:
                    self.jobs.push(again_at, lambda: self._refresh(key, send, bucket), bucket, self.what)
