"""Delivery's in-memory queue: jobs due at a time, in buckets (a channel, a person) that a rate limit
pauses, run by worker threads that never die. It knows nothing of platforms or the outbox: a job is a
callable returning a delay to run again after, or None; `runner` decides what a job's failure means."""

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

MAX_QUEUE = 10000  # jobs (answers, uploads): beyond this the oldest are dropped


@dataclass(order=True)
class Job:
    due: float
    seq: int
    run: Callable[[], float | None] = field(compare=False)  # returns a delay to run again after, or None
    bucket: str = field(compare=False, default="")
    what: str = field(compare=False, default="")


class Jobs:
    """The queue, its lock (`lock`, a Condition others may hold for their own small bookkeeping) and
    its workers."""

    def __init__(self, runner: Callable[[Job], float | None], clock: Callable[[], float]):
        self._runner, self.clock = runner, clock
        self.lock = threading.Condition()
        self._heap: list[Job] = []
        self._seq = itertools.count()
        self._paused: dict[str, float] = {}  # bucket -> clock time it may be used again
        self._busy = 0                        # jobs running now
        self._turns: dict[str, int] = {}      # bucket -> when (in jobs started) it last had a job started
        self._started = itertools.count()
        self.stopping = threading.Event()
        self.errors = 0

    # --- adding --------------------------------------------------------------------------------

    def add(self, run: Callable[[], float | None], *, bucket: str, what: str) -> None:
        """A job due now; the oldest is dropped when the queue is full."""
        with self.lock:
            if len(self._heap) >= MAX_QUEUE:
                dropped = heapq.heappop(self._heap)
                log.warning("delivery queue full (%d): dropped one %s", MAX_QUEUE, dropped.what)
            self.push(self.clock(), run, bucket, what)

    def push(self, due: float, run, bucket: str, what: str) -> None:
        """A job due at `due`. The caller holds `lock`, or takes it here."""
        bucket = bucket if isinstance(bucket, str) else str(bucket)  # a key of _paused: never unhashable
        with self.lock:
            heapq.heappush(self._heap, Job(due, next(self._seq), run, bucket, what))
            self.lock.notify()

    def pause(self, bucket: str, until: float) -> None:
        """Nothing of `bucket` runs before `until` (a 429's Retry-After)."""
        with self.lock:
            self._paused[bucket] = until

    def clear_pauses(self) -> None:
        with self.lock:
            self._paused.clear()

    # --- state ---------------------------------------------------------------------------------

    def idle(self) -> bool:
        """Nothing queued and nothing running (the caller holds `lock`)."""
        return not self._heap and self._busy == 0

    def take_due(self) -> list[Job]:
        """Every job due now, taken off the queue (to run in the calling thread: `flush`)."""
        with self.lock:
            now = self.clock()
            due = [j for j in self._heap if j.due <= now]
            for job in due:
                self._heap.remove(job)
            heapq.heapify(self._heap)
        return sorted(due)

    # --- workers -------------------------------------------------------------------------------

    def work(self) -> None:
        """A worker never dies: whatever one job or one queue entry does, it is logged and the worker
        goes on (one malformed request once stopped every worker, and nothing was sent afterwards)."""
        while not self.stopping.is_set():
            try:
                self._work_once()
            except Exception:
                log.exception("delivery worker: a job could not be run")
                self.errors += 1

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            self.lock.notify_all()

    def _work_once(self) -> None:
        with self.lock:
            job = self._next_job()
            if job is None:
                return
            self._busy += 1
        again = None
        try:
            again = self._runner(job)
        finally:
            with self.lock:
                self._busy -= 1
                if again is not None and not self.stopping.is_set():
                    self.push(self.clock() + again, job.run, job.bucket, job.what)

    def _next_job(self) -> Job | None:
        """The next due job whose bucket is not paused, a card update first: when answers back up
        (hundreds of clicks, each answer waiting on the network), the card everyone looks at must not
        wait behind them (looked for among the first 256 due jobs only, a burst's final card waited
        about a second for the answers ahead of it). Otherwise buckets take turns (`_fair`): one
        channel's flood of answers cannot hold back another cluster's reminder. Waits (with the lock
        released) when nothing is due."""
        now = self.clock()

        def ready(job: Job) -> bool:
            return job.due <= now and self._paused.get(job.bucket, 0) <= now

        chosen = min((job for job in self._heap if job.what == "update" and ready(job)), default=None)
        chosen = chosen or self._fair(ready)
        if chosen is not None:
            self._heap.remove(chosen)
            heapq.heapify(self._heap)
            self._took_turn(chosen.bucket)
            return chosen
        waits = [j.due for j in self._heap if j.due > now] + [p for p in self._paused.values() if p > now]
        self.lock.wait(timeout=min(min(waits) - now, 0.5) if waits else 0.5)
        return None

    def _fair(self, ready: Callable[[Job], bool]) -> Job | None:
        """Of each bucket's earliest ready job, the one whose bucket has waited longest for a turn (a
        bucket not served yet first), then the earliest: round-robin across buckets, first in first out
        within one. One pass over the queue. Before, jobs ran strictly in order of arrival, and a
        reminder queued behind one cluster's 500 answers waited for all of them."""
        heads: dict[str, Job] = {}
        for job in self._heap:
            if ready(job) and (job.bucket not in heads or job < heads[job.bucket]):
                heads[job.bucket] = job
        return min(heads.values(), key=lambda job: (self._turns.get(job.bucket, -1), job), default=None)

    def _took_turn(self, bucket: str) -> None:
        self._turns[bucket] = next(self._started)
        if len(self._turns) > 2 * MAX_QUEUE:  # forget buckets with nothing queued (people, channels come and go)
            queued = {job.bucket for job in self._heap} | {bucket}
            self._turns = {b: turn for b, turn in self._turns.items() if b in queued}
