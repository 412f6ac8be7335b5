"""Refusals: bad input or missing permission, answered with what was wrong and what works."""

from commands.results import Line, Segment, plain_text, Reply


class Refusal(Exception):
    """Raised inside a command; the dispatcher rolls back and answers the person privately.

    The segments say what was wrong in plain words (they may name people); `example` is a
    command that would work.
    """

    def __init__(self, *segments: Segment, example: str | None = None):
        self.message: Line = segments
        self.example = example
        super().__init__(plain_text(Reply([segments])))
