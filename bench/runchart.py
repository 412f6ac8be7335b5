"""Benchmark: the run-chart and SPC rules (analysis/runchart.py) on 10,000 points, against a floor.

The series: 10,000 monthly-style values (a seeded random walk around 50 with a few gaps), and for the
P chart numerators and denominators. Each method (IHI run chart, Anhøj run chart, XmR, P chart) is timed
over the whole series; the floor is the least work any run chart needs in the same run: the median of
the first 12 points and one pass over all 10,000 counting which side of it each point is on.

Target (from the issue): each method under 50 ms on 10,000 points.

    python bench/runchart.py                                 # 10,000 points, best of 21 runs: seconds
    python bench/runchart.py --quick                         # best of 3
    python bench/runchart.py --markdown docs/benchmarks.md   # and rewrite its section there
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.runchart import Method, analyse  # noqa: E402
from bench.common import markdown_table, measured_on, text_table, write_section  # noqa: E402

POINTS = 10_000
REPEAT = 21
QUICK_REPEAT = 3
TARGET_MS = 50.0
HEADING = "## Run-chart rules on 10,000 points"


def series(points: int, seed: int = 15) -> tuple[list, list, list]:
    rng = random.Random(seed)
    values, numerators, denominators, level = [], [], [], 50.0
    for i in range(points):
        level = min(95.0, max(5.0, level + rng.gauss(0, 2)))
        if i % 97 == 13:
            values.append(None), numerators.append(None), denominators.append(None)
            continue
        denominator = rng.randint(80, 160)
        numerator = round(level / 100 * denominator)
        values.append(numerator / denominator * 100), numerators.append(numerator), denominators.append(denominator)
    return values, numerators, denominators


def floor(values: list) -> int:
    """The least a run chart needs: a median and one pass deciding each point's side."""
    median = statistics.median([v for v in values[:12] if v is not None])
    above = 0
    for v in values:
        if v is not None and v > median:
            above += 1
    return above


def best_ms(work, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return 1000 * min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=POINTS)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", metavar="PATH")
    args = parser.parse_args()
    repeat = QUICK_REPEAT if args.quick else REPEAT
    values, numerators, denominators = series(args.points)

    floor_ms = best_ms(lambda: floor(values), repeat)
    rows, worst = [], 0.0
    for method in Method:
        chart = analyse(values, method=method, numerators=numerators, denominators=denominators)
        ms = best_ms(lambda m=method: analyse(values, method=m, numerators=numerators,
                                              denominators=denominators), repeat)
        worst = max(worst, ms)
        rows.append((method.value, str(args.points), str(len(chart.signals)), f"{ms:.1f}", f"{ms / floor_ms:.1f}×",
                     "yes" if ms < TARGET_MS else "NO"))
    rows.append(("floor", str(args.points), "", f"{floor_ms:.1f}", "", ""))
    header = ("rules", "points", "signals", f"best of {repeat} ms", "vs floor", f"< {TARGET_MS:.0f} ms")
    print(text_table(header, rows, left=(0,)))
    if args.markdown:
        write_section(args.markdown, "\n\n".join([
            HEADING,
            markdown_table(header, rows),
            measured_on(),
            "How: `bench/runchart.py` builds one seeded series of 10,000 percentages (a random walk, one gap "
            "in every 97 periods, numerators and denominators for the P chart) and times "
            "`analysis.runchart.analyse` for each method, best of the runs. The floor is the least any run "
            "chart needs: the median of the first 12 points and one pass deciding which side of it each point "
            "is on. Target: under 50 ms for each method.",
            "Reproduce (this section only; `bench/run` reruns every benchmark):\n\n"
            "```\npython bench/runchart.py --markdown docs/benchmarks.md\n```",
        ]))
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
