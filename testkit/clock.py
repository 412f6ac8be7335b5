"""A clock the tests turn by hand: what the product calls "now"."""

from datetime import UTC, datetime, timedelta

# Thursday 26 November 2026, 10:00 in London (GMT): typed dates like "friday" are deterministic.
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = START):
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment
