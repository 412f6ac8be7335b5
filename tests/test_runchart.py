"""The run-chart and SPC rules on hand-worked series, published examples and properties."""

import math
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.runchart import (
    RUNS_LIMITS,
    Method,
    Rule,
    Signal,
    analyse,
    binomial_quantile,
    crossings_limit,
    longest_run_limit,
    median_of,
    p_chart,
    parts_of,
    run_chart,
    trends,
    xmr_chart,
)

BASE = [7, 5] * 6  # twelve points, median 6, twelve runs, ending below


def rules(chart) -> list[tuple[str, str, int, int, int]]:
    return [(s.rule.value, s.side, s.first, s.last, s.points) for s in chart.signals]


# --- the median and its baseline -----------------------------------------------------------

def test_median_comes_from_the_first_twelve_points():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 100, 100, 100]
    assert median_of(values) == 6.5
    assert run_chart(values).centre == (6.5,) * 15


def test_median_uses_every_point_when_there_are_fewer_than_twelve_and_skips_gaps():
    assert median_of([3, None, 1, 2]) == 2
    assert median_of([None, None]) is None


def test_parts_split_at_rebases():
    assert parts_of(10, [4]) == [(0, 3), (4, 9)]
    assert parts_of(10, [0, 10, 12]) == [(0, 9)]
    assert parts_of(0) == []


# --- IHI shift ------------------------------------------------------------------------------

def test_six_points_above_the_median_are_a_shift():
    chart = run_chart([*BASE, 9, 9, 9, 9, 9, 9])
    assert ("shift", "above", 12, 17, 6) in rules(chart)


def test_five_points_are_not_a_shift():
    chart = run_chart([*BASE, 9, 9, 9, 9, 9, 5])
    assert not [s for s in chart.signals if s.rule == Rule.SHIFT]


def test_a_point_on_the_median_neither_adds_nor_breaks_a_shift():
    broken = run_chart([*BASE, 9, 9, 9, 6, 9, 9, 9])
    assert ("shift", "above", 12, 18, 6) in rules(broken)
    short = run_chart([*BASE, 9, 9, 6, 9, 9, 9, 5])
    assert not [s for s in short.signals if s.rule == Rule.SHIFT]


def test_a_gap_neither_adds_nor_breaks_a_shift():
    chart = run_chart([*BASE, 8, 8, None, 8, 8, 8, 8])
    assert ("shift", "above", 12, 18, 6) in rules(chart)
    assert chart.observed == 18 and chart.useful == 18


# --- IHI trend ------------------------------------------------------------------------------

def test_five_rising_points_are_a_trend_and_four_are_not():
    assert trends([1, 2, 3, 4, 5]) == [Signal(Rule.TREND, "up", 0, 4, 5)]
    assert trends([1, 2, 3, 4, 3]) == []
    assert trends([9, 8, 7, 6, 5, 6]) == [Signal(Rule.TREND, "down", 0, 4, 5)]


def test_equal_neighbours_neither_add_nor_break_a_trend():
    assert trends([1, 2, 2, 3, 4]) == []                                 # four points count
    assert trends([1, 2, 2, 3, 4, 5]) == [Signal(Rule.TREND, "up", 0, 5, 5)]
    assert trends([5, 4, 4, 4, 3, None, 2, 1]) == [Signal(Rule.TREND, "down", 0, 7, 5)]


def test_trend_inside_a_run_chart():
    chart = run_chart([*BASE, 3, 4, 5, 6, 7, 8])
    assert rules(chart) == [("trend", "up", 12, 17, 6)]


# --- IHI runs -------------------------------------------------------------------------------

def test_runs_table_matches_the_exact_runs_distribution_closely():
    """Guard against typing mistakes: each published limit lies within 2 of the exact 2.5%-per-tail limit
    of the Swed–Eisenhart runs distribution for n/2 points on each side, and limits never fall as n grows."""
    for n, (fewest, most) in RUNS_LIMITS.items():
        low, high = _exact_runs_limits(n)
        assert abs(fewest - low) <= 2 and abs(most - high) <= 2, n
        if n > 10:
            assert fewest >= RUNS_LIMITS[n - 1][0] and most >= RUNS_LIMITS[n - 1][1], n
    assert sorted(RUNS_LIMITS) == list(range(10, 61))


def _exact_runs_limits(n: int) -> tuple[int, int]:
    n1, n2 = n // 2, n - n // 2
    total = comb(n, n1)
    pmf = {}
    for r in range(2, n + 1):
        k = r // 2
        if r % 2 == 0:
            pmf[r] = 2 * comb(n1 - 1, k - 1) * comb(n2 - 1, k - 1) / total
        else:
            pmf[r] = (comb(n1 - 1, k) * comb(n2 - 1, k - 1) + comb(n1 - 1, k - 1) * comb(n2 - 1, k)) / total
    low = next(r for r in pmf if sum(pmf[s] for s in pmf if s <= r) > 0.025)
    high = next(r for r in sorted(pmf, reverse=True) if sum(pmf[s] for s in pmf if s >= r) > 0.025)
    return low, high


def test_too_many_runs_when_every_point_crosses():
    chart = run_chart([5, 7] * 10)  # 20 useful points, 20 runs; the table allows at most 16
    assert ("too many runs", "", 0, 19, 20) in rules(chart)


def test_quality_digest_example_has_too_few_runs():
    """Balestracci, Quality Digest Oct 2008: 16 points in runs of 7, 7, 1 and 1 — four runs, fewer than 5."""
    highs, lows = [22, 20, 25, 21, 24, 23, 26], [4, 1, 6, 2, 7, 3, 5]
    chart = run_chart([*highs, *lows, 25, 2], baseline=None)
    assert chart.parts[0].centre == 13.5 and chart.parts[0].runs == 4
    found = rules(chart)
    assert ("too few runs", "", 0, 15, 4) in found
    assert ("shift", "above", 0, 6, 7) in found and ("shift", "below", 7, 13, 7) in found


def test_runs_rule_is_silent_outside_the_table():
    chart = run_chart([5, 7] * 31)  # 62 useful points: beyond the published table
    assert not [s for s in chart.signals if s.rule in (Rule.FEW_RUNS, Rule.MANY_RUNS)]


# --- too little data -----------------------------------------------------------------------

def test_fewer_than_ten_useful_points_are_not_analysed():
    chart = run_chart([1, 1, 1, 9, 9, 9, 9, 9, 9])
    assert not chart.analysed and chart.signals == ()
    on_median = run_chart([5, 7, 6, 6, 6, 6, 6, 6, 6, 5, 7, 5])  # 12 points, median 6, only 5 useful
    assert on_median.useful == 5 and not on_median.analysed


def test_rebased_parts_have_their_own_median():
    calm = [5, 7, 7, 5, 5, 7, 7, 5, 5, 7, 7, 5]  # seven runs: none of the rules fire
    values = [*calm, *(v + 10 for v in calm)]
    chart = run_chart(values, rebases=[12])
    assert [p.centre for p in chart.parts] == [6, 16]
    assert chart.signals == ()  # without the rebase the second half is one long shift
    assert ("shift", "above", 12, 23, 12) in rules(run_chart(values))


# --- Anhøj ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("useful", "longest", "crossings"), [
    (10, 6, 2), (12, 7, 3), (16, 7, 4), (20, 7, 6), (24, 8, 8), (30, 8, 10), (50, 9, 19), (100, 10, 41),
])
def test_anhoej_limits_match_the_published_table(useful, longest, crossings):
    assert longest_run_limit(useful) == longest
    assert crossings_limit(useful) == crossings


def test_binomial_quantile_is_r_qbinom():
    assert binomial_quantile(9) == 2   # P(X ≤ 1) = 10/512 < 5% ≤ P(X ≤ 2) = 46/512
    assert binomial_quantile(1) == 0


def test_anhoej_rules_find_a_long_run_and_few_crossings():
    values = [5, 7] * 6 + [9] * 8  # 20 useful: the last run is 9 long (> 7), 12 crossings (≥ 6)
    chart = run_chart(values, method=Method.ANHOEJ)
    assert ("long run", "above", 12, 19, 8) not in rules(chart)
    assert ("long run", "above", 11, 19, 9) in rules(chart)
    few = run_chart([4] * 6 + [8] * 6 + [4] * 6, method=Method.ANHOEJ)  # 2 crossings < 5
    assert any(s.rule == Rule.FEW_CROSSINGS for s in few.signals)


# --- SPC ------------------------------------------------------------------------------------

def test_xmr_limits_are_mean_plus_minus_2_66_average_moving_range():
    chart = xmr_chart([1, 3] * 6 + [10, 2])
    assert chart.centre[0] == 2
    assert math.isclose(chart.upper[0], 2 + 2.66 * 2) and math.isclose(chart.lower[0], 2 - 2.66 * 2)
    assert rules(chart) == [("outside the limits", "high", 12, 12, 1)]
    assert xmr_chart([1, 3] * 6, floor=0).lower[0] == 0


def test_p_chart_limits_follow_each_points_denominator():
    nums, dens = [20] * 12 + [30, 20], [100] * 12 + [100, 25]
    chart = p_chart(nums, dens)
    assert math.isclose(chart.centre[0], 20)
    assert math.isclose(chart.upper[0], 32) and math.isclose(chart.lower[0], 8)      # 0.2 ± 3·0.04
    assert math.isclose(chart.upper[13], 44) and math.isclose(chart.lower[13], 0)   # 0.2 ± 3·0.08, clipped at 0
    assert chart.values[13] == 80
    assert rules(chart) == [("outside the limits", "high", 13, 13, 1)]


def test_analyse_picks_the_chart():
    assert analyse([1, 2, 3], method=Method.P, numerators=[1, 2, 3], denominators=[4, 4, 4]).method == Method.P
    assert analyse([1, 2, 3], method=Method.P).method == Method.XMR
    assert analyse([1, 2, 3]).method == Method.IHI


# --- direction of good ---------------------------------------------------------------------

def test_direction_of_good_names_improvement_and_deterioration():
    above = Signal(Rule.SHIFT, "above", 0, 5, 6)
    assert above.verdict(True) == "improvement" and above.verdict(False) == "deterioration"
    assert above.verdict(None) is None
    assert Signal(Rule.TREND, "down", 0, 4, 5).verdict(False) == "improvement"
    assert Signal(Rule.FEW_RUNS, "", 0, 9, 2).verdict(True) is None
    assert above.words() == "shift above the median"
    assert Signal(Rule.OUTSIDE, "low", 3, 3, 1).words() == "below the lower limit"


# --- properties ----------------------------------------------------------------------------

series = st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), min_size=0, max_size=60)
methods = st.sampled_from([Method.IHI, Method.ANHOEJ, Method.XMR])
MIRROR = {"above": "below", "below": "above", "up": "down", "down": "up", "high": "low", "low": "high", "": ""}


@settings(max_examples=200, deadline=None)
@given(series, st.integers(-10_000, 10_000), methods)
def test_adding_a_constant_changes_no_signal(values, constant, method):
    moved = [None if v is None else v + constant for v in values]
    assert analyse(moved, method=method).signals == analyse(values, method=method).signals


@settings(max_examples=200, deadline=None)
@given(series, methods)
def test_mirroring_swaps_up_and_down(values, method):
    mirrored = analyse([None if v is None else -v for v in values], method=method)
    expected = [(s.rule, MIRROR[s.side], s.first, s.last, s.points) for s in analyse(values, method=method).signals]
    assert sorted((s.rule, s.side, s.first, s.last, s.points) for s in mirrored.signals) == sorted(expected)


@settings(max_examples=100, deadline=None)
@given(st.integers(-1000, 1000), st.integers(0, 80), methods)
def test_a_constant_series_has_no_signal(value, length, method):
    chart = analyse([value] * length, method=method)
    assert chart.signals == ()
