"""The QI method in the cluster's workbook: a "PDSA cycles" sheet, one row per cycle (C4.1, C4.2 …) with its
topic, change idea, plan and prediction, do, study and act, the practice that tested it and the measure it was
meant to move (`content.extra["pdsa"]`, rows read by storage.qi.export_rows)."""

import io
from dataclasses import dataclass, field

from openpyxl.drawing.image import Image

from reports.workbook import SHEETS, Book, Column, Sheet, topic_notes_sheet

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


SHEETS.insert(SHEETS.index(topic_notes_sheet) + 1, pdsa_sheet)


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


QI_COLUMNS = [Column("Cycle", 8, "code"), Column("Plan", 45, "long"), Column("Prediction", 35, "long"),
              Column("Study", 45, "long"), Column("Act", 9, "code"), Column("Act note", 35, "long")]
DIAGRAM_WIDTH = 800  # pixels in the sheet; the height keeps the picture's shape


def qi_story_sheets(book: Book) -> None:
    """A sheet per topic with a driver diagram or cycles: aim, the diagram's lines, the cycles as a table and the
    diagram's picture below them."""
    for story in book.content.extra.get("qi") or []:
        sheet = Sheet(book, f"QI {story.topic}"[:31], QI_COLUMNS)
        for cycle in story.cycles:
            sheet.append([cycle[0], *(value or None for value in cycle[1:])])
        if not story.cycles:
            sheet.note("No PDSA cycles yet.")
        sheet.ws.append([])
        sheet.note(book.screen(f"{story.topic} {story.title}"))
        sheet.note(book.screen(f"Aim: {story.aim}" if story.aim else "Aim: none recorded yet"))
        sheet.note("Driver diagram (aim → primary drivers → secondary drivers → change ideas, with PDSA state):")
        for text in story.diagram:
            sheet.note(book.screen(text))
        if story.picture:
            picture = Image(io.BytesIO(story.picture))
            ratio = picture.height / picture.width
            picture.width, picture.height = DIAGRAM_WIDTH, int(DIAGRAM_WIDTH * ratio)
            sheet.ws.add_image(picture, f"A{len(story.cycles) + len(story.diagram) + 9}")
        sheet.close()
