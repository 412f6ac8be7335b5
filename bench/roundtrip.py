"""Benchmark: signed `/cluster who` round trips over real HTTP, against a floor measured in the same run.

Two servers, both built by `bot.server.make_server` (waitress, as in production) on 127.0.0.1:
  real  the real Bolt app (`bot.slack.build_app`) over a temporary SQLite cluster of 6 practices and
        32 people (2 leads, 30 members), so `/cluster who` reads the database and renders a roster;
  bare  a Bolt app whose `/cluster` handler only calls ack(): the cost of HTTP, waitress, signature
        checking and Bolt's dispatch, with no product work. This is the floor.

Each client is a thread with one keep-alive http.client connection, sending signed POSTs back to
back for a fixed time, in rounds: each round measures every row, real then bare, so a ratio compares
two measurements seconds apart. Each row is measured twice: with the clients in another process ("elsewhere",
as Slack's servers are: the server's interpreter lock serves only the server) and in this same
process ("here", sharing the lock with the servers, as first measured). The CPUs are shared either
way, so the figures are for comparing real against bare, not absolute capacity.

    python bench/roundtrip.py                      # about three minutes
    python bench/roundtrip.py --quick              # a few seconds, to check it works
    python bench/roundtrip.py --markdown docs/benchmarks.md   # and rewrite its section there

Exit status 1 if any request failed (not 200, or the real app's answer lacks the cluster name).
"""

import argparse
import functools
import http.client
import json
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402

from storage.db import Database  # noqa: E402
from testkit.slack_requests import slash_body  # noqa: E402
from testkit.slack_standin import SlackStandIn  # noqa: E402

CHANNEL = "CCLUSTER"
PRACTICES = 6
MEMBERS = 30
CLIENT_COUNTS = (1, 16)


CLIENTS_RUN = ("elsewhere", "here")  # in another process; in this one


@dataclass
class Result(common.Timings):
    server: str
    clients: int
    run_from: str = "elsewhere"
    round: int = 0


# --- one request ---------------------------------------------------------------------------------

def reply_text(body: str) -> str:
    return json.loads(body).get("text", "") if body.startswith("{") else ""


def is_good(status: int, body: str, expect: str | None) -> bool:
    return status == 200 and (expect is None or expect in reply_text(body))


# --- set-up --------------------------------------------------------------------------------------

def fill_cluster(port: int) -> None:
    """Make CCLUSTER a cluster with PRACTICES practices and MEMBERS members, through the real server."""
    commands = [f"setup {common.CLUSTER_NAME}", "lead add <@ULEAD2>"]
    codes = [f"8012{n}" for n in range(1, PRACTICES + 1)]
    commands += [f"practice add {code} Practice {code}" for code in codes]
    commands += [f"member add <@UM{n:03d}> {codes[n % len(codes)]}" for n in range(MEMBERS)]
    conn = http.client.HTTPConnection(common.HOST, port, timeout=10)
    try:
        for text in commands:
            status, body = common.post_command(conn, "/cluster", text, CHANNEL)
            if status != 200 or json.loads(body).get("response_type") != "in_channel":
                raise SystemExit(f"set-up command “/cluster {text}” failed: {status} {body[:200]}")
    finally:
        conn.close()


def floor_app(standin: SlackStandIn):
    """The floor: Bolt with one /cluster handler that only acknowledges."""
    app = common.bare_app(standin)
    app.command("/cluster")(common.ack_only)
    return app


# --- measuring -----------------------------------------------------------------------------------

def measure(name: str, port: int, clients: int, seconds: float, expect: str | None,
            run_from: str = "elsewhere") -> Result:
    """`clients` threads sending `/cluster who` back to back to one server for `seconds`, from another
    process or from this one."""
    who = slash_body("/cluster", "who", channel=CHANNEL)
    good = functools.partial(is_good, expect=expect)
    result = Result(name, clients, run_from)
    if run_from == "elsewhere":
        return common.load_elsewhere(result, port, [[who]] * clients, good, seconds=seconds)
    return common.load_for(result, port, [[who]] * clients, good, seconds)


# --- reporting -----------------------------------------------------------------------------------

HEADER = ("server", "clients", "clients run", "requests", "failed", "p50 ms", "p99 ms", "req/s",
          "real/bare p50", "real/bare req/s")


def table_rows(results: list[Result]) -> list[tuple[str, ...]]:
    """One row per server, clients and where they run. Over repeated rounds: the median round's p50, p99 and
    req/s, and as the ratio the median of the rounds' own ratios (real and bare measured one after the
    other, so a machine that slows down between rounds slows both), with their range."""
    groups: dict[tuple[str, int, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.server, r.clients, r.run_from), []).append(r)
    rows = []
    for (server, clients, run_from), runs in groups.items():
        floors = {r.round: r for r in groups.get(("bare", clients, run_from), [])}
        ratios = ("", "")
        paired = [(r, floors[r.round]) for r in runs if r.round in floors and floors[r.round].per_second]
        if server != "bare" and paired:
            p50s = [r.percentile_ms(0.5) / f.percentile_ms(0.5) for r, f in paired]
            rates = [r.per_second / f.per_second for r, f in paired]
            spread = f" ({min(rates):.2f}–{max(rates):.2f})" if len(rates) > 1 else ""
            ratios = (f"{statistics.median(p50s):.2f}×", f"{statistics.median(rates):.2f}×{spread}")
        rows.append((server, str(clients), run_from, str(sum(r.sent for r in runs)),
                     str(sum(r.failures for r in runs)),
                     f"{statistics.median(r.percentile_ms(0.5) for r in runs):.1f}",
                     f"{statistics.median(r.percentile_ms(0.99) for r in runs):.1f}",
                     f"{statistics.median(r.per_second for r in runs):.0f}", *ratios))
    return rows


def markdown_section(rows: list[tuple[str, ...]], seconds: float, rounds: int) -> str:
    return f"""## Slash-command round trip (`/cluster who`)

{common.markdown_table(HEADER, rows)}

{common.measured_on()}

How: `bench/roundtrip.py` serves the real app and a bare Bolt app (one `/cluster` handler that only \
calls `ack()`) with the production `make_server` (waitress; the real app with its default of 1 request \
thread on SQLite, the bare one with {common.FLOOR_THREADS}, its best) on 127.0.0.1, \
over a temporary SQLite cluster of {PRACTICES} practices and {MEMBERS + 2} people; keep-alive `http.client` \
clients in threads send signed `/cluster who` POSTs back to back for {seconds:g} s at a time, after a \
warm-up, in {rounds} rounds; in each round every row is measured, real then bare, so each ratio compares \
two measurements taken seconds apart (on a shared machine one run can differ from the next by a quarter \
or more). A row gives the median round's p50, p99 and req/s; the ratios are the median of the rounds' \
ratios, with the lowest and highest in brackets. The clients run *elsewhere*, from another process, as \
Slack's servers are (the server's interpreter lock serves only the server); *here*, from threads of the \
benchmark's own process, sharing that lock with the servers (as first measured). Either way the \
clients share the machine's {os.cpu_count()} CPUs. \
p50/p99 are per-request latencies; the ratios compare the real app with the bare one at the same \
concurrency, with the clients run the same way. Both apps run with Bolt's `process_before_response=True` \
(with False, Bolt waits for `ack()` by polling every 10 ms, which was most of the floor when first measured).

Reproduce (this section only; `bench/run` reruns every benchmark):

```
python bench/roundtrip.py --markdown docs/benchmarks.md
```
"""


# --- the run -------------------------------------------------------------------------------------

def run(seconds: float, warmup: float, rounds: int) -> tuple[list[Result], int]:
    """The measured rows, and how many warm-up requests failed."""
    standin = SlackStandIn()
    workdir = tempfile.TemporaryDirectory(prefix="clusterbot-bench-")
    db = Database(f"sqlite:///{Path(workdir.name) / 'bench.db'}")
    servers = []
    try:
        db.migrate()
        real = common.start_server(common.real_app(common.product(db), standin), db)
        servers.append(real)
        bare = common.start_server(floor_app(standin), db, common.FLOOR_THREADS)
        servers.append(bare)
        fill_cluster(real.port)

        targets = [("real", real.port, f"*{common.CLUSTER_NAME}*"), ("bare", bare.port, None)]
        results, warmup_failures = [], 0
        for name, port, expect in targets:
            warm = measure(name, port, max(CLIENT_COUNTS), warmup, expect, "here")
            warmup_failures += warm.failures
            print(f"warm-up {name}: {warm.sent} requests, {warm.failures} failed", file=sys.stderr)
        for round_ in range(rounds):
            for run_from in CLIENTS_RUN:
                for clients in CLIENT_COUNTS:
                    for name, port, expect in targets:
                        result = measure(name, port, clients, seconds, expect, run_from)
                        result.round = round_
                        results.append(result)
                        print(f"round {round_ + 1}: measured {name} × {clients} ({run_from})", file=sys.stderr)
        return results, warmup_failures
    finally:
        for served in servers:
            common.stop_server(served)
        db.dispose()
        standin.close()
        workdir.cleanup()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds in all, to check it works")
    parser.add_argument("--seconds", type=float, help="measuring time per row and round (default 4; 1 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds of every row, taken in turn (default 3; 1 with --quick)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the results as a section of PATH")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.quiet_queue_warnings()
    seconds = args.seconds or (1.0 if args.quick else 4.0)
    rounds = max(1, args.rounds or (1 if args.quick else 3))
    warmup = 0.5 if args.quick else 2.0
    results, warmup_failures = run(seconds, warmup, rounds)
    rows = table_rows(results)
    print(common.text_table(HEADER, rows))
    if args.markdown:
        common.write_section(args.markdown, markdown_section(rows, seconds, rounds))
    failed = warmup_failures + sum(r.failures for r in results)
    if failed:
        print(f"FAILED: {failed} request(s) did not get a good answer", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
