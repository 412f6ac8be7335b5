"""Benchmark: start-up time of `python -m bot http` to a healthy /healthz, against floors measured in the
same run.

Each run spawns `python -m bot http --host 127.0.0.1 --port <free port>` with SCHEDULER=off, a SQLite
DATABASE_URL and SLACK_API_URL pointing at the in-process Slack stand-in (the bot checks its token with
auth.test at start), and polls GET /healthz every 20 ms: the time is from spawn to the first 200.
  fresh      a new, empty database file each run (the bot runs every migration first);
  migrated   the same, already migrated database each run (a restart).
Floors, spawned the same way (same interpreter, environment and working directory), timed to exit:
  interpreter          python -c pass
  import dependencies  python -c "import slack_bolt, sqlalchemy, sqlmodel, waitress, openpyxl": the import
                       cost any such app pays; the floor of the *vs floor* column.
  …, no teardown       the same imports, then os._exit(0): a process timed to its exit also pays for
                       finalising every module (0.15-0.2 s on a 2-core machine), which a server that stays
                       up does not; the floor of the *vs no-teardown floor* column, the fairer for a server.
And, to show where the rest goes:
  import the product, no teardown
                       python -c "import bot.__main__, bot.slack, bot.server, storage.db, alembic.command; …"
  migrate              python -m bot migrate, on a new database file (timed to exit).
The runs are interleaved (one of each, then again) after one untimed warm-up round.

    python bench/startup.py                       # 5 runs each; about half a minute
    python bench/startup.py --quick               # 2 runs each
    python bench/startup.py --markdown docs/benchmarks.md   # and rewrite its section there

Exit status 1 if a start did not become healthy (within 60 s) or a floor failed.
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402

from testkit.slack_standin import SlackStandIn  # noqa: E402

HOST = "127.0.0.1"
POLL = 0.020    # seconds between /healthz attempts
TIMEOUT = 60.0  # seconds a start may take before it counts as failed
DEPENDENCIES = "slack_bolt, sqlalchemy, sqlmodel, waitress, openpyxl"
PRODUCT = "bot.__main__, bot.slack, bot.server, storage.db, alembic.command"
SETTINGS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "DATABASE_URL",
            "CLUSTER_TZ", "HOST", "PORT", "SCHEDULER")
REPRODUCE = "python bench/startup.py --markdown docs/benchmarks.md"
FLOOR = "import dependencies"
FLOOR_NO_EXIT = "import dependencies, no teardown"
NO_TEARDOWN = "; import os; os._exit(0)"  # leave without finalising modules, as a server that stays up does


@dataclass
class Measurement:
    name: str
    command: str
    times: list[float] = field(default_factory=list)  # seconds
    failures: list[str] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")

    def worst(self) -> float:
        return max(self.times) if self.times else float("nan")


class Bench:
    """Spawns processes in a scratch folder, with the bot's settings and nothing else of ours."""

    def __init__(self, workdir: Path, standin: SlackStandIn):
        self.workdir = workdir
        self.standin = standin
        self.migrated = workdir / "migrated.db"
        self.counter = 0

    def env(self, database: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        env.update(SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET="bench", SLACK_API_URL=self.standin.url,
                   SCHEDULER="off", DATABASE_URL=f"sqlite:///{database or self.new_database()}")
        return env

    def new_database(self) -> Path:
        self.counter += 1
        return self.workdir / f"fresh-{self.counter}.db"

    def to_exit(self, *args: str, database: Path | None = None) -> float:
        """Seconds from spawn until `python args…` exits (0, or it raises)."""
        began = time.perf_counter()
        done = subprocess.run([sys.executable, *args], cwd=self.workdir, env=self.env(database),
                              capture_output=True, text=True, timeout=TIMEOUT)
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-500:]}")
        return seconds

    def to_healthy(self, database: Path) -> float:
        """Seconds from spawning `python -m bot http` until GET /healthz answers 200; the server is then stopped."""
        port = free_port()
        log = (self.workdir / "server.log").open("w+")
        began = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "bot", "http", "--host", HOST, "--port", str(port)],
                                   cwd=self.workdir, env=self.env(database), stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                if healthy(port):
                    return time.perf_counter() - began
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"exited {process.returncode}: {log.read().strip()[-500:]}")
                if time.perf_counter() - began > TIMEOUT:
                    raise RuntimeError(f"not healthy within {TIMEOUT:g} s")
                time.sleep(POLL)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def healthy(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def measurements(bench: Bench) -> list[tuple[Measurement, Callable[[], float]]]:
    return [
        (Measurement("interpreter", "python -c pass"), lambda: bench.to_exit("-c", "pass")),
        (Measurement(FLOOR, f'python -c "import {DEPENDENCIES}"'),
         lambda: bench.to_exit("-c", f"import {DEPENDENCIES}")),
        (Measurement(FLOOR_NO_EXIT, f'python -c "import {DEPENDENCIES}{NO_TEARDOWN}"'),
         lambda: bench.to_exit("-c", f"import {DEPENDENCIES}{NO_TEARDOWN}")),
        (Measurement("import the product, no teardown", f'python -c "import {PRODUCT}{NO_TEARDOWN}"'),
         lambda: bench.to_exit("-c", f"import {PRODUCT}{NO_TEARDOWN}")),
        (Measurement("migrate (fresh database)", "python -m bot migrate"),
         lambda: bench.to_exit("-m", "bot", "migrate", database=bench.new_database())),
        (Measurement("http → healthy (fresh database)", "python -m bot http"),
         lambda: bench.to_healthy(bench.new_database())),
        (Measurement("http → healthy (migrated database)", "python -m bot http"),
         lambda: bench.to_healthy(bench.migrated)),
    ]


def run(runs: int) -> list[Measurement]:
    standin = SlackStandIn()
    try:
        with tempfile.TemporaryDirectory(prefix="clusterbot-bench-startup-") as workdir:
            bench = Bench(Path(workdir), standin)
            plan = measurements(bench)
            bench.to_exit("-m", "bot", "migrate", database=bench.migrated)
            for number in range(runs + 1):  # the first round is a warm-up (disk caches, .pyc files)
                for measurement, once in plan:
                    try:
                        seconds = once()
                    except (RuntimeError, subprocess.TimeoutExpired) as error:
                        measurement.failures.append(str(error))
                        print(f"{measurement.name}: FAILED: {error}", file=sys.stderr)
                        continue
                    if number:
                        measurement.times.append(seconds)
                print(f"round {number} of {runs} done" + (" (warm-up)" if not number else ""), file=sys.stderr)
            calls = len(standin.calls_to("auth.test"))
            print(f"the Slack stand-in answered {calls} auth.test calls", file=sys.stderr)
            return [measurement for measurement, _ in plan]
    finally:
        standin.close()


# --- reporting -----------------------------------------------------------------------------------

HEADER = ("measurement", "runs", "median s", "max s", "above floor s", "vs floor", "vs no-teardown floor")


def table_rows(results: list[Measurement]) -> list[tuple[str, ...]]:
    floor = next(m for m in results if m.name == FLOOR).median()
    no_exit = next(m for m in results if m.name == FLOOR_NO_EXIT).median()
    rows = []
    for m in results:
        above = ratio = ratio_no_exit = ""
        if m.name not in ("interpreter", FLOOR, FLOOR_NO_EXIT):
            above, ratio = f"{m.median() - floor:+.3f}", f"{m.median() / floor:.2f}×"
            ratio_no_exit = f"{m.median() / no_exit:.2f}×"
        rows.append((m.name, str(len(m.times)), f"{m.median():.3f}", f"{m.worst():.3f}", above, ratio,
                     ratio_no_exit))
    return rows


def markdown_section(results: list[Measurement], runs: int) -> str:
    commands = "\n".join(f"- {m.name}: `{m.command}`" for m in results)
    return f"""## Start-up: `python -m bot http` to a healthy `/healthz`

{common.markdown_table(HEADER, table_rows(results))}

{commands}

{common.measured_on()}

How: `bench/startup.py` spawns each command as a subprocess of the benchmark (same interpreter, \
working directory a scratch folder, environment `SLACK_BOT_TOKEN=xoxb-bench`, `SLACK_SIGNING_SECRET=bench`, \
`SCHEDULER=off`, `SLACK_API_URL` pointing at the Slack stand-in `testkit.slack_standin.SlackStandIn` running \
in the benchmark process — the bot calls `auth.test` at start —, and `DATABASE_URL` a SQLite file). For the \
`http` rows the time runs from spawn until `GET /healthz` first answers 200, polled every \
{POLL * 1000:g} ms (so up to {POLL * 1000:g} ms late); *fresh* is a new database file each run (every \
migration runs at start), *migrated* the same already-migrated file each run. The other rows are timed \
until the process exits. There are two floors, the same imports measured two ways: *import dependencies* \
(`python -c "import {DEPENDENCIES}"`, timed to its exit: the import cost any such app pays; *vs floor* is \
against it) and *import dependencies, no teardown* (the same imports, then `os._exit(0)`). A process timed to \
its exit also pays for finalising its modules, which a server that stays up never does; so the no-teardown \
floor, and *vs no-teardown floor*, is the fairer comparison for a server. *interpreter* (`python -c pass`) \
is what any Python process costs; *import the product, no teardown* and *migrate* show where the rest goes. \
One untimed warm-up round, then {runs} interleaved rounds; the server is stopped with SIGTERM after each \
`http` run.

Reproduce (this section only; `bench/run` reruns every benchmark):

```
{REPRODUCE}
```
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 runs of each instead of 5")
    parser.add_argument("--runs", type=int, help="runs of each (default 5; 2 with --quick)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the results as a section of PATH")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)
    results = run(runs)
    print(common.text_table(HEADER, table_rows(results), left=(0,)))
    if args.markdown:
        common.write_section(args.markdown, markdown_section(results, runs))
    failed = sum(len(m.failures) for m in results)
    if failed:
        print(f"FAILED: {failed} run(s) did not complete", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
