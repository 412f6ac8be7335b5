"""The counting rules of ranked polls, dot votes and PICK charts: plain functions of the ballots, so each rule
can be worked out by hand and checked (tests/test_poll_kinds.py).

- Borda count: of n options, a ballot gives n-1 points to its first, n-2 to its second, and so on; an
  option a ballot leaves unranked gets 0 from it (a partial ranking of k options gives n-1 … n-k).
- Dots: each dot is one point for the option it is on; a ballot may put several on one option.
- PICK: each option's mean impact and mean effort (1–5) over the voters who rated it; impact at or
  above the middle (3) is high, effort at or above it is hard:
  Possible (low impact, easy), Implement (high impact, easy), Challenge (high impact, hard),
  Kill (low impact, hard).
"""

from collections.abc import Iterable
from dataclasses import dataclass

MIDDLE = 3.0  # the middle of the 1–5 scale: the lines of the PICK chart


def borda(options: int, ballots: Iterable[tuple[list[int], int]]) -> list[int]:
    """Points per option (index 0 is option 1) from (ranking, how many such ballots); a ranking lists
    option numbers, first choice first."""
    points = [0] * options
    for ranking, weight in ballots:
        for place, option in enumerate(ranking):
            points[option - 1] += (options - 1 - place) * weight
    return points


def dots(options: int, ballots: Iterable[tuple[list[int], int]]) -> list[int]:
    """Dots per option from (the options a ballot's dots are on, repeats kept; how many such ballots)."""
    counted = [0] * options
    for spent, weight in ballots:
        for option in spent:
            counted[option - 1] += weight
    return counted


def standings(scores: list[int]) -> list[tuple[int, int, list[int]]]:
    """The full order: (place, score, option numbers) from the highest score, options with equal scores
    sharing a place (1, 1, 3: a tie for first, then third)."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    places: list[tuple[int, int, list[int]]] = []
    for index in order:
        if places and places[-1][1] == scores[index]:
            places[-1][2].append(index + 1)
        else:
            places.append((sum(len(p[2]) for p in places) + 1, scores[index], [index + 1]))
    return places


QUADRANTS = ("Possible", "Implement", "Challenge", "Kill")
MEANING = {
    "Possible": "low impact, easy",
    "Implement": "high impact, easy",
    "Challenge": "high impact, hard",
    "Kill": "low impact, hard",
}


def quadrant(impact: float, effort: float) -> str:
    high, hard = impact >= MIDDLE, effort >= MIDDLE
    if high:
        return "Challenge" if hard else "Implement"
    return "Kill" if hard else "Possible"


@dataclass(frozen=True)
class Rated:
    """One option's ratings: the means and the range (lowest, highest) of the voters' ratings."""

    option: int
    impacts: tuple[int, ...]
    efforts: tuple[int, ...]

    @property
    def raters(self) -> int:
        return len(self.impacts)

    @property
    def impact(self) -> float:
        return sum(self.impacts) / len(self.impacts)

    @property
    def effort(self) -> float:
        return sum(self.efforts) / len(self.efforts)

    @property
    def quadrant(self) -> str:
        return quadrant(self.impact, self.effort)

    @property
    def on_a_line(self) -> bool:
        return self.impact == MIDDLE or self.effort == MIDDLE


def rated(ratings: Iterable[tuple[int, int, int]]) -> list[Rated]:
    """Per option (in option order) from (option, impact, effort) ratings; options nobody rated are left out."""
    by_option: dict[int, tuple[list[int], list[int]]] = {}
    for option, impact, effort in ratings:
        impacts, efforts = by_option.setdefault(option, ([], []))
        impacts.append(impact)
        efforts.append(effort)
    return [Rated(o, tuple(i), tuple(e)) for o, (i, e) in sorted(by_option.items())]
