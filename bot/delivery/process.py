"""Delivery in a process of its own, so that sending never takes the interpreter from acknowledging.

A Python process runs one thread at a time. With delivery's workers in the server's process, every
millisecond they spend rendering a card, posting an answer or marking an outbox row sent is one that
a click arriving meanwhile waits for: in a meeting's burst of votes, acks queued behind delivery
(docs/design.md, Performance). Here the server's process only commits and acknowledges, and hands
each request's leftovers (the Reply's effects and the way back to the person) to a child process
that runs the ordinary `Delivery` with its own platform client, database connections and workers.
The two processes use two cores. The child makes its platform with the factory it is given (a
module-level function, so a spawned child can import it): `bot.slack.platform.for_delivery`, or any
platform's own; nothing here names a platform.

Nothing durable depends on the hand-over: posts and DMs are already in the outbox when they are
handed over (the child's poller would find them anyway, within a second). What lives only in the
message (the answer to the person, a card to refresh, a Home to re-render) is lost only if the
child dies in the moment between the two, as it would be if one process died. A child that has
died is started again on the next hand-over, and refreshes the live cards as any delivery does.

Calls the adapter must make itself within Slack's few seconds (opening a form with a trigger_id)
run here, on a small pool of this process's threads (`run_now`), with the server's own platform.
"""

import logging
import multiprocessing
import os
import queue
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.config import Settings
from bot.platform import Asker, Platform
from commands import Clusterbot
from commands.results import Reply

log = logging.getLogger(__name__)

PlatformFactory = Callable[[Settings, Clusterbot], Platform]  # module-level: a spawned child imports it
START_TIMEOUT = 30.0  # seconds for the child to import, connect and report ready


class DeliveryProcess:
    """What adapters and the scheduler call (`after_ack`, `run_now`, `wake`), with the work done in a
    child process. `platform` is this process's own, for the adapter's calls on the request path."""

    def __init__(self, settings: Settings, platform: Platform, factory: PlatformFactory, *,
                 ballot_key: bytes | None = None, update_interval: float = 1.25):
        self.platform, self._factory = platform, factory
        self._settings, self._ballot_key, self._update_interval = settings, ballot_key, update_interval
        self._context = multiprocessing.get_context("spawn")  # not fork: this process has threads running
        self._lock = threading.Lock()
        self._child = None
        self._inbox = self._answers = None
        self._now = ThreadPoolExecutor(max_workers=4, thread_name_prefix="delivery-now")
        self._stopped = False

    def start(self, wait: bool = True) -> "DeliveryProcess":
        """Start the child; with `wait`, until it is ready. A server does not wait: it answers (and is
        healthy) while the child imports, and what it hands over meanwhile waits in the child's queue."""
        with self._lock:
            self._spawn()
        if not wait:
            return self
        try:
            ready = self._answers.get(timeout=START_TIMEOUT)
        except queue.Empty:
            ready = None
        if ready != "ready":
            log.error("delivery process did not start (%s)", ready or "no answer")
        return self

    def _spawn(self) -> None:
        """A new child. Not waited for: a request handing over meanwhile must not wait for it to start
        (the queue keeps what is put on it until the child reads it)."""
        self._inbox, self._answers = self._context.Queue(), self._context.Queue()
        self._child = self._context.Process(
            target=_serve, name="clusterbot-delivery", daemon=True,
            args=(self._settings, self._factory, self._ballot_key, self._update_interval,
                  self._inbox, self._answers, os.getpid()))
        self._child.start()

    # --- what adapters and the scheduler call ------------------------------------------------

    def after_ack(self, reply: Reply, asker: Asker | None = None) -> None:
        if reply.effects or (asker is not None and not reply.is_silent):
            self._hand(("after_ack", reply, asker))

    def wake(self) -> None:
        self._hand(("wake",))

    def run_now(self, job, bucket: str = "") -> None:
        self._now.submit(_logged, job)

    def drain(self, timeout: float = 10) -> bool:
        """Wait until the child has sent everything it was handed (tests, tools, shutdown)."""
        token = uuid.uuid4().hex
        self._hand(("drain", timeout, token))
        try:
            while True:
                answer = self._answers.get(timeout=timeout + 5)
                if isinstance(answer, tuple) and answer[0] == token:
                    return answer[1]
        except queue.Empty:
            return False

    def stop(self, timeout: float = 5) -> None:
        with self._lock:
            self._stopped = True
            child = self._child
            if child is not None and child.is_alive():
                self._inbox.put(None)
                child.join(timeout)
                if child.is_alive():
                    child.terminate()
                    child.join(timeout)
        self._now.shutdown(wait=False)

    def is_running(self) -> bool:
        """The child is alive; a child found dead is replaced first (as the next hand-over would)."""
        if self._stopped:
            return False
        if self._child is None or not self._child.is_alive():
            self.wake()
        child = self._child
        return child is not None and child.is_alive()

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def _hand(self, message: tuple) -> None:
        with self._lock:
            if self._stopped:
                return
            if self._child is None or not self._child.is_alive():
                if self._child is not None:
                    log.warning("delivery process ended (exit code %s): starting another", self._child.exitcode)
                self._spawn()
            self._inbox.put(message)


def _logged(job) -> None:
    try:
        job()
    except Exception:
        log.exception("a call after the ack failed")


# --- the child --------------------------------------------------------------------------------

def _serve(settings: Settings, factory: PlatformFactory, ballot_key: bytes | None, update_interval: float,
           inbox, answers, parent: int) -> None:
    """The child: an ordinary Delivery over its own platform client and database connections. It ends with
    the server that started it (`parent`, its pid: read here, it would already be init's if the server
    died while this child was starting, and the orphan would go on sending for ever)."""
    from bot import logs
    from bot.delivery import Delivery
    from commands import Clusterbot
    from storage.db import Database

    logs.configure()
    if os.getppid() != parent:  # the server died while this child was starting
        log.warning("delivery process: the server process is gone; not starting")
        return
    product = Clusterbot(Database(settings.database_url), settings.cluster_tz, ballot_key=ballot_key)
    platform = factory(settings, product)
    delivery = Delivery(platform, product, update_interval=update_interval).start()
    answers.put("ready")
    try:
        while True:
            try:
                message = inbox.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:  # the server was killed: an orphan must not go on sending
                    log.warning("delivery process: the server process is gone; stopping")
                    return
                continue
            if message is None:
                return
            kind = message[0]
            if kind == "after_ack":
                delivery.after_ack(message[1], message[2])
            elif kind == "wake":
                delivery.wake()
            elif kind == "drain":
                answers.put((message[2], delivery.drain(message[1])))
    finally:
        delivery.stop()

