"""Statistical disclosure control for measure data, as Public Health Scotland's: counts of 1 to 4 are
hidden, and so is every figure from which one of them could be worked out.

A reader of a period's row has each practice's numerator n and denominator d (and so the complement
d − n: 7/9 leaves 2), the practices' values (made from n and d) and the cluster's total (Σn, Σd, or the
cluster figure made from them). From those a hidden count comes back:
- by complement: n and d shown with d − n from 1 to 4 (so the numerator is hidden instead);
- by subtraction from the cluster total: one practice's cell hidden in a column whose total is shown
  (25 − 10 − 12 = 3), or several hidden cells adding up to 1 to 4 (each is then a small count). A second
  practice's cell, the next smallest, is hidden; where there is none, the cluster's total;
- from a value made from a hidden count (a percentage with its denominator gives the numerator back).

`protect_period` is the rule, pure, over one period's practices and cluster; `protect_series` applies it
to a measure's sheet (what the Board report and the export write) and `protect_points` to long-format
rows. Zero is never hidden: it discloses nothing about a small number of people.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.measures import PointRow, SeriesSheet

SHOWN_AS = "*"
NOTE = ("Counts of 1 to 4, and any figure from which one could be worked out, are shown as *. "
        "(Statistical disclosure control, as Public Health Scotland's.)")


@dataclass(frozen=True)
class Counts:
    """One row's counts: a practice's, or the cluster's totals. None: not given (a value typed alone)."""

    numerator: float | None
    denominator: float | None = None


@dataclass(frozen=True)
class Hidden:
    numerator: bool = False
    denominator: bool = False

    @property
    def value(self) -> bool:
        """A value made from a hidden count gives it back (with the other count): hidden with it."""
        return self.numerator or self.denominator


def small(count: float | None) -> bool:
    return count is not None and 1 <= count <= 4


def protect_period(practices: Sequence[Counts], cluster: Counts) -> tuple[list[Hidden], Hidden]:
    """Which of a period's counts to hide so that no count of 1 to 4 (a numerator, a denominator, or their
    difference, in a practice's row or the cluster's) can be read or worked out by complement or by
    subtraction from the cluster's totals, however the deductions are chained. The cluster's totals are
    the sums of the practices' counts (pooled), as the cluster figure is made."""
    rows = [*practices, cluster]
    period = _Period(rows)
    while (leak := period.leak()) is not None:  # every step hides one more cell, so this ends
        period.hide_for(*leak)
    hidden = [Hidden(period.hide["n"][i], period.hide["d"][i]) for i in range(len(rows))]
    return hidden[:-1], hidden[-1]


class _Period:
    """A period's cells: per row (practices, then the cluster) n, d and c = d − n, which are shown, and
    what a reader can deduce from them."""

    def __init__(self, rows: list[Counts]):
        self.rows, self.last = rows, len(rows) - 1
        self.hide = {"n": [small(r.numerator) for r in rows], "d": [small(r.denominator) for r in rows]}

    def value(self, row: int, column: str) -> float | None:
        r = self.rows[row]
        if column == "c":
            return None if r.numerator is None or r.denominator is None else r.denominator - r.numerator
        return r.numerator if column == "n" else r.denominator

    def shown(self, row: int, column: str) -> bool:
        if self.value(row, column) is None:
            return False
        if column == "c":
            return not self.hide["n"][row] and not self.hide["d"][row]
        return not self.hide[column][row]

    def known(self) -> set[tuple[int, str]]:
        """Every cell the shown ones give: a row's two of n, c, d give the third; a column's practices
        give the cluster's total, and the total with all but one practice gives that one."""
        cells = [(r, c) for r in range(len(self.rows)) for c in "ndc" if self.value(r, c) is not None]
        known = {cell for cell in cells if self.shown(*cell)}
        relations = [[(r, "n"), (r, "c"), (r, "d")] for r in range(len(self.rows)) if self.value(r, "c") is not None]
        relations += [[(r, c) for r in range(len(self.rows)) if self.value(r, c) is not None] for c in "ndc"]
        changed = True
        while changed:
            changed = False
            for relation in relations:
                unknown = [cell for cell in relation if cell not in known]
                if len(unknown) == 1:
                    known.add(unknown[0])
                    changed = True
        return known

    def leak(self) -> tuple[int, str] | None:
        """A small count a reader can work out (row, column), or a column whose hidden practice cells are
        worked out to add up to 1 to 4 (each then small: (cluster row, column))."""
        known = self.known()
        for (row, column) in sorted(known, key=lambda cell: ("dnc".index(cell[1]), cell[0])):  # a sum's parts first
            if small(self.value(row, column)):
                return row, column
        for column in "ndc":
            if (self.last, column) in known:
                unknown = [self.value(r, column) for r in range(self.last)
                           if self.value(r, column) is not None and (r, column) not in known]
                if unknown and small(sum(unknown)):
                    return self.last, column
        return None

    def hide_for(self, row: int, column: str) -> None:
        """Hide one more cell so that (row, column) is no longer given: the cell itself where it is shown
        and small (a complement, or the cluster's own small total); otherwise the next smallest shown
        practice cell of its column (a non-zero one first: a hidden zero adds nothing to the hidden total),
        the cluster's total, or the cell's own row."""
        if self.shown(row, column) and small(self.value(row, column)):
            return self._hide(row, column)
        candidates = [r for r in range(self.last) if r != row and self.shown(r, column)]
        if candidates:
            chosen = min(candidates, key=lambda r: (self.value(r, column) == 0, self.value(r, column)))
            return self._hide(chosen, column)
        for r, c in ((self.last, column), (row, column), (self.last, "n"), (self.last, "d"), (row, "n"), (row, "d")):
            if self.shown(r, c):
                return self._hide(r, c)
        for c in "nd":  # nothing shown is left near it: hide the first shown cell anywhere
            for r in range(len(self.rows)):
                if self.shown(r, c):
                    return self._hide(r, c)

    def _hide(self, row: int, column: str) -> None:
        # hiding a numerator hides its complement too, and keeps the list size (the denominator) shown
        self.hide["d" if column == "d" else "n"][row] = True


# --- applied to what the workbooks, the report, /measure data and charts show ------------------------

def protect_series(sheet: "SeriesSheet") -> "SeriesSheet":
    """The measure's sheet as it may be published: every hidden figure None, and marked in `hidden`
    (per practice, per period) and `cluster_hidden`, so a writer shows it as * (and a chart as a gap)."""
    denominators = sheet.denominators or [[None] * len(sheet.periods) for _ in sheet.practices]
    practice_hidden, cluster_hidden = hidden_cells(
        sheet.unit,
        [(values, numerators, denominators[p]) for p, (_, values, numerators) in enumerate(sheet.practices)],
        sheet.cluster, sheet.codes or [name for name, _, _ in sheet.practices])
    practices = [(name, _blank(values, practice_hidden[p]), _blank(numerators, practice_hidden[p]))
                 for p, (name, values, numerators) in enumerate(sheet.practices)]
    # A median of an odd number of periods is one of them: where it is a hidden cluster figure, it goes too.
    gone = {round(v, 6) for v, h in zip(sheet.cluster, cluster_hidden, strict=True) if h and v is not None}
    median = [None if m is not None and round(m, 6) in gone else m for m in sheet.median]
    return replace(sheet, practices=practices, cluster=_blank(sheet.cluster, cluster_hidden), median=median,
                   cluster_numerators=_blank(sheet.cluster_numerators, cluster_hidden),
                   denominators=[_blank(d, practice_hidden[p]) for p, d in enumerate(denominators)],
                   hidden=practice_hidden, cluster_hidden=cluster_hidden)


Column = list[float | None]


def protect_keyed(practices: Sequence[Counts], keys: Sequence[str]) -> tuple[list[Hidden], Hidden]:
    """`protect_period` with the practices taken in the order of their keys (practice codes), so that
    every sheet and message showing the same period makes the same choice between equal cells (a
    practice hidden in one place and shown in another would give the first's partner away)."""
    order = sorted(range(len(practices)), key=lambda p: keys[p])
    hidden, cluster = protect_period([practices[p] for p in order], _total(practices))
    back = [Hidden()] * len(practices)
    for position, p in enumerate(order):
        back[p] = hidden[position]
    return back, cluster


def hidden_cells(unit: str, practices: Sequence[tuple[Column, Column, Column]], cluster: Column,
                 keys: Sequence[str]) -> tuple[list[list[bool]], list[bool]]:
    """Which practice figures (each given as values, numerators, denominators over the same periods, with
    its practice code as its key) and which cluster figures to hide, period by period."""
    periods = len(cluster)
    practice_hidden = [[False] * periods for _ in practices]
    cluster_hidden = [False] * periods
    for i in range(periods):
        rows = [_counts(unit, values[i], numerators[i], denominators[i])
                for values, numerators, denominators in practices]
        hidden, total = protect_keyed(rows, keys)
        for p, h in enumerate(hidden):
            practice_hidden[p][i] = h.value and practices[p][0][i] is not None
        # A cluster figure that is a mean (or sum) of the practices' values gives one hidden value back.
        alone = sum(practice_hidden[p][i] for p in range(len(rows))) == 1
        cluster_hidden[i] = (total.value or alone) and cluster[i] is not None
    return practice_hidden, cluster_hidden


def _counts(unit: str, value, numerator, denominator) -> Counts:
    """A count measure's value is its count; other measures' counts are their numerator and denominator."""
    if unit == "count" and numerator is None:
        return Counts(value, None)
    return Counts(numerator, denominator)


def _total(rows: list[Counts]) -> Counts:
    def add(values):
        present = [v for v in values if v is not None]
        return sum(present) if present else None
    return Counts(add(r.numerator for r in rows), add(r.denominator for r in rows))


def _blank(values: list, hidden: list[bool]) -> list:
    return [None if h else v for v, h in zip(values, hidden, strict=True)]


@dataclass(frozen=True)
class ProtectedPoint:
    row: "PointRow"
    hidden: Hidden


def protect_points(points: Iterable["PointRow"]) -> Iterator[ProtectedPoint]:
    """Long-format rows (in measure, period order), each with what of it to hide: the rule applied per
    measure and period, one period's rows held at a time, over the cluster's practices as the measure's
    sheet takes them (so both make the same choices). A removed practice's rows, in no total shown,
    are protected among themselves."""
    for _, group in groupby(points, key=lambda r: (r.measure, r.period)):
        rows = list(group)
        for current in (True, False):
            part = [r for r in rows if bool(r.practice_code) == current]
            counts = [_counts(r.unit, r.value, r.numerator, r.denominator) for r in part]
            hidden, _ = protect_keyed(counts, [r.practice_code or r.practice_name for r in part])
            yield from (ProtectedPoint(r, h) for r, h in zip(part, hidden, strict=True))


def protect_lines(unit: str, practices: list, cluster) -> tuple[list, object, int]:
    """Series as /measure data and /measure chart show them (anything with values, numerators and
    denominators per period, e.g. commands.measures.series.Series): copies with every hidden figure None
    (a gap), and how many figures were hidden."""
    hidden, cluster_hidden = hidden_cells(unit, [(s.values, s.numerators, s.denominators) for s in practices],
                                          cluster.values, [s.code or "" for s in practices])
    lines = [replace(s, values=_blank(s.values, h), numerators=_blank(s.numerators, h),
                     denominators=_blank(s.denominators, h)) for s, h in zip(practices, hidden, strict=True)]
    whole = replace(cluster, values=_blank(cluster.values, cluster_hidden),
                    numerators=_blank(cluster.numerators, cluster_hidden),
                    denominators=_blank(cluster.denominators, cluster_hidden))
    return lines, whole, sum(map(sum, hidden)) + sum(cluster_hidden)
