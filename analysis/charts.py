"""Run-chart and SPC pictures as PNG bytes, drawn with matplotlib's Agg backend (no display, no pyplot state).

One panel: a large chart with its signals annotated in words. Several panels: small multiples on a shared
scale (one per practice, plus the cluster's). Colours are the Okabe–Ito palette, safe for colour-blind
readers, and signals differ by marker shape as well as colour. Text is sized for a chat preview
(the image is 1200 px wide or more).

Every text is drawn as plain text: a `$` or `\\cmd` in a measure's, topic's or practice's name draws as
typed, never as matplotlib mathtext (which would draw other words, or fail to draw the chart at all).
"""

import io
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
BLUE, ORANGE, GREEN, VERMILLION, GREY, BLACK = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#777777", "#000000"
DPI = 100
SINGLE_SIZE = (12.8, 6.4)      # inches: 1280 × 640 px
PANEL_SIZE = (5.0, 3.0)        # each small multiple
MAX_TICKS = 12


@dataclass
class Panel:
    """One series to draw: its values, centre line, limits and signals."""

    title: str
    labels: list[str]                       # one per period, for the x axis
    values: list[float | None]
    centre: list[float | None]
    upper: list[float | None] | None = None
    lower: list[float | None] | None = None
    flagged: set[int] = field(default_factory=set)       # points that belong to a signal
    notes: list[tuple[int, str]] = field(default_factory=list)  # (point, words) to annotate
    remark: str = ""                        # e.g. "not enough data yet"
    incomplete: set[int] = field(default_factory=set)    # points shown but not analysed (hollow markers)
    marks: list[tuple[int, str]] = field(default_factory=list)  # (point, "C4.1"): a PDSA cycle tried then


@dataclass
class Picture:
    title: str                              # topic and measure
    subtitle: str                           # whose data, which chart
    y_label: str
    panels: list[Panel]
    goal: float | None = None
    better: str | None = None               # "Higher is better" / "Lower is better"
    centre_label: str = "Median"
    y_limits: tuple[float | None, float | None] = (None, None)
    caption: str = ""                       # under the chart: how the centre line and the figures were made
    number: Callable[[float], str] = lambda value: f"{value:.3g}"  # a value as the measure writes it


TITLE_LINE = 0.3  # inches a wrapped title's each extra line takes (17 pt and its leading)
CAPTION_LINE = 0.22  # inches per caption line (11 pt)


def _nan(values: Sequence[float | None] | None) -> list[float]:
    """None as NaN, so missing periods break the line instead of being drawn as zero."""
    return [math.nan if v is None else v for v in values or []]


def render(picture: Picture) -> bytes:
    """The picture as PNG bytes."""
    figure = figure_of(picture)
    out = io.BytesIO()
    import matplotlib

    with matplotlib.rc_context({"text.usetex": False}):
        figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def figure_of(picture: Picture) -> "Figure":
    """The picture as a matplotlib Figure on an Agg canvas, every text in it plain (see the module's words)."""
    figure = _single(picture) if len(picture.panels) == 1 else _multiples(picture)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    FigureCanvasAgg(figure)
    for text in figure.findobj(Text):  # titles, labels, ticks, legends, notes: all of them, however made
        text.set_parse_math(False)
        text.set_usetex(False)
    return figure


def _wrapped(text: str, width_inches: float, size: float) -> list[str]:
    """A title in lines that fit the figure's width (a full title, never cut)."""
    per_line = max(20, int(width_inches * 72 / (size * 0.66)))  # bold DejaVu Sans: about 0.66 em a character
    return textwrap.wrap(text, per_line) or [""]


def _figure(**size) -> "Figure":
    """matplotlib is imported at the first picture, not at start-up (half a second a server need not wait
    for); Agg, a Figure and its canvas: no display, no pyplot state."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(**size)


def _single(picture: Picture) -> "Figure":
    extra = TITLE_LINE * (len(_wrapped(picture.title, SINGLE_SIZE[0], 17)) - 1)
    below = CAPTION_LINE * len(_caption_lines(picture, SINGLE_SIZE[0]))
    size = (SINGLE_SIZE[0], SINGLE_SIZE[1] + extra + below)
    figure = _figure(figsize=size, dpi=DPI)
    figure.subplots_adjust(left=0.08, right=0.97, top=1 - (1.28 + extra) / size[1], bottom=(1.28 + below) / size[1])
    axes = figure.add_subplot()
    panel = picture.panels[0]
    _draw(axes, picture, panel, big=True)
    _headings(figure, picture, size=17)
    axes.set_title(panel.title, fontsize=13, loc="left")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize=12, frameon=False, ncols=6)
    axes.set_ylabel(picture.y_label, fontsize=13)
    for n, (index, words) in enumerate(panel.notes[:4]):
        _annotate(axes, panel, index, words, 40 + 28 * n)
    if panel.remark:
        axes.text(0.5, 0.5, panel.remark, transform=axes.transAxes, ha="center", va="center", fontsize=15,
                  color=BLACK, bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": GREY})
    return figure


def _multiples(picture: Picture) -> "Figure":
    count = len(picture.panels)
    columns = 3 if count <= 9 else 4
    rows = math.ceil(count / columns)
    width = PANEL_SIZE[0] * columns
    extra = TITLE_LINE * (len(_wrapped(picture.title, width, 17)) - 1)
    below = CAPTION_LINE * len(_caption_lines(picture, width))
    height = max(PANEL_SIZE[1] * rows + 1.9, 5.6) + extra + below  # at least 560 px, however few panels
    figure = _figure(figsize=(width, height), dpi=DPI)
    figure.subplots_adjust(left=0.05, right=0.98, top=1 - (1.55 + extra) / height, bottom=(0.95 + below) / height,
                           hspace=0.8, wspace=0.1)
    grid = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    for i, axes in enumerate(grid.flat):
        if i >= count:
            axes.set_visible(False)
            continue
        panel = picture.panels[i]
        _draw(axes, picture, panel, big=False, ticks=i == 0)
        words = textwrap.wrap(panel.remark, 58, max_lines=2, placeholder="…")
        # y given: the title sits just above the axes (where matplotlib would put it, with no ticks on
        # top) without matplotlib measuring every panel's ticks to find that out when drawing.
        axes.set_title(panel.title, fontsize=12, loc="left", pad=4 + 13 * len(words), y=1.0)
        if words:  # the signals in words, under the panel's title
            axes.text(0, 1.02, "\n".join(words), transform=axes.transAxes, fontsize=10,
                      color=VERMILLION if panel.flagged else BLACK, va="bottom", linespacing=1.1)
        if i + columns >= count:  # the lowest panel of its column says the periods (the scale is shared)
            axes.tick_params(labelbottom=True)
    _headings(figure, picture, size=17)
    figure.legend(*grid.flat[0].get_legend_handles_labels(), loc="lower center", ncols=6, fontsize=11,
                  frameon=False, bbox_to_anchor=(0.5, below / height))
    return figure


def _caption_lines(picture: Picture, width_inches: float) -> list[str]:
    per_line = max(40, int(width_inches * 72 / (11 * 0.55)))
    return [part for text in picture.caption.split("\n") for part in textwrap.wrap(text, per_line)]


def _headings(figure: "Figure", picture: Picture, size: int) -> None:
    title = _wrapped(picture.title, figure.get_figwidth(), size)
    figure.suptitle("\n".join(title), fontsize=size, fontweight="bold", x=0.01, ha="left", y=0.985, va="top",
                    linespacing=1.1)
    # the subtitle sits 0.4 inch under the top of the title's last line
    below = (0.4 + TITLE_LINE * (len(title) - 1)) / figure.get_figheight()
    caption = _caption_lines(picture, figure.get_figwidth())
    if caption:
        figure.text(0.01, 0.01, "\n".join(caption), fontsize=11, ha="left", va="bottom", color=BLACK,
                    linespacing=1.25)
    figure.text(0.01, 0.985 - below, picture.subtitle, fontsize=13, ha="left", va="top", color=BLACK)
    if picture.better:  # the direction of good, in words and with an arrow
        arrow = "▲" if picture.better.startswith("Higher") else "▼"
        figure.text(0.99, 0.985 - below, f"{arrow} {picture.better}", fontsize=13, ha="right", va="top",
                    color=GREEN, fontweight="bold")


def _draw(axes, picture: Picture, panel: Panel, *, big: bool, ticks: bool = True) -> None:
    """One panel. `ticks`: set the x ticks here; small multiples share one x axis, so the first panel's
    ticks serve them all (setting them on each panel again was a fifth of drawing the picture)."""
    x = list(range(len(panel.values)))
    values = _nan(panel.values)
    marker_size = 7 if big else 4.5
    axes.plot(x, values, color=BLUE, marker="o", markersize=marker_size, linewidth=2 if big else 1.4,
              label="Data", zorder=3)
    centres = [c for c in panel.centre if c is not None]
    centre_label = picture.centre_label + (f" {picture.number(centres[-1])}" if centres else "")
    axes.plot(x, _nan(panel.centre), color=GREY, linestyle="--", linewidth=1.8 if big else 1.2,
              label=centre_label, zorder=2)
    _label_centres(axes, picture, panel, big)
    if panel.upper is not None:
        axes.plot(x, _nan(panel.upper), color=VERMILLION, linestyle=":", linewidth=1.5, label="Limits",
                  drawstyle="steps-mid", zorder=2)
        axes.plot(x, _nan(panel.lower), color=VERMILLION, linestyle=":", linewidth=1.5, drawstyle="steps-mid",
                  zorder=2)
    if picture.goal is not None:
        goal = f"Goal {picture.number(picture.goal)}"
        axes.axhline(picture.goal, color=GREEN, linestyle="-.", linewidth=1.6 if big else 1.1, label=goal,
                     zorder=1)
        axes.text(0.0, picture.goal, goal, transform=axes.get_yaxis_transform(), ha="left", va="bottom",
                  fontsize=11 if big else 8, color=GREEN)
    hollow = sorted(i for i in panel.incomplete if panel.values[i] is not None)
    if hollow:
        axes.plot(hollow, [panel.values[i] for i in hollow], linestyle="none", marker="o",
                  markersize=marker_size + 1, markerfacecolor="white", markeredgecolor=BLUE,
                  label="Incomplete (not analysed)", zorder=4)
    flagged = sorted(i for i in panel.flagged if panel.values[i] is not None)
    if flagged:
        axes.plot(flagged, [panel.values[i] for i in flagged], linestyle="none", marker="D",
                  markersize=marker_size + 3, markerfacecolor=ORANGE, markeredgecolor=BLACK, label="Signal",
                  zorder=4)
    _mark_cycles(axes, panel, big)
    low, high = picture.y_limits
    seen = [v for v in [*values, *_nan(panel.upper), picture.goal or math.nan] if not math.isnan(v)]
    if seen and high is None:  # room above the highest point (or the goal) for the signals' words
        top, bottom = max(seen), min([*seen, low if low is not None else min(seen)])
        high = top + (top - bottom) * (0.45 if big else 0.12) + 1e-9
    axes.set_ylim(bottom=low, top=high)
    step = max(1, math.ceil(len(x) / (MAX_TICKS if big else 6)))
    if ticks:
        axes.set_xticks(x[::step], [panel.labels[i] for i in x[::step]])
    axes.tick_params(axis="x", labelsize=11 if big else 9, labelrotation=0 if big else 30)
    axes.tick_params(axis="y", labelsize=11 if big else 9)
    axes.set_xlim(-0.5, max(len(x) - 0.5, 0.5))
    axes.grid(axis="y", color="#dddddd", linewidth=0.8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _label_centres(axes, picture: Picture, panel: Panel, big: bool) -> None:
    """Each stretch of the centre line (a rebase starts a new one) says its value at its right-hand end."""
    start = None
    for i, centre in enumerate([*panel.centre, None]):
        if start is not None and (centre is None or centre != panel.centre[start]):
            axes.text(i - 1 + 0.4, panel.centre[start], f"{picture.centre_label} {picture.number(panel.centre[start])}",
                      ha="right", va="bottom", fontsize=11 if big else 8, color=GREY)
            start = None
        if start is None and centre is not None:
            start = i


def _annotate(axes, panel: Panel, index: int, words: str, rise: int) -> None:
    value = panel.values[index]
    if value is None:
        return
    where = index / max(len(panel.values) - 1, 1)  # keep the words inside the chart at either end
    align = "right" if where > 0.7 else ("left" if where < 0.3 else "center")
    axes.annotate(words, xy=(index, value), xytext=(0, rise), textcoords="offset points", ha=align, fontsize=12,
                  color=BLACK, arrowprops={"arrowstyle": "->", "color": BLACK},
                  bbox={"boxstyle": "round", "facecolor": "#fff4dc", "edgecolor": ORANGE})


def _mark_cycles(axes, panel: Panel, big: bool) -> None:
    """Each PDSA cycle linked to the measure, at its period: a dotted tick from the axis labelled with its id
    (C4.1), so the chart says what was tried when (Life QI's annotations)."""
    by_point: dict[int, list[str]] = {}
    for index, label in panel.marks:
        if 0 <= index < len(panel.values):
            by_point.setdefault(index, []).append(label)
    for n, (index, labels) in enumerate(sorted(by_point.items())):
        axes.axvline(index, color=GREEN, linestyle=":", linewidth=1.4 if big else 1, zorder=1,
                     label="PDSA cycle" if n == 0 else None)
        axes.text(index, 0.02 + 0.07 * (n % 3), ", ".join(labels), transform=axes.get_xaxis_transform(),
                  ha="center", va="bottom", fontsize=10 if big else 7, color=GREEN, fontweight="bold",
                  bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": GREEN, "linewidth": 0.8})
