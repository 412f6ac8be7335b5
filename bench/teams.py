"""Benchmark: a Teams vote round trip at 16 clients — signed card clicks over real HTTP to the Teams app
(the Teams SDK with its JWT checks, keys cached), against a floor measured in the same run.

A cluster of 8 practices and 400 voters (Teams-shaped ids) and one per-practice poll posted through
the product. Each voter clicks a vote button once (an Action.Submit: a message activity whose value is
the button's data), from 16 concurrent clients, each a thread with one keep-alive connection; every
activity carries a Bot Framework JWT (RS256, the stand-in's key; one token per client, reused as Bot
Framework reuses its tokens), which the SDK verifies against the key set it fetched and cached.
  real   `bot.teams.build_app`: the product records the ballot and commits, answers 200, and the
         delivery threads then update the poll's card through the Bot Connector stand-in;
  floor  an SDK App with the same settings and the same JWT checks whose handler only returns (200).
Afterwards the practices' ballots are read back: exactly 8, whatever the order.

    python bench/teams.py                               # SQLite only, unless TEST_DATABASE_URL is set
    scripts/with-postgres python bench/teams.py         # SQLite and a throwaway PostgreSQL
    python bench/teams.py --quick                       # 80 voters, to check it works
    python bench/teams.py --markdown docs/benchmarks.md # and rewrite its section
"""

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.delivery import Delivery  # noqa: E402
from bot.teams import TeamsServer, build_app, make_platform  # noqa: E402
from commands import Caller, Clusterbot  # noqa: E402
from storage import polls as poll_store  # noqa: E402
from storage.db import Database  # noqa: E402
from testkit.teams_ids import APP_ID, TEAM, TENANT, user  # noqa: E402
from testkit.teams_standin import PASSWORD, TeamsStandIn, submit  # noqa: E402

PRACTICES, VOTERS, QUICK_VOTERS, CLIENTS = 8, 400, 80, 16
HEADER = ("database", "app", "clicks", "failed", "per s", "p50 ms", "p95 ms")


def settings_for(db: Database, standin: TeamsStandIn) -> Settings:
    return Settings(database_url=db.url, cluster_tz=common.TIME_ZONE, slack_api_url="http://127.0.0.1:9/",
                    teams_app_id=APP_ID, teams_app_password=PASSWORD, teams_tenant_id=TENANT,
                    teams_openid_url=standin.openid_url, teams_token_url=standin.token_url)


def cluster(product: Clusterbot, channel: str, voters: int) -> list[str]:
    """The cluster, its practices and members; a per-practice poll, posted. Returns the voters' ids."""
    lead = user(0)
    say = lambda text, command="/cluster", platform="slack": product.handle(  # noqa: E731
        command, text, Caller(lead, channel, TEAM, TENANT, platform=platform))
    say("setup Benchmark Cluster")
    for p in range(PRACTICES):
        say(f"practice add {80100 + p} Practice {p}")
    people = [f"{user(1)}-{n}" for n in range(voters)]
    for n, person in enumerate(people):
        # Mentions must look like the caller's platform's people (Teams ids here); the cluster itself stays
        # where this benchmark has always set it up, so what it measures is unchanged.
        say(f"member add <@{person}> {80100 + n % PRACTICES}", platform="teams")
    created = say('"Which topic first?" "Asthma" "Frailty" "Polypharmacy"', "/poll")
    product.remember(created.effects[0].key, channel, "1732000000001")
    return people


def run_load(port: int, standin: TeamsStandIn, people: list[str], channel: str) -> common.Timings:
    shares = [people[i::CLIENTS] for i in range(CLIENTS)]
    timings, lock, start = common.Timings(), threading.Lock(), threading.Barrier(CLIENTS + 1)

    def one_client(share: list[str]) -> None:
        headers = standin.headers()
        activities = [submit(standin, person, {"action": "poll.vote", "value": f"P1:{n % 3 + 1}",
                                               "channel": channel}, channel=channel)
                      for n, person in enumerate(share)]
        latencies, failures = [], 0
        with httpx.Client(base_url=f"http://{common.HOST}:{port}", timeout=30) as client:
            start.wait()
            for activity in activities:
                began = time.perf_counter()
                try:
                    ok = client.post("/api/messages", json=activity, headers=headers).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - began)
                else:
                    failures += 1
        with lock:
            timings.latencies.extend(latencies)
            timings.failures += failures

    threads = [threading.Thread(target=one_client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    timings.elapsed = time.perf_counter() - began
    return timings


def floor_app(settings: Settings, platform):
    """The SDK App configured like ours (same JWT checks), whose handler only answers."""
    from fastapi import FastAPI
    from microsoft_teams.apps import App
    from microsoft_teams.apps.http import FastAPIAdapter

    from bot.teams import gated

    web = FastAPI()
    app = App(client_id=settings.teams_app_id, tenant_id=settings.teams_tenant_id, token=platform._token,
              cloud=gated(web, settings, timeout=5), http_server_adapter=FastAPIAdapter(app=web),
              telemetry={"agent365": False})

    @app.on_activity
    async def answer(ctx):
        return None

    return app, web


def measure(label: str, url: str, standin: TeamsStandIn, voters: int) -> list[tuple[str, ...]]:
    db = Database(url)
    db.migrate()
    product = common.product(db)
    channel = f"19:{uuid.uuid4().hex}@thread.tacv2"
    people = cluster(product, channel, voters)
    settings = settings_for(db, standin)
    platform = make_platform(settings, product, timeout=5)
    rows = []
    for name in ("floor", "real"):
        delivery = Delivery(platform, product).start(refresh_cards=False)  # the poll's ref here is made up
        app, web = floor_app(settings, platform) if name == "floor" else build_app(settings, product, platform,
                                                                                   delivery)
        server = TeamsServer(app, web, common.HOST, 0).start_in_thread()
        try:
            timings = run_load(server.port, standin, people, channel)
        finally:
            server.stop()
            delivery.stop()
        rows.append((label, name, str(timings.sent), str(timings.failures), f"{timings.per_second:.0f}",
                     f"{timings.percentile_ms(0.5):.1f}", f"{timings.percentile_ms(0.95):.1f}"))
        if timings.failures:
            raise SystemExit(f"{timings.failures} clicks failed on {label} ({name})")
    with db.session() as session:
        poll = poll_store.find_poll(session=session, cluster=_cluster_of(session, channel), short_id="P1")
        practices = poll_store.count(session=session, poll=poll).practices
    if len(practices) != PRACTICES:
        raise SystemExit(f"expected {PRACTICES} practice ballots on {label}, found {len(practices)}")
    platform.close()
    db.dispose()
    return rows


def _cluster_of(session, channel: str):
    from storage import clusters

    return clusters.find_cluster(session=session, team_id=TEAM, channel_id=channel)


def markdown_section(rows, voters: int) -> str:
    ratios = []
    for database in dict.fromkeys(r[0] for r in rows):
        floor, real = (next(r for r in rows if r[0] == database and r[1] == n) for n in ("floor", "real"))
        ratios.append(f"{database}: the real app answers at {float(real[4]) / float(floor[4]):.2f}× the floor's "
                      f"rate, p50 {float(real[5]) / float(floor[5]):.2f}× the floor's")
    return f"""## Teams vote round trip

{voters} voters of {PRACTICES} practices each click a vote button once (an Action.Submit activity with a
Bot Framework JWT, checked by the SDK with its keys cached), {CLIENTS} concurrent keep-alive clients. The
floor is an SDK app with the same JWT checks whose handler only answers 200. Clients run in the same
process as the servers (one GIL, the same cores): compare the rows, not the absolute figures.

{common.markdown_table(HEADER, rows)}

Ratios (real ÷ floor): {"; ".join(ratios)}. The real app's extra time is the product's unit of work (the
vote committed: a write transaction per click) and the delivery threads updating the card meanwhile.

{common.measured_on()} Rerun: `scripts/with-postgres .venv/bin/python bench/teams.py --markdown docs/benchmarks.md`.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", help="rewrite this benchmark's section of this Markdown file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    voters = QUICK_VOTERS if args.quick else VOTERS
    standin = TeamsStandIn()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows += measure("SQLite", f"sqlite:///{folder}/teams.db", standin, voters)
    if os.environ.get("TEST_DATABASE_URL"):
        rows += measure("PostgreSQL", os.environ["TEST_DATABASE_URL"], standin, voters)
    standin.close()
    print(common.text_table(HEADER, rows, left=(0, 1)))
    if args.markdown:
        common.write_section(args.markdown, markdown_section(rows, voters))
    return 0


if __name__ == "__main__":
    sys.exit(main())
