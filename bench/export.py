"""Benchmark: exporting 100,000 actions to Excel — seconds and peak memory, against a floor measured in the same run.

One temporary SQLite database holds a cluster of 8 practices, 50 action owners, 20 topics, 3 polls
with ballots, 12 meetings and 100,000 actions (bulk-inserted: due dates past, within a week, later and
none; about 20% done; a quarter from a meeting; one in ten with notes; some descriptions starting with
= + - @, which the export must write as text).
Three measurements, each in a child process of its own, so that each one's peak memory is its own:
  cluster workbook  the product's `Clusterbot.export` (`python -m bot export`, `/cluster export`):
                    summary, actions, topics, polls and ballots, styled, streamed by reports/workbook.py;
  action log        the product's `/action export all`, through `Clusterbot.finish` (what runs after
                    the "Preparing…" answer): the summary and the actions;
  floor             the same 17 columns of the same rows in the same order, read with one plain SELECT
                    (stdlib sqlite3, streamed from the cursor, dates parsed by sqlite3 converters) and
                    appended as they come to a bare openpyxl write-only sheet: no styles, no summary,
                    no other sheets, no ORM.
The three take turns, 3 times by default (the table shows the median time and the highest peak).
Each child times its export (wall seconds, from the call until the .xlsx bytes are in memory) and
then reads its peak resident set (VmHWM in /proc/self/status). Not ru_maxrss: a child started by
subprocess (vfork + exec) inherits its parent's high-water mark in ru_maxrss. Not tracemalloc: it
sees only Python's allocations (not SQLite's page cache, zlib's buffers or the interpreter's own
memory) and slows the run down. The product's first workbook of each kind is then opened with openpyxl
(read-only) and checked: one Actions row per action, no cell written as a formula, the summary's total.

Targets (from the issue): at most 1.5× the floor's time, and under 200 MB peak.

    python bench/export.py                                   # 100,000 actions, 3 of each export: 2-3 minutes
    python bench/export.py --quick                           # 10,000 actions, once each: seconds
    python bench/export.py --rows 250000 --repeat 1
    python bench/export.py --markdown docs/benchmarks.md     # and rewrite its section there

Exit status 1 if a check of the product's workbook failed (the targets are reported, not enforced).
"""

import argparse
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Only the standard library up here: this file also runs as each measurement's child process, and
# whatever it imports counts in that child's peak memory. Each child imports what its export needs.

ROWS = 100_000
QUICK_ROWS = 10_000
REPEAT = 3
PRACTICES = 8
OWNERS = 50
TOPICS = 20
MEETINGS = 12
POLLS = 3
TEAM = "T0001"
CHANNEL = "CEXPORT"
LEAD = "ULEAD"
TIME_ZONE = "Europe/London"
INSERT_BATCH = 5_000
TARGET_RATIO = 1.5
TARGET_MB = 200
KINDS = ("floor", "cluster workbook", "action log")
REPRODUCE = "python bench/export.py --markdown docs/benchmarks.md"

WORK = ["Audit", "Review", "Recall", "Update", "Check", "Agree", "Send letters for", "Share findings on"]
SUBJECTS = ["asthma discharges", "frailty register", "polypharmacy in over-75s", "DOAC monitoring",
            "cervical screening uptake", "learning disability health checks", "diabetic foot checks",
            "hypertension targets", "COPD rescue packs", "palliative care register"]
FORMULA_LIKE = ["=SUM(A1:A9) of recalls", "+44 numbers on the practice list", "-1 day on the rota", "@mentions"]


# --- the database ----------------------------------------------------------------------------------

def fill_database(url: str, rows: int, today: date) -> None:
    """The cluster, with `rows` actions bulk-inserted in batches (the product's own functions for the rest)."""
    from sqlalchemy import insert

    from storage import clusters, meetings, polls, topics
    from storage.db import Database
    from storage.models import Action, ActionNote, Meeting, Poll, TopicBase

    db = Database(url)
    db.migrate()
    rng = random.Random(7)
    try:
        with db.session() as session:
            cluster = clusters.create_cluster(session=session, team_id=TEAM, enterprise_id=None, channel_id=CHANNEL,
                                              name="Benchmark Cluster", time_zone=TIME_ZONE, lead_user_id=LEAD)
            practices = [clusters.add_practice(session=session, cluster=cluster, code=f"801{n:02d}",
                                               name=f"Practice {n + 1} Medical Group") for n in range(PRACTICES)]
            owners = [f"UOWNER{n:02d}" for n in range(OWNERS)]
            for n, owner in enumerate(owners):
                clusters.save_member(session=session, cluster=cluster, user_id=owner, practice=practices[n % PRACTICES])
            topic_ids = [topics.create_topic(session=session, cluster=cluster, proposed_by=LEAD, data=TopicBase(
                title=f"{rng.choice(WORK)} {rng.choice(SUBJECTS)}", why="Variation between practices",
                aim="Halve it by March", measure="Monthly search")).id for _ in range(TOPICS)]
            for n in range(POLLS):
                poll = polls.create_poll(session=session, cluster=cluster, poll=Poll(
                    cluster_id=cluster.id, short_id="", question=f"Which topic next ({n + 1})?",
                    options=["Asthma", "Frailty", "Polypharmacy"], created_by=LEAD))
                for practice in practices:
                    polls.cast_ballot(session=session, poll=poll, voter_key=f"practice:{practice.id}",
                                      practice_id=practice.id, cast_by=owners[practice.id % OWNERS],
                                      choose=rng.randint(1, 3), now=datetime.now(UTC))
            meeting_ids = [meetings.create_meeting(session=session, cluster=cluster, meeting=Meeting(
                cluster_id=cluster.id, short_id="", title=f"Cluster QI meeting {n + 1}", created_by=LEAD,
                starts_at=datetime.now(UTC) - timedelta(days=30 * n))).id for n in range(MEETINGS)]
            cluster_id, practice_ids = cluster.id, [p.id for p in practices]
        for first in range(0, rows, INSERT_BATCH):
            batch = [action_values(n, cluster_id, practice_ids, owners, topic_ids, meeting_ids, today, rng)
                     for n in range(first, min(rows, first + INSERT_BATCH))]
            with db.session() as session:
                ids = session.execute(insert(Action).returning(Action.id), batch).scalars().all()
                # One action in ten has notes (one or two), as a chased action does.
                notes = [{"action_id": action_id, "by": LEAD, "at": datetime.now(UTC),
                          "text": f"Chased {k + 1}: {rng.choice(SUBJECTS)}"}
                         for action_id in ids[::10] for k in range(rng.randint(1, 2))]
                session.execute(insert(ActionNote), notes)
    finally:
        db.dispose()


def action_values(n: int, cluster_id: int, practice_ids: list[int], owners: list[str], topic_ids: list[int],
                  meeting_ids: list[int], today: date, rng: random.Random) -> dict:
    """Action n: a quarter overdue, a tenth due within the week, a fifth without a date, 20% done."""
    created = datetime.now(UTC) - timedelta(days=rng.randint(1, 720), minutes=rng.randint(0, 1440))
    due = rng.random()
    due_on = (None if due < 0.2 else today - timedelta(days=rng.randint(1, 365)) if due < 0.45
              else today + timedelta(days=rng.randint(0, 7)) if due < 0.55
              else today + timedelta(days=rng.randint(8, 400)))
    done = rng.random() < 0.2
    description = (rng.choice(FORMULA_LIKE) if n % 50 == 0
                   else f"{rng.choice(WORK)} {rng.choice(SUBJECTS)} (batch {n % 997})")
    return {
        "cluster_id": cluster_id, "short_id": f"A{n + 1}", "description": description,
        "owner": owners[n % len(owners)], "practice_id": None if n % 20 == 0 else practice_ids[n % len(practice_ids)],
        "due_on": due_on, "status": "done" if done else "open",
        "topic_id": rng.choice(topic_ids) if n % 3 == 0 else None,
        "meeting_id": rng.choice(meeting_ids) if n % 4 == 0 else None,
        "source_link": f"https://example.slack.com/archives/{CHANNEL}/p{1700000000000000 + n}" if n % 10 == 0 else None,
        "created_by": owners[(n * 7) % len(owners)], "created_at": created, "updated_at": created,
        "done_at": created + timedelta(days=rng.randint(1, 60)) if done else None,
        "done_by": owners[(n * 3) % len(owners)] if done else None,
    }


# --- one measurement (a child process) -------------------------------------------------------------

def lxml_in_use() -> bool:
    """Whether openpyxl writes through lxml (it does whenever lxml is importable)."""
    from openpyxl.xml import LXML

    return bool(LXML)


def memory_mb(field: str) -> float:
    """VmHWM (peak) or VmRSS (now) of this process, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_one(kind: str, url: str, check: bool) -> dict:
    """Export once; wall seconds and peak RSS, then (if asked) the checks of the workbook."""
    export = {"floor": floor_export, "cluster workbook": cluster_workbook, "action log": action_log}[kind](url)
    before = memory_mb("VmRSS")
    began = time.perf_counter()
    content = export()
    seconds = time.perf_counter() - began
    peak = memory_mb("VmHWM")
    found = {"kind": kind, "seconds": seconds, "peak_mb": peak, "before_mb": before, "bytes": len(content)}
    if check and kind != "floor":
        found |= check_workbook(content)
    return found


def cluster_workbook(url: str):
    from commands import Clusterbot
    from storage.db import Database

    db = Database(url)
    db.ensure_schema()  # as the bot does at start: not part of the export
    product = Clusterbot(db, TIME_ZONE)
    return lambda: product.export(CHANNEL).content


def action_log(url: str):
    from commands import Caller, Clusterbot
    from commands.results import Upload
    from storage.db import Database

    db = Database(url)
    db.ensure_schema()
    product = Clusterbot(db, TIME_ZONE)

    def export() -> bytes:
        reply = product.finish("/action", "export all", Caller(LEAD, CHANNEL, TEAM))
        uploads = [effect for effect in reply.effects if isinstance(effect, Upload)]
        if not uploads:
            raise SystemExit(f"/action export all gave no workbook: {reply}")
        return uploads[0].content

    return export


FLOOR_QUERY = """
SELECT a.short_id, a.description, a.owner, p.code, p.name, a.due_on AS "due_on [date]", a.status,
       t.short_id, t.title, m.short_id, m.title,
       (SELECT group_concat(n.text, char(10)) FROM action_note n WHERE n.action_id = a.id),
       a.created_by, a.created_at AS "created_at [datetime]", a.done_at AS "done_at [datetime]",
       a.done_by, a.source_link
FROM "action" a
JOIN cluster c ON c.id = a.cluster_id
LEFT JOIN practice p ON p.id = a.practice_id
LEFT JOIN topic t ON t.id = a.topic_id
LEFT JOIN meeting m ON m.id = a.meeting_id
WHERE c.channel_id = ?
ORDER BY a.due_on IS NULL, a.due_on, a.id
"""
FLOOR_HEADER = ["ID", "Action", "Owner", "Practice code", "Practice", "Due", "Status", "Topic", "Topic title",
                "Meeting", "Meeting title", "Notes", "Created by", "Created", "Done", "Done by", "From message"]


def floor_export(url: str):
    import sqlite3

    from openpyxl import Workbook

    sqlite3.register_converter("date", lambda raw: date.fromisoformat(raw.decode()))
    sqlite3.register_converter("datetime", lambda raw: datetime.fromisoformat(raw.decode()))
    path = url.removeprefix("sqlite:///")

    def export() -> bytes:
        connection = sqlite3.connect(path, detect_types=sqlite3.PARSE_COLNAMES)
        try:
            workbook = Workbook(write_only=True)
            sheet = workbook.create_sheet("Actions")
            sheet.append(FLOOR_HEADER)
            for row in connection.execute(FLOOR_QUERY, (CHANNEL,)):
                sheet.append(row)
            out = io.BytesIO()
            workbook.save(out)
            return out.getvalue()
        finally:
            connection.close()

    return export


def check_workbook(content: bytes) -> dict:
    """The Actions sheet's data rows, how many of its cells are formulas (should be none), and the
    summary's total."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    try:
        rows = formulas = 0
        for n, row in enumerate(workbook["Actions"].iter_rows()):
            rows += n > 0
            formulas += sum(1 for cell in row if cell.data_type == "f")
        total = next((row[1] for row in workbook["Summary"].iter_rows(values_only=True) if row and row[0] == "Total"),
                     None)
        return {"sheets": workbook.sheetnames, "action_rows": rows, "formula_cells": formulas, "summary_total": total}
    finally:
        workbook.close()


# --- the run ---------------------------------------------------------------------------------------

@dataclass
class Measurement:
    kind: str
    rows: int
    seconds: list[float]
    peak_mb: list[float]
    before_mb: float
    megabytes: float  # the .xlsx
    checks: dict

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def max_peak_mb(self) -> float:
        return max(self.peak_mb)


FIGURES = ("kind", "seconds", "peak_mb", "before_mb", "bytes")  # what a child returns besides its checks


def child(kind: str, url: str, check: bool) -> dict:
    """One measurement in a fresh interpreter; its figures come back as JSON on stdout."""
    done = subprocess.run([sys.executable, __file__, "--one", kind, "--database", url, *(["--check"] if check else [])],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {kind} measurement failed:\n{done.stderr}")
    return json.loads(done.stdout)


def run(rows: int, repeat: int) -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="clusterbot-bench-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'export.db'}"
        began = time.perf_counter()
        fill_database(url, rows, datetime.now(UTC).date())
        print(f"{rows} actions inserted in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        found = {kind: [] for kind in KINDS}
        for attempt in range(repeat):  # interleaved, so drift in the machine touches each alike
            for kind in KINDS:
                found[kind].append(child(kind, url, check=attempt == 0))
                print(f"measured {kind} ({attempt + 1}/{repeat}): {found[kind][-1]['seconds']:.2f} s, "
                      f"peak {found[kind][-1]['peak_mb']:.0f} MB", file=sys.stderr)
    return [Measurement(kind, rows, [r["seconds"] for r in runs], [r["peak_mb"] for r in runs],
                        min(r["before_mb"] for r in runs), runs[0]["bytes"] / 1e6,
                        {k: v for k, v in runs[0].items() if k not in FIGURES})
            for kind, runs in found.items()]


def check_lines(measurements: list[Measurement]) -> tuple[list[str], bool]:
    lines, ok = [], True
    for m in measurements:
        if m.kind == "floor":
            continue
        c = m.checks
        good = c["action_rows"] == m.rows and c["formula_cells"] == 0 and c["summary_total"] == m.rows
        ok &= good
        lines.append(f"{m.kind}: {'ok' if good else 'FAILED'} — sheets {', '.join(c['sheets'])}; "
                     f"{c['action_rows']} Actions rows (want {m.rows}); {c['formula_cells']} formula cells "
                     f"(want 0); summary total {c['summary_total']}")
    return lines, ok


def target_lines(measurements: list[Measurement]) -> list[str]:
    floor = next(m for m in measurements if m.kind == "floor")
    lines = []
    for m in measurements:
        if m.kind == "floor":
            continue
        ratio = m.median_seconds / floor.median_seconds
        lines.append(f"{m.kind}: {ratio:.2f}× the floor's time (target ≤ {TARGET_RATIO}×: "
                     f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}); peak {m.max_peak_mb:.0f} MB "
                     f"(target < {TARGET_MB} MB: {'met' if m.max_peak_mb < TARGET_MB else 'NOT met'})")
    return lines


HEADER = ("export", "actions", "seconds", "time vs floor", "peak MB", "at start MB", "grew MB", "xlsx MB")


def table_rows(measurements: list[Measurement]) -> list[tuple[str, ...]]:
    floor = next(m for m in measurements if m.kind == "floor")
    rows = []
    for m in measurements:
        ratio = "" if m is floor else f"{m.median_seconds / floor.median_seconds:.2f}×"
        rows.append((m.kind, str(m.rows), f"{m.median_seconds:.2f}", ratio, f"{m.max_peak_mb:.0f}",
                     f"{m.before_mb:.0f}", f"{m.max_peak_mb - m.before_mb:.0f}", f"{m.megabytes:.1f}"))
    return rows


def markdown_section(common, rows: list[tuple[str, ...]], targets: list[str], checks: list[str], repeat: int) -> str:
    listed = lambda lines: "\n".join(f"- {line}" for line in lines)  # noqa: E731
    timing = "one export each" if repeat == 1 else f"the median of {repeat} exports each (peak: the highest)"
    writer = ("lxml (installed with python-docx)" if lxml_in_use()
              else "its pure-Python XML writer (lxml is not installed)")
    return f"""## Action-log export (`/action export all`, `python -m bot export`)

{common.markdown_table(HEADER, rows)}

Targets (at most {TARGET_RATIO}× the floor's time, under {TARGET_MB} MB peak):

{listed(targets)}

Checks (the product's workbook opened with openpyxl, read-only):

{listed(checks)}

{common.measured_on()}

How: `bench/export.py` fills a temporary SQLite database with a cluster of {PRACTICES} practices, \
{OWNERS} owners, {TOPICS} topics, {POLLS} polls with ballots, {MEETINGS} meetings and the actions \
(bulk-inserted: a quarter overdue, a tenth due within the week, a fifth without a date, 20% done, a quarter \
from a meeting, one in ten with one or two notes, 1 in 50 descriptions starting with = + - @). Then, each \
in a child process of its own, {timing}: *cluster workbook* is the product's \
`Clusterbot.export` (`python -m bot export`; every sheet), *action log* is `/action export all` through \
`Clusterbot.finish` (summary and actions). Both are the product's whole path: `commands/exports.py` \
(`workbook_content`, `upload_workbook`), `storage/actions.py` (`action_counts`, `action_rows`: topic and \
meeting titles joined, notes gathered by a correlated subquery) and `reports/workbook.py` \
(`write_workbook`: openpyxl write-only, styled cells, free text screened for patient identifiers), with \
people's ids for their \
names (in Slack each name is one `users.info` call, cached; not measured here). The *floor* is the same \
17 columns of the same rows in the same order, read with one plain `SELECT` (stdlib `sqlite3`, streamed \
from the cursor, dates parsed by converters) and appended as they come to a bare \
`openpyxl.Workbook(write_only=True)` sheet: no styles, no summary, no ORM. *seconds*: wall time of the \
export call until the .xlsx bytes are in memory (imports and connecting done before). *peak MB*: the \
child's peak resident set (`VmHWM`), imports included, since the {TARGET_MB} MB target is the process's; \
*at start*: its resident set just before the export; *grew*: the difference. Not `ru_maxrss`, which a \
child started by `subprocess` inherits from its parent; not `tracemalloc`, which sees only Python's \
own allocations. openpyxl writes through {writer}, for the floor as for the product.

Reproduce (this section only; `bench/run` reruns every benchmark):

```
{REPRODUCE}
```
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} actions, to check it works")
    parser.add_argument("--rows", type=int, help=f"how many actions (default {ROWS:,})")
    parser.add_argument("--repeat", type=int, help=f"exports of each kind (default {REPEAT}; 1 with --quick)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the results as a section of PATH")
    parser.add_argument("--one", choices=KINDS, help=argparse.SUPPRESS)  # a child: one measurement
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.one, args.database, args.check)))
        return 0
    import common  # here, not at the top: it imports Bolt and waitress, which would weigh on each child

    rows = args.rows or (QUICK_ROWS if args.quick else ROWS)
    repeat = args.repeat or (1 if args.quick else REPEAT)
    measurements = run(rows, repeat)
    table = table_rows(measurements)
    targets = target_lines(measurements)
    checks, ok = check_lines(measurements)
    print(common.text_table(HEADER, table))
    print("\n".join(targets + checks))
    if args.markdown:
        common.write_section(args.markdown, markdown_section(common, table, targets, checks, repeat))
    if not ok:
        print("FAILED: the product's workbook is not what it should be", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
