"""Benchmark: a scheduler tick with 100,000 meetings and 300,000 reminders in the database, against a bare
indexed query measured in the same run.

The database (SQLite file, and PostgreSQL when given) is filled with bulk inserts: 10 clusters in 3
workspaces, 100,000 meetings spread over the past 2 years and the next 2 (past ones ended, 2 % cancelled),
3 reminders each (7d, 1d, 1h before: those already due are sent), 5,000 actions (mostly done), 300 closed
polls and a day of handled Slack event ids. On top of that, what a real morning has due at `now`
(Tuesday 24 November 2026, 08:30 Europe/London, so the daily digest runs):

  20 reminders due and unsent, 5 meetings just ended, 3 polls past their deadline, a digest for each owner
  of an open action due within 6 days, and 200 event ids older than a day for housekeeping to forget.

Measured, with the product's own `Clusterbot(db, clock=lambda: now).tick(now)`:
  first tick   finds, claims and renders all of the above (checked against the database afterwards);
               its Posts are then confirmed with `Clusterbot.remember`, as the Slack adapter does;
  steady tick  the next ticks, with nothing due: what every process pays every 30 s, whatever happens;
  floor        one bare SELECT of due, unsent reminder ids, in a read-only session of its own (as each of
               the tick's due queries has), timed the same way. It is answered from the schema's partial
               index ix_reminder_unsent (reminder.due_at WHERE sent_at IS NULL, migration 0007), which
               holds only unsent reminders: the least any "what is due" query can cost on this database.
The steady tick is also split by scheduled job (each job's `due` query alone) next to an empty read-only
session, and each database's query plans are printed for the product's due queries and the floor.

    python bench/tick.py                            # SQLite only; about 15 s
    scripts/with-postgres python bench/tick.py      # SQLite and a throwaway PostgreSQL; under a minute
    python bench/tick.py --postgres-url postgresql://…   # a PostgreSQL server of your own (a scratch
                                                    #   database is created on it and dropped afterwards)
    python bench/tick.py --quick                    # 10× fewer rows, to check it works
    python bench/tick.py --markdown docs/benchmarks.md   # and rewrite its section there

Exit status 1 if a check fails (the first tick did not find exactly the due work, or a steady tick
returned anything).
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402
from sqlalchemy import bindparam, event, func, insert, select, text  # noqa: E402

from commands import Clusterbot  # noqa: E402
from commands.registry import TICKS  # noqa: E402
from commands.results import Direct, Post, plain_text  # noqa: E402
from storage import meetings as meeting_store  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import (  # noqa: E402
    Action,
    AgendaItem,
    Cluster,
    DigestSent,
    HandledEvent,
    Meeting,
    Member,
    Outbox,
    Poll,
    Practice,
    Reminder,
    ShortIdCounter,
)
from storage.types import UTCDateTime  # noqa: E402

TIME_ZONE = "Europe/London"
NOW = datetime(2026, 11, 24, 8, 30, tzinfo=ZoneInfo(TIME_ZONE)).astimezone(UTC)  # a Tuesday, 08:30
TODAY = NOW.astimezone(ZoneInfo(TIME_ZONE)).date()
YEAR = timedelta(days=365)
OFFSETS = (("7d", timedelta(days=7)), ("1d", timedelta(days=1)), ("1h", timedelta(hours=1)))

CLUSTERS, TEAMS, PRACTICES, MEMBERS = 10, 3, 6, 30
DUE_REMINDERS, ENDED_MEETINGS, DUE_POLLS = 20, 5, 3
REPRODUCE = "scripts/with-postgres python bench/tick.py --markdown docs/benchmarks.md"

FLOOR_SQL = "SELECT id FROM reminder WHERE sent_at IS NULL AND due_at <= :now"
FLOOR_INDEX = "ix_reminder_unsent"  # reminder (due_at) WHERE sent_at IS NULL: the schema's own (migration 0007)


@dataclass(frozen=True)
class Scale:
    meetings: int
    actions_per_cluster: int
    closed_polls_per_cluster: int
    recent_events: int
    old_events: int
    repeats: int


FULL = Scale(meetings=100_000, actions_per_cluster=500, closed_polls_per_cluster=30, recent_events=2_000,
             old_events=200, repeats=30)
QUICK = Scale(meetings=10_000, actions_per_cluster=50, closed_polls_per_cluster=3, recent_events=200,
              old_events=20, repeats=10)


@dataclass
class Expected:
    """The work due at NOW, as the data was built."""

    reminders: int = DUE_REMINDERS
    ended: int = ENDED_MEETINGS
    polls: int = DUE_POLLS
    digests: int = 0
    old_events: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # rows per table


@dataclass
class Sample:
    database: str
    what: str
    times: list[float]  # seconds
    note: str = ""

    def median_ms(self) -> float:
        return 1000 * statistics.median(self.times)

    def p95_ms(self) -> float:
        ordered = sorted(self.times)
        return 1000 * ordered[min(len(ordered) - 1, max(0, -(-95 * len(ordered) // 100) - 1))]


@dataclass
class Run:
    database: str
    version: str
    load_seconds: float
    expected: Expected
    samples: list[Sample] = field(default_factory=list)
    checks: list[tuple[bool, str]] = field(default_factory=list)
    plans: list[tuple[str, list[str]]] = field(default_factory=list)


# --- the data ------------------------------------------------------------------------------------

def bulk(session, model, rows: list[dict], batch: int = 5_000) -> None:
    for start in range(0, len(rows), batch):
        session.execute(insert(model), rows[start:start + batch])


def populate(db: Database, scale: Scale) -> Expected:
    """Fill an empty, migrated database; return what is due at NOW."""
    rng = random.Random(20261124)
    expected = Expected(old_events=scale.old_events)
    created = NOW - 2 * YEAR - timedelta(days=30)
    clusters = [dict(id=c, name=f"Cluster {c}", time_zone=TIME_ZONE, reminders="7d,1d,1h", team_id=f"T{c % TEAMS}",
                     enterprise_id=None, channel_id=f"C{c:04d}", created_by=f"U{c:02d}00", created_at=created)
                for c in range(1, CLUSTERS + 1)]
    practices, members = [], []
    for c in range(1, CLUSTERS + 1):
        for p in range(PRACTICES):
            practices.append(dict(id=(c - 1) * PRACTICES + p + 1, cluster_id=c, code=f"8{c:02d}{p:02d}",
                                  name=f"Practice {c}-{p}", created_at=created, archived_at=None))
        for m in range(MEMBERS):
            members.append(dict(cluster_id=c, user_id=f"U{c:02d}{m:02d}", role="lead" if m < 2 else "member",
                                practice_id=(c - 1) * PRACTICES + m % PRACTICES + 1, created_at=created))

    meetings, reminders, agenda = [], [], []
    next_short: Counter[tuple[int, str]] = Counter()

    def meeting(cluster_id: int, starts_at: datetime, minutes: int, status: str = "scheduled",
                ended: bool | None = None) -> dict:
        next_short[cluster_id, "M"] += 1
        end = starts_at + timedelta(minutes=minutes)
        row = dict(id=len(meetings) + 1, cluster_id=cluster_id, short_id=f"M{next_short[cluster_id, 'M']}",
                   title=f"Cluster meeting {len(meetings) + 1}", starts_at=starts_at, minutes=minutes,
                   place="Health centre, room 2", recurrence=None, reminders="7d,1d,1h", status=status,
                   created_by=f"U{cluster_id:02d}00", created_at=min(starts_at - timedelta(days=14), NOW),
                   ended_at=(end if (end <= NOW if ended is None else ended) and status == "scheduled" else None),
                   submission_key=None)
        meetings.append(row)
        for offset, before in OFFSETS:
            due = starts_at - before
            sent = due + timedelta(seconds=20) if due <= NOW else None
            reminders.append(dict(meeting_id=row["id"], offset=offset, due_at=due, claimed_at=sent, sent_at=sent,
                                  skipped=status != "scheduled" and sent is not None))
        return row

    # What is due now: 1h reminders that fell due in the last 20 minutes, and meetings that just ended.
    for k in range(DUE_REMINDERS):
        row = meeting(k % CLUSTERS + 1, NOW + timedelta(hours=1) - timedelta(minutes=k + 1), 60)
        reminders[-1].update(claimed_at=None, sent_at=None)
        agenda += [dict(meeting_id=row["id"], by=f"U{row['cluster_id']:02d}0{i}", text=f"Agenda item {i}",
                        at=NOW - timedelta(days=2)) for i in range(1, 3)]
    for k in range(ENDED_MEETINGS):
        meeting(k % CLUSTERS + 1, NOW - timedelta(minutes=60 + 2 * (k + 1)), 60, ended=False)
    # The rest: a random history and future, none of it due (due reminders are sent, ended meetings marked).
    span = int(4 * YEAR.total_seconds() // 900)
    while len(meetings) < scale.meetings:
        starts_at = NOW - 2 * YEAR + timedelta(minutes=15 * rng.randrange(span))
        meeting(rng.randrange(CLUSTERS) + 1, starts_at, rng.choice((30, 60, 60, 90, 120)),
                status="cancelled" if rng.random() < 0.02 else "scheduled")

    actions, digest_owners = [], set()
    for c in range(1, CLUSTERS + 1):
        for n in range(1, scale.actions_per_cluster + 1):
            owner = f"U{c:02d}{rng.randrange(8):02d}"
            if n <= 4:  # open, due from 10 days ago to 12 days ahead: the digest's material
                due_on, done = TODAY + timedelta(days=rng.randrange(-10, 13)), False
            elif n == 5:  # open, no due date
                due_on, done = None, False
            else:  # the history: done
                due_on, done = TODAY - timedelta(days=rng.randrange(1, 730)), True
            if not done and due_on is not None and due_on <= TODAY + timedelta(days=6):
                digest_owners.add((f"T{c % TEAMS}", owner))
            made = NOW - timedelta(days=rng.randrange(20, 760))
            actions.append(dict(cluster_id=c, short_id=f"A{n}", description=f"Action {n} of cluster {c}", owner=owner,
                                practice_id=None, due_on=due_on, status="done" if done else "open", topic_id=None,
                                meeting_id=None, source_link=None, created_by=f"U{c:02d}00", created_at=made,
                                updated_at=made, done_at=made + timedelta(days=7) if done else None,
                                done_by=owner if done else None, submission_key=None))
        next_short[c, "A"] = scale.actions_per_cluster
    expected.digests = len(digest_owners)

    polls = []

    def poll(cluster_id: int, closes_at: datetime | None, closed: bool) -> None:
        next_short[cluster_id, "P"] += 1
        number = next_short[cluster_id, "P"]
        polls.append(dict(cluster_id=cluster_id, short_id=f"P{number}", question=f"Priority {number}?",
                          options=["Diabetes", "Frailty", "Prescribing"], per_practice=True, anonymous=False,
                          hidden=False, pick=1, closes_at=closes_at, created_by=f"U{cluster_id:02d}00",
                          created_at=(closes_at or NOW) - timedelta(days=7),
                          closed_at=closes_at if closed else None, closed_by="deadline" if closed else None,
                          announced_at=closes_at if closed else None,  # history: its result went out then
                          posted_channel=f"C{cluster_id:04d}", posted_ref=f"1700000000.{cluster_id:02d}{number:04d}",
                          submission_key=None))

    for c in range(1, CLUSTERS + 1):
        for _ in range(scale.closed_polls_per_cluster):
            poll(c, NOW - timedelta(days=rng.randrange(8, 730)), closed=True)
        poll(c, NOW + timedelta(days=rng.randrange(1, 10)), closed=False)  # open, deadline ahead
        poll(c, None, closed=False)                                        # open, no deadline
    for k in range(DUE_POLLS):
        poll(k % CLUSTERS + 1, NOW - timedelta(minutes=k + 1), closed=False)

    events = [dict(event_id=f"Ev{n:08d}", at=NOW - timedelta(seconds=rng.randrange(86_000)))
              for n in range(scale.recent_events)]
    events += [dict(event_id=f"Ev-old{n:06d}", at=NOW - timedelta(days=1, seconds=600 + n))
               for n in range(scale.old_events)]
    counters = [dict(cluster_id=c, prefix=p, last=n) for (c, p), n in next_short.items()]

    tables = [(Cluster, clusters), (Practice, practices), (Member, members), (Meeting, meetings),
              (Reminder, reminders), (AgendaItem, agenda), (Action, actions), (Poll, polls),
              (HandledEvent, events), (ShortIdCounter, counters)]
    with db.session() as session:
        for model, rows in tables:
            bulk(session, model, rows)
    expected.counts = {model.__tablename__: len(rows) for model, rows in tables}
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:  # rows inserted with explicit ids: move the sequences on
            for table in ("cluster", "practice", "meeting"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))
            connection.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))  # as autovacuum would have, on a database in use
    return expected


# --- measuring -----------------------------------------------------------------------------------

def timed(work: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    result = work()
    return time.perf_counter() - began, result


def floor_query(db: Database) -> list:
    query = text(FLOOR_SQL).bindparams(bindparam("now", type_=UTCDateTime()))
    with db.session(read_only=True) as session:  # as the tick asks what is due
        return session.execute(query, {"now": NOW}).all()


def empty_session(db: Database) -> None:
    with db.session(read_only=True) as session:
        session.execute(text("SELECT 1")).all()


def due_alone(db: Database, due) -> list:
    """One scheduled job's `due` query, in a read-only session of its own, as the tick runs it."""
    with db.session(read_only=True) as session:
        return due(session, NOW, TIME_ZONE)


def due_job_name(due) -> str:
    return f"{due.__module__.removeprefix('commands.')}.{due.__name__}"


def captured_selects(db: Database, work: Callable[[], object]) -> list[tuple[str, object]]:
    """The SELECT statements (and their parameters) `work` sends to the database, through either of its
    engines (on SQLite, read-only sessions have one of their own)."""
    seen: list[tuple[str, object]] = []
    engines = {db.engine, db.reader}

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", grab)
    try:
        work()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", grab)
    return seen


def explain(db: Database, statement: str, parameters) -> list[str]:
    with db.reader.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            depth = {0: -1}
            lines = []
            for node, parent, _, detail in rows:
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + detail)
            return lines
        rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters).all()
        return [row[0] for row in rows if not row[0].lstrip().startswith("Planning:")]


def plans(db: Database) -> list[tuple[str, list[str]]]:
    """The plans of the product's due queries for reminders and meeting ends, and of the floor."""
    out = []
    for title, due in (("reminders due (storage.meetings.due_reminders)", meeting_store.due_reminders),
                       ("meetings ended (storage.meetings.ended_meetings)", meeting_store.ended_meetings),
                       ("floor", None)):
        def work(due=due):
            if due is None:
                return floor_query(db)
            with db.session(read_only=True) as session:
                return due(session=session, now=NOW)

        for statement, parameters in captured_selects(db, work):
            out.append((title, [" ".join(statement.split()), *explain(db, statement, parameters)]))
    return out


def measure_steady(db: Database, product: Clusterbot, run: Run, repeats: int) -> bool:
    """Steady-state ticks, floor queries and empty sessions, alternated; True if every tick returned nothing."""
    ticks, floors, empties, quiet = [], [], [], True
    for _ in range(repeats):
        seconds, effects = timed(lambda: product.tick(NOW))
        ticks.append(seconds)
        quiet = quiet and not effects
        floors.append(timed(lambda: floor_query(db))[0])
        empties.append(timed(lambda: empty_session(db))[0])
    run.samples.append(Sample(run.database, "steady tick", ticks, f"nothing due; {len(TICKS)} read-only sessions"))
    due_ids = len(floor_query(db))
    run.samples.append(Sample(run.database, "floor", floors, f"{due_ids} ids"))
    run.samples.append(Sample(run.database, "empty session (SELECT 1)", empties, "read-only, as the tick's"))
    return quiet


def measure(name: str, url: str, scale: Scale) -> Run:
    db = Database(url)
    try:
        db.migrate()
        version = db.engine.dialect.server_version_info
        load, expected = timed(lambda: populate(db, scale))
        print(f"{name}: loaded {sum(expected.counts.values()):,} rows in {load:.1f} s", file=sys.stderr)
        run = Run(name, ".".join(map(str, version or ())), load, expected)
        product = Clusterbot(db, TIME_ZONE, clock=lambda: NOW)

        seconds, effects = timed(lambda: product.tick(NOW))
        kinds = Counter(type(e).__name__ for e in effects)
        run.samples.append(Sample(name, "first tick", [seconds],
                                  ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))))
        check_first_tick(db, run, effects)
        for effect in effects:  # delivered: the adapter confirms each kept message
            if isinstance(effect, Post) and effect.key:
                product.remember(effect.key, effect.channel, "1700000001.000100")

        quiet = measure_steady(db, product, run, scale.repeats)
        run.checks.append((quiet, f"{scale.repeats} steady ticks returned nothing"))
        run.plans = plans(db)  # in the steady state: nothing due
        floor_plan = "\n".join(line for title, lines in run.plans if title == "floor" for line in lines[1:])
        sample(run, "floor").note += f"; {'' if FLOOR_INDEX in floor_plan else 'NOT '}via {FLOOR_INDEX}"
        for due, _ in TICKS:
            times = [timed(lambda due=due: due_alone(db, due))[0] for _ in range(scale.repeats)]
            run.samples.append(Sample(name, f"  due: {due_job_name(due)}", times, "in steady tick"))
        return run
    finally:
        db.dispose()


def check_first_tick(db: Database, run: Run, effects: list) -> None:
    exp = run.expected
    reminder_posts = [e for e in effects if isinstance(e, Post) and "Reminder:" in plain_text(e.reply)]
    with db.session() as session:
        def count(query) -> int:
            return session.execute(query).scalar_one()

        # A reminder is claimed and queued in one transaction: sent, as far as the scheduler goes.
        claimed = count(select(func.count()).select_from(Reminder).where(Reminder.claimed_at == NOW,
                                                                          Reminder.sent_at == NOW))
        # The cards of polls it closed are updated through the outbox, by the platform's own delivery.
        updates = count(select(func.count()).select_from(Outbox).where(Outbox.kind == "update"))
        ended = count(select(func.count()).select_from(Meeting).where(Meeting.ended_at == NOW))
        closed = count(select(func.count()).select_from(Poll).where(Poll.closed_at == NOW))
        digests = count(select(func.count()).select_from(DigestSent).where(DigestSent.day == TODAY))
        old = count(select(func.count()).select_from(HandledEvent).where(HandledEvent.at < NOW - timedelta(days=1)))
    others = [e for e in effects if isinstance(e, Post) and e not in reminder_posts]
    run.checks += [
        (len(reminder_posts) == exp.reminders == claimed,
         f"reminders: {len(reminder_posts)} reminder Posts, {claimed} claimed (want {exp.reminders})"),
        (ended == exp.ended, f"meetings ended: {ended} marked ended (want {exp.ended})"),
        (closed == exp.polls, f"polls closed at deadline: {closed} (want {exp.polls})"),
        (len(others) == exp.ended + exp.polls,
         f"channel posts for ends and closes: {len(others)} (want {exp.ended + exp.polls})"),
        (updates == exp.polls, f"poll cards to update, in the outbox: {updates} (want {exp.polls})"),
        (digests == exp.digests == sum(isinstance(e, Direct) for e in effects),
         f"digests: {sum(isinstance(e, Direct) for e in effects)} DMs, {digests} claimed (want {exp.digests})"),
        (old == 0, f"housekeeping: {exp.old_events - old} of {exp.old_events} old event ids forgotten"),
    ]


# --- reporting -----------------------------------------------------------------------------------

HEADER = ("database", "measurement", "runs", "median ms", "p95 ms", "vs floor", "notes")


def table_rows(runs: list[Run]) -> list[tuple[str, ...]]:
    """A row per sample; *vs floor* for what was measured in the steady state (not the first tick)."""
    rows = []
    for run in runs:
        floor = sample(run, "floor")
        for s in run.samples:
            ratio = "" if s is floor or s.what == "first tick" else f"{s.median_ms() / floor.median_ms():.1f}×"
            p95 = f"{s.p95_ms():.2f}" if len(s.times) > 1 else ""
            rows.append((s.database, s.what, str(len(s.times)), f"{s.median_ms():.2f}", p95, ratio, s.note))
    return rows


def sample(run: Run, what: str) -> Sample:
    return next(s for s in run.samples if s.what == what)


def where_it_goes(run: Run) -> str:
    """One sentence: the steady tick against the floor, its due queries and its sessions."""
    tick, floor = sample(run, "steady tick").median_ms(), sample(run, "floor").median_ms()
    empty = sample(run, "empty session (SELECT 1)").median_ms()
    due = [s for s in run.samples if s.what.lstrip().startswith("due:")]
    dues, slowest = sum(s.median_ms() for s in due), max(due, key=Sample.median_ms)
    return (f"{run.database}: a steady tick takes {tick:.2f} ms, {tick / floor:.1f}× the floor's {floor:.2f} ms; "
            f"its {len(TICKS)} due queries, each alone in its session, add up to {dues:.2f} ms (the slowest "
            f"`{slowest.what.strip().removeprefix('due: ')}` {slowest.median_ms():.2f} ms), and "
            f"{len(TICKS)} empty sessions to {len(TICKS) * empty:.2f} ms.")


def plan_text(run: Run) -> str:
    out = []
    for title, lines in run.plans:
        out.append(f"{run.database}, {title}:\n    " + lines[0] + "\n" + "\n".join("    " + x for x in lines[1:]))
    return "\n".join(out)


def markdown_section(runs: list[Run], scale: Scale, skipped: str | None) -> str:
    counts = runs[0].expected.counts
    sizes = ", ".join(f"{table} {n:,}" for table, n in counts.items() if n)
    checks = "\n".join(f"- {run.database}: {'ok' if ok else 'FAILED'} — {what}"
                       for run in runs for ok, what in run.checks)
    loads = "; ".join(f"{run.database} {run.version} loaded in {run.load_seconds:.1f} s" for run in runs)
    summary = "\n".join(f"- {where_it_goes(run)}" for run in runs)
    plans_ = "\n\n".join(plan_text(run) for run in runs)
    rows = [tuple(cell.strip() for cell in row) for row in table_rows(runs)]
    skip = f"\n{skipped}\n" if skipped else ""
    return f"""## Scheduler tick over a large history (`Clusterbot.tick`)

{common.markdown_table(HEADER, rows)}
{skip}
{summary}

Rows in the database: {sizes}.

Checks:

{checks}

{common.measured_on()} {loads}.

How: `bench/tick.py` migrates a fresh database (a SQLite file in WAL mode; PostgreSQL: a scratch database \
on the server of `scripts/with-postgres`, fsync off, `VACUUM ANALYZE`d after loading as autovacuum would be) \
and fills it with bulk inserts: {CLUSTERS} clusters in {TEAMS} workspaces, {counts['meeting']:,} meetings \
spread evenly over the past 2 years and the next 2 (past ones ended, 2 % cancelled), 3 reminders per meeting \
(7d, 1d, 1h before; those already due are sent), actions (mostly done) and closed polls over the past 2 years, \
and a day of handled event ids. `now` is Tuesday {NOW.astimezone(ZoneInfo(TIME_ZONE)):%-d %B %Y %H:%M} \
{TIME_ZONE}, when there are due: {DUE_REMINDERS} reminders, {ENDED_MEETINGS} meetings just ended, {DUE_POLLS} \
polls past their deadline, the daily digests, and {scale.old_events} event ids older than a day. *first tick* \
is one `Clusterbot(db, clock=lambda: now).tick(now)`: it finds, claims and renders all of that (checked \
against the database above); its Posts are then confirmed with `Clusterbot.remember` as the Slack adapter \
does. *steady tick* is each following tick, with nothing due: what every bot process pays every 30 s. It \
asks each of the {len(TICKS)} scheduled jobs what is due, each in a read-only session of its own \
(`Database.session(read_only=True)`). *floor* is one bare `{FLOOR_SQL}` in one such session, timed the same \
way: the least a "what is due" question can cost. It is answered from the schema's partial index \
`{FLOOR_INDEX}` (`reminder (due_at) WHERE sent_at IS NULL`, from migration 0007), which holds only unsent \
reminders, so it reads none of the sent history (see the plans below); migration 0007 also adds \
`ix_meeting_not_ended` (`meeting (starts_at) WHERE ended_at IS NULL AND status = 'scheduled'`) for the \
meetings-ended query. Steady ticks, floors and empty sessions alternate. The *due:* rows are each scheduled \
job's `due` query alone (in a read-only session of its own) and *empty session* is such a session running \
only `SELECT 1`: together they show where a steady tick goes. *vs floor* is the median against the floor's \
median; p95 is the nearest-rank 95th percentile of {scale.repeats} runs.

Query plans of the product's due queries for reminders and ended meetings, and of the floor, in the steady \
state (SQLite: `EXPLAIN QUERY PLAN`; PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)`):

```
{plans_}
```

Reproduce (this section only; `bench/run` reruns every benchmark):

```
{REPRODUCE}
```
"""


# --- the run -------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10× fewer rows, to check it works")
    parser.add_argument("--repeats", type=int, help="steady ticks and floors measured (default 30; 10 with --quick)")
    parser.add_argument("--postgres-url", metavar="URL", default=os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL server to measure too (default: $TEST_DATABASE_URL)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the results as a section of PATH")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = QUICK if args.quick else FULL
    if args.repeats:
        scale = Scale(**{**scale.__dict__, "repeats": args.repeats})
    runs = []
    with tempfile.TemporaryDirectory(prefix="clusterbot-bench-tick-") as workdir:
        runs.append(measure("sqlite", f"sqlite:///{Path(workdir) / 'tick.db'}", scale))
    skipped = None
    if args.postgres_url:
        with common.ScratchDatabase(args.postgres_url, "clusterbot_bench_tick") as url:
            runs.append(measure("postgresql", url, scale))
    else:
        skipped = ("PostgreSQL skipped: no --postgres-url and no TEST_DATABASE_URL. "
                   "Run `scripts/with-postgres python bench/tick.py` to include it.")
    rows = table_rows(runs)
    print(common.text_table(HEADER, rows, left=(1, 6)))
    for run in runs:
        for ok, what in run.checks:
            print(f"{run.database}: {'ok' if ok else 'FAILED'} — {what}")
    for run in runs:
        print(where_it_goes(run))
    print()
    for run in runs:
        print(plan_text(run))
    if skipped:
        print(skipped, file=sys.stderr)
    if args.markdown:
        common.write_section(args.markdown, markdown_section(runs, scale, skipped))
    failed = [what for run in runs for ok, what in run.checks if not ok]
    if failed:
        print(f"FAILED: {len(failed)} check(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
