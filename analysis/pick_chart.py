"""The PICK chart of a poll's options as PNG bytes: impact (up) against effort (across), 1 to 5, cut into the
four quadrants at the middle of the scale — Possible (low impact, easy), Implement (high impact, easy),
Challenge (high impact, hard), Kill (low impact, hard). Each option is a numbered point at its voters'
mean ratings, with bars from the lowest to the highest rating: the practices' spread. Drawn with
matplotlib's Agg backend (no display, no pyplot state); every text plain, never mathtext
(analysis/charts.py says why).
"""

import io
import textwrap
from dataclasses import dataclass

from analysis.charts import BLACK, BLUE, DPI, GREY, _figure
from analysis.poll_counts import MIDDLE, Rated

SIZE = (10.0, 7.5)  # inches: 1000 px wide, 750 px and a line per option high
KEY_LINE = 0.2      # inches per line of the key (10 pt)
LABELS = {  # quadrant -> where its name is written (x, y) and its shade
    "Possible": ((1.1, 1.15), "#F0F0F0"),
    "Implement": ((1.1, 4.85), "#DDEEDD"),
    "Challenge": ((4.9, 4.85), "#FFF2D6"),
    "Kill": ((4.9, 1.15), "#F6DDDD"),
}


@dataclass
class PickPicture:
    title: str
    options: list[str]   # every option's text; option n is options[n - 1]
    rated: list[Rated]   # the rated options
    caption: str = ""


def render(picture: PickPicture) -> bytes:
    key = [f"{n}. {text}" for n, text in enumerate(picture.options, start=1)]
    rated = {r.option for r in picture.rated}
    lines = [textwrap.shorten(k + ("" if n in rated else " (not rated)"), 90) for n, k in enumerate(key, start=1)]
    if picture.caption:
        lines.append(picture.caption)
    below = 0.9 + KEY_LINE * len(lines)  # inches under the axes: the axis label and the key
    height = SIZE[1] + KEY_LINE * len(lines)
    figure = _figure(figsize=(SIZE[0], height), dpi=DPI)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.patches import Rectangle
    from matplotlib.text import Text

    FigureCanvasAgg(figure)
    figure.subplots_adjust(left=0.09, right=0.97, top=1 - 1.0 / height, bottom=below / height)
    axes = figure.add_subplot()
    for name, ((x, y), shade) in LABELS.items():
        left = 0.5 if x < MIDDLE else MIDDLE
        bottom = 0.5 if y < MIDDLE else MIDDLE
        axes.add_patch(Rectangle((left, bottom), 2.5, 2.5, facecolor=shade, edgecolor="none", zorder=0))
        axes.text(x, y, name.upper(), ha="left" if x < MIDDLE else "right", va="center", fontsize=14,
                  color=GREY, fontweight="bold", zorder=1)
    axes.axvline(MIDDLE, color=BLACK, linewidth=1.2, zorder=2)
    axes.axhline(MIDDLE, color=BLACK, linewidth=1.2, zorder=2)
    for item in picture.rated:
        x, y = item.effort, item.impact
        axes.errorbar([x], [y], xerr=[[x - min(item.efforts)], [max(item.efforts) - x]],
                      yerr=[[y - min(item.impacts)], [max(item.impacts) - y]], fmt="o", color=BLUE,
                      ecolor=BLUE, elinewidth=1, capsize=4, markersize=9, alpha=0.85, zorder=3)
        axes.annotate(str(item.option), (x, y), xytext=(7, 7), textcoords="offset points", fontsize=13,
                      fontweight="bold", color=BLACK, zorder=4)
    axes.set_xlim(0.5, 5.5)
    axes.set_ylim(0.5, 5.5)
    axes.set_xticks([1, 2, 3, 4, 5])
    axes.set_yticks([1, 2, 3, 4, 5])
    axes.set_xlabel("Effort (1 easy – 5 hard)", fontsize=12)
    axes.set_ylabel("Impact (1 low – 5 high)", fontsize=12)
    figure.suptitle("\n".join(textwrap.wrap(picture.title, 80)[:2]), fontsize=16, fontweight="bold")
    figure.text(0.09, (KEY_LINE * len(lines) + 0.15) / height, "\n".join(lines), va="top", fontsize=10)
    for text in figure.findobj(Text):
        text.set_parse_math(False)
        text.set_usetex(False)
    out = io.BytesIO()
    import matplotlib

    with matplotlib.rc_context({"text.usetex": False}):
        figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
