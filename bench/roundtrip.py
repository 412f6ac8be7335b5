"""Benchmark: signed `/cluster who` round trips over real HTTP, against a floor measured in the same run.

Two servers, both built by `bot.server.make_server` (waitress, as in production) on 127.0.0.1:
  real  the real Bolt app (`bot.slack.build_app`) over a temporary SQLite cluster of 6 practices and
        32 people (2 leads, 30 members), so `/cluster who` reads the database and renders a roster;
  bare  a Bolt app whose `/cluster` handler only calls ack(): the cost of HTTP, waitress, signature
        checking and Bolt's dispatch, with no product work. This is the floor.

Each client is a thread with one keep-alive http.client connection, sending signed POSTs back to
back for a fixed time. Clients run in this same process (sharing the GIL and the CPUs with the
servers), so the figures are for comparing real against bare, not absolute capacity.

    python bench/roundtrip.py                      # about a minute
    python bench/roundtrip.py --quick              # a few seconds, to check it works
    python bench/roundtrip.py --markdown docs/benchmarks.md

Exit status 1 if any request failed (not 200, or the real app's answer lacks the cluster name).
"""

import argparse
import datetime
import http.client
import json
import logging
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_bolt import App  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.server import EVENTS_PATH, make_server  # noqa: E402
from bot.slack import build_app  # noqa: E402
from commands import Clusterbot  # noqa: E402
from storage.db import Database  # noqa: E402
from tests.slack_requests import SIGNING_SECRET, signed_headers, slash_body  # noqa: E402
from tests.slack_standin import SlackStandIn  # noqa: E402

HOST = "127.0.0.1"
CHANNEL = "CCLUSTER"
LEAD = "ULEAD"
CLUSTER_NAME = "Benchmark Cluster"
PRACTICES = 6
MEMBERS = 30
CLIENT_COUNTS = (1, 16)
SERVER_THREADS = 8  # make_server's default, and `python -m bot http`'s


@dataclass
class Result:
    server: str
    clients: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    failures: int = 0
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.failures

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


# --- one request ---------------------------------------------------------------------------------

def post_command(conn: http.client.HTTPConnection, text: str, user: str = LEAD) -> tuple[int, str]:
    """Send one signed /cluster command on a keep-alive connection; the status and body."""
    body = slash_body("/cluster", text, user=user, channel=CHANNEL)
    conn.request("POST", EVENTS_PATH, body=body.encode(), headers=signed_headers(body))
    response = conn.getresponse()
    return response.status, response.read().decode()


def reply_text(body: str) -> str:
    return json.loads(body).get("text", "") if body.startswith("{") else ""


def is_good(status: int, body: str, expect: str | None) -> bool:
    return status == 200 and (expect is None or expect in reply_text(body))


# --- set-up --------------------------------------------------------------------------------------

def fill_cluster(port: int) -> None:
    """Make CCLUSTER a cluster with PRACTICES practices and MEMBERS members, through the real server."""
    commands = [f"setup {CLUSTER_NAME}", "lead add <@ULEAD2>"]
    codes = [f"8012{n}" for n in range(1, PRACTICES + 1)]
    commands += [f"practice add {code} Practice {code}" for code in codes]
    commands += [f"member add <@UM{n:03d}> {codes[n % len(codes)]}" for n in range(MEMBERS)]
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        for text in commands:
            status, body = post_command(conn, text)
            if status != 200 or json.loads(body).get("response_type") != "in_channel":
                raise SystemExit(f"set-up command “/cluster {text}” failed: {status} {body[:200]}")
    finally:
        conn.close()


def bare_app(standin: SlackStandIn) -> App:
    """The floor: Bolt with one /cluster handler that only acknowledges."""
    # Configured like the real app (bot.slack.build_app), so only the product's work differs.
    app = App(client=WebClient(token="xoxb-bench-token", base_url=standin.url), signing_secret=SIGNING_SECRET,
              process_before_response=True)

    @app.command("/cluster")
    def ack_only(ack):
        ack()

    return app


def start_server(app: App, db: Database):
    """make_server on a free port, serving in a background thread."""
    server = make_server(app, db, HOST, 0, threads=SERVER_THREADS)
    thread = threading.Thread(target=server.run, name=f"waitress-{server.effective_port}", daemon=True)
    thread.start()
    return app, server, thread


def stop_server(app: App, server, thread: threading.Thread) -> None:
    """Stop waitress (listener, loop, worker threads), then Bolt's listener threads."""
    server.close()
    server.task_dispatcher.shutdown()
    thread.join(timeout=5)
    app.listener_runner.listener_executor.shutdown(wait=True)


# --- measuring -----------------------------------------------------------------------------------

def client_loop(port: int, expect: str | None, start: threading.Barrier, stop: threading.Event,
                result: Result, lock: threading.Lock) -> None:
    """One client: back-to-back signed `/cluster who` on one keep-alive connection until told to stop."""
    latencies, failures = [], 0
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    start.wait()
    try:
        while not stop.is_set():
            began = time.perf_counter()
            try:
                status, body = post_command(conn, "who")
            except (OSError, http.client.HTTPException):
                failures += 1
                conn.close()  # http.client reconnects on the next request
                continue
            if is_good(status, body, expect):
                latencies.append(time.perf_counter() - began)
            else:
                failures += 1
    finally:
        conn.close()
    with lock:
        result.latencies.extend(latencies)
        result.failures += failures


def measure(name: str, port: int, clients: int, seconds: float, expect: str | None) -> Result:
    """`clients` threads hammering one server for `seconds`; wall time from their common start."""
    result, lock = Result(name, clients), threading.Lock()
    start, stop = threading.Barrier(clients + 1), threading.Event()
    threads = [threading.Thread(target=client_loop, args=(port, expect, start, stop, result, lock))
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - began
    return result


# --- reporting -----------------------------------------------------------------------------------

HEADER = ("server", "clients", "requests", "failed", "p50 ms", "p99 ms", "req/s",
          "real/bare p50", "real/bare req/s")


def table_rows(results: list[Result]) -> list[tuple[str, ...]]:
    bare = {r.clients: r for r in results if r.server == "bare"}
    rows = []
    for r in results:
        p50, p99, floor = r.percentile_ms(0.5), r.percentile_ms(0.99), bare.get(r.clients)
        ratios = ("", "")
        if r.server != "bare" and floor:
            ratios = (f"{p50 / floor.percentile_ms(0.5):.2f}×", f"{r.per_second / floor.per_second:.2f}×")
        rows.append((r.server, str(r.clients), str(r.requests), str(r.failures),
                     f"{p50:.1f}", f"{p99:.1f}", f"{r.per_second:.0f}", *ratios))
    return rows


def text_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in [HEADER, *rows]]
    return "\n".join(lines)


def markdown_table(rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_document(rows: list[tuple[str, ...]], seconds: float) -> str:
    today = datetime.date.today().isoformat()
    return f"""# Benchmarks

## Slash-command round trip (`/cluster who`)

{markdown_table(rows)}

Measured {today}; machine: `nproc` = {len(os.sched_getaffinity(0))}, \
{platform.system()} {platform.machine()}; Python {platform.python_version()}.

How: `bench/roundtrip.py` serves the real app and a bare Bolt app (one `/cluster` handler that only \
calls `ack()`) with the production `make_server` (waitress, {SERVER_THREADS} threads) on 127.0.0.1, over a \
temporary SQLite cluster of {PRACTICES} practices and {MEMBERS + 2} people; keep-alive `http.client` \
clients in threads of the same process send signed `/cluster who` POSTs back to back for \
{seconds:g} s per row, after a warm-up. p50/p99 are per-request latencies; the ratios compare the real \
app with the bare one at the same concurrency. Both apps run with Bolt's `process_before_response=True` \
(with False, Bolt waits for `ack()` by polling every 10 ms, which was most of the floor when first measured).

Reproduce:

```
python bench/roundtrip.py --markdown docs/benchmarks.md
```
"""


# --- the run -------------------------------------------------------------------------------------

def run(seconds: float, warmup: float) -> tuple[list[Result], int]:
    """The measured rows, and how many warm-up requests failed."""
    standin = SlackStandIn()
    workdir = tempfile.TemporaryDirectory(prefix="clusterbot-bench-")
    db = Database(f"sqlite:///{Path(workdir.name) / 'bench.db'}")
    servers = []
    try:
        db.migrate()
        settings = Settings(database_url=db.url, cluster_tz="Europe/London", slack_api_url=standin.url,
                            bot_token="xoxb-bench-token", signing_secret=SIGNING_SECRET)
        real = start_server(build_app(settings, Clusterbot(db, settings.cluster_tz)), db)
        servers.append(real)
        bare = start_server(bare_app(standin), db)
        servers.append(bare)
        fill_cluster(real[1].effective_port)

        targets = [("real", real[1].effective_port, f"*{CLUSTER_NAME}*"),
                   ("bare", bare[1].effective_port, None)]
        results, warmup_failures = [], 0
        for name, port, expect in targets:
            warm = measure(name, port, max(CLIENT_COUNTS), warmup, expect)
            warmup_failures += warm.failures
            print(f"warm-up {name}: {warm.requests} requests, {warm.failures} failed", file=sys.stderr)
            for clients in CLIENT_COUNTS:
                results.append(measure(name, port, clients, seconds, expect))
                print(f"measured {name} × {clients}", file=sys.stderr)
        return results, warmup_failures
    finally:
        for app, server, thread in servers:
            stop_server(app, server, thread)
        db.dispose()
        standin.close()
        workdir.cleanup()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds in all, to check it works")
    parser.add_argument("--seconds", type=float, help="measuring time per row (default 12; 1 with --quick)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the results as Markdown to PATH")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # With 16 clients and 8 server threads requests queue by design; waitress warns about each one.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    seconds = args.seconds or (1.0 if args.quick else 12.0)
    warmup = 0.5 if args.quick else 2.0
    results, warmup_failures = run(seconds, warmup)
    rows = table_rows(results)
    print(text_table(rows))
    if args.markdown:
        Path(args.markdown).write_text(markdown_document(rows, seconds), encoding="utf-8")
        print(f"wrote {args.markdown}", file=sys.stderr)
    failed = warmup_failures + sum(r.failures for r in results)
    if failed:
        print(f"FAILED: {failed} request(s) did not get a good answer", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
