"""A driver diagram as PNG bytes: the aim on the left, then primary drivers, secondary drivers and change ideas,
each idea marked with the state of its PDSA cycles (IHI's and Healthcare Improvement Scotland's layout).

One row per change idea (or per driver with none yet); a driver spans the rows of what hangs under it, so the
picture grows down, never sideways, however many ideas a topic collects. Drawn with matplotlib's Agg backend,
every text plain (a `$` in an idea draws as typed: see analysis/charts.py).
"""

import io
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analysis.charts import BLACK, BLUE, GREEN, GREY, ORANGE, VERMILLION, _figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
WIDTH = 16.0          # inches: 1600 px
ROW = 0.62            # inches per row (an idea's box and the gap under it)
HEADER = 1.3          # inches above the first row: title and column headings
COLUMNS = (("Aim", 0.01, 0.2), ("Primary drivers", 0.23, 0.2), ("Secondary drivers", 0.46, 0.22),
           ("Change ideas", 0.71, 0.28))  # heading, left edge and width as parts of the figure's width
CHARACTERS = {0: 34, 1: 34, 2: 38, 3: 46}  # characters per line of a box's text, by column
STATES = {  # an idea's PDSA state: words and colour (Okabe–Ito)
    "untested": ("not tested yet", GREY), "planned": ("planned", BLUE), "doing": ("testing", BLUE),
    "studied": ("studied", ORANGE), "adopt": ("adopted", GREEN), "adapt": ("adapted", ORANGE),
    "abandon": ("abandoned", VERMILLION),
}


@dataclass
class Idea:
    label: str            # "C4"
    text: str
    state: str = "untested"  # a key of STATES
    cycles: str = ""      # "C4.1, C4.2"


@dataclass
class Driver:
    label: str            # "1" or "1.2"
    text: str
    children: list["Driver"] = field(default_factory=list)  # a primary's secondaries
    ideas: list[Idea] = field(default_factory=list)


@dataclass
class Diagram:
    title: str            # "T3 Asthma reviews after discharge"
    aim: str
    drivers: list[Driver] = field(default_factory=list)  # the primaries


def _rows(driver: Driver) -> int:
    """How many rows a driver spans: its ideas and its secondaries' rows (one at least)."""
    return max(1, len(driver.ideas) + sum(_rows(child) for child in driver.children))


def render(diagram: Diagram) -> bytes:
    figure = figure_of(diagram)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def figure_of(diagram: Diagram) -> "Figure":
    rows = max(1, sum(_rows(d) for d in diagram.drivers))
    height = HEADER + ROW * rows + 0.3
    figure = _figure(figsize=(WIDTH, height), dpi=DPI)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.patches import Rectangle

    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, 1)
    axes.set_ylim(height, 0)  # inches from the top
    axes.axis("off")
    texts = []
    texts.append(axes.text(0.01, 0.35, diagram.title, fontsize=16, fontweight="bold", va="center", ha="left"))
    for heading, left, _ in COLUMNS:
        texts.append(axes.text(left, HEADER - 0.35, heading, fontsize=12, fontweight="bold", va="center",
                               color=GREY))

    def box(column: int, top: float, span: int, text: str, colour: str = BLACK, extra: str = "",
            extra_colour: str = GREY) -> tuple[float, float, float]:
        """A box in `column` over `span` rows from `top`; its left, right and middle (for the connectors)."""
        _, left, width = COLUMNS[column]
        box_top, box_height = top + 0.06, span * ROW - 0.12
        axes.add_patch(Rectangle((left, box_top), width, box_height, facecolor="white", edgecolor=colour,
                                 linewidth=1.4))
        room = max(1, int(box_height / 0.19) - (1 if extra else 0))
        lines = textwrap.wrap(text, CHARACTERS[column], max_lines=room, placeholder="…") or [""]
        middle = box_top + box_height / 2
        texts.append(axes.text(left + 0.006, middle - (0.09 if extra else 0), "\n".join(lines), fontsize=10,
                               va="center", ha="left", linespacing=1.15, color=BLACK))
        if extra:
            texts.append(axes.text(left + 0.006, box_top + box_height - 0.05, extra, fontsize=9, va="bottom",
                                   ha="left", color=extra_colour, fontweight="bold"))
        return left, left + width, middle

    def connect(start: tuple[float, float, float], end: tuple[float, float, float]) -> None:
        knee = (start[1] + end[0]) / 2
        axes.plot([start[1], knee, knee, end[0]], [start[2], start[2], end[2], end[2]], color=GREY, linewidth=1)

    def idea_box(idea: Idea, top: float) -> tuple[float, float, float]:
        words, colour = STATES.get(idea.state, STATES["untested"])
        extra = f"PDSA: {words}" + (f" ({idea.cycles})" if idea.cycles else "")
        return box(3, top, 1, f"{idea.label} {idea.text}", colour, extra, colour)

    aim = box(0, HEADER, rows, diagram.aim or "No aim yet: what are we trying to accomplish, by how much, by when?")
    top = HEADER
    for primary in diagram.drivers:
        span = _rows(primary)
        placed = box(1, top, span, f"{primary.label} {primary.text}")
        connect(aim, placed)
        row = top
        for idea in primary.ideas:  # ideas straight under a primary: the secondary column left empty
            connect(placed, idea_box(idea, row))
            row += ROW
        for secondary in primary.children:
            child_span = _rows(secondary)
            child = box(2, row, child_span, f"{secondary.label} {secondary.text}")
            connect(placed, child)
            for i, idea in enumerate(secondary.ideas):
                connect(child, idea_box(idea, row + i * ROW))
            row += child_span * ROW
        top += span * ROW
    for text in texts:
        text.set_parse_math(False)
        text.set_usetex(False)
    return figure
