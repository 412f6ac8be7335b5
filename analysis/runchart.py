"""Run-chart and SPC rules for one series of numbers. Pure: no database, no platform, no plotting.

A series is a list of values in period order; None marks a period with no data (a gap, never a zero).
Gaps are skipped by every rule, so points either side of a gap are neighbours.

Sources:
- The IHI rules (shift, trend, too few / too many runs) as in Perla RJ, Provost LP, Murray SK.
  "The run chart: a simple analytical tool for learning from variation in healthcare processes."
  BMJ Qual Saf 2011;20:46–51 — the runs limits are that paper's Table 1 (after Swed & Eisenhart 1943).
- Anhøj's rules as in qicharts2: Anhøj J, Olesen AV. "Run charts revisited." PLoS ONE 2014;9(11):e113825.
- XmR and P charts as in Provost LP, Murray SK. The Health Care Data Guide. Jossey-Bass, 2011.

A rebase splits the series into parts; each part has its own baseline and is analysed on its own,
the way qicharts2 treats `part`.
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

Value = float | None

BASELINE = 12      # points that set the median (or mean) of a part
MIN_USEFUL = 10    # the run-chart rules need at least this many points off the median
SHIFT = 6          # IHI: 6 or more consecutive points on one side of the median
TREND = 5          # IHI: 5 or more consecutive points all going up or all going down
XMR_FACTOR = 2.66  # 3 / d2, d2 = 1.128 for moving ranges of two points
P_SIGMAS = 3

# Perla, Provost & Murray 2011, Table 1: useful observations -> (fewest, most) runs expected by chance.
# Fewer runs than the first number, or more than the second, is a signal.
RUNS_LIMITS: dict[int, tuple[int, int]] = {
    10: (3, 9), 11: (3, 10), 12: (3, 11), 13: (4, 11), 14: (4, 12), 15: (5, 12), 16: (5, 13),
    17: (5, 13), 18: (6, 14), 19: (6, 15), 20: (6, 16), 21: (7, 16), 22: (7, 17), 23: (7, 17),
    24: (8, 18), 25: (8, 18), 26: (9, 19), 27: (10, 19), 28: (10, 20), 29: (10, 20), 30: (11, 21),
    31: (11, 22), 32: (11, 22), 33: (11, 23), 34: (12, 23), 35: (13, 24), 36: (13, 24), 37: (13, 25),
    38: (14, 25), 39: (14, 26), 40: (15, 26), 41: (16, 26), 42: (16, 27), 43: (17, 27), 44: (17, 28),
    45: (17, 29), 46: (17, 30), 47: (18, 30), 48: (18, 31), 49: (19, 31), 50: (19, 32), 51: (20, 32),
    52: (20, 33), 53: (21, 33), 54: (21, 34), 55: (22, 34), 56: (22, 35), 57: (23, 35), 58: (23, 36),
    59: (24, 36), 60: (24, 37),
}


class Rule(StrEnum):
    SHIFT = "shift"
    TREND = "trend"
    FEW_RUNS = "too few runs"
    MANY_RUNS = "too many runs"
    LONG_RUN = "long run"            # Anhøj
    FEW_CROSSINGS = "few crossings"  # Anhøj
    OUTSIDE = "outside the limits"   # SPC special cause


class Method(StrEnum):
    IHI = "ihi"        # run chart, IHI rules
    ANHOEJ = "anhoej"  # run chart, Anhøj's rules
    XMR = "xmr"        # individuals chart
    P = "p"            # proportions chart (numerator/denominator data)


HIGH_SIDES = {"above", "up", "high"}


class Signal(NamedTuple):  # a tuple, not a dataclass: charts of thousands of points make thousands of these
    rule: Rule
    side: str    # above/below (shift, long run), up/down (trend), high/low (outside), "" (runs, crossings)
    first: int   # index of the first point in the series
    last: int    # index of the last point
    points: int  # points that count (points on the median and equal neighbours do not)

    def words(self) -> str:
        """The signal in plain words, e.g. "shift above the median"."""
        match self.rule:
            case Rule.SHIFT:
                return f"shift {self.side} the median"
            case Rule.LONG_RUN:
                return f"long run {self.side} the median"
            case Rule.TREND:
                return "rising trend" if self.side == "up" else "falling trend"
            case Rule.OUTSIDE:
                return "above the upper limit" if self.side == "high" else "below the lower limit"
            case Rule.FEW_CROSSINGS:
                return "too few crossings of the median"
            case _:
                return str(self.rule)

    def verdict(self, higher_is_better: bool | None) -> str | None:
        """"improvement" or "deterioration" when the signal has a direction and the measure a direction of good."""
        if higher_is_better is None or not self.side:
            return None
        return "improvement" if (self.side in HIGH_SIDES) == higher_is_better else "deterioration"


class Part(NamedTuple):
    """One stretch of the series between rebases, with its own centre line."""

    first: int
    last: int            # inclusive
    centre: float | None
    useful: int          # points off the centre line
    runs: int
    longest_run: int
    crossings: int
    analysed: bool       # enough useful points for the run-chart rules


@dataclass(frozen=True)
class Chart:
    method: Method
    values: tuple[Value, ...]
    centre: tuple[Value, ...]         # the centre line at each point (median or mean)
    upper: tuple[Value, ...]          # control limits (SPC only; None elsewhere)
    lower: tuple[Value, ...]
    parts: tuple[Part, ...]
    signals: tuple[Signal, ...]

    @property
    def observed(self) -> int:
        return sum(v is not None for v in self.values)

    @property
    def useful(self) -> int:
        return sum(p.useful for p in self.parts)

    @property
    def analysed(self) -> bool:
        """Whether the rules had enough data to say anything (a run chart needs 10 useful points)."""
        return any(p.analysed for p in self.parts)

    def flagged(self) -> set[int]:
        """Indices of observed points that belong to a signal (for highlighting)."""
        marks: set[int] = set()
        for signal in self.signals:
            if signal.rule in (Rule.FEW_RUNS, Rule.MANY_RUNS, Rule.FEW_CROSSINGS):
                continue  # about the whole part, not particular points
            marks.update(i for i in range(signal.first, signal.last + 1) if self.values[i] is not None)
        return marks


# --- building blocks ------------------------------------------------------------------------

def parts_of(length: int, rebases: Sequence[int] = ()) -> list[tuple[int, int]]:
    """(first, last) index pairs of the parts a series of `length` splits into at `rebases`."""
    cuts = sorted({r for r in rebases if 0 < r < length})
    starts = [0, *cuts]
    ends = [*(c - 1 for c in cuts), length - 1]
    return [(s, e) for s, e in zip(starts, ends, strict=True)] if length else []


def baseline_values(values: Sequence[Value], first: int, last: int, baseline: int | None = BASELINE) -> list[float]:
    """The observed values that set a part's centre line: its first `baseline` points, or all if fewer."""
    seen = [v for v in values[first:last + 1] if v is not None]
    return seen if baseline is None else seen[:baseline]


def median_of(values: Sequence[Value], first: int = 0, last: int | None = None,
              baseline: int | None = BASELINE) -> float | None:
    base = baseline_values(values, first, len(values) - 1 if last is None else last, baseline)
    return statistics.median(base) if base else None


def _on(value: float, centre: float) -> bool:
    return math.isclose(value, centre, rel_tol=1e-9, abs_tol=1e-12)


def _runs(values: Sequence[Value], first: int, last: int, centre: float) -> list[tuple[str, list[int]]]:
    """Runs of useful points (off the centre) on one side: [(above|below, indices)]."""
    runs: list[tuple[str, list[int]]] = []
    for i in range(first, last + 1):
        v = values[i]
        if v is None or _on(v, centre):
            continue  # gaps and points on the median neither add to nor break a run
        side = "above" if v > centre else "below"
        if runs and runs[-1][0] == side:
            runs[-1][1].append(i)
        else:
            runs.append((side, [i]))
    return runs


def trends(values: Sequence[Value], first: int = 0, last: int | None = None, length: int = TREND) -> list[Signal]:
    """Runs of `length` or more points all going up or all going down; equal neighbours neither add nor break."""
    last = len(values) - 1 if last is None else last
    found: list[Signal] = []
    direction, start, count = "", first, 0
    prev_i, prev_v = -1, None
    for i in range(first, last + 1):
        v = values[i]
        if v is None:
            continue
        if prev_v is None:
            start, count = i, 1
        elif v != prev_v:
            step = "up" if v > prev_v else "down"
            if step == direction:
                count += 1
            else:
                if count >= length:
                    found.append(Signal(Rule.TREND, direction, start, prev_i, count))
                direction, start, count = step, prev_i, 2
        prev_i, prev_v = i, v
    if direction and count >= length:
        found.append(Signal(Rule.TREND, direction, start, prev_i, count))
    return found


@lru_cache(maxsize=256)
def binomial_quantile(n: int, p_num: int = 1, p_den: int = 20) -> int:
    """The smallest x with P(X ≤ x) ≥ p_num/p_den for X ~ Binomial(n, 0.5) (R's qbinom), exactly."""
    total = 1 << n  # 2**n outcomes
    cumulative, term = 0, 1
    for x in range(n + 1):
        cumulative += term  # term = C(n, x)
        if cumulative * p_den >= total * p_num:
            return x
        term = term * (n - x) // (x + 1)
    return n


def longest_run_limit(useful: int) -> int:
    """Anhøj: a longest run above this many points is a signal (round(log2(n) + 3), as R rounds)."""
    return round(math.log2(useful) + 3)


def crossings_limit(useful: int) -> int:
    """Anhøj: fewer crossings than this is a signal (5th percentile of Binomial(n − 1, 0.5))."""
    return binomial_quantile(useful - 1)


# --- the charts -------------------------------------------------------------------------------

def run_chart(values: Sequence[Value], *, method: Method = Method.IHI, rebases: Sequence[int] = (),
              baseline: int | None = BASELINE) -> Chart:
    """A run chart: the median of each part's baseline and the signals the chosen rules find."""
    values = tuple(None if v is None else float(v) for v in values)
    centre: list[Value] = [None] * len(values)
    parts: list[Part] = []
    signals: list[Signal] = []
    for first, last in parts_of(len(values), rebases):
        median = median_of(values, first, last, baseline)
        if median is None:
            parts.append(Part(first, last, None, 0, 0, 0, 0, False))
            continue
        centre[first:last + 1] = [median] * (last - first + 1)
        runs = _runs(values, first, last, median)
        useful = sum(len(r[1]) for r in runs)
        longest = max((len(r[1]) for r in runs), default=0)
        part = Part(first, last, median, useful, len(runs), longest, max(len(runs) - 1, 0), useful >= MIN_USEFUL)
        parts.append(part)
        if part.analysed:
            signals += (_ihi(values, part, runs) if method == Method.IHI else _anhoej(part, runs))
    nothing = (None,) * len(values)
    return Chart(method, values, tuple(centre), nothing, nothing, tuple(parts), tuple(signals))


def _ihi(values: Sequence[Value], part: Part, runs: list[tuple[str, list[int]]]) -> list[Signal]:
    found = [Signal(Rule.SHIFT, side, idx[0], idx[-1], len(idx)) for side, idx in runs if len(idx) >= SHIFT]
    found += trends(values, part.first, part.last)
    if part.useful in RUNS_LIMITS:
        fewest, most = RUNS_LIMITS[part.useful]
        if part.runs < fewest:
            found.append(Signal(Rule.FEW_RUNS, "", part.first, part.last, part.runs))
        elif part.runs > most:
            found.append(Signal(Rule.MANY_RUNS, "", part.first, part.last, part.runs))
    return found


def _anhoej(part: Part, runs: list[tuple[str, list[int]]]) -> list[Signal]:
    found = []
    limit = longest_run_limit(part.useful)
    for side, idx in runs:
        if len(idx) > limit:
            found.append(Signal(Rule.LONG_RUN, side, idx[0], idx[-1], len(idx)))
    if part.crossings < crossings_limit(part.useful):
        found.append(Signal(Rule.FEW_CROSSINGS, "", part.first, part.last, part.crossings))
    return found


def xmr_chart(values: Sequence[Value], *, rebases: Sequence[int] = (), baseline: int | None = BASELINE,
              floor: float | None = None, ceiling: float | None = None) -> Chart:
    """An individuals chart: mean ± 2.66 × average moving range of each part's baseline.
    `floor`/`ceiling` clip limits that no value can reach (a count below 0, a percent above 100)."""
    values = tuple(None if v is None else float(v) for v in values)
    centre: list[Value] = [None] * len(values)
    upper: list[Value] = [None] * len(values)
    lower: list[Value] = [None] * len(values)
    parts: list[Part] = []
    for first, last in parts_of(len(values), rebases):
        base = baseline_values(values, first, last, baseline)
        if not base:
            parts.append(Part(first, last, None, 0, 0, 0, 0, False))
            continue
        mean = statistics.fmean(base)
        ranges = [abs(b - a) for a, b in zip(base, base[1:], strict=False)]
        spread = XMR_FACTOR * statistics.fmean(ranges) if ranges else 0.0
        width = last - first + 1
        centre[first:last + 1] = [mean] * width
        upper[first:last + 1] = [_clip(mean + spread, floor, ceiling)] * width
        lower[first:last + 1] = [_clip(mean - spread, floor, ceiling)] * width
        parts.append(Part(first, last, mean, len(base), 0, 0, 0, len(base) >= 2))
    return _spc(Method.XMR, values, centre, upper, lower, parts)


def p_chart(numerators: Sequence[float | None], denominators: Sequence[float | None], *,
            rebases: Sequence[int] = (), baseline: int | None = BASELINE, scale: float = 100.0) -> Chart:
    """A P chart: p̄ from each part's baseline, limits p̄ ± 3·√(p̄(1 − p̄)/nᵢ) for each point's denominator.
    Values and limits are multiplied by `scale` (100 for percentages)."""
    pairs = [(n, d) if n is not None and d else (None, None) for n, d in zip(numerators, denominators, strict=True)]
    values = tuple(None if n is None else n / d * scale for n, d in pairs)
    centre: list[Value] = [None] * len(values)
    upper: list[Value] = [None] * len(values)
    lower: list[Value] = [None] * len(values)
    parts: list[Part] = []
    for first, last in parts_of(len(values), rebases):
        base = [p for p in pairs[first:last + 1] if p[0] is not None]
        base = base if baseline is None else base[:baseline]
        total = sum(d for _, d in base)
        if not total:
            parts.append(Part(first, last, None, 0, 0, 0, 0, False))
            continue
        p_bar = sum(n for n, _ in base) / total
        for i in range(first, last + 1):
            centre[i] = p_bar * scale
            n, d = pairs[i]
            if n is not None:
                sigma = math.sqrt(p_bar * (1 - p_bar) / d)
                upper[i] = min(p_bar + P_SIGMAS * sigma, 1.0) * scale
                lower[i] = max(p_bar - P_SIGMAS * sigma, 0.0) * scale
        parts.append(Part(first, last, p_bar * scale, len(base), 0, 0, 0, len(base) >= 2))
    return _spc(Method.P, values, centre, upper, lower, parts)


def _clip(value: float, floor: float | None, ceiling: float | None) -> float:
    if floor is not None:
        value = max(value, floor)
    if ceiling is not None:
        value = min(value, ceiling)
    return value


def _spc(method: Method, values, centre, upper, lower, parts) -> Chart:
    """Points outside their limits are special causes."""
    signals = []
    for i, (v, high, low) in enumerate(zip(values, upper, lower, strict=True)):
        if v is None or high is None:
            continue
        if v > high:
            signals.append(Signal(Rule.OUTSIDE, "high", i, i, 1))
        elif v < low:
            signals.append(Signal(Rule.OUTSIDE, "low", i, i, 1))
    return Chart(method, tuple(values), tuple(centre), tuple(upper), tuple(lower), tuple(parts), tuple(signals))


def analyse(values: Sequence[Value], *, method: Method = Method.IHI, rebases: Sequence[int] = (),
            numerators: Sequence[float | None] | None = None, denominators: Sequence[float | None] | None = None,
            floor: float | None = None, ceiling: float | None = None, scale: float = 100.0) -> Chart:
    """The chart a measure asked for. A P chart needs numerators and denominators; without them it falls
    back to an XmR chart of the values."""
    if method == Method.P and numerators is not None and denominators is not None:
        return p_chart(numerators, denominators, rebases=rebases, scale=scale)
    if method in (Method.P, Method.XMR):
        return xmr_chart(values, rebases=rebases, floor=floor, ceiling=ceiling)
    return run_chart(values, method=method, rebases=rebases)
