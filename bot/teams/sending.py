"""A small stand-in for bot/delivery.py, used by the Teams app until the outbox delivery lands:
sends what a reply needs on worker threads, after the request was acknowledged.

It does what Slack's carry_out did (no outbox, no retries): a post that is refused is forgotten and
the person told; a post that is rate-limited is tried again after Retry-After.
"""

import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from bot.platform import Asker, Platform, RateLimited, Refused, SendError
from commands import Clusterbot
from commands.results import Code, Direct, HomeChanged, Post, Reply, Update, Upload, line

log = logging.getLogger(__name__)
RETRIES = 3


class ThreadDelivery:
    def __init__(self, platform: Platform, product: Clusterbot, workers: int = 4):
        self.platform, self.product = platform, product
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="teams-delivery")
        self._refreshing: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._pending: set = set()
        self._lock = threading.Lock()

    def after_ack(self, reply: Reply, asker: Asker | None = None) -> None:
        future = self.pool.submit(self._send_all, reply, asker)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self, timeout: float = 60) -> bool:
        """Wait until everything handed over so far has been sent (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.02)
        return False

    def wake(self) -> None:
        pass

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def _send_all(self, reply: Reply, asker: Asker | None) -> None:
        try:
            problem = None
            for effect in reply.effects:
                problem = self._effect(effect, asker) or problem
            answer = problem or reply
            if asker is not None and not answer.is_silent:
                self._try(lambda: self.platform.tell(asker, answer), "answer")
        except Exception:
            log.exception("delivery failed")

    def _effect(self, effect, asker: Asker | None) -> Reply | None:
        if isinstance(effect, Post):
            try:
                ref = self._try(lambda: self.platform.post(effect.channel, effect.reply), "post", raise_refused=True)
            except Refused as refused:
                if effect.key:
                    self.product.discard(effect.key)
                return Reply.problem(line(refused.person_text or "I couldn't post that, so nothing was saved. ",
                                          "Try ", Code("cluster help"), "."))
            if effect.key and ref:
                self.product.remember(effect.key, effect.channel, ref)
        elif isinstance(effect, Update):
            # One refresh of a card at a time, each reading the latest committed state: the last update
            # sent shows the truth, whatever order concurrent votes committed in.
            with self._refreshing[effect.key]:
                current = self.product.current(effect.key)
                if current is not None:
                    self._try(lambda: self.platform.update(effect.channel, effect.ref, current), "update")
        elif isinstance(effect, Direct):
            self._try(lambda: self.platform.direct(effect.user_id, effect.reply), "direct")
        elif isinstance(effect, Upload):
            self._try(lambda: self.platform.upload(effect, user_id=asker.user_id if asker else None), "upload")
        elif isinstance(effect, HomeChanged):
            self.platform.refresh_home(effect.user_id, effect.team_id)
        return None

    def _try(self, send, what: str, raise_refused: bool = False):
        for attempt in range(RETRIES):
            try:
                return send()
            except RateLimited as limited:
                time.sleep(min(limited.retry_after, 30))
            except Refused as refused:
                log.warning("%s refused: %s", what, refused.code)
                if raise_refused:
                    raise
                return None
            except SendError as error:
                log.warning("%s not sent (try %s): %s", what, attempt + 1, type(error).__name__)
        return None
