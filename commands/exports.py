"""Every file the cluster can ask for: `/action export`, `/cluster export` (and `python -m bot export`),
`/cluster report` (the Board report). The minutes' Word file: commands/meetings/minutes.py.

Each is slow work: the subcommand answers "Preparing…" at once and the registry's `later` handler
builds the file after that answer, in a read-only unit of work, and hands it over as an Upload.
The documents themselves are written by reports/ from rows that storage/ reads.
"""

import io
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from analysis import periods as period_tools
from analysis.charts import render
from analysis.runchart import Method
from commands.actions import ACTION
from commands.cluster import CLUSTER
from commands.context import Context
from commands.errors import Refusal
from commands.measures import charts as chart_tools
from commands.measures import series as series_tools
from commands.measures.workbook import measures_content
from commands.registry import subcommand
from commands.results import Person, Reply, Strong, Upload, line
from commands.text.dates import BACK, describe_day, local_to_utc, local_today, parse_day
from commands.text.guard import find_patient_identifiers, normalise
from commands.text.periods_report import report_period
from commands.text.recurrence import describe_rule
from commands.topics.drivers import qi_stories
from reports import lazily
from storage import actions as action_store
from storage import audit as audit_store
from storage import checkins as checkin_store
from storage import clusters as cluster_store
from storage import measures as measure_store
from storage import meeting_record as record_store
from storage import meetings as meeting_store
from storage import polls as poll_store
from storage import progress as progress_store
from storage import qi as qi_store
from storage import report as report_store
from storage import topics as topic_store
from storage.models import ActionStatus, Cluster

board = lazily("reports.board")
workbook = lazily("reports.workbook")
sheets = lazily("reports.measures")
qi_sheets = lazily("reports.qi")

XLSX, DOCX = "xlsx", "docx"
# A cheap first look (one C-level regex match per cell, on the text as the guard reads it, which for
# ASCII text is the text itself): at least ten digits, however far apart. Only text that passes it gets
# the guard's full check, so 100,000 rows stay within the export's target. It must never be narrower
# than the guard: digits in circles (❶) and long runs of look-alike separators once slipped past a
# "ten digits at most three characters apart" look.
TEN_DIGITS = re.compile(r"(?:\D*\d){10}")


def looks_identifying(text: str) -> bool:
    """True for text the identifier guard would refuse (such text is withheld from every file)."""
    return bool(TEN_DIGITS.match(normalise(text))) and bool(find_patient_identifiers(text))


# --- /action export ----------------------------------------------------------------------------------

def _export_filter(ctx: Context, rest: str) -> tuple[str, action_store.ActionFilter]:
    example = "/action export all since 1/4/2026"
    words = rest.split()
    which, label = action_store.ActionFilter(status=ActionStatus.OPEN), "open"
    if words and words[0].lower() in ("open", "all"):
        label = words.pop(0).lower()
        which = action_store.ActionFilter(status=ActionStatus.OPEN if label == "open" else None)
    if words and words[0].lower() == "since":
        day = parse_day(" ".join(words[1:]), local_today(ctx.now(), ctx.time_zone), example, BACK)
        which = action_store.ActionFilter(status=which.status, since=local_to_utc(day, time(0, 0), ctx.time_zone))
        label += f" since {describe_day(day)}"
    elif words:
        raise Refusal(f"“{words[0]}” isn't an export setting: use open or all, then optionally since <date>.",
                      example=example)
    return label, which


@subcommand(ACTION, "export [open|all] [since <date>]", "/action export all",
            "the action log as an Excel workbook in the channel",
            later=lambda ctx, rest: _action_log(ctx, rest), files=True)
def action_export(ctx: Context, rest: str) -> Reply:
    label, which = _export_filter(ctx, rest)
    size = {"actions": action_store.count_actions(session=ctx.session, cluster=ctx.require_cluster(), which=which)}
    return Reply.tell(line(f"Preparing the action log ({label}) as an Excel workbook…{how_long(size)}"))


def _action_log(ctx: Context, rest: str) -> Reply:
    label, which = _export_filter(ctx, rest)
    kind = "action-log-" + label.split()[0]  # open or all
    return upload_workbook(ctx, f"Action log ({label})", kind, actions=which)


# --- /cluster export ---------------------------------------------------------------------------------

@subcommand(CLUSTER, "export", "/cluster export",
            "the whole cluster as an Excel workbook: actions, topics, polls (in the channel)",
            later=lambda ctx, rest: cluster_workbook(ctx), files=True)
def cluster_export(ctx: Context, rest: str) -> Reply:
    cluster = ctx.require_cluster()
    size = {"actions": action_store.count_actions(session=ctx.session, cluster=cluster,
                                                  which=action_store.ActionFilter()),
            "data points": measure_store.count_cluster_points(session=ctx.session, cluster=cluster)}
    return Reply.tell(line(f"Preparing the cluster workbook…{how_long(size)}"))


LARGE = 20_000  # rows: a workbook this size takes more than a few seconds to write (docs/benchmarks.md)


def how_long(size: dict[str, int]) -> str:
    """Said while a large workbook is written, so a wait of minutes is expected rather than wondered at."""
    if sum(size.values()) < LARGE:
        return ""
    counted = " and ".join(f"{n:,} {what}" for what, n in size.items() if n)
    return f" It holds {counted}: allow a few minutes; it will appear here when it's ready."


def cluster_workbook(ctx: Context) -> Reply:
    """The whole cluster as one workbook (for /cluster export and `python -m bot export`): actions, topics
    and their notes, PDSA cycles, progress scores, check-ins, polls, ballots, meetings, measures and the audit."""
    return upload_workbook(ctx, "Cluster workbook", "cluster-workbook", actions=action_store.ActionFilter(),
                           everything=True)


# --- building and sending --------------------------------------------------------------------------

def upload_workbook(ctx: Context, title: str, kind: str, *, actions: action_store.ActionFilter | None = None,
                    everything: bool = False) -> Reply:
    cluster = ctx.require_cluster()
    content = workbook_content(ctx, cluster, title, actions, everything)
    out = io.BytesIO()
    workbook.write_workbook(out, content, ctx.directory, looks_identifying)
    return Reply.quiet(upload(ctx, cluster, title, kind, XLSX, out.getvalue()))


def upload(ctx: Context, cluster: Cluster, title: str, kind: str, extension: str, content: bytes) -> Upload:
    """A file for the cluster's channel, announced there; named by cluster, kind and local time, so two
    exports never share a name."""
    comment = Reply.announce(line(Person(ctx.caller.user_id), f" exported: {title} of ", Strong(cluster.name), "."))
    return Upload(cluster.channel_id, file_name(ctx, cluster, kind, extension), f"{cluster.name}: {title}", content,
                  comment)


def file_name(ctx: Context, cluster: Cluster, kind: str, extension: str) -> str:
    stamp = ctx.now().astimezone(ZoneInfo(cluster.time_zone))
    slug = re.sub(r"[^A-Za-z0-9]+", "-", cluster.name).strip("-").lower() or "cluster"
    return f"{slug}-{kind}-{stamp:%Y-%m-%d-%H%M}.{extension}"


def workbook_content(ctx: Context, cluster: Cluster, title: str, actions: action_store.ActionFilter | None,
                     everything: bool) -> "workbook.WorkbookContent":
    """What goes in a workbook: the action log, and with `everything` the topics, polls and meetings too."""
    today = local_today(ctx.now(), cluster.time_zone)
    content = workbook.WorkbookContent(cluster.name, title, ctx.now(), cluster.time_zone, today)
    if actions is not None:
        content.action_counts = action_store.action_counts(session=ctx.session, cluster=cluster, which=actions,
                                                           today=today, soon=today + workbook.SOON)
        content.actions = action_store.action_rows(session=ctx.session, cluster=cluster, which=actions)
    if everything:
        content.topics = topic_store.topic_rows(session=ctx.session, cluster=cluster)
        content.topic_notes = topic_store.topic_note_rows(session=ctx.session, cluster=cluster)
        content.polls = poll_store.poll_rows(session=ctx.session, cluster=cluster)
        content.ballots = poll_store.ballot_rows(session=ctx.session, cluster=cluster)
        content.meetings = [replace(m, repeats=describe_rule(m.repeats) if m.repeats else None)
                            for m in meeting_store.meeting_rows(session=ctx.session, cluster=cluster)]
        content.extra["measures"] = measures_content(ctx, cluster, suppress=False)
        content.extra["audit"] = audit_store.rows(session=ctx.session, cluster_id=cluster.id)
        qi_sheets.pdsa_sheet  # noqa: B018 (imported now: its sheet joins the workbook's list)
        content.extra["pdsa"] = qi_store.export_rows(session=ctx.session, cluster=cluster)
        content.extra["scores"] = progress_store.export_rows(session=ctx.session, cluster=cluster)
        content.extra["checkins"] = checkin_store.export_rows(session=ctx.session, cluster=cluster)
    return content


# --- /cluster report ----------------------------------------------------------------------------------

REPORT_EXAMPLE = "/cluster report year 2025 word"


@dataclass(frozen=True)
class Period:
    since: datetime | None
    until: datetime | None  # None: up to now (what storage stamps "now" may be a moment past the request's)
    words: str  # "1 January 2025 to 31 December 2025"
    word: bool  # a Word narrative too
    slug: str   # for file names: "2025", "2026-27-q3", "since-2025-04-01", "last-12-months"
    first: date | None = None  # the days covered, for data that describe a period (a measure's month)
    last: date | None = None


def _period(ctx: Context, rest: str) -> Period:
    """[since <date> [until <date>] | quarter Q3 2026/27 | year 2026/27 | year 2026] [word]; by default the
    last twelve months (commands/text/periods_report.py reads the words)."""
    words = rest.split()
    word = bool(words) and words[-1].lower() in ("word", "docx")
    words = words[:-1] if word else words
    tz = ctx.time_zone
    found = report_period(" ".join(words), local_today(ctx.now(), tz), REPORT_EXAMPLE)
    until = None if found.open_ended else local_to_utc(found.last + timedelta(days=1), time(0, 0), tz)
    return Period(local_to_utc(found.first, time(0, 0), tz), until, found.words, word, found.slug,
                  found.first, found.last)


@subcommand(CLUSTER, "report [since <date> [until <date>]|quarter Q3 2026/27|year 2026/27|year <yyyy>] [word]",
            REPORT_EXAMPLE, "the Board report: each topic's measures (run charts, data, signals) and PDSA notes, "
            "decisions, meetings, actions, polls and engagement as a workbook (word: and a Word summary)",
            later=lambda ctx, rest: board_report(ctx, rest), files=True)
def cluster_report(ctx: Context, rest: str) -> Reply:
    period = _period(ctx, rest)
    also = " and a Word summary" if period.word else ""
    return Reply.tell(line(f"Preparing the Board report for {period.words} as an Excel workbook{also}…"))


def board_report(ctx: Context, rest: str) -> Reply:
    cluster = ctx.require_cluster()
    period = _period(ctx, rest)
    content = report_content(ctx, cluster, period)
    out = io.BytesIO()
    board.write_report(out, content, ctx.directory, looks_identifying)
    title = f"Board report ({period.words})"
    effects = [upload(ctx, cluster, title, f"board-report-{period.slug}", XLSX, out.getvalue())]
    if period.word:
        narrative = io.BytesIO()
        board.write_narrative(narrative, content, lambda text: workbook.WITHHELD if looks_identifying(text) else text)
        effects.append(upload(ctx, cluster, f"Board report summary ({period.words})", f"board-summary-{period.slug}",
                              DOCX, narrative.getvalue()))
    return Reply.quiet(*effects)


def report_content(ctx: Context, cluster: Cluster, period: Period) -> "workbook.WorkbookContent":
    """The period's topics, notes, meetings, decisions, actions and polls, and each practice's part."""
    session, since, until = ctx.session, period.since, period.until
    today = local_today(ctx.now(), cluster.time_zone)
    content = workbook.WorkbookContent(cluster.name, f"Cluster report: {period.words}", ctx.now(), cluster.time_zone,
                                       today)
    which = action_store.ActionFilter(created_before=until, live_since=since)
    content.action_counts = action_store.action_counts(session=session, cluster=cluster, which=which, today=today,
                                                       soon=today + workbook.SOON)
    content.actions = action_store.action_rows(session=session, cluster=cluster, which=which)
    closed = ("done", "dropped")
    in_period = lambda moment: (until is None or moment < until) and (since is None or moment >= since)  # noqa: E731
    topics = [t for t in topic_store.topic_rows(session=session, cluster=cluster)
              if (until is None or t.created_at < until)
              and (since is None or t.status not in closed or t.updated_at >= since)]
    ids = report_store.poll_ids(session=session, cluster=cluster, since=since, until=until)
    turnout = report_store.poll_turnout(session=session, cluster=cluster)
    content.extra["report"] = board.Report(
        period=period.words,
        practices=[board.PracticeRef(p.id, p.code, p.name)
                   for p in cluster_store.list_practices(session=session, cluster=cluster)],
        topics=topics,
        notes=list(topic_store.topic_note_rows(session=session, cluster=cluster, since=since, until=until)),
        meetings=report_store.meeting_records(session=session, cluster=cluster, since=since,
                                              until=min(until or ctx.now(), ctx.now())),  # held: started by now
        decisions=record_store.decisions(session=session, cluster=cluster, since=since, until=until),
        polls=[p for p in poll_store.poll_rows(session=session, cluster=cluster) if p.short_id in ids],
        turnout={short_id: turnout[poll_id] for short_id, poll_id in ids.items() if poll_id in turnout},
        actions_owned=report_store.actions_by_practice(session=session, cluster=cluster, since=since, until=until),
        topics_proposed=Counter(t.practice_code for t in topics if t.practice_code and in_period(t.created_at)),
        data_points=report_store.data_points_by_practice(session=session, cluster=cluster, first=period.first,
                                                         last=period.last),
    )
    content.extra["report"].measures = measure_stories(ctx, cluster, period, {t.short_id for t in topics})
    content.extra["qi"] = qi_stories(ctx, cluster, [t.short_id for t in topics], until)
    # The check-ins of the months the period covers; no sheet when there are none (the check-in may be off).
    checkins = checkin_store.export_rows(session=session, cluster=cluster, first=period.first, last=period.last)
    content.extra["checkins"] = checkins or None
    return content


def measure_stories(ctx: Context, cluster: Cluster, period: Period, topics: set[str]) -> list["board.MeasureStory"]:
    """Each measure with data up to the period's end, or of a topic in the period: its cluster run chart
    (drawn once, its PDSA cycles marked), data table (suppressed: the report is for the Board), centre line and
    signals. Three queries for the whole cluster (measures with their topics; every point, streamed; the cycles
    on measures), none per measure."""
    session = ctx.session
    practices = cluster_store.list_practices(session=session, cluster=cluster)
    measures = {m.id: (m, t) for m, t, _ in measure_store.list_with_topics(session=session, cluster=cluster)}
    points = dict(measure_store.points_of(session=session, measures=[m for m, _ in measures.values()]))
    cycles: dict[int, list] = {}
    for row in qi_store.cycles_on_measures(session=session, cluster=cluster):  # marked on the charts
        cycles.setdefault(row.cycle.measure_id, []).append(row)
    stories = []
    for measure, topic in measures.values():
        end = period_tools.following(period_tools.period_of(period.last + timedelta(days=1), measure.frequency),
                                     measure.frequency, -1)  # the last period wholly in the report's
        mine = [p for p in points.get(measure.id, []) if p.period <= end]
        if not mine and topic.short_id not in topics:
            continue
        stories.append(_story(ctx, measure, topic, mine, practices, end, cycles.get(measure.id, [])))
    return stories


def _story(ctx: Context, measure, topic, points: list, practices: list, end: date,
           cycles: list) -> "board.MeasureStory":
    _, whole = series_tools.build(measure, points, practices, until=end if points else None)
    story = board.MeasureStory(measure.short_id, measure.name, topic.short_id, topic.title, measure.unit,
                               chart_tools.CENTRES[Method(measure.chart)])
    if not whole.periods:
        return story
    chart = series_tools.chart_of(measure, whole)
    label = lambda i: period_tools.label(whole.periods[i], measure.frequency)  # noqa: E731
    story.rows = [(label(i), _disclosed(measure, whole, i), sheets.disclosed(whole.numerators[i], True),
                   sheets.disclosed(whole.denominators[i], True), whole.reported[i]) for i in range(len(whole.periods))]
    centre = next((c for c in reversed(chart.centre) if c is not None), None)
    story.centre = None if centre is None else series_tools.format_value(measure, centre)
    story.signals = [f"{series_tools.describe_signal(measure, whole, s)}: {label(s.first)} to {label(s.last)}"
                     for s in chart.signals]
    story.verdict = series_tools.verdict_of_chart(chart)
    if whole.observed >= 2:
        request = chart_tools.Request(measure, "cluster", [whole], f"the cluster ({len(practices)} practices)")
        story.picture = render(chart_tools.picture_of(ctx, request, topic, cycles))
    return story


def _disclosed(measure, whole, i: int):
    value = sheets.disclosed_value(measure.unit, whole.values[i], whole.numerators[i], True)
    return value if isinstance(value, str) or value is None else series_tools.format_value(measure, value)
