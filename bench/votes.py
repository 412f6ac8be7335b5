"""Benchmark: poll voting under load — signed button clicks over real HTTP, on SQLite and PostgreSQL,
against a floor measured in the same run.

For each database, a cluster of 8 practices and 1,000 voters (members spread evenly over them), two
polls with 3 options posted through the real server (`/poll`, so each vote also refreshes the posted
card with chat.update, as in production), and then every voter clicks once, from 16 concurrent clients:
  per practice  one ballot per practice, the latest click wins: 1,000 clicks leave exactly 8 ballots;
  per person    one ballot per person: 1,000 clicks leave exactly 1,000 ballots.
The floor is a bare Bolt app whose action handler only calls ack(), sent the same clicks.

Servers are built by `bot.server.make_server` (waitress, as in production) on 127.0.0.1; the Slack
Web API and response_url are the stand-in (testkit/slack_standin.py) in a process of its own. Each client is a thread
with one keep-alive http.client connection sending its share of the clicks back to back, signed and
form-encoded (`payload=<json>`) as Slack sends them. Clients run in another process, as Slack's servers
do; they still share the CPUs with the servers, so the figures are for comparing real against bare, not
capacity. The real app delivers from a child process, as `python -m bot http` runs it.

After each batch the ballots are read back from the database and checked (see `check_*`). Each run
uses a new channel id, so a PostgreSQL database that outlives the run keeps that run's cluster.

    python bench/votes.py                                 # SQLite only, unless TEST_DATABASE_URL is set
    scripts/with-postgres python bench/votes.py           # SQLite and a throwaway PostgreSQL
    python bench/votes.py --quick                         # 200 voters, to check it works
    python bench/votes.py --postgres-url postgresql://… --markdown docs/benchmarks.md  # and rewrite its section

Exit status 1 if any click failed (not 200) or any check failed (the posted-card check only warns).
"""

import argparse
import datetime
import http.client
import json
import os
import re
import secrets
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402
from remote_standin import RemoteStandIn  # noqa: E402

from commands import Caller, Clusterbot  # noqa: E402
from commands.results import Tone, plain_text  # noqa: E402
from storage import clusters as cluster_store  # noqa: E402
from storage import polls as poll_store  # noqa: E402
from storage.db import Database  # noqa: E402
from testkit.slack_requests import TEAM, button_payload  # noqa: E402

PRACTICES = 8
VOTERS = 1000
QUICK_VOTERS = 200
CLIENTS = 16
OPTIONS = ("Asthma reviews", "Frailty register", "Polypharmacy")
KINDS = {"per practice": "", "per person": " per person"}  # poll kind → what /poll's text ends with
REPRODUCE = "scripts/with-postgres python bench/votes.py --markdown docs/benchmarks.md"


@dataclass(frozen=True)
class Voter:
    user: str
    practice: str  # its 5-digit code
    choice: int  # the option (1-based) this voter clicks


@dataclass
class Result(common.Timings):
    database: str  # "sqlite", "postgresql", or "bare" for the floor
    kind: str
    clients: int


@dataclass(frozen=True)
class Check:
    database: str
    kind: str
    what: str
    ok: bool
    detail: str
    gating: bool = True  # a failure makes the exit status 1; else it is only reported as a warning


# --- the electorate ------------------------------------------------------------------------------

def practice_codes() -> list[str]:
    return [f"801{n:02d}" for n in range(PRACTICES)]


def electorate(count: int) -> list[Voter]:
    """Voter i is in practice i mod 8. A practice's voters alternate between two of the three options,
    never the third, so a ballot showing an option its practice never clicked is caught."""
    codes = practice_codes()
    return [Voter(f"UV{i:04d}", codes[i % PRACTICES], 1 + (i % PRACTICES + (i // PRACTICES) % 2) % len(OPTIONS))
            for i in range(count)]


def click_body(voter: Voter, channel: str, short_id: str, response_url: str) -> str:
    """A poll.vote button click as Slack posts it: form-encoded `payload=<json>` (signed when sent)."""
    payload = button_payload(f"poll.vote|{voter.choice - 1}", f"{short_id}:{voter.choice}", user=voter.user,
                             channel=channel, team=TEAM, response_url=response_url)
    return urlencode({"payload": json.dumps(payload)})


# --- set-up --------------------------------------------------------------------------------------

def fill_cluster(product: Clusterbot, channel: str, voters: list[Voter]) -> None:
    """The cluster, its practices and its members, straight through the product (fast, no HTTP)."""
    lead = Caller(common.LEAD, channel, TEAM)
    commands = [f"setup {common.CLUSTER_NAME}"]
    commands += [f"practice add {code} Practice {code}" for code in practice_codes()]
    commands += [f"member add <@{v.user}> {v.practice}" for v in voters]
    for text in commands:
        reply = product.handle("/cluster", text, lead)
        if reply.tone != Tone.DONE:
            raise SystemExit(f"set-up command “/cluster {text}” failed: {plain_text(reply)}")


def create_polls(port: int, db: Database, channel: str) -> dict[str, str]:
    """One poll per kind, through the real server (so the card is posted and each vote refreshes it),
    plus one for the warm-up; poll kind → short id."""
    quoted = " ".join(f'"{o}"' for o in OPTIONS)
    wanted = {kind: f'"Which topic next ({kind})?" {quoted}{suffix}' for kind, suffix in KINDS.items()}
    wanted["warm-up"] = f'"Warm-up?" {quoted} per person'
    conn = http.client.HTTPConnection(common.HOST, port, timeout=10)
    try:
        for text in wanted.values():
            status, body = common.post_command(conn, "/poll", text, channel)
            if status != 200 or body:
                raise SystemExit(f"“/poll {text}” failed: {status} {body[:200]}")
    finally:
        conn.close()
    deadline = time.monotonic() + 15  # the cards are posted after the ack, by delivery
    while True:
        with db.session() as session:
            cluster = cluster_store.find_cluster(session=session, team_id=TEAM, channel_id=channel)
            polls = {p.question: p for p in poll_store.list_polls(
                session=session, cluster=cluster, closed_since=datetime.datetime.now(datetime.UTC))}
        if all(p.posted_ref for p in polls.values()) and len(polls) == len(wanted) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    found = {}
    for kind in wanted:
        question = "Warm-up?" if kind == "warm-up" else f"Which topic next ({kind})?"
        poll = polls.get(question)
        if poll is None or not poll.posted_ref:
            raise SystemExit(f"the {kind} poll was not created and posted")
        found[kind] = poll.short_id
    return found


def floor_app(standin: RemoteStandIn):
    """The floor: Bolt with one catch-all action handler that only acknowledges."""
    app = common.bare_app(standin)
    app.action(re.compile(".*"))(common.ack_only)
    return app


# --- measuring -----------------------------------------------------------------------------------

def measure(database: str, kind: str, port: int, bodies: list[str], clients: int) -> Result:
    """Every body sent once, by `clients` threads of another process (as Slack's servers are) taking every
    clients-th; wall time from their common start."""
    shares = [bodies[n::clients] for n in range(clients)]
    return common.load_elsewhere(Result(database, kind, clients), port, shares, common.answered)


# --- checking ------------------------------------------------------------------------------------

def read_ballots(db: Database, channel: str, short_id: str):
    """The poll's ballots (those choosing something), its tally, and practice id → code."""
    with db.session() as session:
        cluster = cluster_store.find_cluster(session=session, team_id=TEAM, channel_id=channel)
        poll = poll_store.find_poll(session=session, cluster=cluster, short_id=short_id)
        cast = poll_store.ballots(session=session, poll=poll)
        codes = {p.id: p.code for p in cluster_store.list_practices(session=session, cluster=cluster)}
        return cast, poll_store.tally(poll, cast), codes


def posted_ref(db: Database, channel: str, short_id: str) -> str | None:
    with db.session() as session:
        cluster = cluster_store.find_cluster(session=session, team_id=TEAM, channel_id=channel)
        return poll_store.find_poll(session=session, cluster=cluster, short_id=short_id).posted_ref


def check_per_practice(db: Database, channel: str, short_id: str, voters: list[Voter]) -> list[tuple[str, bool, str]]:
    """Exactly one ballot per practice, tally sum 8, and each ballot is a click its practice made:
    cast by one of that practice's voters, choosing what that voter clicked."""
    cast, counts, codes = read_ballots(db, channel, short_id)
    by_user = {v.user: v for v in voters}
    consistent = [b for b in cast if (v := by_user.get(b.cast_by)) is not None
                  and v.practice == codes.get(b.practice_id) and b.choices == str(v.choice)]
    practices = {b.practice_id for b in cast}
    return [
        ("ballots", len(cast) == PRACTICES and len(practices) == PRACTICES,
         f"{len(cast)} ballots from {len(practices)} practices (want {PRACTICES})"),
        ("tally sum", sum(counts) == PRACTICES, f"{sum(counts)} (want {PRACTICES}); tally {counts}"),
        ("each ballot a click of its practice", len(consistent) == len(cast),
         f"{len(consistent)} of {len(cast)}"),
    ]


def check_per_person(db: Database, channel: str, short_id: str, voters: list[Voter]) -> list[tuple[str, bool, str]]:
    """One ballot per voter, each what that voter clicked; the tally equals the clicks counted."""
    cast, counts, _ = read_ballots(db, channel, short_id)
    clicked = {f"person:{v.user}": str(v.choice) for v in voters}
    matching = sum(1 for b in cast if clicked.get(b.voter_key) == b.choices)
    expected = Counter(v.choice for v in voters)
    want = [expected[n] for n in range(1, len(OPTIONS) + 1)]
    return [
        ("ballots", len(cast) == len(voters), f"{len(cast)} (want {len(voters)})"),
        ("tally", counts == want and sum(counts) == len(voters), f"{counts}, sum {sum(counts)} (want {want})"),
        ("each ballot its voter's click", matching == len(voters), f"{matching} of {len(voters)}"),
    ]


def calls_since(standin: RemoteStandIn, before: dict[str, int], method: str) -> list:
    """The calls to `method` made since `before` (counts of calls per method) was taken."""
    return standin.calls_to(method)[before.get(method, 0):]


def calls_so_far(standin: RemoteStandIn) -> dict[str, int]:
    return {method: len(standin.calls_to(method)) for method in ("response_url", "chat.update")}


def check_replies(standin: RemoteStandIn, before: dict[str, int], voters: list[Voter]) -> tuple[str, bool, str]:
    """Every click was answered (on response_url) with its vote, not an error: a product failure is
    still HTTP 200, so the status alone would not show it. In a per-practice poll two colleagues'
    clicks for the same option can be handled out of order (16 clients at once), and the later one
    is rightly told the ballot "already reads" it: that is an answer too, an error is not."""
    calls = calls_since(standin, before, "response_url")
    counted = sum(1 for c in calls if "is now:" in c.args.get("text", "") or "already reads:" in c.args.get("text", ""))
    return ("replies say the vote counted", counted == len(calls) == len(voters),
            f"{counted} of {len(calls)} replies (want {len(voters)})")


CARD_COUNT = re.compile(r"^(\d+)\. .* (\d+)$", re.MULTILINE)  # "2. Frailty register  ██████░░░░ 3"


def check_card(standin: RemoteStandIn, before: dict[str, int], ref: str | None,
               counts: list[int]) -> tuple[str, bool, str]:
    """The poll's posted card, as the last chat.update left it, shows the tally in the database. Gating:
    delivery reads the card after the last vote committed and always sends one more update after a
    change (it was a known race, 1 run in 4 on PostgreSQL, before updates were coalesced)."""
    updates = [c for c in calls_since(standin, before, "chat.update") if c.args.get("ts") == ref]
    if not updates:
        return ("posted card shows the final tally", False, "no chat.update of the poll's card")
    shown = [int(count) for _, count in CARD_COUNT.findall(updates[-1].args.get("text", ""))]
    return ("posted card shows the final tally", shown == counts,
            f"last of {len(updates)} updates shows {shown} (database {counts})")


# --- reporting -----------------------------------------------------------------------------------

HEADER = ("database", "poll", "clients", "clicks", "failed", "votes/s", "p50 ms", "p99 ms", "votes/s vs bare")


def table_rows(results: list[Result]) -> list[tuple[str, ...]]:
    bare = {r.kind: r for r in results if r.database == "bare"}
    rows = []
    for r in results:
        floor = bare.get(r.kind)
        ratio = f"{r.per_second / floor.per_second:.2f}×" if r.database != "bare" and floor else ""
        rows.append((r.database, r.kind, str(r.clients), str(r.sent), str(r.failures), f"{r.per_second:.0f}",
                     f"{r.percentile_ms(0.5):.1f}", f"{r.percentile_ms(0.99):.1f}", ratio))
    return rows


def check_lines(checks: list[Check]) -> list[str]:
    verdict = {True: "ok", False: "FAILED"}
    return [f"{c.database} {c.kind}: {c.what}: {verdict[c.ok] if c.ok or c.gating else 'WARNING'} — {c.detail}"
            for c in checks]


def markdown_section(rows: list[tuple[str, ...]], checks: list[Check], voters: int, clients: int,
                     skipped: str | None) -> str:
    checked = "\n".join(f"- {line}" for line in check_lines(checks))
    missing = f"\n{skipped}\n" if skipped else ""
    return f"""## Poll voting under load (`poll.vote` button clicks)

{common.markdown_table(HEADER, rows)}
{missing}
Checks (ballots read back from the database after each batch; a WARNING does not fail the run):

{checked}

{common.measured_on()}

How: `bench/votes.py` builds, on each database, a cluster of {PRACTICES} practices and {voters} members \
(spread evenly), then posts two 3-option polls through the real server: one ballot per practice (the latest \
click wins) and one per person. The real app (`bot.slack.build_app`) and a bare Bolt app (one catch-all \
action handler that only calls `ack()`, the floor) are each served by the production `make_server` \
(waitress; the real app with {common.THREADS_TEXT}, the floor with {common.FLOOR_THREADS}, its best) on \
127.0.0.1. Each of the {voters} voters clicks one option button once: {clients} keep-alive `http.client` \
clients in threads of another process (as Slack's servers are) send the signed, form-encoded clicks back to \
back, after a warm-up on a third poll. A real vote is the whole production path: signature check, Bolt \
dispatch, the ballot upserted in its own transaction and the ack; then, off the request path and in \
delivery's own process (as `python -m bot http` runs it), the poll's card re-rendered and sent with \
`chat.update` and the answer posted to `response_url` (both to the Slack stand-in, in a process of its own). \
votes/s is successful clicks over the batch's wall time; p50/p99 are per-click latencies; the ratio compares \
with the bare app's votes/s on the same clicks. SQLite is a temporary file (WAL); PostgreSQL is the \
throwaway server of `scripts/with-postgres` (fsync off). A product error still answers HTTP 200, so the \
replies posted to `response_url` are checked too, after delivery has sent them; the posted-card check \
compares the last `chat.update` with the database. The answer, the card update and the Home refresh are sent \
after the ack by delivery (coalesced: about one card update a second), so they cost the click nothing but \
CPU; `bench/latency.py` adds network latency to them.

Reproduce (this section only; `bench/run` reruns every benchmark):

```
{REPRODUCE}
```
"""


# --- the run -------------------------------------------------------------------------------------

def run_database(name: str, url: str, standin: RemoteStandIn, voters: list[Voter], clients: int,
                 warmup: int) -> tuple[list[Result], list[Check], dict[str, list[str]]]:
    """One database: set up, serve the real app, send every click for each poll kind, check the ballots.
    Also returns the click bodies per kind, for the floor."""
    db = Database(url)
    channel = f"CVOTE{secrets.token_hex(3).upper()}"  # a fresh cluster, even in a database used before
    served = None
    try:
        db.migrate()
        began = time.perf_counter()
        product = common.product(db)
        fill_cluster(product, channel, voters)
        app = common.real_app(product, standin, delivery_process=True)  # as `python -m bot http` runs it
        served = common.start_server(app, db)
        port = served.port
        polls = create_polls(port, db, channel)
        print(f"{name}: cluster of {len(voters)} voters and polls {', '.join(polls.values())} "
              f"set up in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        bodies = {kind: [click_body(v, channel, short_id, standin.response_url) for v in voters]
                  for kind, short_id in polls.items()}
        warm = measure(name, "warm-up", port, bodies["warm-up"][:warmup], clients)
        app.delivery.drain(timeout=60)  # its answers go out after the acks: not into the first batch's count
        results, checks = [], [Check(name, "warm-up", "clicks", warm.failures == 0,
                                     f"{warm.sent - warm.failures} of {warm.sent} answered 200")]
        for kind in KINDS:
            before = calls_so_far(standin)
            result = measure(name, kind, port, bodies[kind], clients)
            app.delivery.drain(timeout=60)  # the answers and the card's last update go out after the acks
            results.append(result)
            check = check_per_practice if kind == "per practice" else check_per_person
            found = [*check(db, channel, polls[kind], voters), check_replies(standin, before, voters)]
            checks += [Check(name, kind, what, ok, detail) for what, ok, detail in found]
            card = check_card(standin, before, posted_ref(db, channel, polls[kind]),
                              read_ballots(db, channel, polls[kind])[1])
            checks.append(Check(name, kind, *card))
            print(f"measured {name} {kind}: {result.per_second:.0f} votes/s", file=sys.stderr)
        return results, checks, bodies
    finally:
        if served:
            common.stop_server(served)
        db.dispose()


def run_floor(standin: RemoteStandIn, bodies: dict[str, list[str]], clients: int, warmup: int) -> list[Result]:
    served = common.start_server(floor_app(standin), None, common.FLOOR_THREADS)
    try:
        port = served.port
        measure("bare", "warm-up", port, bodies["warm-up"][:warmup], clients)
        results = [measure("bare", kind, port, bodies[kind], clients) for kind in KINDS]
        print("measured bare", file=sys.stderr)
        return results
    finally:
        common.stop_server(served)


def run(postgres_url: str | None, voters: list[Voter], clients: int, warmup: int):
    standin = RemoteStandIn()  # in a process of its own, as Slack is: its work is not counted as the server's
    workdir = tempfile.TemporaryDirectory(prefix="clusterbot-bench-")
    databases = [("sqlite", f"sqlite:///{Path(workdir.name) / 'votes.db'}")]
    if postgres_url:
        databases.append(("postgresql", postgres_url))
    results, checks, bodies = [], [], {}
    try:
        for name, url in databases:
            found, checked, bodies = run_database(name, url, standin, voters, clients, warmup)
            results += found
            checks += checked
        results += run_floor(standin, bodies, clients, warmup)
        return results, checks
    finally:
        standin.close()
        workdir.cleanup()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_VOTERS} voters, to check it works")
    parser.add_argument("--voters", type=int, help=f"how many voters (default {VOTERS})")
    parser.add_argument("--clients", type=int, default=CLIENTS, help=f"concurrent clients (default {CLIENTS})")
    parser.add_argument("--postgres-url", metavar="URL", default=os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL to measure too (default: $TEST_DATABASE_URL)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the results as a section of PATH")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.quiet_queue_warnings()
    count = args.voters or (QUICK_VOTERS if args.quick else VOTERS)
    skipped = None
    if not args.postgres_url:
        skipped = ("PostgreSQL half skipped: no --postgres-url and no TEST_DATABASE_URL. "
                   "Run `scripts/with-postgres python bench/votes.py` to include it.")
        print(skipped, file=sys.stderr)
    results, checks = run(args.postgres_url, electorate(count), args.clients, warmup=max(count // 5, args.clients))
    rows = table_rows(results)
    print(common.text_table(HEADER, rows))
    print("\n".join(check_lines(checks)))
    if args.markdown:
        common.write_section(args.markdown, markdown_section(rows, checks, count, args.clients, skipped))
    failed_clicks = sum(r.failures for r in results)
    failed_checks = [c for c in checks if not c.ok and c.gating]
    if failed_clicks or failed_checks:
        print(f"FAILED: {failed_clicks} click(s) not answered 200, {len(failed_checks)} check(s) failed",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
