"""The cluster workbook (.xlsx), streamed (openpyxl write-only): bounded memory for 100,000 actions.

Bold, frozen header rows with filters; real Excel dates (UK format); the action status coloured;
a summary sheet; document properties. Text that Excel would read as a formula (= + - @ first) is
written as text.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import BinaryIO
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from storage.actions import ActionCounts, ActionRow
from storage.meetings import MeetingRow
from storage.polls import BallotRow, PollRow
from storage.topics import TopicRow

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="005EB8")  # NHS blue
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
OVERDUE, DUE_SOON, OPEN, DONE = "Overdue", "Due within 7 days", "Open", "Done"
STATUS_FILLS = {
    OVERDUE: PatternFill("solid", fgColor="FFC7CE"),
    DUE_SOON: PatternFill("solid", fgColor="FFEB9C"),
    DONE: PatternFill("solid", fgColor="C6EFCE"),
}
FORMULA_STARTS = ("=", "+", "-", "@")
SOON = timedelta(days=7)


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    kind: str = "text"  # text, date, datetime, number, status


@dataclass
class WorkbookContent:
    """What goes in: each part is optional, and a sheet is written only for what is given."""

    cluster_name: str
    title: str
    generated_at: datetime
    time_zone: str
    today: date
    action_counts: ActionCounts | None = None
    actions: Iterable[ActionRow] | None = None
    topics: list[TopicRow] | None = None
    polls: list[PollRow] | None = None
    ballots: list[BallotRow] | None = None
    meetings: list[MeetingRow] | None = None


class _Sheet:
    """One streamed worksheet: header first, then rows; the filter is set from the row count."""

    def __init__(self, workbook: Workbook, title: str, columns: list[Column], tz: ZoneInfo):
        self.ws = workbook.create_sheet(title)
        self.columns, self.tz, self.rows = columns, tz, 0
        self.converters = [self._converter(c.kind) for c in columns]
        for index, column in enumerate(columns, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = column.width
        self.ws.freeze_panes = "A2"
        self.ws.append([self._header(c.title) for c in columns])

    def _header(self, title: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        return cell

    def append(self, values: list) -> None:
        self.ws.append([convert(value) for convert, value in zip(self.converters, values, strict=True)])
        self.rows += 1

    def _converter(self, kind: str):
        """How a column's values are written: as they are (cheapest to stream), or as a styled cell
        where one is needed (a date format, a status colour, text Excel would read as a formula)."""
        if kind in ("date", "datetime"):
            number_format = DATE_FORMAT if kind == "date" else DATETIME_FORMAT
            return lambda value: None if value is None else self._styled(self._local(value),
                                                                         number_format=number_format)
        if kind == "status":
            return lambda value: self._styled(value, fill=STATUS_FILLS[value]) if value in STATUS_FILLS else value
        return self._text

    def _local(self, value):
        """Excel has no time zones: times are written in the cluster's local time."""
        return value.astimezone(self.tz).replace(tzinfo=None) if isinstance(value, datetime) else value

    def _text(self, value):
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            cell = WriteOnlyCell(self.ws, value=value)
            _as_text(cell)
            return cell
        return value

    def _styled(self, value, **style) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=value)
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell

    def note(self, text: str) -> None:
        cell = WriteOnlyCell(self.ws, value=text)
        cell.font = Font(italic=True)
        self.ws.append([cell])

    def close(self) -> None:
        last = get_column_letter(len(self.columns))
        self.ws.auto_filter.ref = f"A1:{last}{self.rows + 1}"


def _as_text(cell: WriteOnlyCell) -> None:
    """Never a formula: a value starting with = + - @ is stored and shown as text."""
    if cell.value and cell.value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True


def status_label(row: ActionRow, today: date) -> str:
    if row.status == "done":
        return DONE
    if row.due_on and row.due_on < today:
        return OVERDUE
    if row.due_on and row.due_on <= today + SOON:
        return DUE_SOON
    return OPEN


ACTION_COLUMNS = [
    Column("ID", 8), Column("Action", 60), Column("Owner", 24), Column("Practice code", 14),
    Column("Practice", 28), Column("Due", 12, "date"), Column("Status", 18, "status"), Column("Topic", 8),
    Column("Created by", 24), Column("Created", 17, "datetime"), Column("Done", 17, "datetime"),
    Column("Done by", 24), Column("From message", 40),
]
TOPIC_COLUMNS = [
    Column("ID", 8), Column("Title", 50), Column("Status", 12), Column("Source", 20), Column("Practice code", 14),
    Column("Practice", 28), Column("Proposed by", 24), Column("Proposed", 17, "datetime"),
    Column("Last change", 17, "datetime"), Column("Why it matters", 50), Column("Aim", 50), Column("Measure", 40),
]
POLL_COLUMNS = [
    Column("ID", 8), Column("Question", 50), Column("Ballots", 10, "number"), Column("One ballot per", 14),
    Column("Anonymous", 11), Column("Result", 40), Column("Counts", 60), Column("Created by", 24),
    Column("Created", 17, "datetime"), Column("Closes", 17, "datetime"), Column("Closed", 17, "datetime"),
]
BALLOT_COLUMNS = [
    Column("Poll", 8), Column("Practice code", 14), Column("Practice", 28), Column("Cast by", 24),
    Column("Choices", 50), Column("Cast", 17, "datetime"),
]
MEETING_COLUMNS = [
    Column("ID", 8), Column("Title", 40), Column("Starts", 17, "datetime"), Column("Minutes", 9, "number"),
    Column("Where", 30), Column("Repeats", 36), Column("Status", 11), Column("Agenda items", 13, "number"),
    Column("Scheduled by", 24),
]
SOURCE_NAMES = {"practices": "Our practices", "board": "Health Board", "hscp": "HSCP",
                "national": "National programme", "other": "Other"}


def write_workbook(out: BinaryIO, content: WorkbookContent, name_of: Callable[[str], str]) -> None:
    """Write the workbook to `out`. `name_of` turns a platform user id into a person's name."""
    name = lru_cache(maxsize=4096)(lambda user_id: name_of(user_id) if user_id else "")
    tz = ZoneInfo(content.time_zone)
    workbook = Workbook(write_only=True)
    workbook.properties.title = content.title
    workbook.properties.subject = content.cluster_name
    workbook.properties.creator = "clusterbot"
    workbook.properties.created = content.generated_at.astimezone(tz).replace(tzinfo=None)
    workbook.properties.description = (f"{content.title}, generated "
                                       f"{content.generated_at.astimezone(tz):%d/%m/%Y %H:%M} ({content.time_zone})")
    _summary(workbook, content, name, tz)
    if content.actions is not None:
        _actions(workbook, content, name, tz)
    if content.topics is not None:
        _rows(workbook, "Topics", TOPIC_COLUMNS, tz, content.topics, "No topics yet.", lambda t: [
            t.short_id, t.title, t.status.capitalize(), SOURCE_NAMES.get(t.source, t.source), t.practice_code,
            t.practice_name, name(t.proposed_by), t.created_at, t.updated_at, t.why, t.aim, t.measure])
    if content.polls is not None:
        _rows(workbook, "Polls", POLL_COLUMNS, tz, content.polls, "No polls yet.", lambda p: [
            p.short_id, p.question, p.ballots, "practice" if p.per_practice else "person",
            "yes" if p.anonymous else "no", _result(p),
            "; ".join(f"{o}: {c}" for o, c in zip(p.options, p.counts, strict=True)), name(p.created_by),
            p.created_at, p.closes_at, p.closed_at])
    if content.ballots is not None:
        _rows(workbook, "Ballots", BALLOT_COLUMNS, tz, content.ballots, "No ballots on non-anonymous polls.",
              lambda b: [b.poll_short_id, b.practice_code, b.practice_name, name(b.cast_by), "; ".join(b.choices),
                         b.cast_at])
    if content.meetings is not None:
        _rows(workbook, "Meetings", MEETING_COLUMNS, tz, content.meetings, "No meetings yet.", lambda m: [
            m.short_id, m.title, m.starts_at, m.minutes, m.place, m.repeats or "", m.status.capitalize(),
            m.agenda_items, name(m.created_by)])
    workbook.save(out)


def _rows(workbook, title, columns, tz, rows, empty_note, values) -> None:
    sheet = _Sheet(workbook, title, columns, tz)
    for row in rows:
        sheet.append(values(row))
    if not sheet.rows:
        sheet.note(empty_note)
    sheet.close()


def _actions(workbook: Workbook, content: WorkbookContent, name, tz: ZoneInfo) -> None:
    def values(row: ActionRow) -> list:
        return [row.short_id, row.description, name(row.owner), row.practice_code, row.practice_name, row.due_on,
                status_label(row, content.today), row.topic, name(row.created_by), row.created_at, row.done_at,
                name(row.done_by) if row.done_by else None, row.source_link]

    _rows(workbook, "Actions", ACTION_COLUMNS, tz, content.actions, "No actions match: the log is empty.", values)


def _result(poll: PollRow) -> str:
    if not poll.closed_at:
        return "open"
    top = max(poll.counts, default=0)
    if top == 0:
        return "no ballots"
    winners = [o for o, c in zip(poll.options, poll.counts, strict=True) if c == top]
    return winners[0] if len(winners) == 1 else "tie: " + " / ".join(winners)


def _summary(workbook: Workbook, content: WorkbookContent, name, tz: ZoneInfo) -> None:
    ws = workbook.create_sheet("Summary")
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 32, 12
    ws.column_dimensions["C"].width, ws.column_dimensions["D"].width = 12, 12

    def cell(value, font=None, number_format=None) -> WriteOnlyCell:
        c = WriteOnlyCell(ws, value=value.astimezone(tz).replace(tzinfo=None) if isinstance(value, datetime)
                          else value)
        if font:
            c.font = font
        if number_format:
            c.number_format = number_format
        if isinstance(value, str):
            _as_text(c)
        return c

    ws.append([cell(content.title, TITLE_FONT)])
    ws.append([cell("Cluster"), cell(content.cluster_name)])
    ws.append([cell("Generated"), cell(content.generated_at, number_format=DATETIME_FORMAT)])
    counts = content.action_counts
    if counts is not None:
        ws.append([])
        ws.append([cell("Actions by status", BOLD), cell("Count", BOLD)])
        for label, value in ((OVERDUE, counts.overdue), (DUE_SOON, counts.due_soon),
                             ("Open, due later or no date", counts.open_later), (DONE, counts.done),
                             ("Total", counts.total)):
            ws.append([cell(label), cell(value)])
        ws.append([])
        ws.append([cell("Actions by practice", BOLD), cell("Open", BOLD), cell("Done", BOLD)])
        for practice, n_open, n_done in counts.by_practice:
            ws.append([cell(practice), cell(n_open), cell(n_done)])
        ws.append([])
        ws.append([cell("Actions by owner", BOLD), cell("Open", BOLD), cell("Overdue", BOLD), cell("Done", BOLD)])
        for owner, n_open, n_overdue, n_done in counts.by_owner:
            ws.append([cell(name(owner)), cell(n_open), cell(n_overdue), cell(n_done)])
    for label, rows in (("Topics", content.topics), ("Polls", content.polls), ("Meetings", content.meetings)):
        if rows is not None:
            ws.append([])
            ws.append([cell(label, BOLD), cell(len(rows))])
