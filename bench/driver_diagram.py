"""Benchmark: drawing `/topic diagram T3` for a large driver diagram — 5 primary drivers, 15 secondary drivers and
40 change ideas — against a bare matplotlib figure of the same boxes, measured in the same run.

The product: analysis/driver_diagram.py's picture (the aim, each driver spanning the rows under it, each idea with
its PDSA state in words and colour, wrapped text, elbow connectors, column headings, title) rendered to PNG bytes.
The floor: a figure of the same size and resolution with the same 61 rectangles, each with its text unwrapped and
no connectors, headings or states, saved as PNG the same way (Agg).

Target (from issue 24): the product at most 2× the floor.

    python bench/driver_diagram.py                                   # best of 7 each: about 10 s
    python bench/driver_diagram.py --quick                           # best of 2
    python bench/driver_diagram.py --markdown docs/benchmarks.md     # and rewrite its section there
"""

import argparse
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from analysis import driver_diagram as drawing  # noqa: E402
from bench.charts import best  # noqa: E402
from bench.common import markdown_table, measured_on, text_table, write_section  # noqa: E402

PRIMARY, SECONDARY, IDEAS = 5, 15, 40
REPEAT = 7
QUICK_REPEAT = 2
TARGET = 2.0
HEADING = "## Driver diagram picture: 5 primary, 15 secondary drivers, 40 change ideas"
STATES = list(drawing.STATES)


def diagram() -> drawing.Diagram:
    """5 primaries of 3 secondaries each; 40 ideas spread over the secondaries (2 or 3 each, a few on primaries)."""
    primaries = []
    idea = 0
    for p in range(1, PRIMARY + 1):
        primary = drawing.Driver(str(p), f"Primary driver {p}: reliable follow-up of every discharge in the cluster")
        for s in range(1, SECONDARY // PRIMARY + 1):
            secondary = drawing.Driver(f"{p}.{s}", f"Secondary driver {p}.{s}: letters reach the practice the same day")
            for _ in range(2 if (p + s) % 3 else 3):
                if idea < IDEAS:
                    idea += 1
                    secondary.ideas.append(drawing.Idea(f"C{idea}", f"Change idea {idea}: ward clerk emails the "
                                                        "discharge list to the practice every morning",
                                                        STATES[idea % len(STATES)], f"C{idea}.1, C{idea}.2"))
            primary.children.append(secondary)
        primaries.append(primary)
    while idea < IDEAS:  # the rest straight under a primary
        idea += 1
        primaries[idea % PRIMARY].ideas.append(drawing.Idea(f"C{idea}", f"Change idea {idea}", "planned"))
    return drawing.Diagram("T3 Asthma reviews after discharge", "90% of patients discharged after an asthma "
                           "admission reviewed within 14 days by June 2027", primaries)


def boxes(shape: drawing.Diagram) -> list[tuple[int, float, int, str]]:
    """(column, top, rows spanned, text) of every box, as the product places them."""
    rows = sum(drawing._rows(d) for d in shape.drivers)
    out = [(0, drawing.HEADER, rows, shape.aim)]
    top = drawing.HEADER
    for primary in shape.drivers:
        span = drawing._rows(primary)
        out.append((1, top, span, primary.text))
        row = top
        for idea in primary.ideas:
            out.append((3, row, 1, idea.text))
            row += drawing.ROW
        for secondary in primary.children:
            child = drawing._rows(secondary)
            out.append((2, row, child, secondary.text))
            out += [(3, row + i * drawing.ROW, 1, idea.text) for i, idea in enumerate(secondary.ideas)]
            row += child * drawing.ROW
        top += span * drawing.ROW
    return out


def product(shape: drawing.Diagram) -> bytes:
    return drawing.render(shape)


def floor(shape: drawing.Diagram) -> bytes:
    """The same boxes, each with its text, on a figure of the same size: nothing else."""
    placed = boxes(shape)
    height = drawing.HEADER + drawing.ROW * sum(drawing._rows(d) for d in shape.drivers) + 0.3
    figure = Figure(figsize=(drawing.WIDTH, height), dpi=drawing.DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, 1)
    axes.set_ylim(height, 0)
    axes.axis("off")
    for column, top, span, text in placed:
        _, left, width = drawing.COLUMNS[column]
        axes.add_patch(Rectangle((left, top + 0.06), width, span * drawing.ROW - 0.12, facecolor="white",
                                 edgecolor="black"))
        axes.text(left + 0.006, top + span * drawing.ROW / 2, text[:40], fontsize=10, va="center")
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=drawing.DPI)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", metavar="PATH")
    args = parser.parse_args()
    repeat = QUICK_REPEAT if args.quick else REPEAT
    shape = diagram()
    count = len(boxes(shape))
    product(shape), floor(shape)  # warm-up: fonts and caches, for both
    (product_s, product_bytes), (floor_s, floor_bytes) = best([lambda: product(shape), lambda: floor(shape)], repeat)
    ratio = product_s / floor_s
    header = ("drawing", "boxes", f"best of {repeat} ms", "PNG KB", "vs floor", f"≤ {TARGET:g}×")
    rows = [("product (driver diagram)", str(count), f"{1000 * product_s:.0f}", f"{product_bytes / 1024:.0f}",
             f"{ratio:.2f}×", "yes" if ratio <= TARGET else "NO"),
            ("floor (bare matplotlib boxes)", str(count), f"{1000 * floor_s:.0f}", f"{floor_bytes / 1024:.0f}", "",
             "")]
    print(text_table(header, rows, left=(0,)))
    if args.markdown:
        write_section(args.markdown, "\n\n".join([
            HEADING,
            markdown_table(header, rows),
            measured_on(),
            "How: `bench/driver_diagram.py` builds a driver diagram of 5 primary drivers, 15 secondary drivers and 40 "
            "change ideas (61 boxes with the aim) and times `analysis.driver_diagram.render` — wrapped text, each "
            "idea's PDSA state in words and colour, connectors, headings and title, to PNG bytes — against a bare "
            "matplotlib figure of the same size with the same 61 rectangles and one line of text each, saved the same "
            "way. Best of the runs, after one warm-up of each. Target: at most 2× the floor.",
            "Reproduce (this section only; `bench/run` reruns every benchmark):\n\n"
            "```\npython bench/driver_diagram.py --markdown docs/benchmarks.md\n```",
        ]))
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
