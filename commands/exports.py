"""Every file the cluster can ask for: `/action export`, `/cluster export` (and `python -m bot export`).

Each is slow work: the subcommand answers "Preparing…" at once and the registry's `later` handler
builds the file after that answer, in a read-only unit of work, and hands it over as an Upload.
The documents themselves are written by reports/ from rows that storage/ reads.
"""

import io
import re
from dataclasses import replace
from datetime import time
from zoneinfo import ZoneInfo

from commands.actions import ACTION
from commands.cluster import CLUSTER
from commands.context import Context
from commands.dates import local_to_utc, local_today, parse_day
from commands.errors import Refusal
from commands.guard import find_patient_identifiers
from commands.recurrence import describe_rule
from commands.registry import subcommand
from commands.results import Person, Reply, Strong, Upload, line
from reports.workbook import SOON, WorkbookContent, write_workbook
from storage import actions as action_store
from storage import meetings as meeting_store
from storage import polls as poll_store
from storage import topics as topic_store
from storage.models import ActionStatus, Cluster

XLSX = "xlsx"
# A cheap first look (one C-level regex search per cell): ten digits, whatever separates them. Only
# text that passes it gets the guard's full check, so 100,000 rows stay within the export's target.
TEN_DIGITS = re.compile(r"\d(?:\D{0,3}\d){9}")


def looks_identifying(text: str) -> bool:
    """True for text the identifier guard would refuse (such text is withheld from every file)."""
    return bool(TEN_DIGITS.search(text)) and bool(find_patient_identifiers(text))


# --- /action export ----------------------------------------------------------------------------------

def _export_filter(ctx: Context, rest: str) -> tuple[str, action_store.ActionFilter]:
    example = "/action export all since 1/4/2026"
    words = rest.split()
    which, label = action_store.ActionFilter(status=ActionStatus.OPEN), "open"
    if words and words[0].lower() in ("open", "all"):
        label = words.pop(0).lower()
        which = action_store.ActionFilter(status=ActionStatus.OPEN if label == "open" else None)
    if words and words[0].lower() == "since":
        day = parse_day(" ".join(words[1:]), local_today(ctx.now(), ctx.time_zone), example)
        which = action_store.ActionFilter(status=which.status, since=local_to_utc(day, time(0, 0), ctx.time_zone))
        label += f" since {day:%-d %b %Y}"
    elif words:
        raise Refusal(f"“{words[0]}” isn't an export setting: use open or all, then optionally since <date>.",
                      example=example)
    return label, which


@subcommand(ACTION, "export [open|all] [since <date>]", "/action export all",
            "the action log as an Excel workbook in the channel",
            later=lambda ctx, rest: _action_log(ctx, rest))
def action_export(ctx: Context, rest: str) -> Reply:
    label, _ = _export_filter(ctx, rest)
    return Reply.tell(line(f"Preparing the action log ({label}) as an Excel workbook…"))


def _action_log(ctx: Context, rest: str) -> Reply:
    label, which = _export_filter(ctx, rest)
    kind = "action-log-" + label.split()[0]  # open or all
    return upload_workbook(ctx, f"Action log ({label})", kind, actions=which)


# --- /cluster export ---------------------------------------------------------------------------------

@subcommand(CLUSTER, "export", "/cluster export",
            "the whole cluster as an Excel workbook: actions, topics, polls (in the channel)",
            later=lambda ctx, rest: cluster_workbook(ctx))
def cluster_export(ctx: Context, rest: str) -> Reply:
    return Reply.tell(line("Preparing the cluster workbook…"))


def cluster_workbook(ctx: Context) -> Reply:
    """The whole cluster as one workbook (for /cluster export and `python -m bot export`): actions, topics
    and their notes, polls, ballots and meetings."""
    return upload_workbook(ctx, "Cluster workbook", "cluster-workbook", actions=action_store.ActionFilter(),
                           everything=True)


# --- building and sending --------------------------------------------------------------------------

def upload_workbook(ctx: Context, title: str, kind: str, *, actions: action_store.ActionFilter | None = None,
                    everything: bool = False) -> Reply:
    cluster = ctx.require_cluster()
    content = workbook_content(ctx, cluster, title, actions, everything)
    out = io.BytesIO()
    write_workbook(out, content, ctx.directory, looks_identifying)
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
                     everything: bool) -> WorkbookContent:
    """What goes in a workbook: the action log, and with `everything` the topics, polls and meetings too."""
    today = local_today(ctx.now(), cluster.time_zone)
    content = WorkbookContent(cluster.name, title, ctx.now(), cluster.time_zone, today)
    if actions is not None:
        content.action_counts = action_store.action_counts(session=ctx.session, cluster=cluster, which=actions,
                                                           today=today, soon=today + SOON)
        content.actions = action_store.action_rows(session=ctx.session, cluster=cluster, which=actions)
    if everything:
        content.topics = topic_store.topic_rows(session=ctx.session, cluster=cluster)
        content.topic_notes = topic_store.topic_note_rows(session=ctx.session, cluster=cluster)
        content.polls = poll_store.poll_rows(session=ctx.session, cluster=cluster)
        content.ballots = poll_store.ballot_rows(session=ctx.session, cluster=cluster)
        content.meetings = [replace(m, repeats=describe_rule(m.repeats) if m.repeats else None)
                            for m in meeting_store.meeting_rows(session=ctx.session, cluster=cluster)]
    return content
