"""Disclosure control (reports/disclosure.py), the rule alone: counts of 1 to 4 hidden, and nothing a
reader could work one out from (complement, subtraction from the cluster's totals, a value made from it).
Hand-worked examples from issue 23, then a property over generated periods checked by an independent
reader who deduces every cell that subtraction and complement give back."""

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.disclosure import Counts, Hidden, protect_keyed, protect_period


def total(rows):
    return Counts(sum(r.numerator for r in rows if r.numerator is not None) if any(
        r.numerator is not None for r in rows) else None,
        sum(r.denominator for r in rows if r.denominator is not None) if any(
        r.denominator is not None for r in rows) else None)


def test_a_count_of_1_to_4_is_hidden_and_zero_is_not():
    rows = [Counts(3, 40), Counts(0, 30), Counts(20, 50), Counts(15, 45)]
    hidden, cluster = protect_period(rows, total(rows))
    assert hidden[0].numerator and hidden[0].value and not hidden[0].denominator
    assert not hidden[1].numerator  # 0/30 is shown: zero says nothing about a few people
    assert cluster == Hidden()


def test_the_complement_7_of_9_leaves_2():
    # 7/9: 7 and 9 are not small, but 9 − 7 = 2 is.
    rows = [Counts(7, 9), Counts(40, 60), Counts(30, 50)]
    hidden, _ = protect_period(rows, total(rows))
    assert hidden[0].numerator and hidden[0].value  # the list size stays: the 7 (and 77.8%) go
    assert not hidden[0].denominator
    # and with one numerator hidden, the cluster's Σn would give it back: one more practice's is hidden
    assert sum(h.numerator for h in hidden[1:]) == 1 and not any(h.denominator for h in hidden)


def test_25_minus_10_minus_12_is_3():
    # The cluster's 25 with 10 and 12 shown gives the hidden 3 back: the next smallest (10) is hidden too.
    rows = [Counts(10, 50), Counts(12, 40), Counts(3, 30)]
    hidden, cluster = protect_period(rows, total(rows))
    assert [h.numerator for h in hidden] == [True, False, True]
    assert not cluster.numerator and not cluster.value  # 25 may stay: 25 − 12 = 13 is 10 + 3, neither told


def test_with_no_second_practice_to_hide_the_cluster_total_goes():
    rows = [Counts(3, 30)]  # one practice reported: the cluster is its figure
    hidden, cluster = protect_period(rows, total(rows))
    assert hidden[0].numerator and cluster.numerator and cluster.value


def test_hidden_cells_adding_to_1_to_4_are_not_enough():
    # 2 and 1 hidden: the cluster's total less the shown 50 is 3, so both are known to be small.
    rows = [Counts(2, 40), Counts(1, 30), Counts(50, 60)]
    hidden, cluster = protect_period(rows, total(rows))
    assert hidden[2].numerator or cluster.numerator


def test_a_small_denominator_hides_its_value_even_with_a_zero_numerator():
    rows = [Counts(0, 3), Counts(12, 40), Counts(9, 35)]
    hidden, _ = protect_period(rows, total(rows))
    assert hidden[0].denominator and hidden[0].value and not hidden[0].numerator
    assert sum(h.denominator for h in hidden) >= 2


def test_counts_alone_a_count_measure():
    rows = [Counts(2), Counts(7), Counts(12)]
    hidden, cluster = protect_period(rows, total(rows))
    assert [h.value for h in hidden] == [True, True, False] and not cluster.value


def test_equal_cells_are_chosen_by_practice_code_whatever_the_order():
    # 10/50 twice: which one goes with the hidden 3 must be the same in every sheet and message.
    rows, codes = [Counts(10, 50), Counts(3, 40), Counts(10, 50)], ["80789", "80456", "80123"]
    hidden, _ = protect_keyed(rows, codes)
    backwards, _ = protect_keyed(rows[::-1], codes[::-1])
    assert hidden == backwards[::-1]
    assert [h.numerator for h in hidden] == [False, True, True]  # 80123, the first by code, goes


def test_a_series_sheet_hides_a_median_that_is_a_hidden_cluster_figure():
    from reports.disclosure import protect_series
    from reports.measures import SeriesSheet
    sheet = SeriesSheet("D1", "Falls", "count", "Count", None, ["Sep", "Oct", "Nov"],
                        [("A", [3, 9, 8], [None] * 3)], [3, 9, 8], [None] * 3, [1, 1, 1], [8, 8, 8],
                        codes=["80123"])
    safe = protect_series(sheet)
    assert safe.practices[0][1] == [None, 9, 8] and safe.hidden == [[True, False, False]]
    assert safe.cluster == [None, 9, 8] and safe.cluster_hidden == [True, False, False]
    assert safe.median == [8, 8, 8]  # the median (8) is not the hidden 3
    sheet.cluster, sheet.practices = [9, 3, 8], [("A", [9, 3, 8], [None] * 3)]
    sheet.median = [8, 8, 8]
    sheet.cluster[2] = sheet.practices[0][1][2] = 4  # now the hidden 4 would be the median of 9, 3, 4
    sheet.median = [4, 4, 4]
    assert protect_series(sheet).median == [None, None, None]


# --- the property: an independent reader recovers nothing small ------------------------------------

def recovered(rows: list[Counts], hidden: list[Hidden], cluster_hidden: Hidden) -> set[tuple[int, str]]:
    """Every cell a reader can work out from the shown ones, by complement (n + c = d in a row) and by
    subtraction (a column's practices add up to the cluster's), chained until nothing more follows."""
    everything = [*rows, total(rows)]
    flags = [*hidden, cluster_hidden]
    truth = {}
    for r, row in enumerate(everything):
        truth[r, "n"], truth[r, "d"] = row.numerator, row.denominator
        truth[r, "c"] = None if row.numerator is None or row.denominator is None else row.denominator - row.numerator
    known = {cell for cell, value in truth.items() if value is not None and (
        (cell[1] == "n" and not flags[cell[0]].numerator) or (cell[1] == "d" and not flags[cell[0]].denominator) or
        (cell[1] == "c" and not flags[cell[0]].numerator and not flags[cell[0]].denominator))}
    relations = [[(r, "n"), (r, "c"), (r, "d")] for r in range(len(everything)) if truth[r, "c"] is not None]
    for column in "ndc":
        relations.append([(r, column) for r in range(len(everything)) if truth[r, column] is not None])
    changed = True
    while changed:
        changed = False
        for cells in relations:
            unknown = [c for c in cells if c not in known]
            if len(unknown) == 1:
                known.add(unknown[0])
                changed = True
    return {cell for cell in known if truth[cell] is not None}


def small_hidden(rows, hidden, cluster_hidden):
    everything = [*rows, total(rows)]
    cells = set()
    for r, row in enumerate(everything):
        if row.numerator is not None and 1 <= row.numerator <= 4:
            cells.add((r, "n"))
        if row.denominator is not None and 1 <= row.denominator <= 4:
            cells.add((r, "d"))
        if row.numerator is not None and row.denominator is not None and 1 <= row.denominator - row.numerator <= 4:
            cells.add((r, "c"))
    return cells


COUNT = st.one_of(st.integers(0, 6), st.integers(0, 60))
PAIR = st.tuples(COUNT, COUNT).map(lambda nc: Counts(nc[0], nc[0] + nc[1]))
ROW = st.one_of(PAIR, PAIR, PAIR, st.just(Counts(None, None)))


@settings(max_examples=3000, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=8))
def test_no_count_of_1_to_4_can_be_worked_out(rows):
    hidden, cluster = protect_period(rows, total(rows))
    known = recovered(rows, hidden, cluster)
    assert not (small_hidden(rows, hidden, cluster) & known)
    for h in [*hidden, cluster]:  # a value shown only where both its counts are
        assert h.value == (h.numerator or h.denominator)


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(COUNT.map(Counts), st.just(Counts(None))), min_size=1, max_size=8))
def test_no_count_of_1_to_4_can_be_worked_out_on_a_count_measure(rows):
    hidden, cluster = protect_period(rows, total(rows))
    assert not (small_hidden(rows, hidden, cluster) & recovered(rows, hidden, cluster))
