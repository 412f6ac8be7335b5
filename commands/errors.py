"""Refusals: bad input or missing permission, answered with what was wrong and what works."""

from commands.results import Line, Reply, Segment, plain_text


def on_field(field: str, read, *args, **kwargs):
    """`read(*args, **kwargs)`, with any refusal shown on the form's `field`."""
    try:
        return read(*args, **kwargs)
    except Refusal as refusal:
        refusal.field = field
        raise


class Refusal(Exception):
    """Raised inside a command; the dispatcher rolls back and answers the person privately.

    The segments say what was wrong in plain words (they may name people); `example` is a
    command that would work; `field` names the form field at fault, when there is one.
    """

    def __init__(self, *segments: Segment, example: str | None = None, field: str | None = None):
        self.message: Line = segments
        self.example = example
        self.field = field  # in a form: the field to show the message on
        super().__init__(plain_text(Reply([segments])))
