"""What the benchmarks share: the servers they load, the clients that load them, and how they report.

Servers: the real Bolt app or a bare one (the floor), each served by the production `make_server`
(waitress) on 127.0.0.1 in a background thread; the Slack Web API is the in-process stand-in.
Clients: threads with one keep-alive http.client connection each, sending signed bodies back to back.
Reports: a text table for the terminal, and a section of docs/benchmarks.md (one file, one `##`
section per benchmark; writing a section leaves the others as they are).
"""

import datetime
import http.client
import logging
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from slack_bolt import App
from slack_sdk import WebClient

from bot.config import Settings
from bot.server import EVENTS_PATH, make_server
from bot.slack import build_app
from commands import Clusterbot
from storage.db import Database
from testkit.slack_requests import SIGNING_SECRET, signed_headers, slash_body
from testkit.slack_standin import SlackStandIn

HOST = "127.0.0.1"
LEAD = "ULEAD"
CLUSTER_NAME = "Benchmark Cluster"
TIME_ZONE = "Europe/London"


def product(db: Database) -> Clusterbot:
    """The product as deployed, but with no posting rate (RATE_LIMIT_PER_MINUTE=0): a benchmark's set-up does
    a cluster's months of work in a moment, and what the benchmarks time (votes, lists) is never limited."""
    return Clusterbot(db, TIME_ZONE, rate_limit=0)
BOT_TOKEN = "xoxb-bench-token"
SERVER_THREADS: int | None = None  # None: make_server's default for the database, as `python -m bot http`
THREADS_TEXT = "its default request threads: 1 on SQLite, 2 on PostgreSQL"
# The floors (bare Bolt apps) are served with 8 request threads, their best: with 1 at 16 clients a bare
# app answered about a third as many requests a second (the product's app did better with 1). A floor is
# the least code doing the work at its best, so the ratios are not flattered by a slower floor.
FLOOR_THREADS = 8
DOCUMENT_TITLE = "# Benchmarks"
DOCUMENT_INTRO = """Each section compares the product with a floor measured in the same run on the same machine: \
the same work done by the least code that can do it (a Bolt app that only acknowledges, a bare openpyxl \
dump, one indexed `SELECT`, importing the dependencies). The ratios are what to watch; absolute figures \
depend on the machine. The sections: a slash command's round trip, poll voting under load, the action-log \
export, the scheduler's tick over a large history, and start-up. `bench/run` runs every benchmark and \
rewrites this file (`bench/run --quick` checks they all work, writing elsewhere); each section says how to \
rerun just that one."""


# --- what a batch of requests took -----------------------------------------------------------------

@dataclass(kw_only=True)
class Timings:
    """A batch of requests: latencies of those answered well, how many were not, and its wall time."""

    latencies: list[float] = field(default_factory=list)  # seconds, good answers only
    failures: int = 0
    elapsed: float = 0.0
    finished: float = 0.0  # time.monotonic() when the last answer came (the clock is system-wide)

    @property
    def sent(self) -> int:
        return len(self.latencies) + self.failures

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


# --- servers ---------------------------------------------------------------------------------------

def real_app(product: Clusterbot, standin: SlackStandIn, delivery_process: bool = False) -> App:
    """The production Bolt app (`bot.slack.build_app`) over `product`, talking to the stand-in;
    `delivery_process`: its delivery in a child process, as `python -m bot slack` runs it."""
    settings = Settings(database_url=product.db.url, cluster_tz=TIME_ZONE, slack_api_url=standin.url,
                        bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET)
    return build_app(settings, product, delivery_process=delivery_process)


def bare_app(standin: SlackStandIn) -> App:
    """The floor's app, with no listeners yet: each benchmark adds one that only calls `ack_only`."""
    # Configured like the real app (bot.slack.build_app), so only the product's work differs.
    return App(client=WebClient(token=BOT_TOKEN, base_url=standin.url), signing_secret=SIGNING_SECRET,
               process_before_response=True)


def ack_only(ack) -> None:
    ack()


@dataclass
class Served:
    """An app being served: Bolt, waitress, and the thread running waitress's loop."""

    app: App
    server: object  # waitress's, as make_server returns it
    thread: threading.Thread
    stopping: threading.Event

    @property
    def port(self) -> int:
        return self.server.effective_port


def start_server(app: App, db: Database | None, threads: int | None = None) -> Served:
    """make_server on a free port, serving in a background thread."""
    server, stopping = make_server(app, db, HOST, 0, threads=threads or SERVER_THREADS), threading.Event()
    thread = threading.Thread(target=serve, args=(server, stopping), name=f"waitress-{server.effective_port}",
                              daemon=True)
    thread.start()
    return Served(app, server, thread, stopping)


def serve(server, stopping: threading.Event) -> None:
    """server.run(), minus the error its loop may raise when stop_server closes the socket under select()."""
    try:
        server.run()
    except (OSError, ValueError):
        if not stopping.is_set():
            raise


def stop_server(served: Served) -> None:
    """Stop waitress (worker threads first: one may still be waking the loop after its last answer,
    then the listener and the loop), then Bolt's listener threads."""
    served.server.task_dispatcher.shutdown()
    served.stopping.set()
    served.server.close()
    served.thread.join(timeout=5)
    served.app.listener_runner.listener_executor.shutdown(wait=True)
    delivery = getattr(served.app, "delivery", None)  # the real app's workers; the bare app has none
    if delivery is not None:
        delivery.stop()


def quiet_queue_warnings() -> None:
    """With 16 clients and a thread or two in the server, requests queue by design; waitress warns about each."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


# --- clients ---------------------------------------------------------------------------------------

def send_signed(conn: http.client.HTTPConnection, body: str) -> tuple[int, str]:
    """POST one body, signed as Slack signs it, on a keep-alive connection; the status and the answer."""
    conn.request("POST", EVENTS_PATH, body=body.encode(), headers=signed_headers(body))
    response = conn.getresponse()
    return response.status, response.read().decode()


def post_command(conn: http.client.HTTPConnection, command: str, text: str, channel: str,
                 user: str = LEAD) -> tuple[int, str]:
    """One slash command, as Slack posts it."""
    return send_signed(conn, slash_body(command, text, user=user, channel=channel))


def answered(status: int, body: str) -> bool:
    return status == 200


def client(port: int, bodies: Iterable[str], good: Callable[[int, str], bool], start: threading.Barrier,
           timings: Timings, lock: threading.Lock) -> None:
    """One client: its bodies, back to back, on one keep-alive connection; each timed, and counted
    as failed if the connection broke or `good(status, answer)` says no."""
    latencies, failures = [], 0
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    start.wait()
    try:
        for body in bodies:
            began = time.perf_counter()
            try:
                status, answer = send_signed(conn, body)
            except (OSError, http.client.HTTPException):
                failures += 1
                conn.close()  # http.client reconnects on the next request
                continue
            if good(status, answer):
                latencies.append(time.perf_counter() - began)
            else:
                failures += 1
    finally:
        conn.close()
    with lock:
        timings.latencies.extend(latencies)
        timings.failures += failures


T = TypeVar("T", bound=Timings)


def load(timings: T, port: int, shares: list[Iterable[str]], good: Callable[[int, str], bool],
         meanwhile: Callable[[], None] = lambda: None) -> T:
    """One client thread per share of the bodies, all starting together; `meanwhile` runs here once they
    have started (a timer, for endless shares). The wall time runs from their start until the last is done."""
    lock, start = threading.Lock(), threading.Barrier(len(shares) + 1)
    threads = [threading.Thread(target=client, args=(port, share, good, start, timings, lock)) for share in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    meanwhile()
    for thread in threads:
        thread.join()
    timings.elapsed = time.perf_counter() - began
    timings.finished = time.monotonic()
    return timings


def _until(stop: threading.Event, bodies: list[str]) -> Iterator[str]:
    """The bodies, again and again, until told to stop."""
    while not stop.is_set():
        yield from bodies


def load_for(timings: T, port: int, shares: list[list[str]], good: Callable[[int, str], bool],
             seconds: float) -> T:
    """`load`, each client repeating its share until `seconds` are up."""
    stop = threading.Event()

    def for_a_while() -> None:
        time.sleep(seconds)
        stop.set()

    return load(timings, port, [_until(stop, share) for share in shares], good, for_a_while)


def _load_in_child(pipe, port: int, shares: list[list[str]], good: Callable[[int, str], bool],
                   seconds: float | None) -> None:
    done = load(Timings(), port, shares, good) if seconds is None else \
        load_for(Timings(), port, shares, good, seconds)
    pipe.send((done.latencies, done.failures, done.elapsed, done.finished))
    pipe.close()


def load_elsewhere(timings: T, port: int, shares: list[Iterable[str]], good: Callable[[int, str], bool],
                   seconds: float | None = None) -> T:
    """`load`, with the clients in a separate process, as Slack's servers are: then the server's process
    spends its interpreter (one Python thread runs at a time) only on being the server, and ack times
    are the server's, not also those of 16 client threads queueing for the same lock. With `seconds`,
    each client repeats its share until that time is up. `good` must pickle (a module's function)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # not fork: this process runs server threads
    mine, theirs = context.Pipe(duplex=False)
    child = context.Process(target=_load_in_child, args=(theirs, port, [list(s) for s in shares], good, seconds))
    child.start()
    theirs.close()
    latencies, failures, elapsed, finished = mine.recv()
    child.join()
    timings.latencies.extend(latencies)
    timings.failures += failures
    timings.elapsed, timings.finished = elapsed, finished
    return timings


# --- reporting -------------------------------------------------------------------------------------

def text_table(header: tuple[str, ...], rows: list[tuple[str, ...]], left: tuple[int, ...] = ()) -> str:
    """A plain-text table, right-aligned but for the columns numbered in `left`."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i in left else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in [header, *rows]]
    return "\n".join(lines)


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def measured_on() -> str:
    """The date and the machine, for a section of the document."""
    today = datetime.date.today().isoformat()
    return (f"Measured {today}; machine: `nproc` = {len(os.sched_getaffinity(0))}, "
            f"{platform.system()} {platform.machine()}; Python {platform.python_version()}.")


def write_section(path: str | Path, section: str) -> None:
    """Put `section` (Markdown starting with its `## ` heading) into the document at `path`: in place of
    the section with the same heading, or at the end; the document is started if there is none."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else f"{DOCUMENT_TITLE}\n\n{DOCUMENT_INTRO}\n"
    head, *sections = split_sections(text)
    heading = section.split("\n", 1)[0]
    new = section.strip() + "\n"
    if any(s.split("\n", 1)[0] == heading for s in sections):
        sections = [new if s.split("\n", 1)[0] == heading else s for s in sections]
    else:
        sections.append(new)
    path.write_text("\n".join([head.rstrip() + "\n", *(s.rstrip() + "\n" for s in sections)]), encoding="utf-8")
    print(f"wrote “{heading.removeprefix('## ')}” into {path}", file=sys.stderr)


def split_sections(text: str) -> list[str]:
    """The text before the first `## ` heading, then each `## ` section (heading included)."""
    parts: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            parts.append([])
        parts[-1].append(line)
    return ["".join(part) for part in parts]


# --- PostgreSQL: a scratch database on the server given --------------------------------------------

class ScratchDatabase:
    """A database of its own on the server `url` names (`prefix` and the process id name it), dropped
    afterwards; the URL's own database may hold anything. Used as `with ScratchDatabase(url, "x") as url:`."""

    def __init__(self, url: str, prefix: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        from storage.db import normalise_url

        self.admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
        self.name = f"{prefix}_{os.getpid()}"
        self.url = make_url(normalise_url(url)).set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> str:
        from sqlalchemy import text

        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def __exit__(self, *_) -> None:
        from sqlalchemy import text

        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
