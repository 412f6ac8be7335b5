"""The Board report: a period of the cluster's work as a workbook a Health Board or HSCP reader can
follow (Summary, Topics, Meetings, Actions, Polls, Engagement) and, on request, a one-page Word
narrative. Built on reports.workbook's Book and sheets; the rows come from storage/."""

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from docx import Document
from docx.shared import Cm, Pt
from openpyxl.drawing.image import Image
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from reports.measures import SUPPRESSED_NOTE
from reports.minutes import NHS_BLUE, a4
from reports.qi import checkins_sheet, qi_story_sheets
from reports.workbook import (
    BOLD,
    DATETIME_FORMAT,
    SOURCE_NAMES,
    TITLE_FONT,
    Book,
    Column,
    Sheet,
    SummaryRows,
    WorkbookContent,
    actions_sheet,
    poll_counts,
    poll_result,
    properties,
    topic_status,
)
from storage.meeting_record import DecisionRow
from storage.polls import PollRow
from storage.progress import SCALE
from storage.report import MeetingRecordRow, Turnout
from storage.topics import TopicNoteRow, TopicRow

NO_ACTIVITY = "No recorded activity in this period: no topics, meetings, actions or polls."
EXTERNAL = ("board", "hscp", "national")
STATUSES = ("proposed", "agreed", "active", "done", "dropped")


@dataclass(frozen=True)
class PracticeRef:
    id: int
    code: str
    name: str


@dataclass
class MeasureStory:
    """One measure as the Board reads it: the cluster's run chart, its data (already suppressed), the centre
    line and the signals with the periods they cover."""

    short_id: str
    name: str
    topic: str
    topic_title: str
    unit: str
    centre_label: str                      # "Median", "Mean" …
    rows: list[tuple] = field(default_factory=list)   # (period, value, numerator, denominator, practices reported)
    centre: str | None = None              # "61.2%"
    signals: list[str] = field(default_factory=list)  # "shift above the median (6 months) — improvement: May 2026 to …"
    verdict: str = "not enough data yet"
    picture: bytes | None = None           # the run chart as a PNG


@dataclass
class Report:
    """Everything in a Board report, for one period."""

    period: str                                   # "1 January 2025 to 31 December 2025"
    practices: list[PracticeRef]
    topics: list[TopicRow] = field(default_factory=list)
    notes: list[TopicNoteRow] = field(default_factory=list)
    meetings: list[MeetingRecordRow] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)
    polls: list[PollRow] = field(default_factory=list)
    turnout: dict[str, Turnout] = field(default_factory=dict)   # by poll short id
    actions_owned: dict[int, tuple[int, int]] = field(default_factory=dict)  # practice id -> (owned, done)
    topics_proposed: Counter = field(default_factory=Counter)   # practice code -> topics proposed
    data_points: dict[int, int] = field(default_factory=dict)   # practice id -> measure values for the period
    measures: list[MeasureStory] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.topics or self.meetings or self.polls or self.decisions or self.notes or self.measures)


def report_of(book: Book) -> Report:
    return book.content.extra["report"]


def _hidden(poll: PollRow) -> bool:
    return poll.hidden and not poll.closed_at


# --- the sheets ---------------------------------------------------------------------------------------

def summary_sheet(book: Book) -> None:
    report, content = report_of(book), book.content
    ws = book.workbook.create_sheet("Summary")
    for letter, width in zip("ABCDEFG", (34, 18, 12, 12, 12, 12, 12), strict=True):  # B holds a date and time
        ws.column_dimensions[letter].width = width
    rows = SummaryRows(book, ws)
    rows.add(rows.cell(content.title, TITLE_FONT))
    rows.add(rows.cell("Cluster"), rows.cell(content.cluster_name))
    rows.add(rows.cell("Period"), rows.cell(report.period))
    rows.add(rows.cell("Generated"), rows.cell(content.generated_at, number_format=DATETIME_FORMAT))
    if report.is_empty and not (content.action_counts and content.action_counts.total):
        rows.add()
        rows.add(rows.cell(NO_ACTIVITY, BOLD))
    counts = content.action_counts
    rows.heading("In this period", "Count")
    for label, value in (("Topics worked on", len(report.topics)), ("Topic notes", len(report.notes)),
                         ("Meetings held", len(report.meetings)), ("Decisions", len(report.decisions)),
                         ("Polls", len(report.polls)), ("Actions open or done", counts.total if counts else 0),
                         ("Actions done", counts.done if counts else 0)):
        rows.add(rows.cell(label), rows.cell(value))
    rows.heading("Topics by source", *(s.capitalize() for s in STATUSES), "Total")
    by = Counter((t.source, t.status) for t in report.topics)
    for source, label in SOURCE_NAMES.items():
        figures = [by[(source, s)] for s in STATUSES]
        rows.add(rows.cell(label), *(rows.cell(n) for n in figures), rows.cell(sum(figures)))
    rows.heading("Practices' engagement", "Meetings", "Polls", "Actions", "Done")
    for line in engagement(report):
        rows.add(rows.cell(f"{line[0]} {line[1]}"), rows.cell(line[2]), rows.cell(line[4]), rows.cell(line[6]),
                 rows.cell(line[7]))


TOPIC_COLUMNS = [
    Column("ID", 8, "code"), Column("Title", 45), Column("Source", 18, "code"), Column("Status", 12, "status"),
    Column("Aim", 45), Column("Measure", 35), Column("Proposed", 17, "datetime"), Column("Last change", 17, "datetime"),
    Column("Proposing practice", 28, "code"), Column("Notes (PDSA step)", 70, "long"), Column("Drop reason", 40),
]


def topics_sheet(book: Book) -> None:
    report, name = report_of(book), book.name
    notes: dict[str, list[str]] = {}
    for note in report.notes:
        step = f"[{note.step.upper()}] " if note.step else ""
        notes.setdefault(note.topic, []).append(f"{book.local(note.at):%d/%m/%Y} {step}{note.text} ({name(note.by)})")
    book.table("Topics", TOPIC_COLUMNS, report.topics, "No topics in this period.", lambda t: [
        t.short_id, t.title, SOURCE_NAMES.get(t.source, t.source), topic_status(t.status), t.aim, t.measure,
        t.created_at, t.updated_at, f"{t.practice_code} {t.practice_name}" if t.practice_code else None,
        "\n".join(notes.get(t.short_id, [])) or None, t.drop_reason or None])


MEETING_COLUMNS = [
    Column("ID", 8, "code"), Column("Title", 36), Column("Date", 17, "datetime"), Column("Where", 24),
    Column("Practices represented", 14, "code"), Column("Present", 40, "code"), Column("Apologies", 30, "code"),
    Column("Decisions", 60, "long"), Column("Minute lines", 10, "number"), Column("Actions raised", 10, "number"),
]


def meetings_sheet(book: Book) -> None:
    report, name = report_of(book), book.name

    def who(people: list[tuple[str | None, str | None]]) -> str:
        return "; ".join(f"{name(u)} ({c})" if u and c else name(u) if u else c or "" for u, c in people)

    book.table("Meetings", MEETING_COLUMNS, report.meetings, "No meetings held in this period.", lambda m: [
        m.short_id, m.title, m.starts_at, m.place, f"{m.practices_present} of {m.practices}", who(m.present),
        who(m.apologies), "\n".join(f"{n}. {d}" for n, d in enumerate(m.decisions, 1)) or None, m.minute_lines,
        m.actions_raised])


POLL_COLUMNS = [
    Column("ID", 8, "code"), Column("Question", 45), Column("Opened", 17, "datetime"), Column("Closed", 17, "datetime"),
    Column("Anonymous", 10, "code"), Column("Turnout", 16, "code"), Column("Voted", 40, "code"),
    Column("Did not vote", 40, "code"), Column("Result", 30), Column("Counts", 45),
]


def polls_sheet(book: Book) -> None:
    report = report_of(book)
    codes = {p.id: p.code for p in report.practices}

    def values(poll: PollRow) -> list:
        turnout = report.turnout.get(poll.short_id, Turnout())
        if _hidden(poll):  # results hidden until the close: nothing about the voting shows, here either
            return [poll.short_id, poll.question, poll.created_at, None, _yes(poll.anonymous),
                    "hidden until the poll closes", None, None, poll_result(poll), None]
        if poll.anonymous:  # anonymous: how many, never who
            return [poll.short_id, poll.question, poll.created_at, poll.closed_at, "yes",
                    _count(poll, turnout, len(codes)), "not listed (anonymous)", "not listed (anonymous)",
                    poll_result(poll), poll_counts(poll)]
        voted = sorted(codes[p] for p in turnout.voted_practices if p in codes)
        # A per-person poll says how many people of each practice voted: "80123 (3)".
        voted_text = [code if poll.per_practice else f"{code} ({turnout.people_by_practice[pid]})"
                      for pid, code in sorted(codes.items(), key=lambda item: item[1]) if code in voted]
        missing = [p.code for p in report.practices if p.code not in voted]
        return [poll.short_id, poll.question, poll.created_at, poll.closed_at, "no", _count(poll, turnout, len(codes)),
                ", ".join(voted_text) or None, ", ".join(missing) or None, poll_result(poll), poll_counts(poll)]

    book.table("Polls", POLL_COLUMNS, report.polls, "No polls in this period.", values)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _count(poll: PollRow, turnout: Turnout, practices: int) -> str:
    """"5 of 6 practices" for a practice poll whose voters may be named; otherwise how many ballots."""
    if poll.per_practice and not poll.anonymous:
        return f"{len(turnout.voted_practices)} of {practices} practices"
    return f"{turnout.ballots} ballot{_s(turnout.ballots)}"


ENGAGEMENT_COLUMNS = [
    Column("Practice code", 14, "code"), Column("Practice", 30, "code"), Column("Meetings attended", 11, "number"),
    Column("Apologies", 10, "number"), Column("Polls voted in", 10, "number"),
    Column("Polls open to vote", 10, "number"), Column("Actions owned", 10, "number"),
    Column("Actions done", 10, "number"), Column("Topics proposed", 10, "number"),
    Column("Data recorded", 10, "number"),
]


def engagement(report: Report) -> list[list]:
    """One line per practice: its part in the period's meetings, polls, actions and topics. Polls count
    only those whose voters may be named (not anonymous, results not hidden)."""
    named = [p for p in report.polls if not p.anonymous and not _hidden(p)]
    lines = []
    for practice in report.practices:
        code = practice.code
        attended = sum(1 for m in report.meetings if any(c == code for _, c in m.present))
        sorry = sum(1 for m in report.meetings if any(c == code for _, c in m.apologies)
                    and not any(c == code for _, c in m.present))
        voted = sum(1 for p in named if practice.id in report.turnout.get(p.short_id, Turnout()).voted_practices)
        owned, done = report.actions_owned.get(practice.id, (0, 0))
        lines.append([code, practice.name, attended, sorry, voted, len(named), owned, done,
                      report.topics_proposed.get(code, 0), report.data_points.get(practice.id, 0)])
    return lines


def engagement_sheet(book: Book) -> None:
    report = report_of(book)
    book.table("Engagement", ENGAGEMENT_COLUMNS, engagement(report), "No practices registered.", lambda line: line)


def report_actions_sheet(book: Book) -> None:
    actions_sheet(book, "No actions open or done in this period.")


MEASURE_COLUMNS = [Column("Period", 12, "code"), Column("Cluster", 12, "code"), Column("Numerator", 12, "code"),
                   Column("Denominator", 12, "code"), Column("Practices reported", 11, "number")]
PICTURE_WIDTH, PICTURE_HEIGHT = 720, 360  # pixels in the sheet: about 19 × 9.5 cm
MEASURES_INTRO = ("Each measure's cluster run chart, its data, the centre line and any signals, with the periods they "
                  "cover.")


def measure_sheets(book: Book) -> None:
    """A sheet per measure: the table on the left, the run chart picture beside it, then the centre line and
    signals; topics' measures first, in topic order, then measures of topics outside the period."""
    report = report_of(book)
    for story in ordered_stories(report):
        title = f"{story.short_id} {story.name}"[:31].rstrip()
        sheet = Sheet(book, safe_title(title), MEASURE_COLUMNS)
        for row in story.rows:
            sheet.append([*row])
        if not story.rows:
            sheet.note("No data up to the end of this period.")
        sheet.ws.append([])
        sheet.note(book.screen(f"{story.short_id} {story.name}, topic {story.topic} {story.topic_title}"))
        sheet.note(f"{story.centre_label}: {story.centre}" if story.centre else f"{story.centre_label}: none yet")
        sheet.note("Signals: " + ("; ".join(story.signals) if story.signals else story.verdict))
        sheet.note(SUPPRESSED_NOTE)
        if story.picture:
            picture = Image(io.BytesIO(story.picture))
            picture.width, picture.height = PICTURE_WIDTH, PICTURE_HEIGHT
            sheet.ws.add_image(picture, "G2")
        sheet.close()


def ordered_stories(report: Report) -> list[MeasureStory]:
    order = {t.short_id: i for i, t in enumerate(report.topics)}
    return sorted(report.measures, key=lambda s: (s.topic not in order, order.get(s.topic, 0)))


def safe_title(title: str) -> str:
    return "".join("-" if c in "[]:*?/\\" else c for c in title) or "Measure"


def report_checkins_sheet(book: Book) -> None:
    checkins_sheet(book, "No check-in answers in this period.")


REPORT_SHEETS = [summary_sheet, topics_sheet, measure_sheets, qi_story_sheets, report_checkins_sheet, meetings_sheet,
                 report_actions_sheet, polls_sheet, engagement_sheet]
LANDSCAPE_WIDTH = 100  # characters of column width: wider than this prints landscape


def fit_to_page(book: Book) -> None:
    """Every sheet made from now on fits its page. A streamed sheet writes its properties (where "fit to page"
    lives) with its first row, so the flag is set as the sheet is created; the rest of the page set-up is
    written when the sheet closes (print_ready)."""
    create = book.workbook.create_sheet

    def create_fitted(*args, **kwargs):
        ws = create(*args, **kwargs)
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        return ws

    book.workbook.create_sheet = create_fitted


def print_ready(book: Book) -> None:
    """Every sheet on A4, landscape where wide, fit to the page's width (as many pages down as needed), with its
    header row repeated on each printed page."""
    for ws in book.workbook.worksheets:
        widths = sum(d.width or 8 for d in ws.column_dimensions.values())
        ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
        ws.page_setup.orientation = "landscape" if widths > LANDSCAPE_WIDTH or ws._images else "portrait"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        if ws.title != "Summary":
            ws.print_title_rows = "1:1"


def write_report(out: BinaryIO, content: WorkbookContent, name_of: Callable[[str], str],
                 screen: Callable[[str], bool]) -> None:
    """The report workbook: `content.extra["report"]` holds the Report, `content.actions` the actions."""
    book = Book(content, name_of, screen)
    fit_to_page(book)
    properties(book)
    for write in REPORT_SHEETS:
        write(book)
    print_ready(book)
    book.save(out)


# --- the one-page narrative ---------------------------------------------------------------------------

def write_narrative(out: BinaryIO, content: WorkbookContent, screen: Callable[[str], str]) -> None:
    """One page in words: what the cluster worked on, where the work came from, what changed, how the
    practices took part."""
    report = content.extra["report"]
    counts = content.action_counts
    doc = Document()
    a4(doc)
    doc.styles["Normal"].font.name, doc.styles["Normal"].font.size = "Arial", Pt(11)
    doc.core_properties.title = screen(content.title)
    doc.core_properties.subject = screen(content.cluster_name)
    doc.core_properties.author = "clusterbot"
    heading = doc.add_heading(level=1)
    run = heading.add_run(screen(f"{content.cluster_name}: report to the Health Board"))
    run.font.color.rgb, run.font.name = NHS_BLUE, "Arial"
    doc.add_paragraph(f"Period: {report.period}.")
    if report.is_empty and not (counts and counts.total):
        doc.add_paragraph(NO_ACTIVITY)
        doc.save(out)
        return

    _part(doc, "What the cluster worked on")
    working = [t for t in report.topics if t.status in ("agreed", "active", "done")]
    doc.add_paragraph(f"{len(report.topics)} quality improvement topic{_s(len(report.topics))} in the period; "
                      f"{len(working)} agreed, active or completed.")
    stories = {story.topic: story for story in content.extra.get("qi") or []}
    for topic in working[:8]:
        aim = f" Aim: {topic.aim}" if topic.aim else ""
        doc.add_paragraph(screen(f"{topic.short_id} {topic.title} ({topic.status}).{aim}{_qi_words(stories, topic)}"),
                          style="List Bullet")

    _part(doc, "Where the work came from")
    external = [t for t in report.topics if t.source in EXTERNAL]
    internal = [t for t in report.topics if t.source == "practices"]
    by_source = Counter(SOURCE_NAMES.get(t.source, t.source) for t in external)
    asked = ", ".join(f"{n} from {label}" for label, n in sorted(by_source.items())) or "none"
    doc.add_paragraph(f"{len(internal)} topic{_s(len(internal))} came from the practices themselves; "
                      f"{len(external)} {'were' if len(external) != 1 else 'was'} asked for from outside ({asked}).")

    _part(doc, "What changed")
    done = [t for t in report.topics if t.status == "done"]
    dropped = [t for t in report.topics if t.status == "dropped"]
    doc.add_paragraph(f"{len(done)} topic{_s(len(done))} completed and {len(dropped)} set aside; "
                      f"{len(report.decisions)} decision{_s(len(report.decisions))} recorded; "
                      f"{counts.done if counts else 0} of {counts.total if counts else 0} actions done.")
    for decision in report.decisions:  # every one: the Board needs the key decision, wherever it falls
        doc.add_paragraph(screen(f"{decision.meeting}: {decision.text}"), style="List Bullet")

    _measured_story(doc, report, screen)

    _part(doc, "How the practices took part")
    doc.add_paragraph(_participation(report))
    doc.save(out)


def _qi_words(stories: dict, topic: TopicRow) -> str:
    """" 3 PDSA cycles (1 adopted). Progress: 3 modest improvement." from the topic's QI story, if it has one."""
    story = stories.get(topic.short_id)
    if story is None:
        return ""
    words = ""
    if story.cycles:
        adopted = sum(1 for cycle in story.cycles if cycle[4] == "adopt")
        words += f" {len(story.cycles)} PDSA cycle{_s(len(story.cycles))} ({adopted} adopted)."
    if story.scores:
        halves = story.scores[-1][1]
        words += f" Progress (IHI scale): {halves / 2:g} {SCALE.get(halves, '')}."
    return words


PICTURE_CM = 16.0  # the run chart's width on an A4 page with 2.5 cm margins


def _measured_story(doc, report: Report, screen: Callable[[str], str]) -> None:
    """Per topic of the period, its measures (chart, centre line, signals, data) and its PDSA notes; then the
    measures of topics outside the period in their own part."""
    stories = ordered_stories(report)
    topics = {t.short_id for t in report.topics}
    notes: dict[str, list[TopicNoteRow]] = {}
    for note in report.notes:
        notes.setdefault(note.topic, []).append(note)
    if not stories and not report.notes:
        return
    _part(doc, "What the measures show")
    doc.add_paragraph(MEASURES_INTRO + " " + SUPPRESSED_NOTE)
    for topic in report.topics:
        mine = [s for s in stories if s.topic == topic.short_id]
        if not mine and topic.short_id not in notes:
            continue
        _subpart(doc, screen(f"{topic.short_id} {topic.title}"))
        for story in mine:
            _story(doc, story, screen)
        if topic.short_id in notes:
            doc.add_paragraph("PDSA notes", style="Heading 4")
            for note in notes[topic.short_id]:
                step = f"{note.step.capitalize()}: " if note.step else ""
                doc.add_paragraph(screen(f"{step}{note.text} ({british_day(note.at)})"), style="List Bullet")
    others = [s for s in stories if s.topic not in topics]
    if others:
        _subpart(doc, "Measures of topics outside this period")
        for story in others:
            _story(doc, story, screen)


def _story(doc, story: MeasureStory, screen: Callable[[str], str]) -> None:
    doc.add_paragraph(screen(f"{story.short_id} {story.name}"), style="Heading 4")
    if story.picture:
        doc.add_picture(io.BytesIO(story.picture), width=Cm(PICTURE_CM))
    centre = f"{story.centre_label}: {story.centre}." if story.centre else f"{story.centre_label}: none yet."
    doc.add_paragraph(centre + " Signals: " + ("; ".join(story.signals) if story.signals else story.verdict) + ".")
    if story.rows:
        table = doc.add_table(rows=1, cols=len(MEASURE_COLUMNS))
        table.style = "Table Grid"
        for cell, column in zip(table.rows[0].cells, MEASURE_COLUMNS, strict=True):
            cell.text = column.title
            cell.paragraphs[0].runs[0].bold = True
        for row in story.rows:
            for cell, value in zip(table.add_row().cells, row, strict=True):
                cell.text = _figure(value)


def _figure(value) -> str:
    """A table cell's words: a whole number without ".0" (counts are stored as floats)."""
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return "" if value is None else str(value)


def british_day(moment) -> str:
    return f"{moment.day} {moment:%B %Y}"


def _subpart(doc, title: str) -> None:
    heading = doc.add_heading(level=3)
    run = heading.add_run(title)
    run.font.color.rgb, run.font.name = NHS_BLUE, "Arial"


def _participation(report: Report) -> str:
    n = len(report.practices)
    if report.meetings:
        average = sum(m.practices_present for m in report.meetings) / len(report.meetings)
        meetings = (f"{len(report.meetings)} meeting{_s(len(report.meetings))} held, with on average "
                    f"{average:.1f} of {n} practices represented")
    else:
        meetings = "no meetings recorded"
    named = [p for p in report.polls if p.per_practice and not p.anonymous and not _hidden(p)]
    if named:
        votes = sum(len(report.turnout.get(p.short_id, Turnout()).voted_practices) for p in named)
        polls = f"; {len(named)} practice poll{_s(len(named))}, each answered by {votes / len(named):.1f} of {n}"
    else:
        polls = ""
    return f"{meetings}{polls}."[:1].upper() + f"{meetings}{polls}."[1:]


def _part(doc, title: str) -> None:
    heading = doc.add_heading(level=2)
    run = heading.add_run(title)
    run.font.color.rgb, run.font.name = NHS_BLUE, "Arial"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
