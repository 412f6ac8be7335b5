"""Benchmark: poll clicks when Slack is far away — ack times, card updates and the final card, with
0, 100 and 300 ms added to every Web API call and response_url post, on SQLite and PostgreSQL.

The scenario of issue 11: members of 6 practices click a poll's buttons at once, 16 at a time, in a
real meeting. Each of 30 members clicks 10 times (300 signed clicks, practices changing their minds),
over real HTTP to the production server (`bot.server.make_server` + `bot.slack.build_app`). The Slack
stand-in (testkit/slack_standin.py) adds the latency to every call and answers 429 + Retry-After beyond
Slack's published tiers: chat.update once a second per channel, views.publish 100 a minute for the
workspace. Measured:
  ack p50/p99     the HTTP answer to each click (what Slack's 3-second limit is about)
  clicks/s        clicks acknowledged per second of the batch
  chat.update     calls for the poll's card during the batch and after it, and the most in any 1 s
  final card      seconds from the last click's ack until a chat.update of the card shows exactly the
                  tally in the database (the card is read back from the stand-in)
The floor is a bare Bolt app that only acknowledges, sent the same clicks at each latency. Each row is
run 3 times in turn (`--repeat`): one run can differ from the next by a quarter or more on a shared machine.

    python bench/latency.py                          # SQLite only, unless TEST_DATABASE_URL is set
    python bench/latency.py --quick --repeat 5       # 300 ms only, five runs of each row
    scripts/with-postgres python bench/latency.py --markdown docs/benchmarks.md
"""

import argparse
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402
import votes  # noqa: E402
from remote_standin import RemoteStandIn  # noqa: E402

from storage.db import Database  # noqa: E402

LATENCIES_MS = (0, 100, 300)
PRACTICES = 6
MEMBERS = 30
ROUNDS = 10
CLIENTS = 16
REPRODUCE = "scripts/with-postgres python bench/latency.py --markdown docs/benchmarks.md"
CARD_COUNT = re.compile(r"^(\d+)\. .* (\d+)$", re.MULTILINE)


@dataclass
class Result(common.Timings):
    database: str
    latency_ms: int
    updates: int = 0
    busiest_second: int = 0
    final_card_s: float | None = None


def voters() -> list[votes.Voter]:
    codes = [f"801{n:02d}" for n in range(PRACTICES)]
    return [votes.Voter(f"UL{i:03d}", codes[i % PRACTICES], 1 + i % len(votes.OPTIONS)) for i in range(MEMBERS)]


def clicks(members: list[votes.Voter], channel: str, short_id: str, response_url: str) -> list[str]:
    """Each member clicks ROUNDS times, cycling through the options (a practice changing its mind)."""
    bodies = []
    for round_ in range(ROUNDS):
        for v in members:
            choice = 1 + (v.choice - 1 + round_) % len(votes.OPTIONS)
            bodies.append(votes.click_body(votes.Voter(v.user, v.practice, choice), channel, short_id, response_url))
    return bodies


def setup_standin(standin: RemoteStandIn, latency_ms: int) -> None:
    standin.reset()
    standin.latency = latency_ms / 1000
    standin.limit("chat.update", 1.0, per="channel")        # Slack: about one update a second per message
    standin.limit("views.publish", 100 / 60, per="workspace")  # Tier 4


def final_card(standin: RemoteStandIn, ref: str, counts: list[int], after: float, timeout: float = 15) -> float | None:
    """Seconds from `after` until the last chat.update of `ref` shows `counts`; None if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        updates = [c for c in standin.calls_to("chat.update") if c.args.get("ts") == ref]
        if updates:
            shown = [int(n) for _, n in CARD_COUNT.findall(updates[-1].args.get("text", ""))]
            if shown == counts:
                return max(0.0, updates[-1].at - after)
        time.sleep(0.05)
    return None


def busiest_second(times: list[float]) -> int:
    return max((sum(1 for u in times if t <= u < t + 1) for t in times), default=0)


def run_real(name: str, url: str, standin: RemoteStandIn, latency_ms: int, delivery_process: bool = False) -> Result:
    db = Database(url)
    channel = f"CLAT{secrets.token_hex(3).upper()}"
    served = None
    try:
        db.migrate()
        setup_standin(standin, 0)
        product = common.product(db)
        members = voters()
        votes.fill_cluster(product, channel, members)
        app = common.real_app(product, standin, delivery_process)
        served = common.start_server(app, db)
        short_id = votes.create_polls(served.port, db, channel)["per practice"]
        app.delivery.drain()
        ref = votes.posted_ref(db, channel, short_id)
        bodies = clicks(members, channel, short_id, standin.response_url)
        setup_standin(standin, latency_ms)
        result = Result(name, latency_ms)
        shares = [bodies[n::CLIENTS] for n in range(CLIENTS)]
        common.load_elsewhere(result, served.port, shares, common.answered)
        last_ack = result.finished
        counts = votes.read_ballots(db, channel, short_id)[1]
        result.final_card_s = final_card(standin, ref, counts, last_ack)
        app.delivery.drain(timeout=15)
        updates = [c.at for c in standin.calls_to("chat.update") if c.args.get("ts") == ref]
        result.updates, result.busiest_second = len(updates), busiest_second(updates)
        print(f"{name} at {latency_ms} ms: delivery {getattr(app.delivery, 'stats', 'in its own process')}",
              file=sys.stderr)
        return result
    finally:
        if served:
            common.stop_server(served)
        db.dispose()


def run_floor(standin: RemoteStandIn, latency_ms: int) -> Result:
    served = common.start_server(votes.floor_app(standin), None, common.FLOOR_THREADS)
    try:
        setup_standin(standin, latency_ms)
        members = voters()
        bodies = clicks(members, "CFLOOR", "P1", standin.response_url)
        result = Result("bare", latency_ms)
        common.load_elsewhere(result, served.port, [bodies[n::CLIENTS] for n in range(CLIENTS)], common.answered)
        return result
    finally:
        common.stop_server(served)


HEADER = ("database", "latency", "clicks", "failed", "ack p50 ms", "ack p99 ms", "clicks/s", "chat.update",
          "most in 1 s", "final card after")


def rows(results: list[Result]) -> list[tuple[str, ...]]:
    """One row per database and latency. Repeated runs (`--repeat`) give the median of each run's figure,
    with the range of the p99s; the card's counts and times are the worst run's (a promise holds in all)."""
    groups: dict[tuple[str, int], list[Result]] = {}
    for r in results:
        groups.setdefault((r.database, r.latency_ms), []).append(r)
    out = []
    for (database, latency_ms), runs in groups.items():
        bare = database == "bare"
        p99s = [r.percentile_ms(0.99) for r in runs]
        p99 = f"{statistics.median(p99s):.1f}" + (f" ({min(p99s):.0f}–{max(p99s):.0f})" if len(runs) > 1 else "")
        finals = [r.final_card_s for r in runs]
        final = "" if bare else ("never" if None in finals else f"{max(finals):.2f} s")
        out.append((database, f"{latency_ms} ms", str(sum(r.sent for r in runs)), str(sum(r.failures for r in runs)),
                    f"{statistics.median(r.percentile_ms(0.5) for r in runs):.1f}", p99,
                    f"{statistics.median(r.per_second for r in runs):.0f}",
                    "" if bare else str(max(r.updates for r in runs)),
                    "" if bare else str(max(r.busiest_second for r in runs)), final))
    return out


def markdown_section(table: list[tuple[str, ...]], skipped: str | None, process: bool = True, repeat: int = 1) -> str:
    delivery = ("in a child process, as `python -m bot http` runs it (`--delivery threads`: in the server's own "
                "threads, as with `DELIVERY_PROCESS=off`)") if process else \
        "in the server's own threads (`--delivery threads`, as with `DELIVERY_PROCESS=off`)"
    missing = f"\n{skipped}\n" if skipped else ""
    return f"""## Poll clicks with Slack far away (ack first, coalesced card updates)

{common.markdown_table(HEADER, table)}
{missing}
Targets (issue 11): ack p99 < 100 ms at 16 clients and 300 ms latency (it was about 5,800 ms when every \
Web API call was made before the ack); the final card exact within 2 s of the last click; at most one \
`chat.update` a second per poll.

{common.measured_on()}

How: `bench/latency.py`. {MEMBERS} members of {PRACTICES} practices each click a per-practice poll's \
buttons {ROUNDS} times ({MEMBERS * ROUNDS} signed clicks, cycling through the options), from {CLIENTS} \
keep-alive clients in threads of a separate process, to the production server (waitress with \
{common.THREADS_TEXT}, + the real Bolt app) in the benchmark's process, with its delivery \
{delivery}; the Slack stand-in runs in another \
process (`bench/remote_standin.py`). \
Clients and Slack are other machines in production: in the server's process they would queue with it for \
the interpreter lock (one Python thread runs at a time) and their work would count as the server's. The Slack \
stand-in adds the latency to every Web API call and `response_url` post, and answers 429 with \
Retry-After beyond one `chat.update` a second per channel and 100 `views.publish` a minute. \
"chat.update" counts the calls for the poll's card (during and after the batch); "most in 1 s" is the \
most in any one-second window; "final card after" is the time from the last click's ack until a \
`chat.update` of the card showed exactly the tally in the database. The floor ("bare") is a Bolt app \
that only acknowledges (served with {common.FLOOR_THREADS} request threads, its best), sent the same clicks at \
the same latency.

{repeated(repeat)}

Reproduce:

```
{REPRODUCE}
```
"""


def repeated(repeat: int) -> str:
    if repeat == 1:
        return "One run of each row: on a shared machine, runs differ by a quarter or more (use `--repeat`)."
    return (f"Each row is {repeat} runs, taken in turn (SQLite, PostgreSQL, the floor, then again), because on a "
            "shared machine one run can differ from the next by a quarter or more: ack p50, p99 and clicks/s "
            "are the median run's, with the p99 of the best and the worst run in brackets; chat.update, "
            "\"most in 1 s\" and \"final card after\" are the worst run's; clicks and failed are totals.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--markdown", metavar="PATH")
    parser.add_argument("--latencies", default=",".join(map(str, LATENCIES_MS)), help="ms, comma-separated")
    parser.add_argument("--quick", action="store_true", help="300 ms only, once, to check it works")
    parser.add_argument("--repeat", type=int, help="runs of each row, taken in turn (default 3; 1 with --quick)")
    parser.add_argument("--delivery", choices=("process", "threads"), default="process",
                        help="delivery in its own process (as the servers run it) or in the server's threads")
    args = parser.parse_args(argv)
    if args.quick:
        args.latencies = "300"
    args.repeat = max(1, args.repeat or (1 if args.quick else 3))
    common.quiet_queue_warnings()
    latencies = [int(x) for x in args.latencies.split(",")]
    skipped = None if args.postgres_url else "PostgreSQL half skipped: no TEST_DATABASE_URL."
    standin = RemoteStandIn()
    workdir = tempfile.TemporaryDirectory(prefix="clusterbot-latency-")
    databases = [("sqlite", f"sqlite:///{Path(workdir.name) / 'latency.db'}")]
    if args.postgres_url:
        databases.append(("postgresql", args.postgres_url))
    results = []
    try:
        for latency in latencies:
            for _ in range(args.repeat):
                for name, url in databases:
                    results.append(run_real(name, url, standin, latency, args.delivery == "process"))
                    print(f"measured {name} at {latency} ms", file=sys.stderr)
                results.append(run_floor(standin, latency))
    finally:
        standin.close()
        workdir.cleanup()
    table = rows(results)
    print(common.text_table(HEADER, table))
    if args.markdown:
        common.write_section(args.markdown, markdown_section(table, skipped, args.delivery == "process", args.repeat))
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
