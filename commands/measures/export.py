"""/measure export [suppress]: the measures as a workbook (long-format data and a native Excel chart per
measure); and the measures part of the cluster workbook. With `suppress` (for the Board, or anyone outside
the cluster), counts from 1 to 4, and every figure from which one could be worked out, show as *
(reports/disclosure.py)."""

import io

from commands.context import Context
from commands.errors import Refusal
from commands.exports import XLSX, how_long, looks_identifying, upload
from commands.measures.core import MEASURE
from commands.measures.workbook import measures_content
from commands.registry import subcommand
from commands.results import Reply, line
from commands.text.dates import local_today
from reports import lazily
from storage import measures as store

sheets = lazily("reports.measures")
workbook = lazily("reports.workbook")

EXPORT_EXAMPLE = "/measure export suppress"
@subcommand(MEASURE, "export [suppress]", EXPORT_EXAMPLE,
            "the measures as an Excel workbook with a chart per measure (suppress: for the Board, counts of 1 to 4 "
            "and what would give them away shown as *)",
            later=lambda ctx, rest: _export(ctx, rest), files=True)
def export(ctx: Context, rest: str) -> Reply:
    suppress = _suppress(rest)
    size = {"data points": store.count_cluster_points(session=ctx.session, cluster=ctx.require_cluster())}
    hidden = " with counts of 1 to 4 (and what would give them away) shown as *" if suppress else ""
    return Reply.tell(line(f"Preparing the measures workbook{hidden}…" + how_long(size)))


def _suppress(rest: str) -> bool:
    word = rest.strip().lower()
    if word not in ("", "suppress", "suppressed"):
        raise Refusal(f"“{rest.strip()[:30]}” isn't an export setting: add suppress (for the Board: counts of 1 to "
                      "4 shown as *), or nothing.", example=EXPORT_EXAMPLE)
    return bool(word)


def _export(ctx: Context, rest: str) -> Reply:
    cluster, suppress = ctx.require_cluster(), _suppress(rest)
    title = "Measures" + (" (small counts suppressed)" if suppress else "")
    content = workbook.WorkbookContent(cluster.name, title, ctx.now(), cluster.time_zone,
                                       local_today(ctx.now(), ctx.time_zone))
    content.extra["measures"] = measures_content(ctx, cluster, suppress=suppress)
    out = io.BytesIO()
    workbook.write_workbook(out, content, ctx.directory, looks_identifying,
                            sheets=[sheets.measures_sheet, sheets.measure_chart_sheets])
    kind = "measures-suppressed" if suppress else "measures"
    return Reply.quiet(upload(ctx, cluster, title, kind, XLSX, out.getvalue()))
