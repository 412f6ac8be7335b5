"""The cluster's workbooks (.xlsx), streamed (openpyxl write-only): bounded memory for 100,000 actions.

Bold, frozen header rows with filters; real Excel dates (UK format); statuses coloured; a summary
sheet; document properties. Text that Excel would read as a formula (= + - @, tab or CR first) is written
as text, in every cell, header and note (`text_cell` / `as_text`: every cell written goes through them),
and text that looks like a patient identifier is never written (see `Book.screen`).

A workbook is a list of sheet writers (`SHEETS`), each writing its sheet when its part of the
content is given. A new sheet is one more writer: `SHEETS.append(my_sheet)` (or insert it where it
should appear) and a field on `WorkbookContent` for its rows.
"""

import re
from collections.abc import Callable, Iterable
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from storage.actions import ActionCounts, ActionRow
from storage.meetings import MeetingRow
from storage.mentions import named
from storage.polls import BallotRow, PollRow
from storage.topics import TopicNoteRow, TopicRow

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="005EB8")  # NHS blue
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
OVERDUE, DUE_SOON, OPEN, DONE = "Overdue", "Due within 7 days", "Open", "Done"
DROPPED = "Dropped"
STATUS_FILLS = {
    OVERDUE: PatternFill("solid", fgColor="FFC7CE"),
    DUE_SOON: PatternFill("solid", fgColor="FFEB9C"),
    DONE: PatternFill("solid", fgColor="C6EFCE"),
    DROPPED: PatternFill("solid", fgColor="D9D9D9"),  # grey: set aside, with its reason beside it
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what Excel (or a CSV reader after it) may run as a formula
SOON = timedelta(days=7)
WITHHELD = "[withheld: looked like a patient identifier]"
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
HIDDEN_UNTIL_CLOSE = "hidden until the poll closes"


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    kind: str = "text"  # text, code (ids, names: never free text), date, datetime, number, status, long


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
    topic_notes: Iterable[TopicNoteRow] | None = None
    polls: list[PollRow] | None = None
    ballots: Iterable[BallotRow] | None = None
    meetings: list[MeetingRow] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # parts of sheets added later (by their writers)


class Book:
    """The workbook being written, and what every sheet writer needs: the time zone, names of people
    (`name(user_id)`, cached), and `screen` for free text."""

    def __init__(self, content: WorkbookContent, name_of: Callable[[str], str],
                 screen: Callable[[str], bool]):
        self.content = content
        self.tz = ZoneInfo(content.time_zone)
        self.workbook = Workbook(write_only=True)
        self.looks_identifying = screen
        self.name = lru_cache(maxsize=4096)(lambda user_id: self._screened_name(name_of, user_id))

    def _screened_name(self, name_of: Callable[[str], str], user_id: str) -> str:
        """A person's name, or their id when the platform has none. A "person" stored before user ids had
        to look like the platform's (a typed <@0101011237> became an action's owner) is withheld too."""
        name = name_of(user_id) if user_id else ""
        return WITHHELD if name and self.looks_identifying(name) else name

    def screen(self, value):
        """Free text as it may be written: a value the identifier guard would refuse is withheld
        (text stored before the guard existed, or by a path it did not cover, never reaches a file), and
        characters XML cannot hold (U+FFFE, a stray control character) are dropped, since one of them
        makes the whole workbook unreadable. Input is cleaned too; this covers text stored before that."""
        if isinstance(value, str):
            if self.looks_identifying(value):
                return WITHHELD
            if XML_ILLEGAL.search(value):
                value = XML_ILLEGAL.sub("", value)
            return named(value, self.name)  # "Ask <@U1> to …" reads "Ask Sam Ng to …"
        return value

    def local(self, value):
        """Excel has no time zones: times are written in the cluster's local time."""
        return value.astimezone(self.tz).replace(tzinfo=None) if isinstance(value, datetime) else value

    def table(self, title: str, columns: list[Column], rows: Iterable, empty_note: str,
              values: Callable[[Any], list]) -> "Sheet":
        sheet = Sheet(self, title, columns)
        for row in rows:
            sheet.append(values(row))
        if not sheet.rows:
            sheet.note(empty_note)
        sheet.close()
        return sheet

    def save(self, out: BinaryIO) -> None:
        self.workbook.save(out)


class Sheet:
    """One streamed worksheet: header first, then rows; the filter is set from the row count."""

    def __init__(self, book: Book, title: str, columns: list[Column]):
        self.book, self.ws = book, book.workbook.create_sheet(title)
        self.columns, self.rows = columns, 0
        self._styles: dict[tuple, WriteOnlyCell] = {}  # one styled cell per style, copied from
        self.converters = [self._converter(c.kind) for c in columns]
        for index, column in enumerate(columns, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = column.width
        self.ws.freeze_panes = "A2"
        self.ws.append([self._header(c.title) for c in columns])

    def _header(self, title: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=title)  # a practice's name heads a column: never a formula
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        as_text(cell)
        return cell

    def append(self, values: list) -> None:
        """A row; every value through its column's converter, then any text left plain made formula-safe,
        whatever the column's kind (a "number" column may hold * or a label). Converters' cells are already
        safe (`_styled`, `_formula_safe`)."""
        safe = self._formula_safe
        self.ws.append([safe(convert(value)) for convert, value in zip(self.converters, values, strict=True)])
        self.rows += 1

    def _converter(self, kind: str):
        """How a column's values are written: as they are (cheapest to stream), or as a styled cell
        where one is needed (a date format, a status colour, text Excel would read as a formula)."""
        if kind in ("date", "datetime"):
            number_format = DATE_FORMAT if kind == "date" else DATETIME_FORMAT
            local = self.book.local
            return lambda value: None if value is None else self._styled(local(value), number_format=number_format)
        if kind == "status":
            return lambda value: self._styled(value, fill=STATUS_FILLS[value]) if value in STATUS_FILLS else value
        if kind == "number":
            return lambda value: value
        if kind == "code":
            return self._formula_safe
        if kind == "long":  # several lines (notes): wrapped, so each shows as a line
            return lambda value: self._styled(self.book.screen(value), alignment=WRAP) if value else value
        screen = self.book.screen
        return lambda value: self._formula_safe(screen(value))

    def _formula_safe(self, value):
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            cell = WriteOnlyCell(self.ws, value=value)
            as_text(cell)
            return cell
        return value

    def _styled(self, value, **style) -> WriteOnlyCell:
        """A cell with `style`. Setting a style on a cell looks it up in the workbook's style tables
        (hashing the Fill, Alignment …), which cost the 100,000-row export about a tenth of its time;
        the style's index array is worked out once per sheet and copied. Styled before the value is
        set, so a date's own format is not looked up first."""
        key = tuple((name, id(setting)) for name, setting in style.items())
        template = self._styles.get(key)
        if template is None:
            template = self._styles[key] = WriteOnlyCell(self.ws)
            for name, setting in style.items():
                setattr(template, name, setting)
        cell = WriteOnlyCell(self.ws)
        cell._style = copy(template._style)
        cell.value = value
        if isinstance(value, str):
            as_text(cell)
        return cell

    def note(self, text: str) -> None:
        cell = WriteOnlyCell(self.ws, value=text)
        cell.font = Font(italic=True)
        as_text(cell)
        self.ws.append([cell])

    def close(self) -> None:
        last = get_column_letter(len(self.columns))
        self.ws.auto_filter.ref = f"A1:{last}{self.rows + 1}"


def as_text(cell: WriteOnlyCell) -> None:
    """Never a formula: a value starting with = + - @, tab or CR is stored as a string (openpyxl would
    otherwise store "=2*21" as a formula) and marked quote-prefixed, so Excel shows it literally and keeps
    it text when the cell is edited. Read back, it is the same string."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True


def text_cell(ws, value, **style) -> WriteOnlyCell:
    """A cell for a sheet written outside `Sheet` (a summary's label and figure): styled, never a formula."""
    cell = WriteOnlyCell(ws, value=value)
    for name, setting in style.items():
        setattr(cell, name, setting)
    as_text(cell)
    return cell


def status_label(row: ActionRow, today: date) -> str:
    if row.status == "done":
        return DONE
    if row.due_on and row.due_on < today:
        return OVERDUE
    if row.due_on and row.due_on <= today + SOON:
        return DUE_SOON
    return OPEN


ACTION_COLUMNS = [
    Column("ID", 8, "code"), Column("Action", 60), Column("Owner", 24, "code"), Column("Practice code", 14, "code"),
    Column("Practice", 28, "code"), Column("Due", 12, "date"), Column("Status", 18, "status"),
    Column("Topic", 8, "code"), Column("Topic title", 40), Column("Meeting", 9, "code"), Column("Meeting title", 30),
    Column("Notes", 50, "long"), Column("Created by", 24, "code"), Column("Created", 17, "datetime"),
    Column("Done", 17, "datetime"), Column("Done by", 24, "code"), Column("From message", 40, "code"),
]
TOPIC_COLUMNS = [
    Column("ID", 8, "code"), Column("Title", 50), Column("Status", 12, "status"), Column("Source", 20, "code"),
    Column("Practice code", 14, "code"), Column("Practice", 28, "code"), Column("Proposed by", 24, "code"),
    Column("Proposed", 17, "datetime"), Column("Last change", 17, "datetime"), Column("Why it matters", 50),
    Column("Aim", 50), Column("Measure", 40), Column("Notes", 9, "number"), Column("Drop reason", 40),
]
TOPIC_NOTE_COLUMNS = [
    Column("Topic", 8, "code"), Column("Topic title", 40), Column("PDSA step", 10, "code"), Column("Note", 70, "long"),
    Column("By", 24, "code"), Column("When", 17, "datetime"),
]
POLL_COLUMNS = [
    Column("ID", 8, "code"), Column("Question", 50), Column("Ballots", 10, "number"),
    Column("One ballot per", 14, "code"), Column("Anonymous", 11, "code"), Column("Result", 40),
    Column("Counts", 60), Column("Created by", 24, "code"), Column("Created", 17, "datetime"),
    Column("Closes", 17, "datetime"), Column("Closed", 17, "datetime"),
]
BALLOT_COLUMNS = [
    Column("Poll", 8, "code"), Column("Practice code", 14, "code"), Column("Practice", 28, "code"),
    Column("Cast by", 24, "code"), Column("Choices", 50), Column("Cast", 17, "datetime"),
]
MEETING_COLUMNS = [
    Column("ID", 8, "code"), Column("Title", 40), Column("Starts", 17, "datetime"), Column("Minutes", 9, "number"),
    Column("Where", 30), Column("Repeats", 36, "code"), Column("Status", 11, "code"),
    Column("Agenda items", 13, "number"), Column("Scheduled by", 24, "code"),
]
SOURCE_NAMES = {"practices": "Our practices", "board": "Health Board", "hscp": "HSCP",
                "national": "National programme", "other": "Other"}


def topic_title(title: str | None, status: str | None) -> str | None:
    """A topic's title as other sheets show it: a dropped topic says so."""
    if title is None:
        return None
    return f"{title} (dropped)" if status == "dropped" else title


def topic_status(status: str) -> str:
    return DROPPED if status == "dropped" else status.capitalize()


def poll_result(poll: PollRow) -> str:
    if poll.hidden and not poll.closed_at:
        return HIDDEN_UNTIL_CLOSE
    if not poll.closed_at:
        return "open"
    if poll.kind == "pick":
        return "a PICK chart: its quadrants are in the poll's results"
    top = max(poll.counts, default=0)
    if top == 0:
        return "no ballots"
    winners = [o for o, c in zip(poll.options, poll.counts, strict=True) if c == top]
    return winners[0] if len(winners) == 1 else "tie: " + " / ".join(winners)


def poll_counts(poll: PollRow) -> str:
    """Counts per option; nothing while a hidden-results poll is open (not even in a file)."""
    if poll.hidden and not poll.closed_at:
        return ""
    unit = {"ranked": " point", "dots": " dot", "pick": " rating"}.get(poll.kind, "")
    return "; ".join(f"{o}: {c}{unit}{'s' if unit and c != 1 else ''}"
                     for o, c in zip(poll.options, poll.counts, strict=True))


# --- the sheets ---------------------------------------------------------------------------------------

SheetWriter = Callable[[Book], None]


def summary_sheet(book: Book) -> None:
    content = book.content
    ws = book.workbook.create_sheet("Summary")
    for letter, width in zip("ABCDE", (34, 12, 12, 12, 12), strict=True):
        ws.column_dimensions[letter].width = width
    rows = SummaryRows(book, ws)
    rows.add(rows.cell(content.title, TITLE_FONT))
    rows.add(rows.cell("Cluster"), rows.cell(content.cluster_name))
    rows.add(rows.cell("Generated"), rows.cell(content.generated_at, number_format=DATETIME_FORMAT))
    counts = content.action_counts
    if counts is not None:
        rows.heading("Actions by status", "Count")
        for label, value in ((OVERDUE, counts.overdue), (DUE_SOON, counts.due_soon),
                             ("Open, due later or no date", counts.open_later), (DONE, counts.done),
                             ("Total", counts.total)):
            rows.add(rows.cell(label), rows.cell(value))
        rows.heading("Actions by practice", "Open", "Done")
        for practice, n_open, n_done in counts.by_practice:
            rows.add(rows.cell(practice), rows.cell(n_open), rows.cell(n_done))
        rows.heading("Actions by owner", "Open", "Overdue", "Done")
        for owner, n_open, n_overdue, n_done in counts.by_owner:
            rows.add(rows.cell(book.name(owner)), rows.cell(n_open), rows.cell(n_overdue), rows.cell(n_done))
    for label, items in (("Topics", content.topics), ("Polls", content.polls), ("Meetings", content.meetings)):
        if items is not None:
            rows.add()
            rows.add(rows.cell(label, BOLD), rows.cell(len(items)))


class SummaryRows:
    """The summary sheet's rows: labels and figures, not a table."""

    def __init__(self, book: Book, ws):
        self.book, self.ws = book, ws

    def cell(self, value, font=None, number_format=None) -> WriteOnlyCell:
        c = WriteOnlyCell(self.ws, value=self.book.local(self.book.screen(value)))
        if font:
            c.font = font
        if number_format:
            c.number_format = number_format
        as_text(c)
        return c

    def add(self, *cells) -> None:
        self.ws.append(list(cells))

    def heading(self, *titles: str) -> None:
        self.ws.append([])
        self.ws.append([self.cell(title, BOLD) for title in titles])


def actions_sheet(book: Book, empty_note: str = "No actions match: the log is empty.") -> None:
    content, name = book.content, book.name
    if content.actions is None:
        return

    def values(row: ActionRow) -> list:
        return [row.short_id, row.description, name(row.owner), row.practice_code, row.practice_name, row.due_on,
                status_label(row, content.today), row.topic, topic_title(row.topic_title, row.topic_status),
                row.meeting, row.meeting_title, row.notes, name(row.created_by), row.created_at, row.done_at,
                name(row.done_by) if row.done_by else None, row.source_link]

    book.table("Actions", ACTION_COLUMNS, content.actions, empty_note, values)


def topics_sheet(book: Book) -> None:
    if book.content.topics is None:
        return
    name = book.name
    book.table("Topics", TOPIC_COLUMNS, book.content.topics, "No topics yet.", lambda t: [
        t.short_id, t.title, topic_status(t.status), SOURCE_NAMES.get(t.source, t.source), t.practice_code,
        t.practice_name, name(t.proposed_by), t.created_at, t.updated_at, t.why, t.aim, t.measure, t.notes,
        t.drop_reason or None])


def topic_notes_sheet(book: Book) -> None:
    if book.content.topic_notes is None:
        return
    name = book.name
    book.table("Topic notes", TOPIC_NOTE_COLUMNS, book.content.topic_notes, "No topic notes yet.", lambda n: [
        n.topic, topic_title(n.topic_title, n.topic_status), (n.step or "").upper() or None, n.text, name(n.by),
        n.at])


def polls_sheet(book: Book) -> None:
    if book.content.polls is None:
        return
    name = book.name
    book.table("Polls", POLL_COLUMNS, book.content.polls, "No polls yet.", lambda p: [
        p.short_id, p.question, None if p.hidden and not p.closed_at else p.ballots,
        "practice" if p.per_practice else "person", "yes" if p.anonymous else "no", poll_result(p), poll_counts(p),
        name(p.created_by), p.created_at, p.closes_at, p.closed_at])


def ballots_sheet(book: Book) -> None:
    if book.content.ballots is None:
        return
    name = book.name
    book.table("Ballots", BALLOT_COLUMNS, book.content.ballots, "No ballots on non-anonymous polls.", lambda b: [
        b.poll_short_id, b.practice_code, b.practice_name, name(b.cast_by), "; ".join(b.choices), b.cast_at])


def meetings_sheet(book: Book) -> None:
    if book.content.meetings is None:
        return
    name = book.name
    book.table("Meetings", MEETING_COLUMNS, book.content.meetings, "No meetings yet.", lambda m: [
        m.short_id, m.title, m.starts_at, m.minutes, m.place, m.repeats or "", m.status.capitalize(),
        m.agenda_items, name(m.created_by)])


AUDIT_COLUMNS = [Column("When", 17, "datetime"), Column("Who", 24, "code"), Column("What", 28, "code"),
                 Column("Items", 24, "code"), Column("About", 24, "code")]


def audit_sheet(book: Book) -> None:
    """The audit log (`content.extra["audit"]`): who changed the register, roles and record, oldest first.
    Ids and names only: no text typed is kept in it."""
    rows = book.content.extra.get("audit")
    if rows is None:
        return
    name = book.name
    book.table("Audit", AUDIT_COLUMNS, rows, "Nothing audited yet.", lambda r: [
        r.at, name(r.user_id), r.what, r.items, name(r.person) if r.person else ""])


# The cluster workbook's sheets, in order. Each writes nothing when its part of the content is None.
SHEETS: list[SheetWriter] = [summary_sheet, actions_sheet, topics_sheet, topic_notes_sheet, polls_sheet,
                             ballots_sheet, meetings_sheet, audit_sheet]


def write_workbook(out: BinaryIO, content: WorkbookContent, name_of: Callable[[str], str],
                   screen: Callable[[str], bool] = lambda text: False,
                   sheets: list[SheetWriter] | None = None) -> None:
    """Write the workbook to `out`. `name_of` turns a platform user id into a person's name; `screen`
    says whether free text looks like a patient identifier (then it is withheld)."""
    book = Book(content, name_of, screen)
    properties(book)
    for write in SHEETS if sheets is None else sheets:
        write(book)
    book.save(out)


def properties(book: Book) -> None:
    content, props = book.content, book.workbook.properties
    props.title, props.subject, props.creator = content.title, content.cluster_name, "clusterbot"
    props.created = book.local(content.generated_at)
    props.description = (f"{content.title}, generated {content.generated_at.astimezone(book.tz):%d/%m/%Y %H:%M} "
                         f"({content.time_zone})")
