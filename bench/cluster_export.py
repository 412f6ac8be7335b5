"""Benchmark: one busy cluster's files through the product — `/cluster export`, `/measure export` and
`/cluster report` — wall seconds, peak memory and SQL statements, at 1× and larger multiples of one cluster.

One temporary SQLite database (or --database URL, emptied first: use a throwaway database) holds a cluster
of 7 practices with, at 1×, 20 measures × 7 practices × 24 months of points (3,360 points), 2,000 actions
(a tenth with notes), 12 meetings with attendance, minute lines, decisions and actions raised, and 3
polls; `--scale N` multiplies measures, actions and meetings by N. Each file is made by the product
(`Clusterbot.finish`, what runs after the "Preparing…" answer) in a child process of its own, twice:
once timed (wall seconds, peak resident set from VmHWM, SQL statements the engine ran) and once under
tracemalloc (Python's own allocation peak; it slows the run, so its time is not reported).

    python bench/cluster_export.py                   # 1× and 10×
    python bench/cluster_export.py --scale 1         # 1× only
    python bench/cluster_export.py --scale 100 --timeout 600

Not part of bench/run: it reports, it writes no section of docs/benchmarks.md.
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Only the standard library up here (see bench/export.py): each child's peak memory is its own.

PRACTICES = 7
MEASURES = 20
MONTHS = 24
ACTIONS = 2_000
MEETINGS = 12
POLLS = 3
TEAM, CHANNEL, LEAD, TIME_ZONE = "T0001", "CEXPORT", "ULEAD", "Europe/London"
KINDS = {"cluster export": ("/cluster", "export"), "measure export": ("/measure", "export"),
         "board report": ("/cluster", "report")}
BATCH = 5_000


def fill(url: str, scale: int) -> None:
    from sqlalchemy import insert

    from bench.export import action_values
    from storage import clusters, meetings, polls, topics
    from storage.db import Database
    from storage.models import (
        Action,
        ActionNote,
        Attendance,
        Decision,
        Measure,
        MeasurePoint,
        Meeting,
        MinuteLine,
        Poll,
        SQLModel,
        TopicBase,
    )

    db = Database(url)
    if db.engine.dialect.name == "postgresql":
        SQLModel.metadata.drop_all(db.engine)
    db.migrate()
    rng = random.Random(11)
    today = date(2026, 11, 26)
    now = datetime(2026, 11, 26, 10, tzinfo=UTC)
    try:
        with db.session() as session:
            cluster = clusters.create_cluster(session=session, team_id=TEAM, enterprise_id=None, channel_id=CHANNEL,
                                              name="Benchmark Cluster", time_zone=TIME_ZONE, lead_user_id=LEAD)
            practices = [clusters.add_practice(session=session, cluster=cluster, code=f"801{n:02d}",
                                               name=f"Practice {n + 1} Medical Group") for n in range(PRACTICES)]
            owners = [f"UOWNER{n:02d}" for n in range(PRACTICES * 4)]
            for n, owner in enumerate(owners):
                clusters.save_member(session=session, cluster=cluster, user_id=owner, practice=practices[n % PRACTICES])
            topic_ids = [topics.create_topic(session=session, cluster=cluster, proposed_by=LEAD, data=TopicBase(
                title=f"Topic {n + 1}", why="Variation between practices", aim="Halve it by March",
                measure="Monthly search")).id for n in range(10)]
            for n in range(POLLS):
                poll = polls.create_poll(session=session, cluster=cluster, poll=Poll(
                    cluster_id=cluster.id, short_id="", question=f"Which topic next ({n + 1})?",
                    options=["Asthma", "Frailty", "Polypharmacy"], created_by=LEAD))
                for practice in practices:
                    polls.cast_ballot(session=session, poll=poll, voter_key=f"practice:{practice.id}",
                                      practice_id=practice.id, cast_by=owners[practice.id % len(owners)],
                                      choose=rng.randint(1, 3), now=now)
            meeting_ids = [meetings.create_meeting(session=session, cluster=cluster, meeting=Meeting(
                cluster_id=cluster.id, short_id="", title=f"Cluster QI meeting {n + 1}", created_by=LEAD,
                starts_at=now - timedelta(days=3 + 300 * n / (MEETINGS * scale)))).id
                for n in range(MEETINGS * scale)]
            cluster_id, practice_ids = cluster.id, [p.id for p in practices]
            session.execute(insert(Attendance), [
                {"meeting_id": m, "attendee": f"practice:{p}", "practice_id": p, "present": k % 5 != 0, "by": LEAD,
                 "at": now} for m in meeting_ids for k, p in enumerate(practice_ids)])
            session.execute(insert(MinuteLine), [{"meeting_id": m, "by": LEAD, "text": f"Discussed item {k}",
                                                  "at": now} for m in meeting_ids for k in range(4)])
            session.execute(insert(Decision), [{"cluster_id": cluster_id, "meeting_id": m, "by": LEAD, "at": now,
                                                "text": f"Agreed step {k}"} for m in meeting_ids for k in range(2)])
            measure_ids = []
            for n in range(MEASURES * scale):
                unit = ("percent", "count", "rate", "number")[n % 4]
                measure_ids.append((session.execute(insert(Measure).returning(Measure.id), [{
                    "cluster_id": cluster_id, "short_id": f"D{n + 1}", "topic_id": topic_ids[n % len(topic_ids)],
                    "name": f"Measure {n + 1}", "unit": unit, "goal": 50.0 if n % 2 else None,
                    "created_by": LEAD, "created_at": now, "updated_at": now, "rebases": []}]).scalar_one(), unit))
        points = []
        for measure_id, unit in measure_ids:
            for month in range(MONTHS):
                period = date(2024 + month // 12, month % 12 + 1, 1)
                for practice_id in practice_ids:
                    if unit in ("percent", "rate"):
                        numerator, denominator = rng.randint(0, 60), rng.randint(60, 120)
                        value = numerator / denominator * (100 if unit == "percent" else 1000)
                    else:
                        numerator = denominator = None
                        value = float(rng.randint(0, 30))
                    points.append({"measure_id": measure_id, "practice_id": practice_id, "period": period,
                                   "numerator": numerator, "denominator": denominator, "value": value,
                                   "recorded_by": owners[practice_id % len(owners)], "recorded_at": now})
        for first in range(0, len(points), BATCH):
            with db.session() as session:
                session.execute(insert(MeasurePoint), points[first:first + BATCH])
        for first in range(0, ACTIONS * scale, BATCH):
            batch = [action_values(n, cluster_id, practice_ids, owners, topic_ids, meeting_ids, today, rng)
                     for n in range(first, min(ACTIONS * scale, first + BATCH))]
            with db.session() as session:
                ids = session.execute(insert(Action).returning(Action.id), batch).scalars().all()
                notes = [{"action_id": action_id, "by": LEAD, "at": now, "text": f"Chased {k + 1}"}
                         for action_id in ids[::10] for k in range(rng.randint(1, 2))]
                session.execute(insert(ActionNote), notes)
    finally:
        db.dispose()


def memory_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(kind: str, url: str, trace: bool) -> dict:
    """Make one file through the product; what it took."""
    import tracemalloc

    from sqlalchemy import event

    from commands import Caller, Clusterbot
    from commands.results import Upload
    from storage.db import Database
    from testkit.clock import Clock

    db = Database(url)
    db.ensure_schema()
    statements = [0]
    for engine in {db.engine, db.reader}:
        event.listen(engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    product = Clusterbot(db, TIME_ZONE, clock=Clock())
    command, text = KINDS[kind]
    if trace:
        tracemalloc.start()
    began = time.perf_counter()
    reply = product.finish(command, text, Caller(LEAD, CHANNEL, TEAM))
    seconds = time.perf_counter() - began
    uploads = [effect for effect in reply.effects if isinstance(effect, Upload)]
    if not uploads:
        raise SystemExit(f"{kind} gave no file: {reply}")
    found = {"kind": kind, "bytes": len(uploads[0].content)}
    if trace:
        found["traced_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    else:
        found |= {"seconds": seconds, "peak_mb": memory_mb("VmHWM"), "statements": statements[0]}
    return found


def run_child(kind: str, url: str, trace: bool, timeout: float) -> dict:
    argv = [sys.executable, __file__, "--one", kind, "--database", url] + (["--trace"] if trace else [])
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"kind": kind, "timeout": timeout}
    if done.returncode:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, action="append", help="multiples of one cluster (default: 1 and 10)")
    parser.add_argument("--kind", choices=list(KINDS), action="append", help="which files (default: all)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a child may take")
    parser.add_argument("--database", help="a throwaway database URL (default: a temporary SQLite file)")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument("--one", choices=list(KINDS), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(child(args.one, args.database, args.trace)))
        return 0
    print(f"{'scale':>5} {'file':<15} {'seconds':>8} {'VmHWM MB':>9} {'traced MB':>9} {'SQL':>6} {'KB':>7}")
    for scale in args.scale or [1, 10]:
        with tempfile.TemporaryDirectory() as folder:
            url = args.database or f"sqlite:///{folder}/bench.db"
            began = time.perf_counter()
            fill(url, scale)
            print(f"# {scale}x: filled in {time.perf_counter() - began:.1f} s", flush=True)
            for kind in args.kind or list(KINDS):
                timed = run_child(kind, url, False, args.timeout)
                traced = {} if args.no_trace or "timeout" in timed else run_child(kind, url, True, args.timeout)
                if "timeout" in timed:
                    print(f"{scale:>5} {kind:<15} {'>' + str(int(args.timeout)):>8}  (not finished)", flush=True)
                    continue
                print(f"{scale:>5} {kind:<15} {timed['seconds']:>8.2f} {timed['peak_mb']:>9.0f} "
                      f"{traced.get('traced_mb', float('nan')):>9.1f} {timed['statements']:>6} "
                      f"{timed['bytes'] // 1024:>7}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
