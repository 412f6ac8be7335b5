"""Benchmark: national scale — every command a member or lead runs, in one cluster among N on one database,
against the same cluster alone in a database of its own (the floor), measured in the same run.

What is built (bulk inserts of rows shaped as the product's storage writes them: short ids, statuses,
foreign keys, unique keys), in two databases:

  deployment  N filler clusters (default 150, in 14 workspaces, one per health board) of one typical
              cluster's shape, and three TARGET clusters holding 1×, 10× and 100× that shape's data;
  alone       the 1× target, the very same rows (same seed, channel and people), with no neighbours.

A typical cluster (1×): 7 practices, 150 members (2 leads), 25 topics (with their moves and notes), 90
meetings over two years (80 past and ended, with agenda items, attendance, minute lines and decisions;
10 ahead with unsent reminders), 900 actions (85 % done, one in ten with notes, 60 % from a meeting),
30 polls (2 open) with one ballot per practice, 20 monthly measures with a point per practice for each
of 24 months (3,320 points: the last month is not in yet from two practices, whose members are owed
data-due reminders). At 10× and 100× everything but the practices is multiplied (100×: 90,000 actions,
336,000 points, 15,000 members). Rows of all clusters are generated side by side (round robin, weighted
by size), so a cluster's rows are spread through each table as a real deployment's are, not contiguous.

Measured, through the platform-free driver (testkit/driver.py: `Clusterbot.handle`, then `finish` for a
command's slow part, delivered to a recording platform), with the product's clock at Thursday 26
November 2026 10:00 London:
  commands   each user-facing read (who, lists, agenda, charts, the Home, the report, the exports), as
             the cluster's lead (who is in a practice and owns actions); the median of --repeats runs
             (3; once at the largest target), each command first run once on the 1× target to warm the
             process up. The commands run in a child process per database (the floor's, the deployment's);
             a command that takes more than --cap seconds (60) is stopped, reported as "> 60 s", and the
             rest go on in a new child.
  memory     peak resident set (VmHWM, reset with /proc/self/clear_refs before each command) of the
             exports and the report at the largest target, in that child process (after warm-up).
  tick       `Clusterbot(db, clock=…).tick(now)`: now falls after the month's data-due reminder day,
             so every cluster with active measures is "due" all month: a first tick (sends reminders,
             digests), then steady ticks, each timed, on the deployment and on the alone database.
Targets (issue "National scale on one database"): each command at 1× ≤ 1.3× its time alone; an idle
tick ≤ 50 ms at 150 clusters; the exports' and report's peak < 250 MB at 100×.

    python bench/national.py                          # SQLite: 150 clusters; several minutes
    python bench/national.py --quick                  # 10 clusters, targets 1×/2×/4×: under a minute
    scripts/with-postgres python bench/national.py    # SQLite and a throwaway PostgreSQL
    python bench/national.py --postgres-url postgresql://…   # a server of your own (scratch databases)
    python bench/national.py --clusters 300 --markdown docs/benchmarks.md

Exit status 1 if a command was refused or failed (a target missed is reported, not a failure).
"""

import argparse
import gc
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

import storage.models  # noqa: E402, F401  (the tables, in SQLModel's metadata)
from storage.db import Database  # noqa: E402
from testkit.clock import START as NOW  # noqa: E402  Thursday 26 November 2026, 10:00 London

TIME_ZONE = "Europe/London"
TEAMS = 14                 # workspaces: one per health board
PRACTICES = 7
MONTHS = 24
BATCH = 5_000              # rows per executemany
CAP_SECONDS = 60.0
RATIO_TARGET, TICK_TARGET_MS, MEMORY_TARGET_MB = 1.3, 50.0, 250
REPRODUCE = "scripts/with-postgres python bench/national.py --markdown docs/benchmarks.md"
HEADING = "## National scale"


@dataclass(frozen=True)
class Shape:
    """One cluster's data; `times(k)` is k times as much of everything but its practices."""

    members: int = 150
    topics: int = 25
    past_meetings: int = 80
    future_meetings: int = 10
    actions: int = 900
    polls: int = 30
    measures: int = 20

    def times(self, k: int) -> "Shape":
        return Shape(**{name: value * k for name, value in self.__dict__.items()})


TYPICAL = Shape()


@dataclass(frozen=True)
class Scale:
    clusters: int
    factors: tuple[int, int, int]
    repeats: int
    steady_ticks: int


FULL = Scale(clusters=150, factors=(1, 10, 100), repeats=3, steady_ticks=10)
QUICK = Scale(clusters=10, factors=(1, 2, 4), repeats=1, steady_ticks=5)


@dataclass(frozen=True)
class Target:
    """A cluster whose commands are timed, as built: where it is, who asks, which ids to ask about."""

    label: str      # "alone", "1×", "10×", "100×"
    factor: int
    index: int      # the cluster's number: its channel, team and people's ids derive from it
    channel: str
    team: str
    lead: str
    next_meeting: str
    measure: str


def channel_of(index: int) -> str:
    return f"C{index:06d}"


def team_of(index: int) -> str:
    return f"T{index % TEAMS:02d}"


def user_of(index: int, m: int) -> str:
    return f"U{index:06d}{m:05d}"


def target_of(label: str, factor: int, index: int) -> Target:
    return Target(label, factor, index, channel_of(index), team_of(index), user_of(index, 0),
                  f"M{TYPICAL.past_meetings * factor + 1}", "D1")


# --- the data ------------------------------------------------------------------------------------

class Loader:
    """Rows into one connection in batches. Ids are handed out here, as rows are made (so rows made
    side by side get interleaved ids, as in a database in use); a flush writes every table's rows in
    the schema's dependency order, so a row's parents are always in before it."""

    def __init__(self, connection):
        self.connection = connection
        self.ids: dict[str, int] = {}
        self.rows: dict[str, list[dict]] = {}
        self.pending = 0
        self.counts: dict[str, int] = {}

    def id(self, table: str) -> int:
        self.ids[table] = self.ids.get(table, 0) + 1
        return self.ids[table]

    def add(self, table: str, row: dict) -> None:
        self.rows.setdefault(table, []).append(row)
        self.pending += 1
        if self.pending >= BATCH:
            self.flush()

    def flush(self) -> None:
        for table in SQLModel.metadata.sorted_tables:
            rows = self.rows.pop(table.name, None)
            if rows:
                self.connection.execute(insert(table), rows)
                self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)
        self.pending = 0


def cluster_rows(load: Loader, index: int, factor: int) -> Iterator[None]:
    """One cluster of `factor` times the typical shape, row by row (yields after each row, so clusters
    can be made side by side). The same `index` and `factor` make the same rows in any database."""
    rng = random.Random(f"cluster-{index}-{factor}")
    shape = TYPICAL.times(factor)
    start = NOW - timedelta(days=2 * 365 + 30)
    lead, channel = user_of(index, 0), channel_of(index)

    cluster_id = load.id("cluster")
    load.add("cluster", dict(id=cluster_id, name=f"Cluster {index}", time_zone=TIME_ZONE, reminders="7d,1d",
                             team_id=team_of(index), enterprise_id=None, channel_id=channel, created_by=lead,
                             created_at=start, platform="slack"))
    yield
    practices = []
    for p in range(PRACTICES):
        practices.append(load.id("practice"))
        load.add("practice", dict(id=practices[-1], cluster_id=cluster_id, code=f"{(index * 7 + p) % 90000 + 10000}",
                                  name=f"Practice {p + 1} of cluster {index}", created_at=start, archived_at=None))
        yield
    # Member 0: a lead in practice 0; member 1: a lead in no practice (a CQL); then practices in turn.
    people = [user_of(index, m) for m in range(shape.members)]
    practice_of = {people[0]: practices[0], people[1]: None}
    for m, user in enumerate(people):
        practice_of.setdefault(user, practices[(m - 2) % PRACTICES])
        load.add("member", dict(id=load.id("member"), cluster_id=cluster_id, user_id=user,
                                practice_id=practice_of[user], role="lead" if m < 2 else "member",
                                created_at=start + timedelta(minutes=m)))
        yield
    owners = people[:min(len(people), 40 * factor)]  # the people who take actions on

    def at(fraction: float) -> datetime:  # a moment in the cluster's two years, 0 … 1
        return start + timedelta(days=30 + 730 * fraction, minutes=rng.randrange(600))

    # Topics: the lifecycle's statuses, with their moves (and notes on active ones).
    statuses = ["active"] * 8 + ["done"] * 4 + ["agreed"] * 3 + ["proposed"] * 3 + ["dropped"] * 2
    topics, active = [], []
    for n in range(shape.topics):
        topic_id, status, made = load.id("topic"), statuses[n % len(statuses)], at(n / shape.topics * 0.9)
        topics.append(topic_id)
        if status == "active":
            active.append(topic_id)
        load.add("topic", dict(id=topic_id, cluster_id=cluster_id, short_id=f"T{n + 1}",
                               title=f"Reduce variation in {rng.choice(SUBJECTS)} ({n + 1})",
                               why="Variation between practices", aim="Halve it within a year",
                               measure="Monthly search", source="practices", practice_id=None, status=status,
                               proposed_by=rng.choice(owners), submission_key=None, created_at=made,
                               updated_at=made + timedelta(days=20)))
        yield
        load.add("topic_move", dict(id=load.id("topic_move"), topic_id=topic_id, by=lead, from_status=None,
                                    to_status="proposed", reason="", at=made))
        if status != "proposed":
            load.add("topic_move", dict(id=load.id("topic_move"), topic_id=topic_id, by=lead,
                                        from_status="proposed", to_status=status,
                                        reason="Not for now" if status == "dropped" else "",
                                        at=made + timedelta(days=20)))
        if status == "active":
            for step in ("plan", "do"):
                load.add("topic_note", dict(id=load.id("topic_note"), topic_id=topic_id, by=lead, step=step,
                                            text=f"{step.title()}: search run in every practice",
                                            at=made + timedelta(days=30)))
        yield

    # Meetings: past ones ended (reminders sent), a few cancelled; future ones with reminders to come.
    meetings_past = []
    total = shape.past_meetings + shape.future_meetings
    for n in range(total):
        meeting_id, past = load.id("meeting"), n < shape.past_meetings
        if past:
            starts = NOW - timedelta(days=730) + timedelta(days=725 * n / shape.past_meetings, hours=3)
        else:
            ahead = n - shape.past_meetings
            starts = NOW + timedelta(days=8 + 365 * ahead / shape.future_meetings, hours=3)
        cancelled = past and rng.random() < 0.03
        load.add("meeting", dict(id=meeting_id, cluster_id=cluster_id, short_id=f"M{n + 1}",
                                 title=f"Cluster QI meeting {n + 1}", starts_at=starts, minutes=90,
                                 place="Health centre, room 2", recurrence=None, reminders="7d,1d",
                                 status="cancelled" if cancelled else "scheduled", created_by=lead,
                                 created_at=min(starts - timedelta(days=21), NOW),
                                 ended_at=starts + timedelta(minutes=90) if past and not cancelled else None,
                                 submission_key=None))
        yield
        for offset, before in (("7d", timedelta(days=7)), ("1d", timedelta(days=1))):
            sent = starts - before + timedelta(seconds=20) if past else None
            load.add("reminder", dict(id=load.id("reminder"), meeting_id=meeting_id, offset=offset,
                                      due_at=starts - before, claimed_at=sent, sent_at=sent,
                                      skipped=cancelled))
        for i in range(3):
            load.add("agenda_item", dict(id=load.id("agenda_item"), meeting_id=meeting_id, by=rng.choice(owners),
                                         text=f"Agenda item {i + 1}: {rng.choice(SUBJECTS)}",
                                         at=min(starts - timedelta(days=3), NOW)))
        yield
        if past and not cancelled:
            meetings_past.append(meeting_id)
            for p, practice_id in enumerate(practices[:6]):
                load.add("attendance", dict(id=load.id("attendance"), meeting_id=meeting_id,
                                            attendee=f"practice:{practice_id}", practice_id=practice_id,
                                            user_id=None, present=p < 5, by=lead, at=starts))
            for i in range(2):
                load.add("minute_line", dict(id=load.id("minute_line"), meeting_id=meeting_id, by=lead,
                                             text=f"Discussed {rng.choice(SUBJECTS)} ({i + 1})", at=starts))
            if n % 2 == 0:
                load.add("decision", dict(id=load.id("decision"), cluster_id=cluster_id, meeting_id=meeting_id,
                                          topic_id=rng.choice(topics), by=lead,
                                          text=f"Agreed to audit {rng.choice(SUBJECTS)}", at=starts))
            yield

    # Actions: most done; open ones overdue, due this week, later or undated; notes on one in ten.
    today = NOW.date()
    for n in range(shape.actions):
        action_id, made = load.id("action"), at(n / shape.actions * 0.97)
        done = rng.random() < 0.85
        due = rng.random()
        due_on = (made.date() + timedelta(days=rng.randrange(7, 60)) if done
                  else None if due < 0.15 else today - timedelta(days=rng.randrange(1, 90)) if due < 0.45
                  else today + timedelta(days=rng.randrange(0, 7)) if due < 0.6
                  else today + timedelta(days=rng.randrange(7, 120)))
        owner = owners[n % len(owners)]
        load.add("action", dict(id=action_id, cluster_id=cluster_id, short_id=f"A{n + 1}",
                                description=f"{rng.choice(WORK)} {rng.choice(SUBJECTS)}", owner=owner,
                                practice_id=practice_of[owner], due_on=due_on, status="done" if done else "open",
                                topic_id=rng.choice(topics) if n % 3 == 0 else None,
                                meeting_id=(meetings_past[min(len(meetings_past) - 1, int(n / shape.actions
                                                                                          * len(meetings_past)))]
                                            if rng.random() < 0.6 and meetings_past else None),
                                source_link=None, created_by=lead, created_at=made,
                                updated_at=made + timedelta(days=10) if done else made,
                                done_at=made + timedelta(days=10) if done else None,
                                done_by=owner if done else None, submission_key=None))
        if n % 10 == 0:
            for k in range(1 + n % 2):
                load.add("action_note", dict(id=load.id("action_note"), action_id=action_id, by=lead,
                                             text=f"Chased {k + 1}", at=made + timedelta(days=3 + k)))
        yield

    # Polls: one ballot per practice; most closed (at their deadline and announced, or by a lead).
    for n in range(shape.polls):
        poll_id, made = load.id("poll"), at(n / shape.polls * 0.98)
        open_ = n % 15 == 14
        by_deadline = n % 2 == 0
        closes = (NOW + timedelta(days=3 + n % 10) if open_ else made + timedelta(days=7) if by_deadline else None)
        closed = None if open_ else (closes if by_deadline else made + timedelta(days=5))
        load.add("poll", dict(id=poll_id, cluster_id=cluster_id, short_id=f"P{n + 1}",
                              question=f"Which topic next ({n + 1})?", options=["Asthma", "Frailty", "Polypharmacy"],
                              per_practice=True, anonymous=False, hidden=False, pick=1, closes_at=closes,
                              created_by=lead, created_at=made, closed_at=closed,
                              closed_by=None if open_ else "deadline" if by_deadline else lead,
                              announced_at=closed if by_deadline else None, posted_channel=channel,
                              posted_ref=f"1700000000.{poll_id:06d}", submission_key=None))
        for p, practice_id in enumerate(practices):
            caster = people[2 + p]  # in practice p
            load.add("ballot", dict(id=load.id("ballot"), poll_id=poll_id, voter_key=f"practice:{practice_id}",
                                    practice_id=practice_id, cast_by=caster, choices=str(rng.randint(1, 3)),
                                    cast_at=made + timedelta(hours=p + 1)))
            load.add("ballot_caster", dict(poll_id=poll_id, user_id=caster, practice_id=practice_id))
        yield

    # Measures: monthly, a point per practice for each of the last MONTHS months; the last month not in
    # yet from two of the practices (so data-due reminders are owed to their members).
    periods = [_month(today, -k) for k in range(MONTHS, 0, -1)]
    late = (index % PRACTICES, (index + 3) % PRACTICES)  # two practices' data for last month not in yet
    for n in range(shape.measures):
        measure_id = load.id("measure")
        load.add("measure", dict(id=measure_id, cluster_id=cluster_id, short_id=f"D{n + 1}",
                                 topic_id=active[n % len(active)],
                                 name=f"Patients with {rng.choice(SUBJECTS)} reviewed",
                                 definition="Reviewed in the last 12 months / on the register", unit="percent",
                                 rate_per=1000, higher_is_better=True, frequency="monthly", goal=80.0, chart="ihi",
                                 rebases=[], status="active", created_by=lead, created_at=start,
                                 updated_at=start, retired_at=None, retired_by=None, submission_key=None))
        yield
        for period in periods:
            for p, practice_id in enumerate(practices):
                if period == periods[-1] and p in late:
                    continue
                denominator = rng.randint(80, 400)
                numerator = rng.randint(denominator // 3, denominator)
                load.add("measure_point", dict(id=load.id("measure_point"), measure_id=measure_id,
                                               practice_id=practice_id, period=period, numerator=float(numerator),
                                               denominator=float(denominator),
                                               value=round(100 * numerator / denominator, 1),
                                               recorded_by=people[2 + p],
                                               recorded_at=datetime.combine(period, datetime.min.time(), UTC)
                                               + timedelta(days=40)))
            yield
    for prefix, last in (("T", shape.topics), ("M", total), ("A", shape.actions), ("P", shape.polls),
                         ("D", shape.measures)):
        load.add("short_id_counter", dict(cluster_id=cluster_id, prefix=prefix, last=last))
    yield


def _month(today: date, months: int) -> date:
    """The first day of the month `months` from today's."""
    number = today.year * 12 + today.month - 1 + months
    return date(number // 12, number % 12 + 1, 1)


WORK = ["Audit", "Review", "Recall", "Update", "Check", "Agree", "Send letters for", "Share findings on"]
SUBJECTS = ["asthma discharges", "frailty register", "polypharmacy in over-75s", "DOAC monitoring",
            "cervical screening uptake", "learning disability health checks", "diabetic foot checks",
            "hypertension targets", "COPD rescue packs", "palliative care register"]


def build(url: str, clusters: list[tuple[int, int]]) -> tuple[dict[str, int], float]:
    """Migrate a fresh database and fill it with `clusters` (index, factor), made side by side, each
    taking turns in proportion to its size. The rows per table, and the seconds it took."""
    began = time.perf_counter()
    db = Database(url)
    try:
        db.migrate()
        with db.engine.connect() as connection:
            load = Loader(connection)
            makers = [(cluster_rows(load, index, factor), 8 * factor) for index, factor in clusters]
            while makers:
                for maker in list(makers):
                    rows, turn = maker
                    for _ in range(turn):
                        if next(rows, StopIteration) is StopIteration:
                            makers.remove(maker)
                            break
            load.flush()
            connection.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:  # rows inserted with explicit ids: move the sequences on
                for table, last in load.ids.items():
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})"))
                connection.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))  # as autovacuum would have, on a database in use
        return load.counts, time.perf_counter() - began
    finally:
        db.dispose()


# --- the commands ----------------------------------------------------------------------------------

HOME = "Home"
# The agenda's run-chart signals are worked out once per revision of each measure and kept by the
# process: its plain row is a view after one untimed view of the same cluster; this row, the first view
# after every measure's data changed (nothing kept), which is what a recording costs the next viewer.
FIRST_VIEW = " (first view after new data)"
VIEWED_BEFORE = ("/meeting agenda {meeting}",)
COMMANDS = (
    "/cluster who", "/cluster decisions", "/topic list", "/poll list", "/action list", "/action list mine",
    "/action list overdue", "/meeting list", "/meeting list past", "/meeting agenda {meeting}",
    "/meeting agenda {meeting}" + FIRST_VIEW,
    "/measure list", "/measure data {measure}", "/measure chart {measure}", HOME,
    "/cluster report", "/action export all", "/measure export", "/cluster export",
)
HEAVY = ("/cluster report", "/action export all", "/measure export", "/cluster export")  # memory rows


@dataclass
class Job:
    command: str        # as in COMMANDS
    target: Target
    warm: Target | None  # first run once on this (the 1× target), or on `target` itself (not counted), in
    repeats: int         # each process that runs the command


def typed(command: str, target: Target) -> str:
    return command.removesuffix(FIRST_VIEW).format(meeting=target.next_meeting, measure=target.measure)


def memory_mb(field_name: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field_name} in /proc/self/status")


def reset_peak() -> bool:
    """Reset VmHWM to the current resident set (Linux 4.0+); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def _commands_child(pipe, url: str, jobs: list[Job]) -> None:
    """A child process: each job warmed up, then timed; ("started", i) and ("done", i, …) back up the pipe."""
    from commands import Clusterbot
    from commands.kept import Kept
    from commands.results import Tone, Upload, plain_text
    from testkit.driver import Driver

    db = Database(url)
    db.ensure_schema()
    product = Clusterbot(db, TIME_ZONE, clock=lambda: NOW)
    drivers: dict[str, Driver] = {}

    def run(command: str, target: Target) -> str:
        """One command as the target's lead; "" if it did its work, else what went wrong."""
        driver = drivers.get(target.channel) or drivers.setdefault(
            target.channel, Driver(product, channel=target.channel, team=target.team))
        driver.forget()
        if command.endswith(FIRST_VIEW):
            product.kept = Kept()  # as if every measure had new data since the last view
        if command == HOME:
            reply = product.home(target.lead, target.team)
            return "" if reply.tone != Tone.PROBLEM and "Your open actions" in plain_text(reply) else plain_text(reply)
        said = driver.say(typed(command, target), user=target.lead)
        for reply in (said.reply, said.later):
            if reply is not None and reply.tone == Tone.PROBLEM:
                return plain_text(reply)[:200]
        if product.has_later(*typed(command, target).split(" ", 1)) and not any(
                isinstance(effect, Upload) for effect in said.later.effects):
            return "its slow part gave no file"
        return ""

    warmed: set[str] = set()
    for i, job in enumerate(jobs):
        problem = ""
        if job.command not in warmed:  # its modules imported, its statements compiled: once per process
            problem = run(job.command, job.warm or job.target)
            warmed.add(job.command)
        if job.command in VIEWED_BEFORE:
            problem = run(job.command, job.target) or problem
        pipe.send(("started", i))
        gc.collect()
        resettable = reset_peak()
        before, times = memory_mb("VmRSS"), []
        for _ in range(job.repeats):
            began = time.perf_counter()
            problem = run(job.command, job.target) or problem
            times.append(time.perf_counter() - began)
        peak = memory_mb("VmHWM") if resettable else float("nan")
        pipe.send(("done", i, times, problem, before, peak))
    pipe.close()
    db.dispose()


@dataclass
class Result:
    command: str
    label: str
    times: list[float] = field(default_factory=list)  # seconds; empty if it ran out of time
    problem: str = ""
    before_mb: float = float("nan")
    peak_mb: float = float("nan")
    capped: float | None = None  # the cap it ran past, in seconds

    def ms(self) -> float:
        return 1000 * statistics.median(self.times) if self.times else float("inf")


def run_jobs(url: str, jobs: list[Job], cap: float) -> list[Result]:
    """The jobs in a child process; one that runs past `cap` seconds a run is stopped, reported, and the
    rest go on in a new child."""
    context = multiprocessing.get_context("spawn")
    results: list[Result] = []
    while jobs:
        mine, theirs = context.Pipe(duplex=False)
        child = context.Process(target=_commands_child, args=(theirs, url, jobs))
        child.start()
        theirs.close()
        done = 0
        try:
            while done < len(jobs):
                job = jobs[done]
                waited = 600.0  # its warm-up (on the 1× target, or on itself) and the child's start
                if not mine.poll(waited):
                    raise TimeoutError
                kind, *_ = mine.recv()
                assert kind == "started"
                if not mine.poll(cap * job.repeats + 5):
                    raise TimeoutError
                _, _, times, problem, before, peak = mine.recv()
                results.append(Result(job.command, job.target.label, times, problem, before, peak))
                print(f"  {job.target.label:>5} {typed(job.command, job.target):<28} "
                      f"{results[-1].ms():9.1f} ms  peak {peak:5.0f} MB {problem}", file=sys.stderr)
                done += 1
            child.join()
            jobs = []
        except (TimeoutError, EOFError) as stopped:
            child.kill()
            child.join()
            job = jobs[done]
            what = "ran past the cap" if isinstance(stopped, TimeoutError) else "its process died"
            results.append(Result(job.command, job.target.label, [], "" if isinstance(stopped, TimeoutError)
                                  else what, capped=cap))
            print(f"  {job.target.label:>5} {typed(job.command, job.target):<28} > {cap:.0f} s ({what})",
                  file=sys.stderr)
            jobs = jobs[done + 1:]
    return results


# --- the tick --------------------------------------------------------------------------------------

@dataclass
class Tick:
    database: str
    clusters: int
    first_ms: float
    first_effects: str
    steady: list[float]  # seconds
    due: list[tuple[str, float, int, float]]  # per scheduled job: name, due query ms, items due, their runs' ms

    def steady_ms(self) -> float:
        return 1000 * statistics.median(self.steady)


def measure_tick(url: str, database: str, clusters: int, repeats: int) -> Tick:
    from collections import Counter

    from commands import Clusterbot
    from commands.registry import TICKS
    from commands.results import Post

    db = Database(url)
    try:
        product = Clusterbot(db, TIME_ZONE, clock=lambda: NOW)
        began = time.perf_counter()
        effects = product.tick(NOW)
        first = time.perf_counter() - began
        for effect in effects:  # delivered: the adapter confirms each kept message
            if isinstance(effect, Post) and effect.key:
                product.remember(effect.key, effect.channel, "1700000001.000100")
        kinds = Counter(type(e).__name__ for e in effects)
        steady = []
        for _ in range(repeats):
            began = time.perf_counter()
            product.tick(NOW)
            steady.append(time.perf_counter() - began)
        due = where_a_tick_goes(product, TICKS)
        return Tick(database, clusters, 1000 * first, ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())),
                    steady, due)
    finally:
        db.dispose()


def where_a_tick_goes(product, ticks: list) -> list[tuple[str, float, int, float]]:
    """One more steady tick, with each scheduled job's `due` and `run` timed (wrapped for that tick
    only, in this process): per job, its name, the due query's ms, the items due and the ms their runs took."""
    spent: dict[int, list[float]] = {n: [0.0, 0, 0.0] for n in range(len(ticks))}

    def timed_due(n: int, ask):
        def due(*args):
            began = time.perf_counter()
            items = ask(*args)
            spent[n][0] += time.perf_counter() - began
            spent[n][1] += len(items)
            return items
        return due

    def timed_run(n: int, work):
        def run(*args):
            began = time.perf_counter()
            try:
                return work(*args)
            finally:
                spent[n][2] += time.perf_counter() - began
        return run

    original = list(ticks)
    ticks[:] = [(timed_due(n, ask), timed_run(n, work)) for n, (ask, work) in enumerate(original)]
    try:
        product.tick(NOW)
    finally:
        ticks[:] = original
    return [(f"{ask.__module__.removeprefix('commands.')}.{ask.__name__}", 1000 * spent[n][0], spent[n][1],
             1000 * spent[n][2]) for n, (ask, _) in enumerate(original)]


# --- a run on one database -------------------------------------------------------------------------

@dataclass
class Run:
    database: str
    scale: Scale
    targets: list[Target]
    alone: Target
    built: dict[str, tuple[dict[str, int], float]] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)

    def result(self, command: str, label: str) -> Result | None:
        return next((r for r in self.results if r.command == command and r.label == label), None)


def targets_for(scale: Scale) -> tuple[list[Target], Target]:
    base = 900_000  # target clusters' numbers, apart from the fillers'
    targets = [target_of(f"{k}×", k, base + n) for n, k in enumerate(scale.factors)]
    return targets, replace(targets[0], label="alone")


def measure(database: str, deployment_url: str, alone_url: str, scale: Scale, cap: float) -> Run:
    targets, alone = targets_for(scale)
    run = Run(database, scale, targets, alone)
    fillers = [(index, 1) for index in range(1, scale.clusters + 1)]
    for name, url, clusters in (("deployment", deployment_url, fillers + [(t.index, t.factor) for t in targets]),
                                ("alone", alone_url, [(alone.index, alone.factor)])):
        counts, seconds = build(url, clusters)
        run.built[name] = (counts, seconds)
        print(f"{database} {name}: {len(clusters)} clusters, {sum(counts.values()):,} rows in {seconds:.1f} s",
              file=sys.stderr)
    # The floor first, then the targets, smallest first, in one process (another after a command past the
    # cap), each command warmed up on the 1× cluster the first time that process runs it.
    run.results += run_jobs(alone_url, [Job(c, alone, None, scale.repeats) for c in COMMANDS], cap)
    run.results += run_jobs(deployment_url, [Job(c, target, targets[0], 1 if target is targets[-1] else scale.repeats)
                                             for target in targets for c in COMMANDS], cap)
    run.ticks.append(measure_tick(alone_url, database, 1, scale.steady_ticks))
    run.ticks.append(measure_tick(deployment_url, database, scale.clusters + len(targets), scale.steady_ticks))
    return run


# --- reporting -------------------------------------------------------------------------------------

def cell_ms(result: Result | None) -> str:
    if result is None:
        return ""
    if result.capped is not None:
        return f"> {result.capped:.0f} s"
    flag = " (FAILED)" if result.problem else ""
    ms = result.ms()
    return (f"{ms:.1f}" if ms < 100 else f"{ms:.0f}") + flag


def header(run: Run) -> tuple[str, ...]:
    one, mid, big = (t.label for t in run.targets)
    return ("database", "command", "alone ms", f"{one} ms", f"ratio {one}/alone", f"{mid} ms", f"{big} ms",
            f"growth {one}→{big}")


def table_rows(run: Run) -> list[tuple[str, ...]]:
    one, mid, big = (t.label for t in run.targets)
    rows = []
    for command in COMMANDS:
        alone, first = run.result(command, "alone"), run.result(command, one)
        middle, last = run.result(command, mid), run.result(command, big)
        ratio = growth = ""
        if alone and first and alone.times and first.times:
            r = first.ms() / alone.ms()
            ratio = f"{r:.2f}×" + ("" if r <= RATIO_TARGET else " MISS")
        if first and last and first.times:
            growth = f"{last.ms() / first.ms():.0f}×" if last.times else f"> {last.capped / first.ms() * 1000:.0f}×"
        name = command.format(meeting="M<next>", measure="D1")
        rows.append((run.database, name, cell_ms(alone), cell_ms(first), ratio, cell_ms(middle), cell_ms(last),
                     growth))
    alone_tick, tick = run.ticks
    r = tick.steady_ms() / alone_tick.steady_ms()
    met = "met" if tick.steady_ms() <= TICK_TARGET_MS else "MISS"
    rows.append((run.database, f"idle tick, steady (all {tick.clusters} clusters; target ≤ {TICK_TARGET_MS:.0f} ms: "
                 f"{met})", f"{alone_tick.steady_ms():.1f}", f"{tick.steady_ms():.1f}", f"{r:.1f}×", "", "", ""))
    return rows


def memory_rows(run: Run) -> list[tuple[str, ...]]:
    big = run.targets[-1].label
    rows = []
    for command in HEAVY:
        for label in ("alone", big):
            r = run.result(command, label)
            if r is None or r.capped is not None:
                rows.append((run.database, command, label, "", "", "", "not measured: ran past the cap"))
                continue
            met = "met" if r.peak_mb < MEMORY_TARGET_MB else "MISS"
            rows.append((run.database, command, label, f"{r.peak_mb:.0f}", f"{r.before_mb:.0f}",
                         f"{r.peak_mb - r.before_mb:.0f}", met if label == big else ""))
    return rows


MEMORY_HEADER = ("database", "command", "cluster", "peak MB", "at start MB", "grew MB",
                 f"target < {MEMORY_TARGET_MB} MB")


def problems(runs: list[Run]) -> list[str]:
    return [f"{run.database} {r.label} {r.command}: {r.problem}" for run in runs for r in run.results if r.problem]


def tick_lines(runs: list[Run]) -> list[str]:
    lines = []
    for run in runs:
        for tick in run.ticks:
            due = ", ".join(f"{name} {ms:.1f} ms" + (f" ({n} due, run in {run_ms:.0f} ms)" if n else "")
                            for name, ms, n, run_ms in tick.due)
            lines.append(f"{tick.database}, {tick.clusters} cluster{'s' if tick.clusters > 1 else ''}: first tick "
                         f"{tick.first_ms:.0f} ms ({tick.first_effects or 'nothing'}); steady median "
                         f"{tick.steady_ms():.1f} ms, slowest {1000 * max(tick.steady):.1f} ms of {len(tick.steady)}; "
                         f"one more steady tick, by scheduled job: {due}")
    return lines


def built_lines(runs: list[Run]) -> list[str]:
    lines = []
    for run in runs:
        for name, (counts, seconds) in run.built.items():
            biggest = ", ".join(f"{t} {n:,}" for t, n in sorted(counts.items(), key=lambda kv: -kv[1])[:6])
            lines.append(f"{run.database} {name}: {sum(counts.values()):,} rows in {seconds:.0f} s ({biggest} …)")
    return lines


def markdown_section(runs: list[Run], scale: Scale, cap: float, skipped: str | None) -> str:
    run = runs[0]
    rows = [row for r in runs for row in table_rows(r)]
    mem = [row for r in runs for row in memory_rows(r)]
    listed = lambda lines: "\n".join(f"- {line}" for line in lines)  # noqa: E731
    failed = problems(runs)
    big = run.targets[-1].label
    shape = TYPICAL
    skip = f"\n{skipped}\n" if skipped else ""
    return f"""{HEADING} ({scale.clusters} clusters on one database)

{common.markdown_table(header(run), rows)}
{skip}
Peak memory (VmHWM, reset before each command, of the process running it after warm-up):

{common.markdown_table(MEMORY_HEADER, mem)}

Targets: a command at {run.targets[0].label} at most {RATIO_TARGET}× its time on the cluster alone (MISS \
marks those over); an idle tick at most {TICK_TARGET_MS:.0f} ms at 150 clusters; the exports' and the \
report's peak under {MEMORY_TARGET_MB} MB at 100×. Commands that failed or were refused: \
{"; ".join(failed) if failed else "none"}.

Ticks:

{listed(tick_lines(runs))}

Built:

{listed(built_lines(runs))}

{common.measured_on()}

How: `bench/national.py` migrates two fresh databases (SQLite files in WAL mode; PostgreSQL: scratch \
databases on the server of `scripts/with-postgres`, `VACUUM ANALYZE`d after loading) and fills them with \
bulk inserts shaped as the product's storage writes its rows. The *deployment*: {scale.clusters} clusters \
of one typical cluster's shape in {TEAMS} workspaces, and three target clusters of \
{", ".join(t.label for t in run.targets)} that shape; *alone*: the {run.targets[0].label} target's very \
same rows, with no neighbours (the floor). The typical cluster: {PRACTICES} practices, {shape.members} \
members, {shape.topics} topics, {shape.past_meetings} past meetings (agenda, attendance, minutes, \
decisions) and {shape.future_meetings} ahead with reminders, {shape.actions} actions (85 % done, one in ten \
with notes, 60 % from a meeting), {shape.polls} polls with a ballot per practice, {shape.measures} monthly \
measures with {MONTHS} months of points per practice; at 10× and 100× everything but the practices is \
multiplied. Clusters' rows are made side by side, so each cluster's are spread through every table. Each \
command runs as the cluster's lead through the platform-free driver (`testkit/driver.py`: \
`Clusterbot.handle`, then `finish` for an export's or chart's slow part, delivered to a recording \
platform; the Home is `Clusterbot.home`), in a child process per database, after one warm-up run (on the \
{run.targets[0].label} cluster) the first time that process runs the command; a cell is the median of \
{scale.repeats} runs ({big}: one run), capped at {cap:.0f} s. *growth* is the {big} time over the \
{run.targets[0].label} time (the data grew {run.targets[-1].factor}×). The tick: the product's clock is \
{NOW:%A %-d %B %Y %H:%M} UTC, after the \
month's data-due reminder day, so each cluster with active measures is due all month; one first tick \
(reminders and digests sent), then {scale.steady_ticks} steady ticks, each timed.

Reproduce (this section only; `bench/run` reruns every benchmark):

```
{REPRODUCE}
```
"""


def write_markdown(path: str, section: str) -> None:
    """This benchmark's section in place of the earlier one, whatever its number of clusters (the heading
    says it), then written as every benchmark writes its section."""
    target, heading = Path(path), section.split("\n", 1)[0]
    if target.exists():
        head, *sections = common.split_sections(target.read_text(encoding="utf-8"))
        ours = [n for n, s in enumerate(sections) if s.startswith(HEADING + " (")]
        if ours:
            sections[ours[0]] = heading + "\n" + sections[ours[0]].split("\n", 1)[1]
            sections = [s for n, s in enumerate(sections) if n not in ours[1:]]
            target.write_text("\n".join([head.rstrip() + "\n", *(s.rstrip() + "\n" for s in sections)]),
                              encoding="utf-8")
    common.write_section(path, section)


# --- the run ---------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="10 clusters, targets 1×/2×/4×, one run each: to check it works")
    parser.add_argument("--clusters", type=int, help="filler clusters in the deployment (default 150; 10 with --quick)")
    parser.add_argument("--repeats", type=int, help="runs per command, the median shown (default 3; 1 with --quick)")
    parser.add_argument("--cap", type=float, default=CAP_SECONDS, help="seconds a command may take (default 60)")
    parser.add_argument("--postgres-url", metavar="URL", default=os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL server to measure too (default: $TEST_DATABASE_URL)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the results as a section of PATH")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = QUICK if args.quick else FULL
    if args.clusters:
        scale = replace(scale, clusters=args.clusters)
    if args.repeats:
        scale = replace(scale, repeats=args.repeats)
    runs = []
    with tempfile.TemporaryDirectory(prefix="clusterbot-bench-national-") as workdir:
        runs.append(measure("sqlite", f"sqlite:///{Path(workdir) / 'deployment.db'}",
                            f"sqlite:///{Path(workdir) / 'alone.db'}", scale, args.cap))
    skipped = None
    if args.postgres_url:
        with common.ScratchDatabase(args.postgres_url, "clusterbot_bench_national") as deployment, \
                common.ScratchDatabase(args.postgres_url, "clusterbot_bench_national_alone") as alone:
            runs.append(measure("postgresql", deployment, alone, scale, args.cap))
    else:
        skipped = ("PostgreSQL skipped: no --postgres-url and no TEST_DATABASE_URL. "
                   "Run `scripts/with-postgres python bench/national.py` to include it.")
    print(common.text_table(header(runs[0]), [row for run in runs for row in table_rows(run)], left=(0, 1)))
    print()
    print(common.text_table(MEMORY_HEADER, [row for run in runs for row in memory_rows(run)], left=(0, 1, 2)))
    print()
    for line in tick_lines(runs) + built_lines(runs):
        print(line)
    if skipped:
        print(skipped, file=sys.stderr)
    if args.markdown:
        write_markdown(args.markdown, markdown_section(runs, scale, args.cap, skipped))
    failed = problems(runs)
    for what in failed:
        print(f"FAILED: {what}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
