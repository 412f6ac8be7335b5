"""Benchmark: drawing `/measure chart D1 all` — 36 months × 8 practices as small multiples — against a bare
matplotlib plot of the same points, measured in the same run.

The product: the run-chart rules on each of the 9 series (8 practices and the cluster's sums), then
analysis/charts.py's small multiples (shared scale, medians, goal, highlighted signals in words, legend,
titles) rendered to PNG bytes. The floor: the same 9 panels on a figure of the same size and resolution
with one line of points each, no medians, words or legend, saved as PNG the same way (Agg).

Target (from the issue): the product at most 1.5× the floor.

    python bench/charts.py                                   # best of 7 each: about 20 s
    python bench/charts.py --quick                           # best of 2
    python bench/charts.py --markdown docs/benchmarks.md     # and rewrite its section there
"""

import argparse
import io
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis import charts  # noqa: E402
from analysis.runchart import run_chart  # noqa: E402
from bench.common import markdown_table, measured_on, text_table, write_section  # noqa: E402

MONTHS = 36
PRACTICES = 8
REPEAT = 7
QUICK_REPEAT = 2
TARGET = 1.5
HEADING = "## Run-chart picture: 36 months × 8 practices"


def data(seed: int = 15) -> list[tuple[list, list]]:
    """(numerators, denominators) per practice; a step up after month 20; a few gaps."""
    rng = random.Random(seed)
    practices = []
    for _ in range(PRACTICES):
        numerators, denominators = [], []
        for month in range(MONTHS):
            if rng.random() < 0.05:
                numerators.append(None), denominators.append(None)
                continue
            denominator = rng.randint(20, 60)
            rate = 0.45 + (0.15 if month >= 20 else 0) + rng.gauss(0, 0.07)
            numerators.append(max(0, min(denominator, round(rate * denominator)))), denominators.append(denominator)
        practices.append((numerators, denominators))
    return practices


def series(practices) -> list[tuple[str, list]]:
    named = [(f"Practice {i + 1}", [None if n is None else 100 * n / d for n, d in zip(*p, strict=True)])
             for i, p in enumerate(practices)]
    cluster = []
    for month in range(MONTHS):
        reported = [(p[0][month], p[1][month]) for p in practices if p[0][month] is not None]
        cluster.append(100 * sum(n for n, _ in reported) / sum(d for _, d in reported) if reported else None)
    return [("Cluster", cluster), *named]


def product(named) -> bytes:
    labels = [f"M{m + 1}" for m in range(MONTHS)]
    panels = []
    for title, values in named:
        chart = run_chart(values)
        words = "; ".join(f"{s.words()} ({s.points} months) — {s.verdict(True) or ''}" for s in chart.signals)
        panels.append(charts.Panel(title, labels, values, list(chart.centre), flagged=chart.flagged(), remark=words))
    picture = charts.Picture("D1 Asthma discharges reviewed within 2 weeks (T1 Asthma reviews)",
                             "Run chart (IHI rules) · 36 months", "Percent", panels, goal=80,
                             better="Higher is better", y_limits=(0, None))
    return charts.render(picture)


def floor(named) -> bytes:
    """A bare plot of the same points: the same grid and figure size, one line each, nothing else."""
    rows = math.ceil(len(named) / 3)
    height = max(charts.PANEL_SIZE[1] * rows + 1.9, 5.6)
    figure = Figure(figsize=(charts.PANEL_SIZE[0] * 3, height), dpi=charts.DPI)
    grid = figure.subplots(rows, 3, sharex=True, sharey=True, squeeze=False)
    for axes, (_, values) in zip(grid.flat, named, strict=False):
        axes.plot(range(MONTHS), [math.nan if v is None else v for v in values], marker="o")
    out = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(out, format="png", dpi=charts.DPI)
    return out.getvalue()


def best(works, repeat: int) -> list[tuple[float, int]]:
    """Each work's best time and PNG size; the works take turns, so a busy moment of a shared machine
    falls on both rather than on one."""
    times: list[list[float]] = [[] for _ in works]
    sizes = [0] * len(works)
    for _ in range(repeat):
        for i, work in enumerate(works):
            began = time.perf_counter()
            sizes[i] = len(work())
            times[i].append(time.perf_counter() - began)
    return [(min(t), size) for t, size in zip(times, sizes, strict=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", metavar="PATH")
    args = parser.parse_args()
    repeat = QUICK_REPEAT if args.quick else REPEAT
    named = series(data())
    product(named), floor(named)  # warm-up: fonts and caches, for both
    (product_s, product_bytes), (floor_s, floor_bytes) = best([lambda: product(named), lambda: floor(named)],
                                                              repeat)
    ratio = product_s / floor_s
    header = ("drawing", "panels", "points", f"best of {repeat} ms", "PNG KB", "vs floor", f"≤ {TARGET}×")
    rows = [("product (rules + small multiples)", str(len(named)), str(MONTHS * len(named)),
             f"{1000 * product_s:.0f}", f"{product_bytes / 1024:.0f}", f"{ratio:.2f}×",
             "yes" if ratio <= TARGET else "NO"),
            ("floor (bare matplotlib)", str(len(named)), str(MONTHS * len(named)), f"{1000 * floor_s:.0f}",
             f"{floor_bytes / 1024:.0f}", "", "")]
    print(text_table(header, rows, left=(0,)))
    if args.markdown:
        write_section(args.markdown, "\n\n".join([
            HEADING,
            markdown_table(header, rows),
            measured_on(),
            "How: `bench/charts.py` makes 36 months of numerator/denominator data for 8 practices (seeded, a step "
            "up after month 20, about 5% gaps) and the cluster's sums, then times the product — the run-chart rules "
            "on all 9 series and `analysis.charts.render` drawing them as small multiples on a shared scale with "
            "medians, goal, highlighted signals in words and a legend, to PNG bytes — against a bare matplotlib "
            "figure of the same size and grid with one line of the same points per panel, saved the same way. "
            "Best of the runs, after one warm-up of each. Target: at most 1.5× the floor.",
            "Reproduce (this section only; `bench/run` reruns every benchmark):\n\n"
            "```\npython bench/charts.py --markdown docs/benchmarks.md\n```",
        ]))
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
