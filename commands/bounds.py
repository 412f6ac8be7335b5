"""How much one item holds (issue 26: one member added 13,525 agenda items to a meeting in 40 s, and its
reminder, 1.2 MB in 398 blocks, was more than Slack takes; one meeting took 399 reminders).

Each collection a member grows by typing has a most, checked with one indexed count before a row is added
and refused in words that say the limit and what to do instead. What is shown from a collection in one
message is bounded too (`at_most`), so a message stays within what the platforms take (Slack: 50 blocks of
3,000 characters; Teams: a card of about 28 KB) whatever the data.
Poll options are bounded where a poll is written (storage.models.POLL_OPTIONS_MAX, 10).
"""

from collections.abc import Callable

from commands.errors import Refusal
from commands.results import Line, Segment

AGENDA_ITEMS = 50      # agenda items of one meeting
REMINDERS = 5          # reminders of one meeting (and the cluster's default for new ones)
TOPIC_NOTES = 100      # progress notes of one topic (PDSA steps included)
ACTION_NOTES = 50      # notes of one action
MINUTE_LINES = 200     # minute lines of one meeting
DECISIONS = 50         # decisions recorded at one meeting
SHOWN = 10             # what a reminder shows of each part of the agenda; a card shows of notes


def refuse_when_full(count: int, most: int, *what: Segment, example: str) -> None:
    """Refuse to add one more to a collection already holding `count` of its `most`. `what` says what is
    full and what to do instead ("M2 has 50 agenda items, the most a meeting takes: …")."""
    if count >= most:
        raise Refusal(*what, example=example)


def at_most(lines: list[Line], most: int, more: Callable[[int], Line]) -> list[Line]:
    """The first `most` lines, and `more(k)` saying that k more were left out (where to see them)."""
    if len(lines) <= most:
        return lines
    return [*lines[:most], more(len(lines) - most)]
