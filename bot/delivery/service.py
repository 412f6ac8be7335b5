"""The delivery component: everything sent to a chat platform, sent after the request was answered.

Requests commit their change (and the posts and DMs it must send, into the outbox table) and are
acknowledged at once; the rest happens here, on worker threads, through one `Platform`:

- Outbox rows (posts, DMs, reminders, poll results, digests, the scheduler's card updates) of this
  delivery's platform are claimed with a lease, sent and marked sent. A process that dies holding a
  row loses the lease and another worker takes the row over. Rows of other platforms are left to
  their own processes (Slack and Teams may share one database).
- Card updates are coalesced: at most one update per message per `update_interval`, and always one
  after the last change, reading the committed state when it is sent.
- Home refreshes are coalesced per person in the same way, every `home_interval`.
- Answers to the person who asked, uploads and forms to open are sent once, in order of arrival.
- A 429 puts that bucket (a channel, a person) aside until its Retry-After: no thread waits for it
  and other clusters carry on. A timeout is not a refusal: the row is tried again, after asking the
  platform whether the first try arrived.

Delivery and the scheduler see only the Platform interface, never a Slack or Teams client.
"""

import heapq
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from bot.platform import Asker, NoAnswer, Platform, RateLimited, Refused, SendError
from commands import Clusterbot
from commands.results import (
    Direct,
    HomeChanged,
    Post,
    Reply,
    Update,
    Upload,
    line,
    reply_from_json,
    reply_to_json,
)
from storage import outbox
from storage.clock import wall_clock
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)        # a claimed row not sent by then is taken over by another worker
DB_WAIT = 5.0                        # seconds between tries of a claimed row while the database is down
RETRY_CAP = 600.0                    # seconds: the longest wait between tries of a row after errors
GIVE_UP_AFTER = timedelta(hours=24)  # a row still refused after this long is dropped (and logged)
BACKLOG_WARNING = 1000               # unsent outbox rows worth a warning (a long outage)
MAX_QUEUE = 10000                    # in-memory jobs (answers, uploads): beyond this the oldest are dropped
CLAIM_BATCH = 20                     # outbox rows claimed at once
HOME_WATCH = 900.0                   # seconds after opening their Home that a person's Home is kept fresh


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    run: Callable[[], float | None] = field(compare=False)  # returns a delay to run again after, or None
    bucket: str = field(compare=False, default="")
    what: str = field(compare=False, default="")


@dataclass
class _Card:
    """A message being kept up to date: when it was last sent, and whether it changed since."""

    channel: str
    ref: str
    dirty: bool = False
    scheduled: bool = False
    last_sent: float = float("-inf")


class Delivery:
    def __init__(self, platform: Platform, product: Clusterbot, *, workers: int = 16, poll_seconds: float = 1.0,
                 update_interval: float = 1.25, home_interval: float = 3.0,
                 clock: Callable[[], float] = time.monotonic):
        self.platform, self.product = platform, product
        self.worker_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.update_interval, self.home_interval, self.poll_seconds = update_interval, home_interval, poll_seconds
        self._clock = clock
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._cards: dict[str, _Card] = {}
        self._homes: dict[tuple[str, str], _Card] = {}
        self._paused: dict[str, float] = {}   # bucket -> monotonic time it may be used again
        self._askers: dict[int, Asker] = {}   # outbox row -> who asked, with their request's way back
        self._watching: dict[tuple[str, str], float] = {}  # (person, team) -> when they last opened their Home
        self._busy = 0                         # jobs running now
        self._claimed = 0                      # outbox rows claimed and not yet finished
        # Rows the platform took whose bookkeeping (marked sent) failed: the database was down. Kept here
        # and recorded when it is back, never sent again: (key, channel, ref) by row id.
        self._unrecorded: dict[int, tuple[str | None, str, str | None]] = {}
        self._db_waits: dict[int, int] = {}  # row id -> times it waited for the database before sending
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers = workers
        self.stats = {"updates": 0, "rate_limited": 0, "no_answer": 0, "refused": 0, "sent": 0, "errors": 0}

    # --- life cycle --------------------------------------------------------------------------

    def start(self, refresh_cards: bool = True) -> "Delivery":
        """Start the workers and the outbox poller; refresh every live card once (a card may show a
        state older than the database if the last process died before its final update)."""
        for n in range(self._workers):
            self._spawn(self._work, f"delivery-{n}")
        self._spawn(self._poll_outbox, "delivery-outbox")
        if refresh_cards:
            try:
                for key, channel, ref in self.product.live_cards(self.platform.name):
                    self.update(key, channel, ref)
            except DatabaseUnavailable:
                log.warning("database unavailable at start: live cards not refreshed")
        return self

    def is_running(self) -> bool:
        """Started, not stopped, its outbox poller and at least one worker alive."""
        alive = {t.name for t in self._threads if t.is_alive()}
        return not self._stop.is_set() and "delivery-outbox" in alive and len(alive) > 1

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        self._wake.set()
        with self._cv:
            self._cv.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- what adapters and the scheduler call ------------------------------------------------

    def after_ack(self, reply: Reply, asker: Asker | None = None) -> None:
        """Everything `reply` still needs, after its request was answered. Posts and DMs already in the
        outbox are sent by the outbox poller (woken here); the rest is queued."""
        durable = False
        for effect in reply.effects:
            if isinstance(effect, Post | Direct) and effect.outbox_id is not None:
                durable = True
                if asker is not None and isinstance(effect, Post) and effect.key:
                    with self._cv:  # the way back to the person (response_url), if it is refused here
                        self._askers[effect.outbox_id] = asker
            elif isinstance(effect, Post | Direct):  # not from a unit of work (a test, a tool): send once
                self._queue(lambda e=effect: self._send_now(e, asker), bucket=_bucket_of(effect), what="post")
            elif isinstance(effect, Update):
                self.update(effect.key, effect.channel, effect.ref)
            elif isinstance(effect, HomeChanged):
                self.home(effect.user_id, effect.team_id, opened=effect.opened)
            elif isinstance(effect, Upload):
                self._queue(lambda e=effect: self._upload(e, asker), bucket=effect.channel, what="upload")
        if asker is not None and not reply.is_silent:
            self._queue(lambda: self._tell(asker, reply), bucket=asker.channel_id, what="answer")
        if durable:
            self.wake()

    def wake(self) -> None:
        self._wake.set()

    def update(self, key: str, channel: str, ref: str) -> None:
        """Bring a posted card up to date: now if it has not been updated for `update_interval`, else
        once that interval has passed; changes meanwhile fold into that one update."""
        with self._cv:
            card = self._cards.setdefault(key, _Card(channel, ref))
            card.channel, card.ref, card.dirty = channel, ref, True
            if not card.scheduled:
                card.scheduled = True
                self._push(max(self._clock(), card.last_sent + self.update_interval),
                           lambda: self._send_update(key), channel, "update")

    def home(self, user_id: str, team_id: str, opened: bool = False) -> None:
        """Show a person's Home again. Only for someone who opened it lately (`opened`: they just did):
        opening the Home always shows it fresh, so re-rendering it for everyone a change touches would
        spend the CPU that acknowledging requests needs on views nobody is looking at."""
        now = self._clock()
        with self._cv:
            if opened:
                self._watching[(user_id, team_id)] = now
            elif now - self._watching.get((user_id, team_id), float("-inf")) > HOME_WATCH:
                return
            card = self._homes.setdefault((user_id, team_id), _Card("", ""))
            card.dirty = True
            if not card.scheduled:
                card.scheduled = True
                self._push(max(self._clock(), card.last_sent + self.home_interval),
                           lambda: self._send_home(user_id, team_id), user_id, "home")

    def run_now(self, job: Callable[[], None], bucket: str = "") -> None:
        """Any other platform call an adapter must make after its ack (opening a form)."""
        self._queue(lambda: (job(), None)[1], bucket=bucket, what="call")

    def drain(self, timeout: float = 10) -> bool:
        """Wait until nothing is queued or running, and no outbox row falls due within `timeout` (tests,
        the console, shutdown). True if that happened; a row put off for longer does not count."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.wake()
            with self._cv:
                idle = not self._heap and self._busy == 0 and self._claimed == 0
            if idle and not self._outbox_due(within=deadline - time.monotonic()):
                return True
            time.sleep(0.01)
        return False

    def flush(self, rounds: int = 20) -> None:
        """Send everything due now in the calling thread, with no workers (the console, one-shot tools)."""
        for _ in range(rounds):
            rows = self._claim()
            with self._cv:
                self._claimed += len(rows)
                due = [j for j in self._heap if j.due <= self._clock()]
                for job in due:
                    self._heap.remove(job)
                heapq.heapify(self._heap)
            for row in rows:
                self._send_row(row, again=False)
            for job in sorted(due):
                again = self._run(job)
                if again is not None:
                    log.info("%s put off by %.1f s", job.what, again)
            if not rows and not due:
                return

    def _claim(self) -> list:
        try:
            with self.product.db.session() as session:
                return outbox.claim_due(session=session, worker=self.worker_id, now=wall_clock(), lease=LEASE,
                                        limit=CLAIM_BATCH, platform=self.platform.name)
        except DatabaseUnavailable:
            log.warning("database unavailable: outbox not read")
            return []

    # --- the queue ---------------------------------------------------------------------------

    def _queue(self, run: Callable[[], float | None], *, bucket: str, what: str) -> None:
        with self._cv:
            if len(self._heap) >= MAX_QUEUE:
                dropped = heapq.heappop(self._heap)
                log.warning("delivery queue full (%d): dropped one %s", MAX_QUEUE, dropped.what)
            self._push(self._clock(), run, bucket, what)

    def _push(self, due: float, run, bucket: str, what: str) -> None:
        bucket = bucket if isinstance(bucket, str) else str(bucket)  # a key of _paused: never unhashable
        heapq.heappush(self._heap, _Job(due, next(self._seq), run, bucket, what))
        self._cv.notify()

    def _work(self) -> None:
        """A worker never dies: whatever one job or one queue entry does, it is logged and the worker
        goes on (one malformed request once stopped every worker, and nothing was sent afterwards)."""
        while not self._stop.is_set():
            try:
                self._work_once()
            except Exception:
                log.exception("delivery worker: a job could not be run")
                self.stats["errors"] += 1

    def _work_once(self) -> None:
        with self._cv:
            job = self._next_job()
            if job is None:
                return
            self._busy += 1
        again = None
        try:
            again = self._run(job)
        finally:
            with self._cv:
                self._busy -= 1
                if again is not None and not self._stop.is_set():
                    self._push(self._clock() + again, job.run, job.bucket, job.what)

    def _next_job(self) -> _Job | None:
        """The next due job whose bucket is not paused, a card update first: when answers back up
        (hundreds of clicks, each answer waiting on the network), the card everyone looks at must not
        wait behind them. Updates are looked for in the whole queue: looked for only among the first
        256 due jobs, a burst's final card waited about a second for the answers ahead of it to go.
        Waits (with the lock released) when nothing is due."""
        now = self._clock()

        def ready(job: _Job) -> bool:
            return job.due <= now and self._paused.get(job.bucket, 0) <= now

        chosen = min((job for job in self._heap if job.what == "update" and ready(job)), default=None)
        if chosen is None:
            for job in sorted(self._heap)[:256]:
                if job.due > now:
                    break
                if ready(job):
                    chosen = job
                    break
        if chosen is not None:
            self._heap.remove(chosen)
            heapq.heapify(self._heap)
            return chosen
        waits = [j.due for j in self._heap if j.due > now] + [p for p in self._paused.values() if p > now]
        self._cv.wait(timeout=min(min(waits) - now, 0.5) if waits else 0.5)
        return None

    def _run(self, job: _Job) -> float | None:
        try:
            return job.run()
        except RateLimited as limited:
            self.stats["rate_limited"] += 1
            with self._cv:
                self._paused[job.bucket] = self._clock() + limited.retry_after
            log.info("rate limited (%s): %s waits %.1f s", self.platform.name, job.what, limited.retry_after)
            return limited.retry_after
        except NoAnswer:
            self.stats["no_answer"] += 1
            log.warning("%s: no answer from %s; not retried (it may have arrived)", job.what, self.platform.name)
        except Refused as refused:
            self.stats["refused"] += 1
            log.warning("%s refused by %s: %s", job.what, self.platform.name, refused.code)
        except DatabaseUnavailable:
            log.warning("%s: database unavailable; tried again in 5 s", job.what)
            return 5.0
        except Exception:
            log.exception("%s failed", job.what)
        return None

    # --- jobs ----------------------------------------------------------------------------------

    def _send_update(self, key: str) -> None:
        self._refresh(self._cards, key, lambda card: self._update_card(key, card), "update", self.update_interval)

    def _update_card(self, key: str, card: _Card) -> None:
        current = self.product.current(key)  # read now, after the change committed: never older
        if current is not None:
            with self._cv:  # the interval runs from the call, not from the reading (slow under load)
                card.last_sent = self._clock()
            self.platform.update(card.channel, card.ref, current)
            self.stats["updates"] += 1

    def _send_home(self, user_id: str, team_id: str) -> None:
        self._refresh(self._homes, (user_id, team_id), lambda card: self.platform.refresh_home(user_id, team_id),
                      "home", self.home_interval)

    def _refresh(self, cards: dict, key, send: Callable[[_Card], None], what: str, interval: float) -> None:
        """One coalesced refresh. A change that arrives while it is being sent gets its own refresh,
        `interval` after this one's platform call; a refresh that could not be sent is tried again.
        The card stays `scheduled` while it is sent, so a change meanwhile only marks it dirty: the next
        refresh is timed here, from the call, never from before it."""
        card = cards[key]
        bucket = card.channel or key[0]
        with self._cv:
            card.dirty = False  # changes from now on are not in what is about to be read
            card.last_sent = self._clock()
        again_at = card.last_sent + interval
        try:
            send(card)  # may move last_sent to when its platform call left
            again_at = card.last_sent + interval
        except RateLimited as limited:
            self.stats["rate_limited"] += 1
            again_at = self._clock() + limited.retry_after
            with self._cv:
                card.dirty = True
                self._paused[bucket] = again_at
        except (NoAnswer, DatabaseUnavailable):
            again_at = self._clock() + max(interval, 2.0)
            with self._cv:
                card.dirty = True
        finally:
            with self._cv:
                card.scheduled = card.dirty
                if card.dirty:
                    self._push(again_at, lambda: self._refresh(cards, key, send, what, interval), bucket, what)

    def _tell(self, asker: Asker, reply: Reply) -> None:
        self.platform.tell(asker, reply)

    def _upload(self, upload: Upload, asker: Asker | None) -> None:
        try:
            self.platform.upload(upload, team_id=asker.team_id if asker else None,
                                 user_id=asker.user_id if asker else None)
        except Refused as refused:
            if asker is not None:
                text = refused.person_text or f"The file couldn't be uploaded ({refused.code})."
                self._queue(lambda: self._tell(asker, Reply.problem(line(
                    text, " Nothing in the cluster's records was changed.")),
                ), bucket=asker.channel_id, what="answer")
            raise

    def _send_now(self, effect, asker: Asker | None) -> None:
        if isinstance(effect, Post):
            ref = self.platform.post(effect.channel, effect.reply, team_id=asker.team_id if asker else None)
            if effect.key:
                self.product.remember(effect.key, effect.channel, ref)
        else:
            self.platform.direct(effect.user_id, effect.reply, team_id=effect.team_id)

    # --- the outbox ----------------------------------------------------------------------------

    def _outbox_due(self, within: float = 0.0) -> bool:
        try:
            with self.product.db.session(read_only=True) as session:
                due = outbox.next_due(session=session, platform=self.platform.name)
        except DatabaseUnavailable:
            return False
        return due is not None and due <= wall_clock() + timedelta(seconds=within)

    def _poll_outbox(self) -> None:
        counted = float("-inf")
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            rows = self._claim()
            # Counting the backlog is a query of its own: once a minute at most, not after every empty
            # claim (under load that doubled the poller's work per click).
            if not rows and time.monotonic() - counted > 60:
                counted = time.monotonic()
                if self._backlog() > BACKLOG_WARNING:
                    log.warning("outbox backlog: more than %d messages waiting (is the platform down?)",
                                BACKLOG_WARNING)
            with self._cv:
                self._claimed += len(rows)
            for row in rows:
                self._queue(lambda r=row: self._send_row(r), bucket=row.channel, what=f"outbox {row.kind}")
            if len(rows) == CLAIM_BATCH:
                self._wake.set()  # a full batch: more may be due

    def _backlog(self) -> int:
        try:
            with self.product.db.session(read_only=True) as session:
                return outbox.pending(session=session, platform=self.platform.name)
        except DatabaseUnavailable:
            return 0

    def _send_row(self, row: outbox.Claimed, *, again: bool = True) -> float | None:
        """Send one claimed row; whatever happens, the row ends sent, failed or due again later, or, when
        the database is down for its bookkeeping, left to its lease. Never raises, so its job is never
        run twice: run again, it posted the same message again (four times in 20 s in an outage)."""
        wait = None
        try:
            if row.id in self._unrecorded:  # the platform has it: only its bookkeeping is owed
                self._record_unrecorded(row.id)
                return None
            self._attempt_row(row)
        except NothingSentYet:  # the database went before the platform was called: again soon, in our lease
            tries = self._db_waits[row.id] = self._db_waits.get(row.id, 0) + 1
            if again and tries * DB_WAIT < LEASE.total_seconds() - DB_WAIT:
                wait = DB_WAIT
            else:
                log.warning("outbox row %d: database unavailable; left to its lease", row.id)
        except DatabaseUnavailable:
            log.warning("outbox row %d: database unavailable for its bookkeeping; left to its lease", row.id)
        except Exception:
            log.exception("outbox row %d: bookkeeping failed; left to its lease", row.id)
        finally:
            if wait is None:
                self._db_waits.pop(row.id, None)
                with self._cv:
                    self._claimed -= 1
        return wait

    def _attempt_row(self, row: outbox.Claimed) -> None:
        try:
            self._deliver_row(row)
        except RateLimited as limited:
            self._retry(row, limited.retry_after, "rate_limited", uncertain=False)
            with self._cv:
                self._paused[row.channel] = self._clock() + limited.retry_after
            self.stats["rate_limited"] += 1
        except NoAnswer:
            self.stats["no_answer"] += 1
            self._retry(row, _backoff(row.attempts), "no_answer", uncertain=True)
        except Refused as refused:
            self.stats["refused"] += 1
            self._refused(row, refused)
        except SendError as error:
            self._retry(row, _backoff(row.attempts), type(error).__name__, uncertain=True)
        except (NothingSentYet, DatabaseUnavailable):
            raise  # said by _send_row: tried again soon, or left to its lease
        except Exception:
            log.exception("outbox row %d failed", row.id)
            self._retry(row, _backoff(row.attempts), "error", uncertain=True)

    def _delivered(self, row: outbox.Claimed, key: str | None, ref: str | None) -> bool:
        """Mark a row the platform took as sent. With the database down, the row is kept in memory and
        recorded when it is back (never sent again by this process); False if the lease was lost."""
        try:
            return self.product.delivered(row.id, self.worker_id, key, row.channel, ref)
        except DatabaseUnavailable:
            with self._cv:
                self._unrecorded[row.id] = (key, row.channel, ref)
            log.warning("outbox row %d sent; database unavailable to record it: recorded when it is back", row.id)
            self._queue(lambda: self._record_unrecorded(row.id), bucket=f"record-{row.id}", what="record")
            return True

    def _record_unrecorded(self, row_id: int) -> float | None:
        with self._cv:
            owed = self._unrecorded.get(row_id)
        if owed is None:
            return None
        key, channel, ref = owed
        try:
            self.product.delivered(row_id, self.worker_id, key, channel, ref)
        except DatabaseUnavailable:
            return 5.0  # this job again in 5 s: nothing is sent, only recorded
        with self._cv:
            self._unrecorded.pop(row_id, None)
        return None

    def _deliver_row(self, row: outbox.Claimed) -> None:
        if row.kind == "update":  # the scheduler changed a card: coalesced with any other update of it
            with _nothing_sent_yet():
                self.product.delivered(row.id, self.worker_id, None, row.channel, row.ref)
            self.update(row.key, row.channel, row.ref)
            return
        reply = reply_from_json(row.payload)
        if row.kind == "direct":
            self.platform.direct(row.channel, reply, team_id=row.team_id)
            self._delivered(row, None, None)
            self.stats["sent"] += 1
            return
        marker, fresh = f"outbox-{row.id}", None
        ref = self.platform.find_post(row.channel, marker) if row.uncertain else None
        if ref is None:
            with _nothing_sent_yet():
                fresh = self.product.current(row.key) if row.key else None  # a card shows its state now
            ref = self.platform.post(row.channel, fresh or reply, team_id=row.team_id, marker=marker)
        with self._cv:
            self._askers.pop(row.id, None)
        if not self._delivered(row, row.key, ref):
            log.warning("outbox row %d: lease lost while sending (another worker may send it too)", row.id)
            return
        self.stats["sent"] += 1
        if row.key:
            # Votes made while the card was on its way found no message to update: catch up once.
            latest = self.product.current(row.key)
            if latest is not None and fresh is not None and reply_to_json(latest) != reply_to_json(fresh):
                self.update(row.key, row.channel, ref)

    def _retry(self, row: outbox.Claimed, delay: float, error: str, *, uncertain: bool) -> None:
        at = wall_clock() + timedelta(seconds=delay)
        with self.product.db.session() as session:
            outbox.retry_later(session=session, row_id=row.id, worker=self.worker_id, at=at, error=error,
                               uncertain=uncertain)

    def _refused(self, row: outbox.Claimed, refused: Refused) -> None:
        """A post the person asked for (a poll) is forgotten and they are told; a scheduled one (a
        reminder) is tried again later, in case the bot is invited back, until it is a day old."""
        with self._cv:
            asker = self._askers.pop(row.id, None) or _asker(row.asker)
        if asker is None and wall_clock() - row.created_at < GIVE_UP_AFTER:
            self._retry(row, max(_backoff(row.attempts), 60.0), refused.code, uncertain=False)
            return
        with self.product.db.session() as session:
            outbox.mark_failed(session=session, row_id=row.id, worker=self.worker_id, error=refused.code,
                               now=wall_clock())
        log.warning("outbox row %d refused (%s): given up", row.id, refused.code)
        if asker is not None:
            if row.key:
                self.product.discard(row.key)
            text = refused.person_text or f"I couldn't post that ({refused.code})."
            self._queue(lambda: self._tell(asker, Reply.problem(line(
                text, " What it was for was not kept, so nothing half-made is left behind."))),
                bucket=asker.channel_id, what="answer")


class NothingSentYet(Exception):
    """The database was unavailable before the platform was called for a row: safe to try it again."""


@contextmanager
def _nothing_sent_yet():
    try:
        yield
    except DatabaseUnavailable as error:
        raise NothingSentYet from error


def _backoff(attempts: int) -> float:
    return min(RETRY_CAP, 2.0 * 2 ** min(attempts, 10))


def _asker(text: str | None) -> Asker | None:
    if not text:
        return None
    user_id, channel_id, team_id = json.loads(text)
    return Asker(user_id, channel_id, team_id)


def _bucket_of(effect) -> str:
    return effect.channel if isinstance(effect, Post) else effect.user_id
