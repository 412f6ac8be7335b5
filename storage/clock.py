"""The one place that reads the machine's clock.

Everything the product stamps or compares takes its "now" from the product's clock (the `clock` given
to `Clusterbot`, which the tests turn by hand). A unit of work's session carries that clock, so storage
stamps rows with it (`now(session)`, and new rows' unset stamp columns when they are flushed). Only
this module calls `datetime.now`: a test (tests/test_clock.py) fails if any other module of the
product does, and the suite runs with the machine's clock years away from the tests' clock, so a stamp
taken from the wrong clock shows at once.
"""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
CLOCK = "clock"  # the key of the clock in a session's `info`


def wall_clock() -> datetime:
    """The machine's time, aware, in UTC: the product's default clock; the time of outside parties
    (Slack's request timestamps, the scheduler's first run); and the outbox's, whose times are the
    sending machinery's (leases, seconds between tries), never compared with the product's."""
    return datetime.now(UTC)


def now(session) -> datetime:
    """The unit of work's "now": its product's clock (the wall clock for a session opened without one)."""
    return session.info.get(CLOCK, wall_clock)()
