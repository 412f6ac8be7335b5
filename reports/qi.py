"""The QI method in the cluster's workbook: a "PDSA cycles" sheet, one row per cycle (C4.1, C4.2 …) with its
topic, change idea, plan and prediction, do, study and act, the practice that tested it and the measure it was
meant to move (`content.extra["pdsa"]`, rows read by storage.qi.export_rows); a "Progress scores" sheet (every
score on the IHI scale, `content.extra["scores"]`) and a "Check-ins" sheet (the practices' monthly answers,
`content.extra["checkins"]`). In the Board report, a "QI T3" sheet per topic tells its story: aim, driver
diagram, cycles, progress scores and measures; and the period's check-ins. Every cell goes through `Sheet`,
so free text is screened (identifiers withheld) and nothing is ever written as a formula."""

import io
from dataclasses import dataclass, field

from openpyxl.drawing.image import Image

from reports.workbook import SHEETS, Book, Column, Sheet, topic_notes_sheet
from storage.progress import SCALE

PDSA_COLUMNS = [
    Column("Cycle", 8, "code"), Column("Topic", 8, "code"), Column("Topic title", 30), Column("Change idea", 8, "code"),
    Column("Idea", 36), Column("Plan", 50, "long"), Column("Prediction", 40, "long"), Column("By", 11, "date"),
    Column("Practice", 9, "code"), Column("Measure", 8, "code"), Column("Do", 40, "long"), Column("Study", 50, "long"),
    Column("Act", 9, "code"), Column("Act note", 40, "long"), Column("Planned by", 24, "code"),
    Column("Planned", 17, "datetime"),
]


def pdsa_sheet(book: Book) -> None:
    rows = book.content.extra.get("pdsa")
    if rows is None:
        return
    name = book.name
    book.table("PDSA cycles", PDSA_COLUMNS, rows, "No PDSA cycles yet.", lambda r: [
        r.cycle, r.topic, r.topic_title, r.idea, r.idea_text, r.plan, r.prediction, r.due_on, r.practice_code,
        r.measure, r.done or None, r.study or None, r.act, r.act_note or None, name(r.planned_by), r.planned_at])


SCORE_COLUMNS = [Column("Topic", 8, "code"), Column("Topic title", 36), Column("Status", 10, "code"),
                 Column("Score", 8, "number"), Column("On the IHI scale", 28, "code"), Column("Given by", 24, "code"),
                 Column("Given", 17, "datetime")]


def scores_sheet(book: Book) -> None:
    rows = book.content.extra.get("scores")
    if rows is None:
        return
    name = book.name
    book.table("Progress scores", SCORE_COLUMNS, rows, "No progress scores yet.", lambda r: [
        r.topic, r.topic_title, r.topic_status, r.halves / 2, SCALE.get(r.halves, ""), name(r.by), r.at])


CHECKIN_COLUMNS = [Column("Month", 11, "code"), Column("Practice code", 10, "code"), Column("Practice", 28, "code"),
                   Column("Tested", 45, "long"), Column("In the way", 40, "long"), Column("Data", 35, "long"),
                   Column("Answered by", 24, "code"), Column("Answered", 17, "datetime")]


def checkins_sheet(book: Book, empty_note: str = "No check-in answers yet.") -> None:
    rows = book.content.extra.get("checkins")
    if rows is None:
        return
    name = book.name
    book.table("Check-ins", CHECKIN_COLUMNS, rows, empty_note, lambda r: [
        f"{r.month:%b %Y}", r.practice_code, book.screen(r.practice_name), r.tested or None, r.blockers or None,
        r.data or None, name(r.by), r.at])


SHEETS.insert(SHEETS.index(topic_notes_sheet) + 1, pdsa_sheet)
SHEETS.insert(SHEETS.index(pdsa_sheet) + 1, scores_sheet)
SHEETS.insert(SHEETS.index(scores_sheet) + 1, checkins_sheet)


# --- the Board report: the QI story of each topic ----------------------------------------------------------

@dataclass
class QiStory:
    """One topic's QI story for the Board: its aim, its driver diagram (as a picture and as lines), its change
    ideas and its cycles with what was studied and decided (`content.extra["qi"]`, a list of them)."""

    topic: str            # T3
    title: str
    aim: str
    diagram: list[str] = field(default_factory=list)   # "1 Reliable follow-up", "  1.1 …", "    C4 … [adopted]"
    cycles: list[tuple] = field(default_factory=list)  # (C4.1, plan, prediction, study, act, act note)
    picture: bytes | None = None
    scores: list[tuple] = field(default_factory=list)  # (given at, half-points, by): up to the period's end, in order


QI_COLUMNS = [Column("Cycle", 8, "code"), Column("Plan", 45, "long"), Column("Prediction", 35, "long"),
              Column("Study", 45, "long"), Column("Act", 9, "code"), Column("Act note", 35, "long")]
DIAGRAM_WIDTH = 800  # pixels in the sheet; the height keeps the picture's shape


def qi_story_sheets(book: Book) -> None:
    """A sheet per topic with a driver diagram, cycles or progress scores: the cycles as a table, then the aim,
    the diagram's lines, the progress scores (latest first, then the history) and the topic's measures (centre
    line and signals, with the sheet of each run chart), and the diagram's picture below them."""
    report = book.content.extra.get("report")
    measures = report.measures if report is not None else []
    for story in book.content.extra.get("qi") or []:
        sheet = Sheet(book, f"QI {story.topic}"[:31], QI_COLUMNS)
        for cycle in story.cycles:
            sheet.append([cycle[0], *(value or None for value in cycle[1:])])
        if not story.cycles:
            sheet.note("No PDSA cycles yet.")
        sheet.ws.append([])
        notes = [book.screen(f"{story.topic} {story.title}"),
                 book.screen(f"Aim: {story.aim}" if story.aim else "Aim: none recorded yet"),
                 "Driver diagram (aim → primary drivers → secondary drivers → change ideas, with PDSA state):",
                 *(book.screen(text) for text in story.diagram), *score_notes(book, story),
                 *measure_notes(book, story, measures)]
        for text in notes:
            sheet.note(text)
        if story.picture:
            picture = Image(io.BytesIO(story.picture))
            ratio = picture.height / picture.width
            picture.width, picture.height = DIAGRAM_WIDTH, int(DIAGRAM_WIDTH * ratio)
            sheet.ws.add_image(picture, f"A{1 + max(len(story.cycles), 1) + 1 + len(notes) + 3}")
        sheet.close()


def score_notes(book: Book, story: QiStory) -> list[str]:
    """"Progress (IHI scale): 3 modest improvement, given 12/11/2026 by Dr Grant" and the history before it."""
    if not story.scores:
        return ["Progress (IHI scale): not scored yet"]

    def said(score: tuple) -> str:
        at, halves, by = score
        return f"{halves / 2:g} {SCALE.get(halves, '')}, given {book.local(at):%d/%m/%Y} by {book.name(by)}"

    notes = [f"Progress (IHI scale): {said(story.scores[-1])}"]
    if len(story.scores) > 1:
        notes.append("Progress history: " + " → ".join(f"{h / 2:g} ({book.local(at):%d/%m/%Y})"
                                                       for at, h, _ in story.scores))
    return notes


def measure_notes(book: Book, story: QiStory, measures: list) -> list[str]:
    """The topic's measures (the report's measure stories: already suppressed): centre line and signals, and
    the sheet holding the run chart."""
    mine = [m for m in measures if m.topic == story.topic]
    if not mine:
        return ["Measures: none linked to this topic yet"]
    notes = []
    for m in mine:
        centre = f"{m.centre_label.lower()} {m.centre}" if m.centre else f"no {m.centre_label.lower()} yet"
        signals = "; ".join(m.signals) if m.signals else m.verdict
        chart = f"run chart on sheet {m.short_id}" if m.rows else "no data yet"
        notes.append(book.screen(f"Measure {m.short_id} {m.name}: {centre}; signals: {signals} ({chart})"))
    return notes
