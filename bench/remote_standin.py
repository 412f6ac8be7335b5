"""The Slack stand-in (testkit/slack_standin.py) in a process of its own, as Slack is.

In the benchmark's own process, the stand-in's HTTP server would spend that process's interpreter
(one Python thread runs at a time) answering `chat.update` and every `response_url` post: work Slack's
servers do, not ours, counted against the ack times being measured. Here the stand-in runs in a child
process and is driven over a pipe: the few controls a benchmark uses, and the calls it received.
"""

import multiprocessing
import threading

from testkit.slack_standin import Call, SlackStandIn


def _serve(pipe) -> None:
    standin = SlackStandIn()
    pipe.send((standin.url, standin.response_url))
    while True:
        what, args = pipe.recv()
        if what == "close":
            standin.close()
            pipe.send(None)
            return
        if what == "latency":
            standin.latency = args
            pipe.send(None)
        elif what == "calls_to":
            pipe.send(standin.calls_to(args))
        else:  # reset, limit: a method of the stand-in
            pipe.send(getattr(standin, what)(*args))


class RemoteStandIn:
    """What bench/latency.py uses of SlackStandIn, with the stand-in in a child process."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # not fork: this process runs server threads
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs,), daemon=True)
        self._process.start()
        self._lock = threading.Lock()
        self.url, self.response_url = self._pipe.recv()
        self._latency = 0.0

    def _ask(self, what: str, args=()):
        with self._lock:
            self._pipe.send((what, args))
            return self._pipe.recv()

    @property
    def latency(self) -> float:
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._latency = seconds
        self._ask("latency", seconds)

    def reset(self) -> None:
        self._ask("reset")

    def limit(self, method: str, per_second: float, per: str = "channel") -> None:
        self._ask("limit", (method, per_second, per))

    def calls_to(self, method: str) -> list[Call]:
        """The calls to `method` so far (their `at` is time.monotonic(), which is system-wide)."""
        return self._ask("calls_to", method)

    def close(self) -> None:
        self._ask("close")
        self._process.join(timeout=10)
