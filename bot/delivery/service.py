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

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager

from bot.delivery.coalesce import Coalescer, Shown
from bot.delivery.queue import Job, Jobs
from bot.delivery.retry import DEFAULT, RetryPolicy
from bot.platform import Asker, NoAnswer, Platform, RateLimited, Refused, SendError
from commands import Clusterbot
from commands.outbox_port import Claimed
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
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

BACKLOG_WARNING = 1000  # unsent outbox rows worth a warning (a long outage)
CLAIM_BATCH = 20        # outbox rows claimed at once
IN_HAND = 3 * CLAIM_BATCH  # claimed and not yet finished: no more is claimed past this (see _poll_outbox)
HOME_WATCH = 900.0      # seconds after opening their Home that a person's Home is kept fresh
JOB_DB_WAIT = 5.0       # seconds before a job that found the database down runs again


class Delivery:
    """The after-the-ack sender of one platform: its queue (bot/delivery/queue.py), its coalesced
    refreshes (coalesce.py), the outbox through the product's port (commands/outbox_port.py) and the
    retry policy (retry.py)."""

    def __init__(self, platform: Platform, product: Clusterbot, *, workers: int = 16, poll_seconds: float = 1.0,
                 update_interval: float = 1.25, home_interval: float = 3.0,
                 clock: Callable[[], float] = time.monotonic, policy: RetryPolicy = DEFAULT):
        self.platform, self.product, self.policy = platform, product, policy
        self.worker_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.outbox = product.outbox(platform.name, self.worker_id)
        self.poll_seconds = poll_seconds
        # too_late: outbox rows dropped unsent, past their useful life (a reminder after its meeting began)
        self.stats = {"updates": 0, "rate_limited": 0, "no_answer": 0, "refused": 0, "sent": 0, "errors": 0,
                      "too_late": 0}
        self.jobs = Jobs(self._run, clock)
        self._cards = Coalescer(self.jobs, "update", update_interval, self.stats)
        self._homes = Coalescer(self.jobs, "home", home_interval, self.stats)
        self._askers: dict[int, Asker] = {}   # outbox row -> who asked, with their request's way back
        self._watching: dict[tuple[str, str], float] = {}  # (person, team) -> when they last opened their Home
        self._claimed = 0                      # outbox rows claimed and not yet finished
        # Rows the platform took whose bookkeeping (marked sent) failed: the database was down. Kept here
        # and recorded when it is back, never sent again: (key, channel, ref) by row id.
        self._unrecorded: dict[int, tuple[str | None, str, str | None]] = {}
        self._db_waits: dict[int, int] = {}  # row id -> times it waited for the database before sending
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers = workers

    # --- life cycle --------------------------------------------------------------------------

    def start(self, refresh_cards: bool = True) -> "Delivery":
        """Start the workers and the outbox poller; refresh every live card once (a card may show a
        state older than the database if the last process died before its final update)."""
        for n in range(self._workers):
            self._spawn(self.jobs.work, f"delivery-{n}")
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
        return not self.jobs.stopping.is_set() and "delivery-outbox" in alive and len(alive) > 1

    def stop(self, timeout: float = 5) -> None:
        self.jobs.stop()
        self._wake.set()
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
                    with self.jobs.lock:  # the way back to the person (response_url), if it is refused here
                        self._askers[effect.outbox_id] = asker
            elif isinstance(effect, Post | Direct):  # not from a unit of work (a test, a tool): send once
                self.jobs.add(lambda e=effect: self._send_now(e, asker), bucket=_bucket_of(effect), what="post")
            elif isinstance(effect, Update):
                self.update(effect.key, effect.channel, effect.ref)
            elif isinstance(effect, HomeChanged):
                self.home(effect.user_id, effect.team_id, opened=effect.opened)
            elif isinstance(effect, Upload):
                self.jobs.add(lambda e=effect: self._upload(e, asker), bucket=effect.channel, what="upload")
        if asker is not None and not reply.is_silent:
            self.jobs.add(lambda: self._tell(asker, reply), bucket=asker.channel_id, what="answer")
        if durable:
            self.wake()

    def wake(self) -> None:
        self._wake.set()

    def update(self, key: str, channel: str, ref: str) -> None:
        """Bring a posted card up to date: now if it has not been updated for `update_interval`, else
        once that interval has passed; changes meanwhile fold into that one update."""
        self._cards.changed(key, lambda shown: self._update_card(key, shown), channel, channel, ref)

    def home(self, user_id: str, team_id: str, opened: bool = False) -> None:
        """Show a person's Home again. Only for someone who opened it lately (`opened`: they just did):
        opening the Home always shows it fresh, so re-rendering it for everyone a change touches would
        spend the CPU that acknowledging requests needs on views nobody is looking at."""
        if not self.platform.has_home:
            return
        now = self.jobs.clock()
        with self.jobs.lock:
            if opened:
                self._watching[(user_id, team_id)] = now
            elif now - self._watching.get((user_id, team_id), float("-inf")) > HOME_WATCH:
                return
        self._homes.changed((user_id, team_id), lambda shown: self._show_home(user_id, team_id), user_id)

    def run_now(self, job: Callable[[], None], bucket: str = "") -> None:
        """Any other platform call an adapter must make after its ack (opening a form)."""
        self.jobs.add(lambda: (job(), None)[1], bucket=bucket, what="call")

    def drain(self, timeout: float = 10) -> bool:
        """Wait until nothing is queued or running, and no outbox row falls due within `timeout` (tests,
        the console, shutdown). True if that happened; a row put off for longer does not count."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.wake()
            with self.jobs.lock:
                idle = self.jobs.idle() and self._claimed == 0
            if idle and not self._outbox_due(within=deadline - time.monotonic()):
                return True
            time.sleep(0.01)
        return False

    def flush(self, rounds: int = 20) -> None:
        """Send everything due now in the calling thread, with no workers (the console, one-shot tools)."""
        for _ in range(rounds):
            rows, full = self._claim()
            with self.jobs.lock:
                self._claimed += len(rows)
            due = self.jobs.take_due()
            for row in rows:
                self._send_row(row, again=False)
            for job in due:
                again = self._run(job)
                if again is not None:
                    log.info("%s put off by %.1f s", job.what, again)
            if not rows and not due and not full:
                return

    # --- what a job's failure means ------------------------------------------------------------

    def _run(self, job: Job) -> float | None:
        try:
            return job.run()
        except RateLimited as limited:
            self.stats["rate_limited"] += 1
            self.jobs.pause(job.bucket, self.jobs.clock() + limited.retry_after)
            log.info("rate limited (%s): %s waits %.1f s", self.platform.name, job.what, limited.retry_after)
            return limited.retry_after
        except NoAnswer:
            self.stats["no_answer"] += 1
            log.warning("%s: no answer from %s; not retried (it may have arrived)", job.what, self.platform.name)
        except Refused as refused:
            self.stats["refused"] += 1
            log.warning("%s refused by %s: %s", job.what, self.platform.name, refused.code)
        except DatabaseUnavailable:
            log.warning("%s: database unavailable; tried again in %.0f s", job.what, JOB_DB_WAIT)
            return JOB_DB_WAIT
        except Exception:
            log.exception("%s failed", job.what)
            self.stats["errors"] += 1
        return None

    # --- jobs ----------------------------------------------------------------------------------

    def _update_card(self, key: str, shown: Shown) -> None:
        current = self.product.current(key)  # read now, after the change committed: never older
        if current is not None:
            self._cards.sent_now(shown)
            self.platform.update(shown.channel, shown.ref, current)
            self.stats["updates"] += 1

    def _show_home(self, user_id: str, team_id: str) -> None:
        self.platform.show_home(user_id, team_id, self.product.home(user_id, team_id))

    def _tell(self, asker: Asker, reply: Reply) -> None:
        self.platform.tell(asker, reply)

    def _upload(self, upload: Upload, asker: Asker | None) -> None:
        try:
            self.platform.upload(upload, team_id=asker.team_id if asker else None,
                                 user_id=asker.user_id if asker else None)
        except Refused as refused:
            if asker is not None:
                text = refused.person_text or f"The file couldn't be uploaded ({refused.code})."
                self.jobs.add(lambda: self._tell(asker, Reply.problem(line(
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

    def _claim(self, limit: int = CLAIM_BATCH) -> tuple[list[Claimed], bool]:
        """Due rows to send, in the order to send them, and whether the batch was full (more may be
        due). Rows past their useful life were given up by the claim: counted and logged, not sent."""
        try:
            rows, late = self.outbox.claim(lease=self.policy.lease, limit=limit)
        except DatabaseUnavailable:
            log.warning("database unavailable: outbox not read")
            return [], False
        if late:
            self.stats["too_late"] += len(late)
            kinds = sorted({row.kind for row in late})
            log.warning("outbox: %d %s row(s) dropped unsent, past their useful life (ids %s)", len(late),
                        "/".join(kinds), ",".join(str(row.id) for row in late[:10]))
        return rows, len(rows) + len(late) >= limit

    def _outbox_due(self, within: float = 0.0) -> bool:
        try:
            return self.outbox.due_within(within)
        except DatabaseUnavailable:
            return False

    def _poll_outbox(self) -> None:
        counted = float("-inf")
        while not self.jobs.stopping.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if self.jobs.stopping.is_set():
                return
            with self.jobs.lock:
                room = IN_HAND - self._claimed
            if room <= 0:
                # A slow or rate-limiting platform: rows claimed now would only wait in memory while
                # their lease runs out, and another worker would take them over and send them again.
                # The poller is woken when a row finishes (_send_row).
                continue
            rows, full = self._claim(min(room, CLAIM_BATCH))
            # Counting the backlog is a query of its own: once a minute at most, not after every empty
            # claim (under load that doubled the poller's work per click).
            if not rows and time.monotonic() - counted > 60:
                counted = time.monotonic()
                if self._backlog() > BACKLOG_WARNING:
                    log.warning("outbox backlog: more than %d messages waiting (is the platform down?)",
                                BACKLOG_WARNING)
            with self.jobs.lock:
                self._claimed += len(rows)
            for row in rows:
                self.jobs.add(lambda r=row: self._send_row(r), bucket=row.channel, what=f"outbox {row.kind}")
            if full:
                self._wake.set()  # a full batch: more may be due

    def _backlog(self) -> int:
        try:
            return self.outbox.waiting()
        except DatabaseUnavailable:
            return 0

    def _send_row(self, row: Claimed, *, again: bool = True) -> float | None:
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
            waits = self._db_waits[row.id] = self._db_waits.get(row.id, 0) + 1
            wait = self.policy.database_wait(waits) if again else None
            if wait is None:
                log.warning("outbox row %d: database unavailable; left to its lease", row.id)
        except DatabaseUnavailable:
            log.warning("outbox row %d: database unavailable for its bookkeeping; left to its lease", row.id)
        except Exception:
            log.exception("outbox row %d: bookkeeping failed; left to its lease", row.id)
        finally:
            if wait is None:
                self._db_waits.pop(row.id, None)
                with self.jobs.lock:
                    self._claimed -= 1
                    had_no_room = self._claimed == IN_HAND - 1
                if had_no_room:
                    self._wake.set()
        return wait

    def _attempt_row(self, row: Claimed) -> None:
        try:
            self._deliver_row(row)
        except RateLimited as limited:
            self.outbox.again_in(row.id, limited.retry_after, error="rate_limited", uncertain=False)
            self.jobs.pause(row.channel, self.jobs.clock() + limited.retry_after)
            self.stats["rate_limited"] += 1
        except NoAnswer:
            self.stats["no_answer"] += 1
            self.outbox.again_in(row.id, self.policy.backoff(row.attempts), error="no_answer", uncertain=True)
        except Refused as refused:
            self.stats["refused"] += 1
            self._refused(row, refused)
        except SendError as error:
            self.outbox.again_in(row.id, self.policy.backoff(row.attempts), error=type(error).__name__,
                                 uncertain=True)
        except (NothingSentYet, DatabaseUnavailable):
            raise  # said by _send_row: tried again soon, or left to its lease
        except Exception:
            log.exception("outbox row %d failed", row.id)
            self.outbox.again_in(row.id, self.policy.backoff(row.attempts), error="error", uncertain=True)

    def _delivered(self, row: Claimed, key: str | None, ref: str | None) -> bool:
        """Mark a row the platform took as sent. With the database down, the row is kept in memory and
        recorded when it is back (never sent again by this process); False if the lease was lost."""
        try:
            return self.outbox.delivered(row.id, key, row.channel, ref)
        except DatabaseUnavailable:
            with self.jobs.lock:
                self._unrecorded[row.id] = (key, row.channel, ref)
            log.warning("outbox row %d sent; database unavailable to record it: recorded when it is back", row.id)
            self.jobs.add(lambda: self._record_unrecorded(row.id), bucket=f"record-{row.id}", what="record")
            return True

    def _record_unrecorded(self, row_id: int) -> float | None:
        with self.jobs.lock:
            owed = self._unrecorded.get(row_id)
        if owed is None:
            return None
        key, channel, ref = owed
        try:
            self.outbox.delivered(row_id, key, channel, ref)
        except DatabaseUnavailable:
            return JOB_DB_WAIT  # this job again: nothing is sent, only recorded
        with self.jobs.lock:
            self._unrecorded.pop(row_id, None)
        return None

    def _deliver_row(self, row: Claimed) -> None:
        if row.kind == "update":  # the scheduler changed a card: coalesced with any other update of it
            with _nothing_sent_yet():
                self.outbox.delivered(row.id, None, row.channel, row.ref)
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
        with self.jobs.lock:
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

    def _refused(self, row: Claimed, refused: Refused) -> None:
        """A post the person asked for (a poll) is forgotten and they are told; a scheduled one (a
        reminder) is tried again later, in case the bot is invited back (the retry policy says how long)."""
        with self.jobs.lock:
            asker = self._askers.pop(row.id, None) or _asker(row.asker)
        wait = self.policy.after_refusal(attempts=row.attempts, age=self.outbox.age(row), asked=asker is not None)
        if wait is not None:
            self.outbox.again_in(row.id, wait, error=refused.code, uncertain=False)
            return
        self.outbox.give_up(row.id, error=refused.code)
        log.warning("outbox row %d refused (%s): given up", row.id, refused.code)
        if asker is not None:
            if row.key:
                self.product.discard(row.key)
            text = refused.person_text or f"I couldn't post that ({refused.code})."
            self.jobs.add(lambda: self._tell(asker, Reply.problem(line(
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


def _asker(text: str | None) -> Asker | None:
    if not text:
        return None
    user_id, channel_id, team_id = json.loads(text)
    return Asker(user_id, channel_id, team_id)


def _bucket_of(effect) -> str:
    return effect.channel if isinstance(effect, Post) else effect.user_id
