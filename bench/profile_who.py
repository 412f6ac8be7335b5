"""Profile: where a `/cluster who` request spends its time, through the real Bolt app, in process.

A signed `/cluster who` is dispatched to the production app (`bot.slack.build_app`) over a temporary
SQLite cluster of 6 practices and 32 people, under cProfile; the top of the profile (by cumulative
time, the project's own functions and the libraries' biggest) goes into docs/benchmarks.md. The CPU
time per request (time.process_time, so other processes on the machine count less than wall time
would) is measured without the profiler, for the real app and for a bare Bolt app.

    python bench/profile_who.py [--markdown docs/benchmarks.md] [--quick]
"""

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402
from slack_bolt.request import BoltRequest  # noqa: E402

from commands import Caller, Clusterbot  # noqa: E402
from storage.db import Database  # noqa: E402
from testkit.slack_requests import signed_headers, slash_body  # noqa: E402
from testkit.slack_standin import SlackStandIn  # noqa: E402

CHANNEL = "CPROFILE"
TOP = 22
REPRODUCE = "python bench/profile_who.py --markdown docs/benchmarks.md"


def cluster(product: Clusterbot) -> None:
    lead = Caller(common.LEAD, CHANNEL, "T0001")
    product.handle("/cluster", f"setup {common.CLUSTER_NAME}", lead)
    for n in range(6):
        product.handle("/cluster", f"practice add 8010{n} Practice {n}", lead)
    for n in range(32):
        product.handle("/cluster", f"member add <@UP{n:03d}> 8010{n % 6}", lead)


def cpu_ms(app, body: str, count: int) -> float:
    headers = signed_headers(body)
    started = time.process_time()
    for _ in range(count):
        assert app.dispatch(BoltRequest(body=body, headers=headers)).status == 200
    return (time.process_time() - started) / count * 1000


def profile_text(app, body: str, count: int) -> str:
    headers = signed_headers(body)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        app.dispatch(BoltRequest(body=body, headers=headers))
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(TOP)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
    return "\n".join(line.rstrip() for line in lines[start:] if line.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", metavar="PATH")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    count = 100 if args.quick else 1000
    standin = SlackStandIn()
    workdir = tempfile.TemporaryDirectory(prefix="clusterbot-profile-")
    db = Database(f"sqlite:///{Path(workdir.name) / 'profile.db'}")
    try:
        db.migrate()
        product = common.product(db)
        cluster(product)
        app = common.real_app(product, standin)
        bare = common.bare_app(standin)
        bare.command("/cluster")(common.ack_only)
        body = slash_body("/cluster", "who", channel=CHANNEL, response_url=standin.response_url)
        cpu_ms(app, body, count // 10)  # warm-up
        real_ms, bare_ms = cpu_ms(app, body, count), cpu_ms(bare, body, count)
        text = profile_text(app, body, count)
        app.delivery.stop()
    finally:
        standin.close()
        db.dispose()
        workdir.cleanup()
    summary = (f"CPU per request: real {real_ms:.2f} ms, bare Bolt {bare_ms:.2f} ms "
               f"({real_ms / bare_ms:.1f}× the floor), over {count} requests each.")
    print(summary)
    print(text)
    if args.markdown:
        common.write_section(args.markdown, f"""## Where `/cluster who` spends its time (profile)

{summary}

```
{text}
```

{common.measured_on()}

How: `bench/profile_who.py` dispatches {count} signed `/cluster who` requests to the real Bolt app in process \
(no HTTP) under cProfile, over a SQLite cluster of 6 practices and 32 people; the top {TOP} entries by \
cumulative time. Read it for what to cut next: each of the command's database queries pays SQLAlchemy's \
statement building and ORM loading, which is most of the product's share.

Reproduce:

```
{REPRODUCE}
```
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
