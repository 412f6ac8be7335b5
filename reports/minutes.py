"""A meeting's minutes: what they hold (`Minutes`, filled by commands/meetings/minutes.py) and the Word file
(python-docx), laid out as NHS minutes usually are: a title block, present and apologies, numbered
items, decisions, and an action table with owner and due date."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import BinaryIO

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor

from storage.mentions import named

NHS_BLUE = RGBColor(0x00, 0x5E, 0xB8)
NOTHING = "None recorded."


@dataclass(frozen=True)
class Attendee:
    """A practice, a person, or a person from a practice."""

    user_id: str | None
    practice: str | None  # "80123 Riverside Medical Practice"


@dataclass(frozen=True)
class RaisedAction:
    short_id: str
    what: str
    owner: str  # a user id
    due_on: date | None
    status: str


@dataclass(frozen=True)
class Move:
    topic: str
    title: str
    from_status: str | None
    to_status: str
    by: str
    reason: str


@dataclass(frozen=True)
class Decided:
    text: str
    topic: str | None
    topic_title: str | None


@dataclass
class Minutes:
    cluster_name: str
    meeting: str          # M1
    title: str
    when: str             # "Thursday 12 November 2026, 12:30–14:00"
    place: str
    represented: str      # "5 of 6 practices represented"
    present: list[Attendee] = field(default_factory=list)
    apologies: list[Attendee] = field(default_factory=list)
    not_represented: list[str] = field(default_factory=list)
    agenda: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    decisions: list[Decided] = field(default_factory=list)
    actions: list[RaisedAction] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    generated_at: datetime | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.present or self.apologies or self.lines or self.decisions or self.actions)


def attendee_text(attendee: Attendee, name: Callable[[str], str]) -> str:
    if attendee.user_id and attendee.practice:
        return f"{name(attendee.user_id)} ({attendee.practice})"
    return name(attendee.user_id) if attendee.user_id else attendee.practice or ""


def move_text(move: Move) -> str:
    change = f"{move.from_status} → {move.to_status}" if move.from_status else "proposed"
    return f"{move.topic} {move.title}: {change}" + (f" ({move.reason})" if move.reason else "")


def due_text(due_on: date | None) -> str:
    return f"{due_on:%a %-d %b %Y}" if due_on else "no date"


def due_words(due_on: date | None) -> str:
    """In the Word file, the date as a British document writes it: "4 December 2026"."""
    return f"{due_on.day} {due_on:%B %Y}" if due_on else "no date"


def a4(doc) -> None:
    """Every section on A4 (21.0 × 29.7 cm): python-docx's blank document is US Letter."""
    for section in doc.sections:
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)


def write_minutes(out: BinaryIO, minutes: Minutes, name_of: Callable[[str], str],
                  screen: Callable[[str], str] = lambda text: text) -> None:
    """The minutes as a .docx. `name_of` turns a user id into a name; `screen` withholds free text the
    identifier guard would refuse; people mentioned in free text are written by name."""
    guard = screen
    screen = lambda text: guard(named(text, name_of)) if isinstance(text, str) else guard(text)  # noqa: E731
    name = lambda user_id: screen(name_of(user_id))  # noqa: E731
    doc = Document()
    a4(doc)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "Arial", Pt(11)  # NHS documents are set in Arial (Frutiger's stand-in)
    doc.core_properties.title = screen(f"Minutes: {minutes.title}")
    doc.core_properties.subject = screen(minutes.cluster_name)
    doc.core_properties.author = "clusterbot"

    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(screen(minutes.cluster_name))
    run.bold, run.font.size, run.font.color.rgb = True, Pt(16), NHS_BLUE
    title = doc.add_heading(level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(f"Minutes of {screen(minutes.title)} ({minutes.meeting})")
    run.font.color.rgb, run.font.name = NHS_BLUE, "Arial"
    block = doc.add_table(rows=0, cols=2)
    block.style = "Table Grid"
    for label, value in (("Date and time", minutes.when), ("Venue", screen(minutes.place) or "Not recorded"),
                         ("Representation", minutes.represented)):
        cells = block.add_row().cells
        cells[0].text, cells[1].text = label, value
        cells[0].paragraphs[0].runs[0].bold = True

    _section(doc, "Present")
    _listing(doc, [attendee_text(a, name) for a in minutes.present])
    _section(doc, "Apologies")
    _listing(doc, [attendee_text(a, name) for a in minutes.apologies])
    if minutes.not_represented:
        _section(doc, "Practices not represented")
        _listing(doc, minutes.not_represented)
    _section(doc, "Agenda")
    _numbered(doc, [screen(item) for item in minutes.agenda])
    _section(doc, "Minutes")
    _numbered(doc, [screen(text) for text in minutes.lines])
    _section(doc, "Decisions")
    _numbered(doc, [screen(d.text) + (f" ({d.topic} {screen(d.topic_title or '')})" if d.topic else "")
                    for d in minutes.decisions])
    _section(doc, "Topic changes on the day")
    _listing(doc, [screen(move_text(m)) for m in minutes.moves])
    _section(doc, "Actions")
    if minutes.actions:
        table = doc.add_table(rows=1, cols=5)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ("Ref", "Action", "Owner", "Due", "Status"), strict=True):
            cell.text = text
            cell.paragraphs[0].runs[0].bold = True
        for action in minutes.actions:
            cells = table.add_row().cells
            for cell, text in zip(cells, (action.short_id, screen(action.what), name(action.owner),
                                          due_words(action.due_on), action.status), strict=True):
                cell.text = text
    else:
        doc.add_paragraph(NOTHING)
    if minutes.generated_at:
        footer = doc.sections[0].footer.paragraphs[0]
        footer.text = f"Produced by clusterbot on {minutes.generated_at:%-d %B %Y at %H:%M}."
    doc.save(out)


def _section(doc, title: str) -> None:
    """A heading (Word's Heading 2, so the navigation pane lists the parts), in NHS blue."""
    heading = doc.add_heading(level=2)
    run = heading.add_run(title)
    run.font.color.rgb, run.font.name = NHS_BLUE, "Arial"


def _listing(doc, texts: list[str]) -> None:
    if not texts:
        doc.add_paragraph(NOTHING)
    for text in texts:
        doc.add_paragraph(text, style="List Bullet")


def _numbered(doc, texts: list[str]) -> None:
    """Numbered by us ("1.", "2."), not by Word's list numbering, which restarts unreliably across lists."""
    if not texts:
        doc.add_paragraph(NOTHING)
    for n, text in enumerate(texts, 1):
        doc.add_paragraph(f"{n}. {text}")
